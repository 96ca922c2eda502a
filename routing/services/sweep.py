"""The periodic sweep (manage.py dispatch_queue)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from agents.models import AgentAvailability, AvailabilityStatus
from routing.engine.rules import (
    MAX_RING,
)
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    EscalationQueueEntry,
    Priority,
    QueueStatus,
    RoutingEvent,
    RoutingEventType,
    SupportCase,
)
from routing.selectors import (
    queue_serving_order,
)
from routing.services.assignment import _release_load
from routing.services.queue import _entry_dispatch

SWEEP_DISPATCH_LIMIT = 200  # waiting entries offered to free agents per sweep
SWEEP_BATCH = 500  # timed-out assignments taken back per sweep


@dataclass
class SweepReport:
    escalated: int = 0
    widened: int = 0
    timed_out: int = 0
    dispatched: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "escalated": self.escalated,
            "widened": self.widened,
            "timed_out": self.timed_out,
            "dispatched": self.dispatched,
        }


# --- the sweep -----------------------------------------------------------------------------------


@transaction.atomic
def _escalate_overdue(*, now: dt.datetime) -> int:
    overdue = EscalationQueueEntry.objects.filter(
        status=QueueStatus.QUEUED, wait_deadline__lte=now
    ).values_list("pk", "queued_at", "max_wait_minutes", "escalation_count")
    due = [
        pk
        for pk, queued_at, max_wait, count in overdue
        if queued_at + dt.timedelta(minutes=max_wait * (count + 1)) <= now
    ]
    if not due:
        return 0
    entries = list(
        EscalationQueueEntry.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("case")
        .filter(pk__in=due, status=QueueStatus.QUEUED)
        .order_by("pk")
    )
    by_priority: dict[str, list] = {}
    for entry in entries:
        by_priority.setdefault(entry.priority, []).append(entry)
    events = []
    for priority, group in by_priority.items():
        raised = Priority.raised(priority)
        pks = [entry.pk for entry in group]
        EscalationQueueEntry.objects.filter(pk__in=pks).update(
            priority=raised, escalation_count=F("escalation_count") + 1
        )
        SupportCase.objects.filter(case_id__in=[entry.case_id for entry in group]).update(priority=raised)
        events += [
            RoutingEvent(
                case=entry.case,
                event_type=RoutingEventType.ESCALATED,
                created_at=now,
                data={
                    "entry": str(entry.pk),
                    "from": priority,
                    "to": raised,
                    "count": entry.escalation_count + 1,
                },
            )
            for entry in group
        ]
    RoutingEvent.objects.bulk_create(events)
    return len(entries)


@transaction.atomic
def _widen_waiting(*, now: dt.datetime) -> int:
    step = int(settings.ROUTING["WIDEN_STEP_SECONDS"])
    if step <= 0:
        return 0
    rows = EscalationQueueEntry.objects.filter(
        status=QueueStatus.QUEUED, widen_level__lt=MAX_RING, queued_at__lte=now - dt.timedelta(seconds=step)
    ).values_list("pk", "queued_at", "widen_level")
    targets: dict[int, list] = {}
    for pk, queued_at, level in rows:
        target = min(MAX_RING, int((now - queued_at).total_seconds() // step))
        if target > level:
            targets.setdefault(target, []).append(pk)
    widened = 0
    events = []
    for target, pks in targets.items():
        entries = list(
            EscalationQueueEntry.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("case")
            .filter(pk__in=pks, status=QueueStatus.QUEUED)
            .order_by("pk")
        )
        EscalationQueueEntry.objects.filter(pk__in=[entry.pk for entry in entries]).update(widen_level=target)
        widened += len(entries)
        events += [
            RoutingEvent(
                case=entry.case,
                event_type=RoutingEventType.WIDENED,
                created_at=now,
                data={"entry": str(entry.pk), "from": entry.widen_level, "to": target},
            )
            for entry in entries
        ]
    RoutingEvent.objects.bulk_create(events)
    return widened


def _requeue_case_excluding(*, case: SupportCase, agent_id: int, now: dt.datetime) -> EscalationQueueEntry:
    """Put a taken-back case in line again (its last entry, or a new one) never to see `agent_id` again."""
    entry = (
        EscalationQueueEntry.objects.select_for_update(of=("self",))
        .filter(case=case)
        .exclude(status=QueueStatus.QUEUED)
        .order_by("-queued_at")
        .first()
    )
    if entry is None:
        entry = EscalationQueueEntry(
            case=case,
            customer_id=case.customer_id,
            priority=case.priority,
            complexity=case.complexity,
            required_skills=case.required_skills,
            special_requirements=case.special_requirements,
            customer_frustration=case.customer_frustration,
            estimated_resolution_minutes=case.estimated_resolution_minutes,
            queued_at=case.created_at,
            max_wait_minutes=case.max_wait_minutes,
            wait_deadline=case.created_at + dt.timedelta(minutes=case.max_wait_minutes),
        )
    entry.status = QueueStatus.QUEUED
    entry.assigned_agent = None
    entry.assigned_at = None
    entry.excluded_agents = sorted({*map(int, entry.excluded_agents or []), agent_id})
    entry.save()
    case.status = CaseStatus.QUEUED
    case.save(update_fields=["status", "updated_at"])
    return entry


@transaction.atomic
def _take_back(*, assignment_id, agent_id: int, now: dt.datetime) -> EscalationQueueEntry | None:
    """Take back one unstarted assignment past its acceptance timeout; None if it moved meanwhile."""
    availability = (
        AgentAvailability.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(agent_id=agent_id)
        .first()
    )
    if availability is None:
        return None  # the agent's row is busy: next sweep
    assignment = (
        CaseAssignment.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("case")
        .filter(pk=assignment_id, status=AssignmentStatus.ASSIGNED)
        .first()
    )
    if assignment is None:
        return None
    assignment.status = AssignmentStatus.TRANSFERRED
    assignment.completed_at = now
    assignment.save(update_fields=["status", "completed_at"])
    _release_load(agent_id, now=now)
    entry = _requeue_case_excluding(case=assignment.case, agent_id=agent_id, now=now)
    RoutingEvent.objects.create(
        case=assignment.case,
        event_type=RoutingEventType.ACCEPT_TIMEOUT,
        agent_id=agent_id,
        created_at=now,
        data={
            "assignment": str(assignment.pk),
            "entry": str(entry.pk),
            "waited_seconds": round((now - assignment.assigned_at).total_seconds()),
        },
    )
    return entry


def _take_back_timed_out(*, now: dt.datetime) -> tuple[int, int]:
    timeout = dt.timedelta(seconds=int(settings.ROUTING["ACCEPT_TIMEOUT_SECONDS"]))
    rows = list(
        CaseAssignment.objects.filter(status=AssignmentStatus.ASSIGNED, assigned_at__lte=now - timeout)
        .order_by("agent_id", "assigned_at")
        .values_list("pk", "agent_id")[:SWEEP_BATCH]
    )
    timed_out = dispatched = 0
    for assignment_id, agent_id in rows:
        entry = _take_back(assignment_id=assignment_id, agent_id=agent_id, now=now)
        if entry is None:
            continue
        timed_out += 1
        if _entry_dispatch(entry_id=entry.pk, now=now) is not None:
            dispatched += 1
    return timed_out, dispatched


def _dispatch_waiting(*, now: dt.datetime) -> int:
    has_room = AgentAvailability.objects.filter(
        Q(status=AvailabilityStatus.AVAILABLE) | Q(status=AvailabilityStatus.BUSY, manual_override=False),
        agent__is_active=True,
        current_load__lt=F("agent__max_concurrent_cases"),
    )
    if not has_room.exists():
        return 0
    entry_ids = list(queue_serving_order(now=now).values_list("pk", flat=True)[:SWEEP_DISPATCH_LIMIT])
    dispatched = 0
    for entry_id in entry_ids:
        if _entry_dispatch(entry_id=entry_id, now=now) is not None:
            dispatched += 1
    return dispatched


def queue_sweep(*, now: dt.datetime | None = None) -> SweepReport:
    """The periodic pass (manage.py dispatch_queue): escalate overdue entries, widen long waits, take
    back timed-out reservations and reroute them, then offer waiting entries to free agents.

    Each step commits on its own (one transaction per step, or per entry where rows are locked one by
    one), so a long sweep never holds many locks at once.
    """
    now = now or timezone.now()
    report = SweepReport()
    report.escalated = _escalate_overdue(now=now)
    report.widened = _widen_waiting(now=now)
    report.timed_out, rerouted = _take_back_timed_out(now=now)
    report.dispatched = rerouted + _dispatch_waiting(now=now)
    return report
