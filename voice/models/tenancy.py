"""The tenant (Organization) and who belongs to it (Membership).

Every other voice table carries `organization` and every composite index starts with it: the seed's
rule "always filter by organizationId first", and the column tenant isolation scopes on
(voice.access.VoiceCaller.scope).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Organization(models.Model):
    name = models.CharField(max_length=150, unique=True)
    slug = models.SlugField(
        max_length=60,
        unique=True,
        help_text="How API clients name the organization (the `organization` query parameter).",
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=~Q(slug=""), name="voice_org_slug_not_blank")]

    def __str__(self) -> str:
        return self.name


class MembershipRole(models.TextChoices):
    """What a member may change in the organization (voice.access.ROLE_WRITES); both roles read it all."""

    STAFF = "staff", "Staff"
    MANAGER = "manager", "Manager"


class Membership(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voice_memberships"
    )
    role = models.CharField(max_length=10, choices=MembershipRole.choices, default=MembershipRole.STAFF)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization_id", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="voice_membership_unique"),
            models.CheckConstraint(
                condition=Q(role__in=MembershipRole.values), name="voice_membership_role_valid"
            ),
        ]
        # Every request resolves its caller's memberships by user.
        indexes = [models.Index(fields=["user", "organization"], name="voice_membership_user_idx")]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.get_role_display()})"
