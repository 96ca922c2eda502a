"""Publishing, activating (rolling back) and retiring agent configurations.

Versions are numbered per organization under a lock on the organization's row (FOR NO KEY UPDATE:
rows referring to the organization keep inserting), which also serialises activations within the
organization, so "deactivate the current one, activate this one" never races another activation
into the partial unique indexes. Lock order: organization, then configurations.

Published versions are immutable; only `is_active` (and `activated_at`) change. Rolling back is
activating an older version: it becomes active again and keeps its number, and the history (every
version, who published it and when) stays. An organization-wide configuration can only be replaced,
never just switched off, so an organization that has one always has exactly one; a location override
can be retired (the location then falls back to the organization's configuration).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from config.errors import ConflictError
from voice.access import VoiceCaller
from voice.models import AgentConfig, Location, Organization
from voice.services.common import full_clean, same_organization


class OrganizationConfigRequired(ConflictError):
    code = "organization_config_required"
    default_detail = (
        "The organization-wide configuration cannot be switched off; activate another version instead."
    )


def _lock_organization(organization: Organization) -> Organization:
    return Organization.objects.select_for_update(no_key=True).get(pk=organization.pk)


def _deactivate_scope(*, organization_id: int, location_id: int | None, keep_pk: int | None = None) -> None:
    active = AgentConfig.objects.filter(organization_id=organization_id, is_active=True)
    active = active.filter(location_id=location_id) if location_id else active.filter(location__isnull=True)
    if keep_pk:
        active = active.exclude(pk=keep_pk)
    active.update(is_active=False)


@transaction.atomic
def config_publish(
    *,
    caller: VoiceCaller,
    policies: dict[str, Any],
    script_overrides: dict[str, Any],
    location: Location | None = None,
    organization: Organization | None = None,
    notes: str = "",
    activate: bool = True,
) -> AgentConfig:
    """A new version for the organization (or an override for `location`), active at once unless
    `activate` is false (published for later: activate it when ready). The organization is the
    location's, else the one given, else the caller's chosen one."""
    if location is not None:
        organization = location.organization
    organization = organization or caller.organization_for_create("agentconfig")
    caller.require_write("agentconfig", organization)
    if location is not None:
        same_organization(organization, location=location)
    _lock_organization(organization)
    latest = AgentConfig.objects.filter(organization_id=organization.pk).aggregate(latest=Max("version"))[
        "latest"
    ]
    now = timezone.now()
    config = AgentConfig(
        organization=organization,
        location=location,
        version=(latest or 0) + 1,
        policies=policies,
        script_overrides=script_overrides,
        notes=notes,
        is_active=activate,
        activated_at=now if activate else None,
        created_by=caller.user if getattr(caller.user, "pk", None) else None,
    )
    if activate:  # first, so validation sees the scope without its previous active version
        _deactivate_scope(organization_id=organization.pk, location_id=location.pk if location else None)
    full_clean(config)  # the transaction rolls the deactivation back if this refuses
    config.save()
    return config


@transaction.atomic
def config_activate(*, caller: VoiceCaller, config: AgentConfig) -> AgentConfig:
    """Make `config` its scope's active configuration (a rollback when it is older). Activating the
    active version changes nothing."""
    caller.require_write("agentconfig", config.organization)
    _lock_organization(config.organization)
    config = AgentConfig.objects.select_related("location", "organization", "created_by").get(pk=config.pk)
    if config.is_active:
        return config
    _deactivate_scope(
        organization_id=config.organization_id, location_id=config.location_id, keep_pk=config.pk
    )
    config.is_active, config.activated_at = True, timezone.now()
    config.save(update_fields=["is_active", "activated_at"])
    return config


@transaction.atomic
def config_deactivate(*, caller: VoiceCaller, config: AgentConfig) -> AgentConfig:
    """Retire a location override (the location falls back to the organization's configuration)."""
    caller.require_write("agentconfig", config.organization)
    if config.location_id is None:
        raise OrganizationConfigRequired()
    _lock_organization(config.organization)
    config = AgentConfig.objects.select_related("location", "organization", "created_by").get(pk=config.pk)
    if config.is_active:
        config.is_active = False
        config.save(update_fields=["is_active"])
    return config
