"""Voice data integrity checks (the seed's validation queries and more), as a registry.

Like routing.integrity: each check is one set-based query returning the offending rows' ids; the
`verify_voice_integrity` command counts them, prints a table and exits non-zero on any problem.

The seed's three validation queries are `calls_with_missing_config`, `appointments_with_missing_location`
and the knowledge counts by category (`knowledge_by_category`, informational). The rest are what the
schema guards only partly: rows pointing at another organization's rows (a foreign key cannot say
"of the same organization"), overlapping appointments (the exclusion constraint exists on PostgreSQL
only), organizations left without an active configuration, and streams never closed. Some look for
what the schema already forbids; they stay, because data can arrive raw (COPY, restores).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from voice.models import (
    AgentConfig,
    Appointment,
    AppointmentStatus,
    Call,
    CallEvent,
    CallStatus,
    KnowledgeCategory,
    KnowledgeEntry,
    Location,
    LocationException,
    LocationHours,
    Organization,
    Turn,
)

SAMPLE_SIZE = 5
STALE_STREAM = dt.timedelta(hours=24)


@dataclass(frozen=True)
class VoiceCheck:
    name: str
    description: str
    offenders: Callable[[], QuerySet]


@dataclass(frozen=True)
class CheckResult:
    name: str
    description: str
    count: int
    sample: list[str]

    @property
    def ok(self) -> bool:
        return self.count == 0


CHECKS: dict[str, VoiceCheck] = {}


def voice_check(name: str, description: str) -> Callable[[Callable[[], QuerySet]], Callable[[], QuerySet]]:
    def register(function: Callable[[], QuerySet]) -> Callable[[], QuerySet]:
        if name in CHECKS:
            raise ValueError(f"voice integrity check {name!r} registered twice")
        CHECKS[name] = VoiceCheck(name=name, description=description, offenders=function)
        return function

    return register


class UnknownCheck(ValueError):
    pass


def voice_integrity_run(names: Iterable[str] | None = None) -> list[CheckResult]:
    selected = list(names) if names else list(CHECKS)
    unknown = [name for name in selected if name not in CHECKS]
    if unknown:
        raise UnknownCheck(f"unknown check(s): {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    results = []
    for name in selected:
        check = CHECKS[name]
        offenders = check.offenders()
        sample = [str(value) for value in offenders[:SAMPLE_SIZE]]
        count = len(sample) if len(sample) < SAMPLE_SIZE else offenders.count()
        results.append(CheckResult(name=name, description=check.description, count=count, sample=sample))
    return results


def knowledge_by_category() -> list[tuple[str, int]]:
    """The seed's third query: facts per category (every category listed, empty ones too)."""
    counts = dict(KnowledgeEntry.objects.order_by().values_list("category").annotate(n=Count("pk")))
    known = [(category, counts.pop(category, 0)) for category in KnowledgeCategory.values]
    return known + sorted(counts.items())  # a category outside the list would show here (and fail below)


def _ids(queryset: QuerySet) -> QuerySet:
    return queryset.order_by("pk").values_list("pk", flat=True)


# --- the seed's referential checks -------------------------------------------------------------------


@voice_check("calls_with_missing_config", "Calls pointing at a configuration that does not exist")
def calls_with_missing_config() -> QuerySet:
    return _ids(
        Call.objects.filter(agent_config_id__isnull=False).filter(
            ~Exists(AgentConfig.objects.filter(pk=OuterRef("agent_config_id")))
        )
    )


@voice_check("appointments_with_missing_location", "Appointments at a location that does not exist")
def appointments_with_missing_location() -> QuerySet:
    return _ids(Appointment.objects.filter(~Exists(Location.objects.filter(pk=OuterRef("location_id")))))


@voice_check("knowledge_unknown_category", "Knowledge entries whose category is not one of the five")
def knowledge_unknown_category() -> QuerySet:
    return _ids(KnowledgeEntry.objects.exclude(category__in=KnowledgeCategory.values))


# --- tenant consistency: a row and what it points at belong to one organization -----------------------------


@voice_check(
    "cross_tenant_appointments", "Appointments whose location, service or provider is another organization's"
)
def cross_tenant_appointments() -> QuerySet:
    other = (
        ~Q(location__organization_id=F("organization_id"))
        | ~Q(service__organization_id=F("organization_id"))
        | ~Q(provider__organization_id=F("organization_id"))
    )
    return _ids(Appointment.objects.filter(other))


@voice_check("cross_tenant_calls", "Calls whose location or configuration is another organization's")
def cross_tenant_calls() -> QuerySet:
    other = (Q(location__isnull=False) & ~Q(location__organization_id=F("organization_id"))) | (
        Q(agent_config__isnull=False) & ~Q(agent_config__organization_id=F("organization_id"))
    )
    return _ids(Call.objects.filter(other))


@voice_check("cross_tenant_call_rows", "Turns and events whose organization is not their call's")
def cross_tenant_call_rows() -> QuerySet:
    turns = Turn.objects.exclude(organization_id=F("call__organization_id")).values("call_id")
    events = CallEvent.objects.exclude(organization_id=F("call__organization_id")).values("call_id")
    return _ids(Call.objects.filter(Q(pk__in=turns) | Q(pk__in=events)))


@voice_check("cross_tenant_configs", "Configuration overrides of another organization's location")
def cross_tenant_configs() -> QuerySet:
    return _ids(
        AgentConfig.objects.filter(location__isnull=False).exclude(
            location__organization_id=F("organization_id")
        )
    )


@voice_check("cross_tenant_knowledge", "Knowledge entries of another organization's location")
def cross_tenant_knowledge() -> QuerySet:
    return _ids(
        KnowledgeEntry.objects.filter(location__isnull=False).exclude(
            location__organization_id=F("organization_id")
        )
    )


@voice_check("cross_tenant_location_links", "Locations offering another organization's services or providers")
def cross_tenant_location_links() -> QuerySet:
    services = Location.services.through.objects.exclude(
        service__organization_id=F("location__organization_id")
    ).values("location_id")
    providers = Location.providers.through.objects.exclude(
        provider__organization_id=F("location__organization_id")
    ).values("location_id")
    hours = LocationHours.objects.exclude(organization_id=F("location__organization_id")).values(
        "location_id"
    )
    exceptions = LocationException.objects.exclude(organization_id=F("location__organization_id")).values(
        "location_id"
    )
    return _ids(
        Location.objects.filter(
            Q(pk__in=services) | Q(pk__in=providers) | Q(pk__in=hours) | Q(pk__in=exceptions)
        )
    )


# --- what the schema guards only on PostgreSQL, or not at all ------------------------------------------------


@voice_check("double_booked_providers", "Non-cancelled appointments overlapping another of the same provider")
def double_booked_providers() -> QuerySet:
    overlapping = (
        Appointment.objects.filter(
            provider_id=OuterRef("provider_id"),
            start_at__lt=OuterRef("end_at"),
            end_at__gt=OuterRef("start_at"),
        )
        .exclude(status=AppointmentStatus.CANCELLED)
        .exclude(pk=OuterRef("pk"))
    )
    return _ids(Appointment.objects.exclude(status=AppointmentStatus.CANCELLED).filter(Exists(overlapping)))


@voice_check(
    "organizations_without_active_config", "Organizations with configurations but none active org-wide"
)
def organizations_without_active_config() -> QuerySet:
    active = AgentConfig.objects.filter(organization_id=OuterRef("pk"), is_active=True, location__isnull=True)
    return _ids(
        Organization.objects.filter(
            Exists(AgentConfig.objects.filter(organization_id=OuterRef("pk")))
        ).filter(~Exists(active))
    )


@voice_check(
    "duplicate_active_configs", "Scopes (organization or location) with more than one active configuration"
)
def duplicate_active_configs() -> QuerySet:
    return (
        AgentConfig.objects.filter(is_active=True)
        .order_by()
        .values("organization_id", "location_id")
        .annotate(active=Count("pk"))
        .filter(active__gt=1)
        .order_by("organization_id")
        .values_list("organization_id", flat=True)
    )


@voice_check(
    "stale_open_calls", "Calls still in progress 24 hours after they started (a stream never closed)"
)
def stale_open_calls() -> QuerySet:
    return _ids(
        Call.objects.filter(status=CallStatus.IN_PROGRESS, started_at__lt=timezone.now() - STALE_STREAM)
    )


@voice_check("turn_metrics_out_of_range", "Turns with ASR confidence outside 0..1 or sentiment outside -1..1")
def turn_metrics_out_of_range() -> QuerySet:
    bad = Q(asr_confidence__lt=0) | Q(asr_confidence__gt=1) | Q(sentiment__lt=-1) | Q(sentiment__gt=1)
    return _ids(Turn.objects.filter(bad))


@voice_check("calls_ending_before_start", "Calls ending before they started")
def calls_ending_before_start() -> QuerySet:
    return _ids(Call.objects.filter(ended_at__lt=F("started_at")))
