"""Data integrity checks (seed 000, section 3.3 and "Data Quality Validation") as a registry.

Each check is a named function returning a queryset of the offending rows' identifiers (agent codes,
case ids, assignment ids); `integrity_run` counts them and keeps a few as a sample. Every check is one
set-based query (anti-joins with NOT EXISTS, grouped counts, correlated counts), never a loop over rows.

Some checks look for things the schema already forbids (foreign keys, CHECK and partial UNIQUE
constraints). They stay: data can arrive raw (COPY, restores, a constraint dropped during a migration)
and the point of a verification is not to trust the guard it verifies.

Add a check by decorating a function with `@integrity_check(name, description)`; check_integrity and
the weekly maintenance run every registered check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast
from django.utils import timezone

from agents.models import (
    AgentAvailability,
    AgentPerformance,
    AgentPeriodMetrics,
    AgentSchedule,
    AvailabilityStatus,
    HumanAgent,
)
from routing.models import (
    OPEN_ASSIGNMENT_STATUSES,
    CaseAssignment,
    CaseAssignmentArchive,
    CaseStatus,
    EscalationQueueEntry,
    Priority,
    QueueStatus,
    SupportCase,
)
from routing.work import open_work_count

SAMPLE_SIZE = 5


@dataclass(frozen=True)
class IntegrityCheck:
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


CHECKS: dict[str, IntegrityCheck] = {}


def integrity_check(
    name: str, description: str
) -> Callable[[Callable[[], QuerySet]], Callable[[], QuerySet]]:
    def register(function: Callable[[], QuerySet]) -> Callable[[], QuerySet]:
        if name in CHECKS:
            raise ValueError(f"integrity check {name!r} registered twice")
        CHECKS[name] = IntegrityCheck(name=name, description=description, offenders=function)
        return function

    return register


class UnknownCheck(ValueError):
    pass


def integrity_run(names: Iterable[str] | None = None) -> list[CheckResult]:
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


# --- every agent has its live rows ---------------------------------------------------------------------


@integrity_check("agents_without_availability", "Agents with no AgentAvailability row")
def agents_without_availability() -> QuerySet:
    return (
        HumanAgent.objects.filter(~Exists(AgentAvailability.objects.filter(agent_id=OuterRef("pk"))))
        .order_by("code")
        .values_list("code", flat=True)
    )


@integrity_check("agents_without_performance", "Agents with no AgentPerformance snapshot")
def agents_without_performance() -> QuerySet:
    return (
        HumanAgent.objects.filter(~Exists(AgentPerformance.objects.filter(agent_id=OuterRef("pk"))))
        .order_by("code")
        .values_list("code", flat=True)
    )


@integrity_check("active_agents_without_schedule", "Active agents with no schedule in effect today or later")
def active_agents_without_schedule() -> QuerySet:
    today = timezone.now().date()
    current = AgentSchedule.objects.filter(agent_id=OuterRef("pk")).filter(
        Q(effective_until__isnull=True) | Q(effective_until__gte=today)
    )
    return (
        HumanAgent.objects.filter(is_active=True)
        .filter(~Exists(current))
        .order_by("code")
        .values_list("code", flat=True)
    )


# --- orphans (foreign keys should make these impossible; raw imports can still produce them) ------------


def _case_exists() -> Exists:
    return Exists(SupportCase.objects.filter(case_id=OuterRef("case_id")))


@integrity_check("assignments_without_case", "Case assignments whose case_id has no SupportCase")
def assignments_without_case() -> QuerySet:
    return (
        CaseAssignment.objects.filter(~_case_exists()).order_by("case_id").values_list("case_id", flat=True)
    )


@integrity_check("assignments_without_agent", "Case assignments whose agent does not exist")
def assignments_without_agent() -> QuerySet:
    return (
        CaseAssignment.objects.filter(~Exists(HumanAgent.objects.filter(pk=OuterRef("agent_id"))))
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )


@integrity_check("archived_assignments_without_case", "Archived assignments whose case_id has no SupportCase")
def archived_assignments_without_case() -> QuerySet:
    return (
        CaseAssignmentArchive.objects.filter(~_case_exists())
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )


@integrity_check("queue_entries_without_case", "Escalation queue entries whose case_id has no SupportCase")
def queue_entries_without_case() -> QuerySet:
    return (
        EscalationQueueEntry.objects.filter(~_case_exists())
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )


# --- metrics within their ranges -------------------------------------------------------------------------


def _outside(field: str, low: float, high: float) -> Q:
    return Q(**{f"{field}__lt": low}) | Q(**{f"{field}__gt": high})


@integrity_check(
    "performance_metrics_out_of_range",
    "Performance snapshots with CSAT outside 1..5 or a rate or stress outside 0..1",
)
def performance_metrics_out_of_range() -> QuerySet:
    bad = (
        _outside("csat_score", 1, 5)
        | _outside("escalation_rate", 0, 1)
        | _outside("first_contact_resolution_rate", 0, 1)
        | _outside("stress_score", 0, 1)
    )
    return AgentPerformance.objects.filter(bad).order_by("agent__code").values_list("agent__code", flat=True)


@integrity_check(
    "period_metrics_out_of_range", "Period metrics with CSAT outside 1..5 or a rate outside 0..1"
)
def period_metrics_out_of_range() -> QuerySet:
    bad = _outside("csat_score", 1, 5)
    for field in (
        "conversion_rate_hot",
        "conversion_rate_warm",
        "conversion_rate_cold",
        "cross_sell_rate",
        "upsell_rate",
    ):
        bad |= _outside(field, 0, 1)
    return (
        AgentPeriodMetrics.objects.filter(bad).order_by("agent__code").values_list("agent__code", flat=True)
    )


@integrity_check(
    "assignment_ratings_out_of_range",
    "Assignments with CSAT outside 1..5, confidence outside 0..1 or match score outside 0..100",
)
def assignment_ratings_out_of_range() -> QuerySet:
    bad = (
        _outside("csat_rating", 1, 5) | _outside("routing_confidence", 0, 1) | _outside("match_score", 0, 100)
    )
    return CaseAssignment.objects.filter(bad).order_by("case_id").values_list("case_id", flat=True)


# --- the queue agrees with the assignments ---------------------------------------------------------------


@integrity_check(
    "queue_waiting_with_open_assignment", "Waiting queue entries whose case already has an open assignment"
)
def queue_waiting_with_open_assignment() -> QuerySet:
    open_assignment = CaseAssignment.objects.filter(
        case_id=OuterRef("case_id"), status__in=OPEN_ASSIGNMENT_STATUSES
    )
    return (
        EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED)
        .filter(Exists(open_assignment))
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )


# The serving order (routing.selectors.queue_serving_order, and queue_position's count of entries ahead)
# reads two stored columns instead of computing them per row: `wait_deadline` (overdue entries go first)
# and `priority_rank` (a generated column). If either disagrees with the values it derives from, every
# position and every dispatch choice is silently wrong; these checks recompute both for the waiting rows.


@integrity_check(
    "queue_deadline_mismatch", "Waiting entries whose wait_deadline is not queued_at + max_wait_minutes"
)
def queue_deadline_mismatch() -> QuerySet:
    # Compared as durations (deadline - queued_at vs max wait): exact on both PostgreSQL (intervals)
    # and SQLite (microseconds), with no datetime formatting in between.
    waited = ExpressionWrapper(F("wait_deadline") - F("queued_at"), output_field=DurationField())
    allowed = ExpressionWrapper(
        # Cast: SQLite's duration arithmetic accepts IntegerField, not PositiveIntegerField.
        Cast("max_wait_minutes", IntegerField()) * Value(dt.timedelta(minutes=1)),
        output_field=DurationField(),
    )
    return (
        EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED)
        .annotate(waited=waited, allowed=allowed)
        .exclude(waited=F("allowed"))
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )


@integrity_check(
    "queue_priority_rank_mismatch", "Waiting entries whose priority_rank does not match their priority"
)
def queue_priority_rank_mismatch() -> QuerySet:
    # priority_rank is generated by the database from the priority as the migration stated it; a
    # Priority member added without regenerating the column, or a raw row with an unknown priority,
    # shows up here (expected rank NULL, or another number).
    expected = Case(
        *[When(priority=value, then=Value(rank)) for rank, value in enumerate(Priority.values, 1)],
        default=Value(None),
        output_field=IntegerField(),
    )
    return (
        EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED)
        .annotate(expected_rank=expected)
        .filter(Q(expected_rank__isnull=True) | ~Q(priority_rank=F("expected_rank")))
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )


@integrity_check("queue_waiting_with_agent", "Waiting entries that still carry an assigned agent or time")
def queue_waiting_with_agent() -> QuerySet:
    return (
        EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED)
        .filter(Q(assigned_agent__isnull=False) | Q(assigned_at__isnull=False))
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )


@integrity_check(
    "queue_assigned_without_open_assignment",
    "Entries marked assigned whose agent holds no open assignment for the case",
)
def queue_assigned_without_open_assignment() -> QuerySet:
    held = CaseAssignment.objects.filter(
        case_id=OuterRef("case_id"),
        agent_id=OuterRef("assigned_agent_id"),
        status__in=OPEN_ASSIGNMENT_STATUSES,
    )
    return (
        EscalationQueueEntry.objects.filter(status=QueueStatus.ASSIGNED)
        .filter(~Exists(held))
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )


@integrity_check("cases_queued_without_entry", "Cases in status queued with no waiting queue entry (lost)")
def cases_queued_without_entry() -> QuerySet:
    waiting = EscalationQueueEntry.objects.filter(case_id=OuterRef("case_id"), status=QueueStatus.QUEUED)
    return (
        SupportCase.objects.filter(status=CaseStatus.QUEUED)
        .filter(~Exists(waiting))
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )


@integrity_check("queue_duplicate_waiting", "Cases waiting in the queue more than once")
def queue_duplicate_waiting() -> QuerySet:
    return (
        EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED)
        .order_by()
        .values("case_id")
        .annotate(entries=Count("pk"))
        .filter(entries__gt=1)
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )


@integrity_check("queue_waiting_case_not_queued", "Waiting queue entries whose case status is not queued")
def queue_waiting_case_not_queued() -> QuerySet:
    return (
        EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED)
        .exclude(case__status=CaseStatus.QUEUED)
        .order_by("case_id")
        .values_list("case_id", flat=True)
    )


# --- availability agrees with the load -------------------------------------------------------------------


@integrity_check(
    "availability_load_mismatch",
    "Agents whose current_load differs from their open work of every kind (assigned or in progress)",
)
def availability_load_mismatch() -> QuerySet:
    return (
        AgentAvailability.objects.annotate(open_assignments=open_work_count("agent_id"))
        .exclude(current_load=F("open_assignments"))
        .order_by("agent__code")
        .values_list("agent__code", flat=True)
    )


@integrity_check(
    "available_at_capacity", "Agents shown as available although their load has reached capacity (busy)"
)
def available_at_capacity() -> QuerySet:
    return (
        AgentAvailability.objects.filter(
            status=AvailabilityStatus.AVAILABLE, current_load__gte=F("agent__max_concurrent_work")
        )
        .order_by("agent__code")
        .values_list("agent__code", flat=True)
    )


@integrity_check("agents_over_capacity", "Agents holding more open work than max_concurrent_work")
def agents_over_capacity() -> QuerySet:
    return (
        HumanAgent.objects.annotate(open_assignments=open_work_count("pk"))
        .filter(open_assignments__gt=F("max_concurrent_work"))
        .order_by("code")
        .values_list("code", flat=True)
    )
