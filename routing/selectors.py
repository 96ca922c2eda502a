"""Reads routing depends on: the candidate agents for a case, the queue in serving order, a case page.

Candidate search is one SQL query whatever the number of agents: every hard rule that SQL can state
is a filter (active, working status, spare capacity, inside a schedule window in the agent's own time
zone, language, each required skill at the ring's minimum proficiency, tolerance for critical
frustration, fatigue lockout for difficult cases, exclusions), the survivors are pre-ranked by the
strategy's keys and only the top K (settings.ROUTING["CANDIDATE_LIMIT"]) are loaded, with their
skills, specializations and languages in three prefetch queries, for the pure engine to score.

Schedules are stored in local time per IANA zone. For each distinct zone in use we compute that zone's
current weekday, time and date in Python (zoneinfo knows DST; SQLite knows no zones) and OR one
condition per zone inside an Exists over the agent's schedules. Windows of type `exception` take an
agent off the queue (time off, meetings); `regular` and `temporary` windows put them on it.

Nothing here locks; the locking reads live in routing.services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentSchedule,
    AgentSkill,
    AvailabilityStatus,
    FrustrationTolerance,
    Proficiency,
    ScheduleType,
    Weekday,
)
from routing.engine.rules import is_difficult, proficiencies_at_least
from routing.engine.types import AgentProfile, CaseProfile, Ring
from routing.errors import CaseNotFound
from routing.models import CaseAssignment, EscalationQueueEntry, QueueStatus, SupportCase

DEFAULT_CANDIDATE_LIMIT = 50


def candidate_limit() -> int:
    return int(settings.ROUTING.get("CANDIDATE_LIMIT", DEFAULT_CANDIDATE_LIMIT))


# --- schedules -----------------------------------------------------------------------------------


def schedule_zones_in_use() -> list[str]:
    return list(AgentSchedule.objects.order_by().values_list("timezone", flat=True).distinct())


def _window_now_q(*, now: dt.datetime, zones: Iterable[str]) -> Q:
    """Schedule rows whose window contains `now` in their own zone; matches nothing if no zone."""
    condition = Q(pk__in=[])
    for zone in zones:
        try:
            local = now.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            continue  # an invalid zone in the data puts nobody in schedule; the admin validates zones
        day, time = local.date(), local.time().replace(tzinfo=None)
        condition |= Q(
            timezone=zone,
            day_of_week=Weekday.from_iso(local.isoweekday()).value,
            start_time__lte=time,
            end_time__gt=time,
            effective_from__lte=day,
        ) & (Q(effective_until__isnull=True) | Q(effective_until__gte=day))
    return condition


def in_schedule_q(*, now: dt.datetime, zones: Iterable[str], agent_ref: str = "agent_id") -> Q:
    """For a queryset with an agent id column `agent_ref`: inside a working window and no exception."""
    window = _window_now_q(now=now, zones=zones)
    schedules = AgentSchedule.objects.filter(agent_id=OuterRef(agent_ref)).filter(window)
    return Q(Exists(schedules.exclude(schedule_type=ScheduleType.EXCEPTION))) & ~Q(
        Exists(schedules.filter(schedule_type=ScheduleType.EXCEPTION))
    )


# --- candidates ----------------------------------------------------------------------------------


def _proficiency_rank_expression() -> Case:
    return Case(
        *[When(proficiency=value, then=Value(rank)) for rank, value in enumerate(Proficiency.values, 1)],
        default=Value(0),
        output_field=IntegerField(),
    )


def _filter_stages(
    *, case: CaseProfile, ring: Ring, now: dt.datetime, zones: list[str], lockout: int
) -> list[tuple[str, Q]]:
    """The hard rules as (name, Q over AgentAvailability), in the order the funnel reports them."""
    stages: list[tuple[str, Q]] = [
        ("active", Q(agent__is_active=True)),
        (
            "working_status",
            Q(status=AvailabilityStatus.AVAILABLE) | Q(status=AvailabilityStatus.BUSY, manual_override=False),
        ),
        ("spare_capacity", Q(current_load__lt=F("agent__max_concurrent_cases"))),
        ("in_schedule", in_schedule_q(now=now, zones=zones)),
    ]
    if case.language:
        stages.append(
            (
                f"language:{case.language}",
                Q(
                    Exists(
                        AgentLanguage.objects.filter(
                            agent_id=OuterRef("agent_id"), language_code=case.language
                        )
                    )
                ),
            )
        )
    levels = proficiencies_at_least(ring.min_proficiency)
    for skill in ring.skills:
        stages.append(
            (
                f"skill:{skill}",
                Q(
                    Exists(
                        AgentSkill.objects.filter(
                            agent_id=OuterRef("agent_id"), domain__code=skill, proficiency__in=levels
                        )
                    )
                ),
            )
        )
    if case.frustration == "critical":
        stages.append(("frustration_tolerance", ~Q(agent__frustration_tolerance=FrustrationTolerance.LOW)))
    if is_difficult(complexity=case.complexity, frustration=case.frustration):
        stages.append(
            (
                "fatigue_lockout",
                ~Q(
                    Exists(
                        AgentPerformance.objects.filter(
                            agent_id=OuterRef("agent_id"), consecutive_difficult_cases__gte=lockout
                        )
                    )
                ),
            )
        )
    if case.excluded_agent_ids:
        stages.append(("excluded", ~Q(agent_id__in=sorted(case.excluded_agent_ids))))
    return stages


def _prerank_order(*, keys: Iterable[str], case: CaseProfile, ring: Ring) -> tuple[dict, list]:
    annotations: dict = {}
    order: list = []
    if case.frustration in ("high", "critical"):
        annotations["tolerance_tier"] = Case(
            When(agent__frustration_tolerance=FrustrationTolerance.HIGH, then=Value(0)),
            When(agent__frustration_tolerance=FrustrationTolerance.MEDIUM, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        order.append(F("tolerance_tier").asc())
    for key in keys:
        if key == "skill":
            skills = list(case.required_skills or ring.skills)
            annotations["skill_points"] = Coalesce(
                Subquery(
                    AgentSkill.objects.filter(agent_id=OuterRef("agent_id"), domain__code__in=skills)
                    .order_by()
                    .values("agent_id")
                    .annotate(points=Sum(_proficiency_rank_expression()))
                    .values("points")[:1]
                ),
                Value(0),
            )
            order.append(F("skill_points").desc())
        elif key == "spare_capacity":
            annotations["spare"] = F("agent__max_concurrent_cases") - F("current_load")
            order.append(F("spare").desc())
        elif key == "load_ratio":
            annotations["load_ratio"] = Cast("current_load", FloatField()) / Cast(
                "agent__max_concurrent_cases", FloatField()
            )
            order.append(F("load_ratio").asc())
        elif key == "idle":
            order.append(F("last_assigned_at").asc(nulls_first=True))
        elif key == "performance":
            order.append(F("agent__performance__csat_score").desc(nulls_last=True))
        else:
            raise ValueError(f"unknown pre-rank key {key!r}")
    order.append(F("agent_id").asc())
    return annotations, order


def _with_profile_data(queryset: QuerySet[AgentAvailability]) -> QuerySet[AgentAvailability]:
    return queryset.select_related("agent", "agent__performance").prefetch_related(
        Prefetch("agent__skills", queryset=AgentSkill.objects.select_related("domain")),
        "agent__specializations",
        "agent__languages",
    )


def agent_profile_from(availability: AgentAvailability, *, in_schedule: bool | None = None) -> AgentProfile:
    """An engine AgentProfile from an availability row loaded with `_with_profile_data`."""
    agent = availability.agent
    try:
        performance: AgentPerformance | None = agent.performance
    except AgentPerformance.DoesNotExist:
        performance = None

    def _float(value) -> float | None:
        return None if value is None else float(value)

    if in_schedule is None:
        in_schedule = bool(getattr(availability, "in_schedule", True))
    return AgentProfile(
        agent_id=agent.pk,
        code=agent.code,
        status=availability.status if agent.is_active else "inactive",
        manual_override=availability.manual_override,
        max_concurrent_cases=agent.max_concurrent_cases,
        current_load=availability.current_load,
        frustration_tolerance=agent.frustration_tolerance,
        skills={skill.domain.code: skill.proficiency for skill in agent.skills.all()},
        specializations={spec.specialization: float(spec.confidence) for spec in agent.specializations.all()},
        languages=frozenset(language.language_code for language in agent.languages.all()),
        in_schedule=in_schedule,
        csat=_float(performance.csat_score) if performance else None,
        escalation_rate=_float(performance.escalation_rate) if performance else None,
        first_contact_resolution=_float(performance.first_contact_resolution_rate) if performance else None,
        stress=float(performance.stress_score) if performance else 0.0,
        consecutive_difficult=performance.consecutive_difficult_cases if performance else 0,
        last_assigned_at=availability.last_assigned_at,
    )


def agent_candidates(
    *,
    case: CaseProfile,
    ring: Ring,
    prerank: Iterable[str],
    now: dt.datetime,
    lockout: int,
    zones: list[str] | None = None,
    limit: int | None = None,
) -> list[AgentProfile]:
    """The top-K agents that satisfy every hard rule for `case` at `ring`, pre-ranked in SQL."""
    zones = schedule_zones_in_use() if zones is None else zones
    queryset = AgentAvailability.objects.all()
    for _, condition in _filter_stages(case=case, ring=ring, now=now, zones=zones, lockout=lockout):
        queryset = queryset.filter(condition)
    annotations, order = _prerank_order(keys=prerank, case=case, ring=ring)
    queryset = _with_profile_data(queryset.annotate(**annotations).order_by(*order))
    rows = list(queryset[: limit or candidate_limit()])
    return [agent_profile_from(row, in_schedule=True) for row in rows]


def candidate_funnel(
    *, case: CaseProfile, ring: Ring, now: dt.datetime, lockout: int, zones: list[str] | None = None
) -> list[tuple[str, int]]:
    """How many agents pass each hard rule in turn (cumulative), in one aggregate query."""
    zones = schedule_zones_in_use() if zones is None else zones
    stages = _filter_stages(case=case, ring=ring, now=now, zones=zones, lockout=lockout)
    aggregates = {}
    cumulative = Q()
    for index, (_, condition) in enumerate(stages):
        cumulative &= condition
        aggregates[f"stage_{index}"] = Count("pk", filter=cumulative)
    counts = AgentAvailability.objects.aggregate(total=Count("pk"), **aggregates)
    return [("agents", counts["total"])] + [
        (name, counts[f"stage_{index}"]) for index, (name, _) in enumerate(stages)
    ]


def agent_profile(*, agent_id: int, now: dt.datetime, zones: list[str] | None = None) -> AgentProfile | None:
    """One agent's profile with whether it is inside a schedule window now (for queue dispatch)."""
    zones = schedule_zones_in_use() if zones is None else zones
    row = _with_profile_data(
        AgentAvailability.objects.filter(agent_id=agent_id).annotate(
            in_schedule=Case(
                When(in_schedule_q(now=now, zones=zones), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
    ).first()
    return agent_profile_from(row) if row is not None else None


# --- queue ---------------------------------------------------------------------------------------


def queue_serving_order(*, now: dt.datetime | None = None) -> QuerySet[EscalationQueueEntry]:
    """Waiting entries in serving order: overdue first, then higher priority, then longer waiting.

    Annotated `is_overdue` (waited past its deadline). The case is joined (routing needs its language).
    """
    now = now or timezone.now()
    return (
        EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED)
        .select_related("case")
        .annotate(
            is_overdue=Case(
                When(wait_deadline__lte=now, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by(F("is_overdue").desc(), F("priority_rank").desc(), "queued_at", "id")
    )


def queue_position(*, entry: EscalationQueueEntry, now: dt.datetime | None = None) -> int:
    """1-based place of a waiting entry in serving order, by counting the waiting entries ahead of it
    (one COUNT over the partial serving/deadline indexes); 0 if the entry is not waiting."""
    if entry.status != QueueStatus.QUEUED:
        return 0
    now = now or timezone.now()
    overdue = Q(wait_deadline__lte=now)
    same_band_ahead = Q(priority_rank__gt=entry.priority_rank) | Q(
        priority_rank=entry.priority_rank, queued_at__lt=entry.queued_at
    )
    same_band_ahead |= Q(priority_rank=entry.priority_rank, queued_at=entry.queued_at, id__lt=entry.id)
    # An overdue entry has only overdue entries ahead of it; a punctual one has every overdue entry too.
    ahead = (overdue & same_band_ahead) if entry.wait_deadline <= now else (overdue | same_band_ahead)
    waiting = EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED).exclude(pk=entry.pk)
    return waiting.filter(ahead).count() + 1


# --- cases ---------------------------------------------------------------------------------------


def case_detail(*, case_id: str) -> SupportCase:
    """A case with its assignments (and their agents), queue entries and decisions prefetched."""
    try:
        return SupportCase.objects.prefetch_related(
            Prefetch("assignments", queryset=CaseAssignment.objects.select_related("agent")),
            "queue_entries",
            "decisions",
        ).get(case_id=case_id)
    except SupportCase.DoesNotExist:
        raise CaseNotFound(case_id=case_id) from None
