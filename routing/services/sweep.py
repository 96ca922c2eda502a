"""The periodic sweep (manage.py dispatch_queue): escalate, widen, take back, dispatch.

Escalation and widening are set-based. The rows due are found through indexes
(queue_next_escalation_idx on next_escalation_at; queue_widen_idx on (widen_level, queued_at)) and
changed with UPDATE ... WHERE pk IN (batch), a batch of SWEEP_BATCH rows per transaction, locked with
skip_locked (a row a dispatcher holds is left for the next sweep); each batch records its routing events
with one bulk INSERT. The batch's ids and case ids are read to write those events; no pass loads every
waiting row, and no statement names more than SWEEP_BATCH ids (SQLite allows 32,766 variables).

- Escalation: an entry whose next_escalation_at has passed rises one priority step (capped at
  critical; the count keeps rising) and is next escalated max_wait minutes later. So a waiting case is
  escalated once per max-wait period it keeps waiting; a sweep never raises one entry twice.
- Widening: an entry waiting k x WIDEN_STEP_SECONDS goes to ring min(k, MAX_RING) in one step (one event
  naming both rings), computed per (current ring, target ring) as a queued_at range.
- Rest: agents whose difficult streak is ended by rest (on break or offline, or off shift, for
  ROUTING_FATIGUE_REST_MINUTES) get it reset first (routing.services.fatigue), so a rested agent is
  offered difficult work in the same sweep.
- Each take-back and dispatch is its own transaction and is isolated: one that fails (a row that breaks
  a rule) is rolled back, logged and counted (`failed`), and the sweep goes on with the others.
- Take-back and dispatch are bounded per sweep (SWEEP_TAKE_BACK, SWEEP_DISPATCH_LIMIT entries offered
  to the best free agent, then SWEEP_AGENT_DISPATCH_LIMIT free agents, longest idle first, each offered
  the entries it can serve): each is one short transaction per case or agent, so a sweep never holds
  many locks at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from agents.automation.services import automation_sweep
from agents.models import AgentAvailability
from routing.engine.rules import MAX_RING
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
from routing.selectors import queue_waiting
from routing.services.assignment import lock_agent, release_load
from routing.services.fatigue import rest_fatigued_agents
from routing.services.queue import (
    entry_dispatch,
    queue_dispatch_for_agent,
    queue_entry_estimate_refresh,
    queue_entry_for,
)

logger = logging.getLogger(__name__)
T = TypeVar("T")

SWEEP_BATCH = 1000  # rows escalated or widened per transaction
SWEEP_TAKE_BACK = 200  # timed-out assignments taken back per sweep
SWEEP_DISPATCH_LIMIT = 200  # waiting entries offered to free agents per sweep
SWEEP_AGENT_DISPATCH_LIMIT = 100  # free agents offered the queue per sweep (after the entries)


@dataclass
class SweepReport:
    escalated: int = 0
    widened: int = 0
    timed_out: int = 0
    dispatched: int = 0
    rested: int = 0
    failed: int = 0  # items whose own transaction failed (logged); the sweep went on with the others
    leads_escalated: int = 0  # waiting leads past their SLA (routing.services.lead_queue.lead_sweep)
    leads_dispatched: int = 0
    callbacks_handed_over: int = 0  # agent-only outbound callbacks past their delay (scoring)

    def as_dict(self) -> dict[str, int]:
        return {
            "escalated": self.escalated,
            "widened": self.widened,
            "timed_out": self.timed_out,
            "dispatched": self.dispatched,
            "rested": self.rested,
            "failed": self.failed,
            "leads_escalated": self.leads_escalated,
            "leads_dispatched": self.leads_dispatched,
            "callbacks_handed_over": self.callbacks_handed_over,
        }


def _isolated(report: SweepReport, what: str, work: Callable[[], T]) -> T | None:
    """Run one item's step (its own transaction); a failure is logged and counted, and the sweep goes on:
    one bad row never stops the sweep for everyone else."""
    try:
        return work()
    except Exception:
        logger.exception("queue sweep: %s failed; skipped until the next sweep", what)
        report.failed += 1
        return None


def _raised_priority() -> Case:
    return Case(
        *[When(priority=value, then=Value(Priority.raised(value))) for value in Priority.values],
        default=F("priority"),
    )


def _escalate_batch(*, now: dt.datetime) -> int:
    with transaction.atomic():
        rows = list(
            EscalationQueueEntry.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .filter(status=QueueStatus.QUEUED, next_escalation_at__lte=now)
            .order_by("next_escalation_at")
            .values_list("pk", "case__pk", "priority", "escalation_count", "max_wait_minutes")[:SWEEP_BATCH]
        )
        if not rows:
            return 0
        ids = [row[0] for row in rows]
        waits = sorted({row[4] for row in rows})
        EscalationQueueEntry.objects.filter(pk__in=ids).update(
            priority=_raised_priority(),
            escalation_count=F("escalation_count") + 1,
            next_escalation_at=Case(
                *[When(max_wait_minutes=wait, then=Value(now + dt.timedelta(minutes=wait))) for wait in waits]
            ),
        )
        by_target: dict[str, list[int]] = {}
        for _, case_pk, priority, _, _ in rows:
            by_target.setdefault(Priority.raised(priority), []).append(case_pk)
        for priority, case_pks in by_target.items():
            SupportCase.objects.filter(pk__in=case_pks).update(priority=priority, updated_at=now)
        RoutingEvent.objects.bulk_create(
            RoutingEvent(
                case_id=case_pk,
                event_type=RoutingEventType.ESCALATED,
                created_at=now,
                data={
                    "entry": str(pk),
                    "from": priority,
                    "to": Priority.raised(priority),
                    "count": count + 1,
                },
            )
            for pk, case_pk, priority, count, _ in rows
        )
    return len(rows)


def _escalate_overdue(*, now: dt.datetime) -> int:
    escalated = 0
    while batch := _escalate_batch(now=now):
        escalated += batch
    return escalated


def _widen_batch(*, now: dt.datetime, level: int, target: int, step: int) -> int:
    """Entries at ring `level` that have waited long enough for ring `target` (and, below the last
    ring, not long enough for the one after it)."""
    waited = Q(queued_at__lte=now - dt.timedelta(seconds=step * target))
    if target < MAX_RING:
        waited &= Q(queued_at__gt=now - dt.timedelta(seconds=step * (target + 1)))
    with transaction.atomic():
        rows = list(
            EscalationQueueEntry.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .filter(waited, status=QueueStatus.QUEUED, widen_level=level)
            .order_by("queued_at")
            .values_list("pk", "case__pk")[:SWEEP_BATCH]
        )
        if not rows:
            return 0
        EscalationQueueEntry.objects.filter(pk__in=[pk for pk, _ in rows]).update(widen_level=target)
        RoutingEvent.objects.bulk_create(
            RoutingEvent(
                case_id=case_pk,
                event_type=RoutingEventType.WIDENED,
                created_at=now,
                data={"entry": str(pk), "from": level, "to": target},
            )
            for pk, case_pk in rows
        )
    return len(rows)


def _widen_waiting(*, now: dt.datetime) -> int:
    step = int(settings.ROUTING["WIDEN_STEP_SECONDS"])
    if step <= 0:
        return 0
    widened = 0
    for level in range(MAX_RING):
        for target in range(MAX_RING, level, -1):
            while batch := _widen_batch(now=now, level=level, target=target, step=step):
                widened += batch
    return widened


def _requeue_case_excluding(
    *, case: SupportCase, agent_id: int, now: dt.datetime, strategy: str = ""
) -> EscalationQueueEntry:
    """Put a taken-back case in line again (its last entry, or a new one) never to see `agent_id` again.

    The case keeps its place: the entry's queued_at (or, for a case routed without queueing, the
    case's creation time) and deadline are the original ones; a new entry keeps the `strategy` the
    case was routed with."""
    entry = (
        EscalationQueueEntry.objects.select_for_update(no_key=True, of=("self",))
        .filter(case=case)
        .exclude(status=QueueStatus.QUEUED)
        .order_by("-queued_at")
        .first()
    )
    if entry is None:
        entry = queue_entry_for(case, queued_at=case.created_at, strategy=strategy)
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
    agent = lock_agent(agent_id, skip_locked=True)
    if agent is None:
        return None  # the agent's row is busy: next sweep
    assignment = (
        CaseAssignment.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
        .select_related("case")
        .filter(pk=assignment_id, status=AssignmentStatus.ASSIGNED)
        .first()
    )
    if assignment is None:
        return None
    assignment.status = AssignmentStatus.TRANSFERRED
    assignment.completed_at = now
    assignment.save(update_fields=["status", "completed_at"])
    release_load(agent, now=now)
    entry = _requeue_case_excluding(
        case=assignment.case, agent_id=agent_id, now=now, strategy=assignment.routing_strategy
    )
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


def _take_back_timed_out(*, now: dt.datetime, report: SweepReport) -> tuple[int, int]:
    timeout = dt.timedelta(seconds=int(settings.ROUTING["ACCEPT_TIMEOUT_SECONDS"]))
    rows = list(
        CaseAssignment.objects.filter(status=AssignmentStatus.ASSIGNED, assigned_at__lte=now - timeout)
        .order_by("assigned_at")
        .values_list("pk", "agent_id")[:SWEEP_TAKE_BACK]
    )
    timed_out = dispatched = 0
    for assignment_id, agent_id in rows:
        entry = _isolated(
            report,
            f"taking back assignment {assignment_id}",
            lambda assignment_id=assignment_id, agent_id=agent_id: _take_back(
                assignment_id=assignment_id, agent_id=agent_id, now=now
            ),
        )
        if entry is None:
            continue
        timed_out += 1
        if _isolated(
            report,
            f"rerouting entry {entry.pk}",
            lambda entry=entry: entry_dispatch(entry_id=entry.pk, now=now),
        ):
            dispatched += 1
        else:
            _isolated(
                report,
                f"estimating entry {entry.pk}",
                lambda entry=entry: queue_entry_estimate_refresh(entry=entry, now=now),
            )
    return timed_out, dispatched


def _dispatch_waiting(*, now: dt.datetime, report: SweepReport) -> int:
    has_room = AgentAvailability.objects.filter(
        AgentAvailability.TAKES_WORK,
        agent__is_active=True,
        current_load__lt=F("agent__max_concurrent_work"),
    )
    if not has_room.exists():
        return 0
    dispatched = 0
    for entry in queue_waiting(now=now, limit=SWEEP_DISPATCH_LIMIT):
        if _isolated(
            report,
            f"dispatching entry {entry.pk}",
            lambda entry=entry: entry_dispatch(entry_id=entry.pk, now=now),
        ):
            dispatched += 1
    # Then the other way round: agents with room, longest idle first, each offered the queue (a scan
    # that skips entries asking skills it lacks). The pass above offers the head of the queue; an agent
    # who could serve only entries further back, and completes nothing, would otherwise wait for them.
    if not queue_waiting(now=now, limit=1):
        return dispatched
    idle = has_room.order_by(F("last_assigned_at").asc(nulls_first=True), "agent_id").values_list(
        "agent_id", flat=True
    )[:SWEEP_AGENT_DISPATCH_LIMIT]
    for agent_id in idle:
        served = _isolated(
            report,
            f"offering the queue to agent {agent_id}",
            lambda agent_id=agent_id: queue_dispatch_for_agent(agent_id=agent_id, now=now, skip_locked=True),
        )
        dispatched += len(served or [])
    return dispatched


def queue_sweep(*, now: dt.datetime | None = None) -> SweepReport:
    """The periodic pass (manage.py dispatch_queue): escalate overdue entries, widen long waits, take
    back timed-out reservations and reroute them, then offer waiting entries to free agents.

    Each step commits in batches or per entry (see the module docstring), so a long sweep never holds
    many locks at once.
    """
    now = now or timezone.now()
    report = SweepReport()
    report.rested = rest_fatigued_agents(now=now)
    report.escalated = _escalate_overdue(now=now)
    report.widened = _widen_waiting(now=now)
    report.timed_out, rerouted = _take_back_timed_out(now=now, report=report)
    report.dispatched = rerouted + _dispatch_waiting(now=now, report=report)
    # Leads: SLA breaches escalated to the reassignment queue, then waiting leads offered to free agents.
    from routing.services.lead_queue import lead_sweep

    report.leads_escalated, report.leads_dispatched, failed = lead_sweep(now=now)
    report.failed += failed
    automation_sweep(now=now)  # automated agents: stale heartbeats offline, messages expired/resent
    # Outbound callbacks: agent-only ones past CALLBACK_HANDOVER_MINUTES recorded as anyone's (the queue's
    # filter already follows the clock; this writes the hand-over and its event without a manual step).
    from scoring.services.callbacks import callbacks_hand_over

    report.callbacks_handed_over = (
        _isolated(report, "callbacks hand-over", lambda: callbacks_hand_over(now=now)) or 0
    )
    return report


# A sweep that changed at least this many entries leaves as many dead row versions in the queue table
# (escalations and widening rewrite index columns); past a few percent of the table, a queue position
# falls off its index-only plan (routing.selectors.queue_position). See queue_vacuum_after_sweep.
QUEUE_VACUUM_AFTER_CHANGES = 1000


def queue_vacuum_after_sweep(report: SweepReport, *, threshold: int = QUEUE_VACUUM_AFTER_CHANGES) -> bool:
    """VACUUM (ANALYZE) the queue table after a sweep that changed `threshold` entries or more
    (PostgreSQL; outside any transaction, as VACUUM must be). Returns whether it ran.

    The worker (`dispatch_queue`) calls it after each sweep, so the queue's reads stay on their
    index-only plans whatever the server's autovacuum allows (routing migration 0014 sets the table's
    autovacuum thresholds for servers where it runs). A no-op elsewhere and inside a transaction."""
    changed = report.escalated + report.widened + report.timed_out + report.dispatched
    if changed < threshold or connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(EscalationQueueEntry._meta.db_table)}")
    return True
