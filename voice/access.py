"""Who may see and change what in the voice app: tenant isolation, in one place.

Every voice read goes through a selector that takes a `VoiceCaller` and scopes its queryset with
`VoiceCaller.scope` (voice.selectors); views and admin pages never filter by organization themselves.
A row outside the caller's scope is indistinguishable from a missing row (404, never 403).

How Django's model permissions and voice memberships combine (both are needed):
- The model permission (granted by the project's groups, agents.roles: Supervisors change voice data,
  Analysts view it) says what kind of thing a user may do at all: view calls, add appointments,
  change configurations. It is checked by the API's StrictModelPermissions and the admin.
- The membership says where: only in the organizations the user belongs to (active ones), and the
  membership's role narrows writes further (ROLE_WRITES): staff book appointments, keep the knowledge
  base and send telemetry; managers also run locations, services, providers and agent
  configurations. Reading needs only a membership.
- A superuser sees and changes every organization.

Choosing the organization: a user who belongs to exactly one organization acts in it. A user in
several (or a superuser) names one with the `organization` parameter (its slug) on every API request;
without it a superuser reads across all organizations, and anyone must name one to create a row. The
admin shows the rows of all of a user's organizations, with an organization filter, and offers only
those organizations in its forms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from voice.errors import OrganizationRequired, OrganizationUnknown, RoleForbidden
from voice.models import Membership, MembershipRole, Organization

M = TypeVar("M", bound=Model)

STAFF, MANAGER = MembershipRole.STAFF.value, MembershipRole.MANAGER.value

# model name -> the membership roles that may add, change or delete its rows (in their organization).
ROLE_WRITES: dict[str, frozenset[str]] = {
    "location": frozenset({MANAGER}),
    "locationhours": frozenset({MANAGER}),
    "locationexception": frozenset({MANAGER}),
    "service": frozenset({MANAGER}),
    "provider": frozenset({MANAGER}),
    "agentconfig": frozenset({MANAGER}),
    "appointment": frozenset({STAFF, MANAGER}),
    "knowledgeentry": frozenset({STAFF, MANAGER}),
    "call": frozenset({STAFF, MANAGER}),
}

# Plural names for messages.
KINDS: dict[str, str] = {
    "location": "locations",
    "locationhours": "opening hours",
    "locationexception": "hours exceptions",
    "service": "services",
    "provider": "providers",
    "agentconfig": "agent configurations",
    "appointment": "appointments",
    "knowledgeentry": "knowledge base entries",
    "call": "calls",
}


@dataclass(frozen=True)
class VoiceCaller:
    """The user a voice request acts for, and the organizations it reaches.

    `organization` is the one the caller chose (or its only one); None means every organization in
    reach: all of them for a superuser, the member organizations otherwise (the admin).
    """

    user: Any  # the User (None for commands acting for an organization)
    is_superuser: bool
    roles: Mapping[int, str] = field(default_factory=dict)  # organization id -> membership role
    organizations: tuple[Organization, ...] = ()  # the member organizations, by name
    organization: Organization | None = None

    @property
    def organization_ids(self) -> frozenset[int] | None:
        """The organizations in scope; None: all (a superuser who chose none)."""
        if self.organization is not None:
            return frozenset({self.organization.pk})
        if self.is_superuser:
            return None
        return frozenset(self.roles)

    def scope(self, queryset: QuerySet[M], organization_field: str = "organization") -> QuerySet[M]:
        """The rows of `queryset` in the caller's organizations: the one filter of tenant isolation."""
        ids = self.organization_ids
        if ids is None:
            return queryset
        if len(ids) == 1:
            return queryset.filter(**{f"{organization_field}_id": next(iter(ids))})
        return queryset.filter(**{f"{organization_field}_id__in": sorted(ids)})

    def reaches(self, organization_id: int) -> bool:
        ids = self.organization_ids
        return ids is None or organization_id in ids

    def may_write(self, model_name: str, organization_id: int) -> bool:
        if not self.reaches(organization_id):
            return False
        if self.is_superuser:
            return True
        return self.roles.get(organization_id) in ROLE_WRITES.get(model_name, frozenset())

    def writable_organization_ids(self, model_name: str) -> frozenset[int] | None:
        """Organizations where the caller may write `model_name`; None: all (superuser, none chosen)."""
        if self.is_superuser and self.organization is None:
            return None
        candidates = self.organization_ids or frozenset()
        return frozenset(pk for pk in candidates if self.may_write(model_name, pk))

    def require_write(self, model_name: str, organization: Organization) -> None:
        """RoleForbidden unless the caller may write `model_name` rows of `organization` (in its scope)."""
        if not self.may_write(model_name, organization.pk):
            raise RoleForbidden(
                organization=organization.name,
                role=self.roles.get(organization.pk, "none"),
                kind=KINDS.get(model_name, model_name),
            )

    def organization_for_create(self, model_name: str) -> Organization:
        """The organization a new row goes to: the chosen (or only) one, where the role allows it."""
        organization = self.organization
        if organization is None:
            if self.is_superuser or len(self.organizations) != 1:
                raise OrganizationRequired()
            organization = self.organizations[0]
        self.require_write(model_name, organization)
        return organization


def caller_for_user(user: Any, *, organization_slug: str | None = None) -> VoiceCaller:
    """Resolve the caller: one query for the user's memberships (one more when a superuser names an
    organization it is not a member of). An unknown slug and another organization's slug get the same
    answer (OrganizationUnknown), so the answer says nothing about other tenants.

    With a slug only that membership is read (an integration may belong to hundreds of organizations;
    each request acts in one). Without a slug, a member of several organizations gets
    `organization=None` (all of them); the API then asks for a choice (`caller_require_choice`), the
    admin shows them all.
    """
    if user is None or not user.is_authenticated:
        return VoiceCaller(user=None, is_superuser=False)
    memberships_query = Membership.objects.filter(user_id=user.pk, organization__is_active=True)
    if organization_slug is not None:
        memberships_query = memberships_query.filter(organization__slug=organization_slug)
    memberships = list(memberships_query.select_related("organization").order_by("organization__name"))
    roles = {membership.organization_id: membership.role for membership in memberships}
    organizations = tuple(membership.organization for membership in memberships)
    chosen: Organization | None = None
    if organization_slug is not None:
        chosen = next((org for org in organizations if org.slug == organization_slug), None)
        if chosen is None and user.is_superuser:
            chosen = Organization.objects.filter(slug=organization_slug).first()
        if chosen is None:
            raise OrganizationUnknown(
                fields={"organization": [f"None of your organizations has the slug {organization_slug!r}."]},
                slug=repr(organization_slug),
            )
    elif len(organizations) == 1 and not user.is_superuser:
        chosen = organizations[0]
    return VoiceCaller(
        user=user,
        is_superuser=bool(user.is_superuser),
        roles=roles,
        organizations=organizations,
        organization=chosen,
    )


def caller_require_choice(caller: VoiceCaller) -> VoiceCaller:
    """The API's rule: a member of several organizations names one (a superuser may read across all)."""
    if caller.organization is None and not caller.is_superuser and len(caller.organizations) > 1:
        raise OrganizationRequired(
            fields={
                "organization": [
                    "Required: you belong to "
                    + ", ".join(sorted(org.slug for org in caller.organizations))
                    + "."
                ]
            }
        )
    return caller


def caller_for_organization(organization: Organization, *, user: Any = None) -> VoiceCaller:
    """A caller acting in one organization with a manager's rights: for commands and the voice pipeline
    running on the organization's behalf (seeding, benchmarks), never for a request."""
    return VoiceCaller(
        user=user,
        is_superuser=False,
        roles={organization.pk: MANAGER},
        organizations=(organization,),
        organization=organization,
    )
