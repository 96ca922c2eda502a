"""The floor at a glance, for the supervisor's dashboard: who works, what waits, which SLA is breached.

Every figure is an aggregate, so the dashboard costs the same few queries with ten agents or ten
thousand and with an empty queue or a deep one: agents grouped by status (one query), waiting entries
grouped by priority (one), the breached entries longest overdue first (one, bounded), today's case
counts and CSAT (two), and the day's queue curve, every hour's queue length and breaches as conditional
counts of one statement (one). The hours are those of the server's `TIME_ZONE` day.

A past hour's queue length counts the entries queued by then and still waiting then: those waiting now,
and those assigned after it (`assigned_at`). Entries cancelled or otherwise taken out carry no time of
leaving, so they are left out of past hours rather than guessed.

Other kinds of work (leads, outbound queues) add a section of their own beside these when they land.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Avg, Count, Min, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.models import AvailabilityStatus, HumanAgent
from routing.models import CaseAssignment, EscalationQueueEntry, Priority, QueueStatus, SupportCase

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
    waiting_minutes: int
    overdue_minutes: int


@dataclass(frozen=True)
class HourPoint:
    hour: dt.datetime
    queued: int
    breached: int


@dataclass(frozen=True)
class FloorSnapshot:
    now: dt.datetime
    agent_states: list[AgentStateRow]
    waiting: list[WaitingRow]
    breaches: list[BreachRow]
    breach_count: int
    received_today: int
    routed_today: int
    completed_today: int
    csat_today: float | None
    hours: list[HourPoint] = field(default_factory=list)

    @property
    def agents_working(self) -> int:
        return sum(row.agents for row in self.agent_states if row.status in WORKING_STATUSES)

    @property
    def load(self) -> int:
        return sum(row.load for row in self.agent_states if row.status in WORKING_STATUSES)

    @property
    def capacity(self) -> int:
        return sum(row.capacity for row in self.agent_states if row.status in WORKING_STATUSES)

    @property
    def waiting_total(self) -> int:
        return sum(row.waiting for row in self.waiting)

    @property
    def longest_wait_minutes(self) -> int | None:
        waits = [row.longest_wait_minutes for row in self.waiting if row.longest_wait_minutes is not None]
        return max(waits) if waits else None


def _minutes(delta: dt.timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def floor_agent_states() -> list[AgentStateRow]:
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
    return [
        AgentStateRow(
            status=status.value,
            label=status.label,
            agents=grouped.get(status.value, {}).get("agents", 0),
            load=grouped.get(status.value, {}).get("load", 0),
            capacity=grouped.get(status.value, {}).get("capacity", 0),
        )
        for status in AvailabilityStatus
    ]


def floor_waiting(*, now: dt.datetime) -> list[WaitingRow]:
    """Waiting entries per priority, highest first: how many, how many past their deadline, the oldest."""
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
    """The waiting entries past their deadline, longest overdue first (at most `limit`)."""
    entries = (
        EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED, wait_deadline__lte=now)
        .order_by("wait_deadline", "queued_at")
        .values("case_id", "priority", "queued_at", "wait_deadline")[:limit]
    )
    return [
        BreachRow(
            case_id=entry["case_id"],
            priority=entry["priority"],
            waiting_minutes=_minutes(now - entry["queued_at"]),
            overdue_minutes=_minutes(now - entry["wait_deadline"]),
        )
        for entry in entries
    ]


def floor_day_start(now: dt.datetime) -> dt.datetime:
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def floor_hours(*, now: dt.datetime) -> list[HourPoint]:
    """Queue length and breaches at each full hour of today so far, and now (one query)."""
    start = floor_day_start(now)
    moments: list[dt.datetime] = []
    moment = start
    while moment < now:
        moments.append(moment)
        moment = timezone.localtime(moment + dt.timedelta(hours=1))
    moments.append(now)
    counts: dict[str, Count] = {}
    for index, moment in enumerate(moments):
        waiting_then = Q(queued_at__lte=moment) & (
            Q(status=QueueStatus.QUEUED) | Q(status=QueueStatus.ASSIGNED, assigned_at__gt=moment)
        )
        counts[f"q{index}"] = Count("id", filter=waiting_then)
        counts[f"b{index}"] = Count("id", filter=waiting_then & Q(wait_deadline__lte=moment))
    # Entries queued before today that were still waiting at its start count too.
    relevant = EscalationQueueEntry.objects.filter(queued_at__lte=now).filter(
        Q(status=QueueStatus.QUEUED) | Q(status=QueueStatus.ASSIGNED, assigned_at__gt=start)
    )
    totals = relevant.aggregate(**counts)
    return [
        HourPoint(hour=moment, queued=totals[f"q{index}"] or 0, breached=totals[f"b{index}"] or 0)
        for index, moment in enumerate(moments)
    ]


def floor_today(*, now: dt.datetime) -> dict[str, int | float | None]:
    """Cases received, routed and completed since the day's start, and the CSAT of today's completions."""
    start = floor_day_start(now)
    received = SupportCase.objects.filter(created_at__gte=start, created_at__lte=now).count()
    figures = CaseAssignment.objects.filter(Q(assigned_at__gte=start) | Q(completed_at__gte=start)).aggregate(
        routed=Count("id", filter=Q(assigned_at__gte=start)),
        completed=Count("id", filter=Q(completed_at__gte=start)),
        csat=Avg("csat_rating", filter=Q(completed_at__gte=start)),
    )
    return {
        "received_today": received,
        "routed_today": figures["routed"] or 0,
        "completed_today": figures["completed"] or 0,
        "csat_today": round(float(figures["csat"]), 2) if figures["csat"] is not None else None,
    }


def floor_snapshot(*, now: dt.datetime | None = None) -> FloorSnapshot:
    """Everything the dashboard shows, in a constant number of queries (six)."""
    now = now or timezone.now()
    waiting = floor_waiting(now=now)
    return FloorSnapshot(
        now=now,
        agent_states=floor_agent_states(),
        waiting=waiting,
        breaches=floor_breaches(now=now),
        breach_count=sum(row.breached for row in waiting),
        hours=floor_hours(now=now),
        **floor_today(now=now),
    )
