"""Waiting leads: the assignment queues, serving them to freed agents, and the SLA sweep.

How waiting leads and waiting cases share an agent. Capacity is one count (routing.work), so a freed
slot goes to one item of either queue. `serve_freed_capacity` decides, slot by slot, by the earliest
deadline: the first waiting lead the agent can serve (queue types in QUEUE_TYPE_ORDER, each in its
serving order) against the earliest wait deadline among the waiting cases the agent's columns allow
(routing.services.queue.servable_where); the lead is served when its SLA expires first, otherwise the
case queue is served in its own serving order (dispatch_to_locked_agent), and if the agent can serve no
case the lead is served after all. Speed-to-lead SLAs are minutes and case waits tens of minutes, so
hot leads usually win a freed slot, and a case about to breach its wait wins over a nurture lead. Every
path that frees capacity goes through it: a case completion, a lead's outcome, an agent becoming
available or given more capacity (agents.signals.agent_capacity_freed -> queue_dispatch_for_agent), and
the sweep's pass over idle agents. New work arriving (a case or lead routed) is placed by its own
queue's rules only.

The SLA sweep (`lead_sweep`, run by routing.services.sweep.queue_sweep): waiting entries past their
sla_expiry are escalated set-based, a batch per transaction, locked with skip_locked: the entry is
closed (status escalated, time_in_queue stored, sla_breached) and the lead goes to the reassignment
queue with a new SLA; an entry already in the reassignment queue is marked breached and stays. Each is
recorded as an `sla_breached` event. Then waiting leads are offered to the best free agent, as the
sweep does for cases.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.db import transaction
from django.db.models import DurationField, ExpressionWrapper, F, Q, Value
from django.utils import timezone

from routing.engine.rules import exclusion_reason
from routing.engine.scoring import score_candidate
from routing.engine.strategies import Strategy
from routing.engine.types import AgentProfile
from routing.models import (
    AssignmentQueue,
    AssignmentQueueStatus,
    EscalationQueueEntry,
    Lead,
    LeadRoutingHistory,
    LeadStatus,
    QueueStatus,
    QueueType,
    RoutingEvent,
    RoutingEventType,
)
from routing.selectors import agent_profile
from routing.selectors.leads import (
    QUEUE_TYPE_ORDER,
    WaitingWork,
    serving_order_of,
    waiting_work,
)
from routing.services.assignment import LockedAgent, find_and_lock, pool_note
from routing.services.leads import (
    LEAD_RING,
    assign_lead,
    lead_work,
    sla_minutes,
    tier_conversion,
    with_tier_conversion,
)
from routing.services.requests import configured_weights, lockout, stored_strategy

logger = logging.getLogger(__name__)

LEAD_SCAN_LIMIT = 50  # waiting entries of one queue type a freed agent examines
LEAD_SWEEP_BATCH = 1000
LEAD_SWEEP_DISPATCH = 200


def lead_enqueue(
    *,
    lead: Lead,
    queue_type: str,
    sla: float | None,
    requirements: dict[str, Any],
    strategy: Strategy,
    now: dt.datetime,
    extra_fields: list[str] | None = None,
) -> AssignmentQueue:
    """Put a locked lead in line (or keep its place if it already waits) and mark it queued."""
    entry = AssignmentQueue.objects.filter(lead=lead, status=AssignmentQueueStatus.WAITING).first()
    if entry is None:
        minutes = sla if sla is not None else sla_minutes(queue_type)
        entry = AssignmentQueue.objects.create(
            lead=lead,
            queue_type=queue_type,
            lead_score=min(max(float(lead.score or 0) + float(requirements.get("boost", 0)), 0), 100),
            queued_at=now,
            sla_expiry=now + dt.timedelta(minutes=minutes),
            requirements=requirements,
            routing_strategy=strategy.name,
            strategy_parameters=dict(strategy.values),
        )
    lead.status = LeadStatus.QUEUED
    lead.save(update_fields=["status", "updated_at", *(extra_fields or [])])
    return entry


# --- serving a freed agent ------------------------------------------------------------------------------


def _lock_waiting(entry_pk: Any) -> AssignmentQueue | None:
    return (
        AssignmentQueue.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
        .select_related("lead")
        .filter(pk=entry_pk, status=AssignmentQueueStatus.WAITING)
        .first()
    )


def first_servable_lead(*, profile: AgentProfile, types: list[str]) -> AssignmentQueue | None:
    """The first waiting lead (queue types in order, each in serving order) the agent may take, its entry
    locked (skip_locked: a concurrent dispatcher may hold it). SQL narrows by the agent's languages and
    insurance lines; the engine's rules decide."""
    lines = sorted({row.insurance_line for row in profile.specialization_rows if row.insurance_line})
    if not lines or not profile.languages:
        return None
    lockout_at = lockout()
    for queue_type in types:
        entries = (
            AssignmentQueue.objects.filter(
                status=AssignmentQueueStatus.WAITING,
                queue_type=queue_type,
                lead__language__in=sorted(profile.languages),
                lead__insurance_line__in=lines,
            )
            .select_related("lead")
            .order_by(*serving_order_of(queue_type))[:LEAD_SCAN_LIMIT]
        )
        for entry in entries:
            work = lead_work(entry.lead, entry.requirements or {})
            if exclusion_reason(agent=profile, work=work, ring=LEAD_RING, lockout=lockout_at) is not None:
                continue
            locked = _lock_waiting(entry.pk)
            if locked is not None:
                return locked
    return None


def _case_head_deadline(profile: AgentProfile) -> dt.datetime | None:
    from routing.services.queue import servable_where

    return (
        EscalationQueueEntry.objects.filter(
            servable_where(profile, lockout_at=lockout()), status=QueueStatus.QUEUED
        )
        .order_by("wait_deadline")
        .values_list("wait_deadline", flat=True)
        .first()
    )


def _dispatch_lead_entry(
    *, entry: AssignmentQueue, agent: LockedAgent, profile: AgentProfile, now: dt.datetime, reason: str
) -> LeadRoutingHistory | None:
    started = time.perf_counter()
    lead = Lead.objects.select_for_update(no_key=True, of=("self",)).get(pk=entry.lead_id)
    if lead.status != LeadStatus.QUEUED:
        return None
    strategy, note = stored_strategy(
        entry.routing_strategy, entry.strategy_parameters, item=f"lead {entry.lead_id}"
    )
    work = lead_work(lead, entry.requirements or {})
    from dataclasses import replace

    work = replace(work, tier_conversion=tier_conversion([profile.agent_id], work.tier))
    candidate = score_candidate(
        agent=profile,
        work=work,
        ring=LEAD_RING,
        strategy=strategy,
        configured=configured_weights(),
        now=now,
        lockout=lockout(),
    )
    history, _ = assign_lead(
        lead=lead,
        agent=agent,
        candidate=candidate,
        found=None,
        strategy=strategy,
        now=now,
        started=started,
        reason=reason + note,
        reasons=[
            {"queue": entry.queue_type, "waited_seconds": round((now - entry.queued_at).total_seconds())}
        ],
        experiment=_experiment_of(lead),
        event=RoutingEventType.DISPATCHED,
    )
    return history


def _experiment_of(lead: Lead) -> dict[str, Any] | None:
    from routing.models import LeadExperimentAssignment

    row = LeadExperimentAssignment.objects.filter(lead=lead).values("experiment_id", "variant_id").first()
    return row


def serve_freed_capacity(
    *,
    agent: LockedAgent,
    now: dt.datetime,
    limit: int | None = None,
    passing_over: Any = None,
    waiting: WaitingWork | None = None,
) -> list:
    """Give a locked agent with room waiting work of either queue, earliest deadline first (see the
    module docstring): the case assignments and lead routings made, at most `limit`. `waiting` is the
    caller's probe of both queues (waiting_work), taken here if not given: with nothing waiting the
    agent's facts are not even read."""
    from routing.services.queue import dispatch_to_locked_agent

    waiting = waiting_work() if waiting is None else waiting
    if not waiting or not agent.has_room:
        return []
    types = waiting.lead_types
    if not types:  # no lead waits: the case queue alone, as before leads existed
        return dispatch_to_locked_agent(agent=agent, now=now, limit=limit, passing_over=passing_over)
    served: list = []
    while agent.has_room and (limit is None or len(served) < limit):
        profile = agent_profile(agent_id=agent.agent_id, now=now)
        if profile is None or not profile.in_schedule:
            break
        entry = first_servable_lead(profile=profile, types=types)
        case_deadline = _case_head_deadline(profile) if waiting.cases else None
        if entry is not None and (case_deadline is None or entry.sla_expiry < case_deadline):
            dispatched = _dispatch_lead_entry(
                entry=entry, agent=agent, profile=profile, now=now, reason=_freed_reason(profile, entry)
            )
            if dispatched is None:
                break
            served.append(dispatched)
            continue
        cases = (
            dispatch_to_locked_agent(
                agent=agent, now=now, limit=1, passing_over=passing_over, profile=profile
            )
            if waiting.cases
            else []
        )
        if cases:
            served += cases
            continue
        if entry is None:
            break
        dispatched = _dispatch_lead_entry(
            entry=entry, agent=agent, profile=profile, now=now, reason=_freed_reason(profile, entry)
        )
        if dispatched is None:
            break
        served.append(dispatched)
    return served


def _freed_reason(profile: AgentProfile, entry: AssignmentQueue) -> str:
    return (
        f"dispatched to {profile.code} when it could take work: the {entry.queue_type} queue's first lead it "
        "can serve, whose SLA expires before any case it could serve"
    )


# --- offering a waiting lead to the best free agent ---------------------------------------------------


@transaction.atomic
def lead_entry_dispatch(*, entry_id: Any, now: dt.datetime) -> LeadRoutingHistory | None:
    """Offer one waiting lead to the best free eligible agent (its stored requirements and strategy);
    None if nobody can take it now (nothing is recorded: it keeps waiting)."""
    started = time.perf_counter()
    entry = AssignmentQueue.objects.select_related("lead").filter(pk=entry_id, status="waiting").first()
    if entry is None:
        return None
    strategy, note = stored_strategy(
        entry.routing_strategy, entry.strategy_parameters, item=f"lead {entry.lead_id}"
    )
    work = lead_work(entry.lead, entry.requirements or {})
    found = find_and_lock(
        work=work, rings=[LEAD_RING], strategy=strategy, now=now, adapt_work=with_tier_conversion
    )
    if found.winner is None or found.agent is None:
        return None
    locked = _lock_waiting(entry_id)
    if locked is None:
        return None
    lead = Lead.objects.select_for_update(no_key=True, of=("self",)).get(pk=locked.lead_id)
    if lead.status != LeadStatus.QUEUED:
        return None
    history, _ = assign_lead(
        lead=lead,
        agent=found.agent,
        candidate=found.winner,
        found=found,
        strategy=strategy,
        now=now,
        started=started,
        reason=f"dispatched from the {locked.queue_type} queue: best of "
        f"{len(found.ranking.candidates) if found.ranking else 0} candidates{pool_note(found)}{note}",
        reasons=[
            {"queue": locked.queue_type, "waited_seconds": round((now - locked.queued_at).total_seconds())}
        ],
        experiment=_experiment_of(lead),
        event=RoutingEventType.DISPATCHED,
    )
    return history


# --- the SLA sweep ----------------------------------------------------------------------------------


def _escalate_batch(*, now: dt.datetime) -> int:
    with transaction.atomic():
        rows = list(
            AssignmentQueue.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
            .filter(status=AssignmentQueueStatus.WAITING, sla_breached=False, sla_expiry__lte=now)
            .order_by("sla_expiry")
            .values_list(
                "pk",
                "lead_id",
                "queue_type",
                "lead_score",
                "requirements",
                "routing_strategy",
                "strategy_parameters",
            )[:LEAD_SWEEP_BATCH]
        )
        if not rows:
            return 0
        moving = [row for row in rows if row[2] != QueueType.REASSIGNMENT]
        staying = [row[0] for row in rows if row[2] == QueueType.REASSIGNMENT]
        if staying:
            AssignmentQueue.objects.filter(pk__in=staying).update(sla_breached=True)
        if moving:
            AssignmentQueue.objects.filter(pk__in=[row[0] for row in moving]).update(
                status=AssignmentQueueStatus.ESCALATED,
                sla_breached=True,
                left_at=now,
                time_in_queue=ExpressionWrapper(Value(now) - F("queued_at"), output_field=DurationField()),
            )
            sla = dt.timedelta(minutes=sla_minutes(QueueType.REASSIGNMENT))
            AssignmentQueue.objects.bulk_create(
                AssignmentQueue(
                    lead_id=lead_id,
                    queue_type=QueueType.REASSIGNMENT,
                    escalated_from=queue_type,
                    lead_score=score,
                    queued_at=now,
                    sla_expiry=now + sla,
                    requirements=requirements,
                    routing_strategy=strategy,
                    strategy_parameters=parameters,
                )
                for _, lead_id, queue_type, score, requirements, strategy, parameters in moving
            )
        RoutingEvent.objects.bulk_create(
            RoutingEvent(
                lead_id=lead_id,
                event_type=RoutingEventType.SLA_BREACHED,
                created_at=now,
                data={
                    "entry": str(pk),
                    "queue_type": queue_type,
                    "to": QueueType.REASSIGNMENT if queue_type != QueueType.REASSIGNMENT else None,
                },
            )
            for pk, lead_id, queue_type, *_ in rows
        )
    return len(rows)


def lead_escalate_breaches(*, now: dt.datetime) -> int:
    escalated = 0
    while batch := _escalate_batch(now=now):
        escalated += batch
    return escalated


def lead_sweep(*, now: dt.datetime | None = None) -> tuple[int, int, int]:
    """Escalate SLA breaches, then offer waiting leads (queue types in order, each in serving order) to
    the best free agents. (escalated, dispatched, failed); each dispatch is its own transaction and a
    failing one is logged and counted."""
    now = now or timezone.now()
    escalated = lead_escalate_breaches(now=now)
    dispatched = failed = 0
    budget = LEAD_SWEEP_DISPATCH
    for queue_type in waiting_work().lead_types:
        if budget <= 0:
            break
        ids = list(
            AssignmentQueue.objects.filter(status=AssignmentQueueStatus.WAITING, queue_type=queue_type)
            .order_by(*serving_order_of(queue_type))
            .values_list("pk", flat=True)[:budget]
        )
        budget -= len(ids)
        for entry_id in ids:
            try:
                if lead_entry_dispatch(entry_id=entry_id, now=now) is not None:
                    dispatched += 1
            except Exception:
                logger.exception(
                    "lead sweep: dispatching entry %s failed; skipped until the next sweep", entry_id
                )
                failed += 1
    return escalated, dispatched, failed


def lead_queue_cancel_for(lead: Lead, *, now: dt.datetime) -> None:
    AssignmentQueue.objects.filter(Q(lead=lead), status=AssignmentQueueStatus.WAITING).update(
        status=AssignmentQueueStatus.CANCELLED, left_at=now
    )


__all__ = [
    "QUEUE_TYPE_ORDER",
    "first_servable_lead",
    "lead_entry_dispatch",
    "lead_enqueue",
    "lead_escalate_breaches",
    "lead_sweep",
    "serve_freed_capacity",
]
