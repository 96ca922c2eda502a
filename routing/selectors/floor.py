"""The floor at a glance, for the supervisor's dashboard: who works, what waits, which SLA is breached.

Every figure is an aggregate, so the dashboard costs the same few queries with ten agents or ten
thousand and with an empty queue or a deep one: agents grouped by status (one query), waiting cases
grouped by priority (one), the breached cases longest overdue first (one, bounded), today's case counts
and CSAT (two), the day's queue curve (one), and waiting leads grouped by queue type (one). The outbound
queues add their own section (scoring.floor, one query).

"Today" is the day of the server's `TIME_ZONE` (settings), not of whatever zone a request activated:
a supervisor in another zone reads the same counts as the floor's reports. Its hours are real hours
from that midnight, so a daylight-saving day has 23 or 25 of them, labelled by their local time.

A past hour's queue length counts the entries queued by then that had not yet left: those waiting
now, and those that left after that hour. An entry leaves when it is assigned (`assigned_at`, kept
when the assignment completes) or cancelled. A cancelled entry has no time of leaving of its own; its
case's `updated_at` serves, because a cancellation is the cancelled case's last write (a requeue would
make the entry waiting again, and routing writes nothing else to a cancelled case). A requeued entry
regains its original `queued_at` and loses its `assigned_at`, so the hours it spent assigned before the
requeue are counted as waiting: the queue keeps no history of its own. An hour's breaches are the
entries waiting then past their deadline then (`wait_deadline` never moves; escalation raises the
priority only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Avg, Case, Count, F, Min, Q, Sum, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.models import AvailabilityStatus, HumanAgent
from routing.models import (
    AssignmentQueue,
    AssignmentQueueStatus,
    AssignmentStatus,
    CaseAssignment,
    EscalationQueueEntry,
    Priority,
    QueueStatus,
    SupportCase,
)
from routing.models import QueueType as LeadQueueType

BREACH_LIST_LIMIT = 10
WORKING_STATUSES = (AvailabilityStatus.AVAILABLE, AvailabilityStatus.BUSY, AvailabilityStatus.IN_CALL)


@dataclass(frozen=True)
class AgentStateRow:
    status: str
    label: str
    agents: int
    load: int
    capacity: int


@dataclass(frozen=True)
class WaitingRow:
    priority: str
    label: str
    waiting: int
    breached: int
    longest_wait_minutes: int | None


@dataclass(frozen=True)
class BreachRow:
    case_id: str
    priority: str
    priority_label: str
    waiting_minutes: int
    overdue_minutes: int


@dataclass(frozen=True)
class HourPoint:
    hour: dt.datetime
    queued: int
    breached: int


@dataclass(frozen=True)
class TodayFigures:
    received: int
    routed: int
    completed: int
    csat: float | None
    rated: int


@dataclass(frozen=True)
class LeadQueueRow:
    queue_type: str
    label: str
    waiting: int
    sla_expired: int
    longest_wait_minutes: int | None


@dataclass(frozen=True)
class LeadFloor:
    queues: list[LeadQueueRow]
    breached_today: int

    @property
    def waiting_total(self) -> int:
        return sum(row.waiting for row in self.queues)

    @property
    def sla_expired_total(self) -> int:
        return sum(row.sla_expired for row in self.queues)


@dataclass(frozen=True)
class CaseFloor:
    waiting: list[WaitingRow]
    breaches: list[BreachRow]
    today: TodayFigures
    hours: list[HourPoint] = field(default_factory=list)

    @property
    def waiting_total(self) -> int:
        return sum(row.waiting for row in self.waiting)

    @property
    def breach_count(self) -> int:
        return sum(row.breached for row in self.waiting)

    @property
    def longest_wait_minutes(self) -> int | None:
        waits = [row.longest_wait_minutes for row in self.waiting if row.longest_wait_minutes is not None]
        return max(waits) if waits else None


@dataclass(frozen=True)
class AgentFloor:
    states: list[AgentStateRow]

    @property
    def working(self) -> int:
        return sum(row.agents for row in self.states if row.status in WORKING_STATUSES)

    @property
    def load(self) -> int:
        return sum(row.load for row in self.states if row.status in WORKING_STATUSES)

    @property
    def capacity(self) -> int:
        return sum(row.capacity for row in self.states if row.status in WORKING_STATUSES)


def _minutes(delta: dt.timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def floor_day_start(now: dt.datetime) -> dt.datetime:
    """Midnight of `now`'s day in the server's TIME_ZONE (not the request's active zone)."""
    zone = timezone.get_default_timezone()
    return dt.datetime.combine(now.astimezone(zone).date(), dt.time.min, tzinfo=zone)


def floor_hours_of_day(now: dt.datetime) -> list[dt.datetime]:
    """Every full hour from the server day's midnight up to `now`, then `now` itself."""
    zone = timezone.get_default_timezone()
    # Python adds a timedelta to an aware datetime on its wall clock (02:00 + 1 h is 03:00 even when the
    # clocks jump), so the hours are stepped in UTC and only then shown in the server's zone.
    moment = floor_day_start(now).astimezone(dt.UTC)
    moments: list[dt.datetime] = []
    while moment < now:
        moments.append(moment.astimezone(zone))
        moment = moment + dt.timedelta(hours=1)
    moments.append(now.astimezone(zone))
    return moments


def floor_agent_states() -> AgentFloor:
    """Active agents per availability status, with their summed load and capacity (one query)."""
    grouped = {
        row["availability__status"]: row
        for row in HumanAgent.objects.filter(is_active=True, availability__isnull=False)
        .values("availability__status")
        .annotate(
            agents=Count("id"),
            load=Coalesce(Sum("availability__current_load"), 0),
            capacity=Coalesce(Sum("max_concurrent_work"), 0),
        )
        .order_by()
    }
    return AgentFloor(
        states=[
            AgentStateRow(
                status=status.value,
                label=status.label,
                agents=grouped.get(status.value, {}).get("agents", 0),
                load=grouped.get(status.value, {}).get("load", 0),
                capacity=grouped.get(status.value, {}).get("capacity", 0),
            )
            for status in AvailabilityStatus
        ]
    )


def floor_waiting(*, now: dt.datetime) -> list[WaitingRow]:
    """Waiting cases per priority, highest first: how many, how many past their deadline, the oldest."""
    grouped = {
        row["priority"]: row
        for row in EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED)
        .values("priority")
        .annotate(
            waiting=Count("id"),
            breached=Count("id", filter=Q(wait_deadline__lte=now)),
            oldest=Min("queued_at"),
        )
        .order_by()
    }
    rows = []
    for priority in reversed(Priority):
        row = grouped.get(priority.value)
        rows.append(
            WaitingRow(
                priority=priority.value,
                label=priority.label,
                waiting=row["waiting"] if row else 0,
                breached=row["breached"] if row else 0,
                longest_wait_minutes=_minutes(now - row["oldest"]) if row else None,
            )
        )
    return rows


def floor_breaches(*, now: dt.datetime, limit: int = BREACH_LIST_LIMIT) -> list[BreachRow]:
    """The waiting cases past their deadline, longest overdue first (at most `limit`)."""
    entries = (
        EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED, wait_deadline__lte=now)
        .order_by("wait_deadline", "queued_at", "id")
        .values("case_id", "priority", "queued_at", "wait_deadline")[:limit]
    )
    return [
        BreachRow(
            case_id=entry["case_id"],
            priority=entry["priority"],
            priority_label=Priority(entry["priority"]).label,
            waiting_minutes=_minutes(now - entry["queued_at"]),
            overdue_minutes=_minutes(now - entry["wait_deadline"]),
        )
        for entry in entries
    ]


def _queue_left_at() -> Case:
    """When an entry left the queue (None while waiting, or when unknown): see the module docstring."""
    return Case(
        When(status__in=[QueueStatus.ASSIGNED, QueueStatus.COMPLETED], then=F("assigned_at")),
        When(status=QueueStatus.CANCELLED, then=F("case__updated_at")),
        default=None,
    )


def floor_hours(*, now: dt.datetime) -> list[HourPoint]:
    """Queue length and breaches at each full hour of the server's day so far, and now (one query)."""
    moments = floor_hours_of_day(now)
    start = moments[0]
    left_at = _queue_left_at()
    counts: dict[str, Count] = {}
    for index, moment in enumerate(moments):
        waiting_then = Q(queued_at__lte=moment) & (Q(status=QueueStatus.QUEUED) | Q(left_at__gt=moment))
        counts[f"q{index}"] = Count("id", filter=waiting_then)
        counts[f"b{index}"] = Count("id", filter=waiting_then & Q(wait_deadline__lte=moment))
    # Only entries waiting at some moment of the day: still waiting, or left after its start.
    relevant = (
        EscalationQueueEntry.objects.filter(queued_at__lte=now)
        .alias(left_at=left_at)
        .filter(Q(status=QueueStatus.QUEUED) | Q(left_at__gt=start))
    )
    totals = relevant.aggregate(**counts)
    return [
        HourPoint(hour=moment, queued=totals[f"q{index}"] or 0, breached=totals[f"b{index}"] or 0)
        for index, moment in enumerate(moments)
    ]


def floor_today(*, now: dt.datetime) -> TodayFigures:
    """Cases received, routed (distinct cases given an agent) and completed since the server day's start,
    and the mean CSAT of today's completions that were rated (two queries)."""
    start = floor_day_start(now)
    received = SupportCase.objects.filter(created_at__gte=start, created_at__lte=now).count()
    assigned_today = Q(assigned_at__gte=start, assigned_at__lte=now)
    completed_today = Q(status=AssignmentStatus.COMPLETED, completed_at__gte=start, completed_at__lte=now)
    figures = CaseAssignment.objects.filter(assigned_today | completed_today).aggregate(
        routed=Count("case", filter=assigned_today, distinct=True),
        completed=Count("id", filter=completed_today),
        csat=Avg("csat_rating", filter=completed_today),
        rated=Count("csat_rating", filter=completed_today),
    )
    return TodayFigures(
        received=received,
        routed=figures["routed"] or 0,
        completed=figures["completed"] or 0,
        csat=round(float(figures["csat"]), 2) if figures["csat"] is not None else None,
        rated=figures["rated"] or 0,
    )


def floor_cases(*, now: dt.datetime) -> CaseFloor:
    return CaseFloor(
        waiting=floor_waiting(now=now),
        breaches=floor_breaches(now=now),
        today=floor_today(now=now),
        hours=floor_hours(now=now),
    )


def floor_leads(*, now: dt.datetime) -> LeadFloor:
    """Waiting leads per queue type (how many, how many past their speed-to-lead SLA, the oldest) and the
    leads whose SLA expired today unmet (one query).

    An SLA expired today unmet: its `sla_expiry` fell between the day's start and now, and the lead was
    still waiting then (marked breached by the sweep, still waiting, or taken only after the expiry)."""
    start = floor_day_start(now)
    waiting = Q(status=AssignmentQueueStatus.WAITING)
    expired_today = Q(sla_expiry__gte=start, sla_expiry__lte=now) & (
        Q(sla_breached=True) | waiting | Q(left_at__gt=F("sla_expiry"))
    )
    rows = {
        row["queue_type"]: row
        for row in AssignmentQueue.objects.filter(waiting | expired_today)
        .values("queue_type")
        .annotate(
            waiting=Count("id", filter=waiting),
            expired=Count("id", filter=waiting & Q(sla_expiry__lte=now)),
            oldest=Min("queued_at", filter=waiting),
            breached_today=Count("id", filter=expired_today),
        )
        .order_by()
    }
    queues = []
    for queue_type in LeadQueueType:
        row = rows.get(queue_type.value)
        queues.append(
            LeadQueueRow(
                queue_type=queue_type.value,
                label=queue_type.label,
                waiting=row["waiting"] if row else 0,
                sla_expired=row["expired"] if row else 0,
                longest_wait_minutes=_minutes(now - row["oldest"]) if row and row["oldest"] else None,
            )
        )
    return LeadFloor(queues=queues, breached_today=sum(row["breached_today"] for row in rows.values()))
