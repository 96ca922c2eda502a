"""Reads of agent configurations: versions, the active one (the voice pipeline's hot path), diffs.

`config_active` is what the voice pipeline asks before every call: one indexed query (the partial
index over active configurations) that returns the location's override if it has one and the
organization's configuration otherwise, and says at the same time whether the location exists in the
organization, so an unknown location is an error rather than a silent fallback. Its SQL is compiled
once (voice.selectors.compiled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, F, Q, QuerySet

from voice.access import VoiceCaller
from voice.engine.diff import Change, document_diff
from voice.errors import OrganizationRequired, VoiceNotFound
from voice.models import AgentConfig, Location
from voice.selectors.common import scoped_get
from voice.selectors.compiled import CompiledQuery


class ConfigLocationUnknown(VoiceNotFound):
    code = "invalid"
    http_status = 400


def config_list(*, caller: VoiceCaller) -> QuerySet[AgentConfig]:
    return caller.scope(AgentConfig.objects.all()).select_related("location", "created_by", "organization")


def config_get(*, caller: VoiceCaller, pk: Any) -> AgentConfig:
    return scoped_get(config_list(caller=caller), caller=caller, pk=pk, kind="agent configuration")


def config_by_version(*, caller: VoiceCaller, version: int) -> AgentConfig:
    """Version `version` of the caller's (chosen) organization."""
    if caller.organization is None:
        raise OrganizationRequired()
    try:
        return config_list(caller=caller).get(organization_id=caller.organization.pk, version=version)
    except (AgentConfig.DoesNotExist, ValueError, TypeError):
        raise VoiceNotFound(
            detail=f"No configuration version {version}.", fields={"version": [f"No version {version}."]}
        ) from None


@dataclass(frozen=True)
class ActiveConfig:
    config: AgentConfig | None
    source: str  # "location" (an override), "organization", or "none"


def _active_for_organization(*, organization: int) -> QuerySet[AgentConfig]:
    return AgentConfig.objects.filter(organization_id=organization, is_active=True, location__isnull=True)[:1]


def _active_for_location(*, organization: int, location: int) -> QuerySet[AgentConfig]:
    """The location's active override, else the organization's (overrides sort first: NULLS LAST),
    and whether the location is the organization's at all."""
    return (
        AgentConfig.objects.filter(organization_id=organization)
        .filter(Q(is_active=True) & (Q(location_id=location) | Q(location__isnull=True)))
        .annotate(
            location_known=Exists(
                Location.objects.filter(pk=location, organization_id=organization).values("pk")
            ),
            location_name=F("location__name"),  # for the response, without a query for the location
        )
        .order_by(F("location_id").asc(nulls_last=True))[:1]
    )


ACTIVE_FOR_ORGANIZATION = CompiledQuery(AgentConfig, _active_for_organization)
ACTIVE_FOR_LOCATION = CompiledQuery(AgentConfig, _active_for_location)


def config_active(*, caller: VoiceCaller, location_id: int | None = None) -> ActiveConfig:
    organization = caller.organization
    if organization is None:
        raise OrganizationRequired()
    if location_id is None:
        rows = ACTIVE_FOR_ORGANIZATION("organization", organization=organization.pk)
        config = _with_organization(rows[0], organization) if rows else None
        return ActiveConfig(config=config, source="organization" if config else "none")
    rows = ACTIVE_FOR_LOCATION("location", organization=organization.pk, location=int(location_id))
    known = rows[0].location_known if rows else _location_in(organization.pk, location_id)
    if not known:
        raise ConfigLocationUnknown(
            detail=f"No location with id {location_id}.",
            fields={"location": [f"No location with id {location_id}."]},
        )
    if not rows:
        return ActiveConfig(config=None, source="none")
    config = _with_organization(rows[0], organization)
    return ActiveConfig(config=config, source="location" if config.location_id else "organization")


def _with_organization(config: AgentConfig, organization: Any) -> AgentConfig:
    config.organization = organization  # known already: no query when the response names it
    return config


def _location_in(organization_id: int, location_id: int) -> bool:
    # Only when the organization has no active configuration at all (no row carried the answer).
    return Location.objects.filter(pk=location_id, organization_id=organization_id).exists()


@dataclass(frozen=True)
class ConfigDiff:
    old: AgentConfig
    new: AgentConfig
    changes: list[Change]


def config_document(config: AgentConfig) -> dict[str, Any]:
    """What a version says, as the diff compares it."""
    return {
        "location": config.location.name if config.location_id else None,
        "policies": config.policies,
        "script_overrides": config.script_overrides,
        "notes": config.notes,
    }


def config_diff(*, old: AgentConfig, new: AgentConfig) -> ConfigDiff:
    return ConfigDiff(old=old, new=new, changes=document_diff(config_document(old), config_document(new)))
