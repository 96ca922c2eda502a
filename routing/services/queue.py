"""Serving the escalation queue: dispatch to a freed agent, offer an entry to the best free agent, the
supervisor's actions (assign to a chosen agent, cancel, requeue) and an entry's wait estimate.

The queue is read in serving order through routing.selectors.queue_scan: two indexed band reads
(overdue, then punctual), a chunk at a time, without joining cases (entries carry the case's facts and
language). A freed agent is offered the first entries it may serve: SQL narrows the scan by what the
entry columns can say (language, critical frustration against a low tolerance, difficult cases for an
agent at the fatigue lockout); the engine's rules decide, entry by entry, at its widen ring.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from dataclasses import replace

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from agents.models import AgentAvailability
from agents.selectors import AgentNotFound
from routing.engine.rules import (
    OPTIONAL_SKILLS_RING,
    innermost_ring,
    is_difficult,
    ring_for,
    rings_up_to,
    routing_confidence,
)
from routing.engine.scoring import score_agent
from routing.engine.types import AgentProfile, Ranking, Ring, ScoredCandidate
from routing.errors import (
    AgentAtCapacity,
    InvalidCaseTransition,
    QueueEntryNotFound,
    QueueEntryNotWaiting,
    RoutingValidationError,
)
from routing.models import (
    DIFFICULT_ASSIGNMENT_Q,
    OPEN_ASSIGNMENT_STATUSES,
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
    RoutingEvent,
    RoutingEventType,
    SupportCase,
)
from routing.selectors import Funnel, agent_profile, candidate_funnel, queue_position, queue_scan
from routing.selectors.queue import SkillsWithin
from routing.services.assignment import (
    CaseFacts,
    _create_assignment,
    _find_and_lock,
    _pool_note,
    _record,
    _release_load,
    _routable,
)
from routing.services.requests import _entry_profile, _lockout, _strategy, _weights

logger = logging.getLogger(__name__)

DISPATCH_SCAN_LIMIT = 1000  # waiting entries examined per freed agent
DISPATCH_SCAN_CHUNK = 8  # the first read (most agents can serve one of the first few); then x4
DEFAULT_RESOLUTION_MINUTES = 30  # for the wait estimate when no agent has a recorded average


# --- the queue -----------------------------------------------------------------------------------


def _dispatch_to_locked_agent(
    *, availability: AgentAvailability, now: dt.datetime, limit: int | None = None, passing_over=None
) -> list[CaseAssignment]:
    """Give a locked agent the highest waiting entries it can serve, while it has room (at most
    `limit` of them), leaving the entry `passing_over` (a primary key) alone.

    The agent's facts are loaded once; entries are examined in serving order (at most
    DISPATCH_SCAN_LIMIT of them) against the pure engine's rules at each entry's widen ring, and the
    first match is locked with skip_locked (a concurrent dispatcher may hold it).
    """
    if not _routable(availability):
        return []
    profile = agent_profile(agent_id=availability.agent_id, now=now)
    if profile is None or not profile.in_schedule:
        return []
    weights = _weights()
    lockout = _lockout()
    assignments: list[CaseAssignment] = []
    while profile.current_load < profile.max_concurrent_cases and (limit is None or len(assignments) < limit):
        started = time.perf_counter()
        found = _first_servable_entry(profile=profile, now=now, lockout=lockout, passing_over=passing_over)
        if found is None:
            break
        entry, ring = found
        strategy = _strategy(entry.routing_strategy or None)
        case_profile = _entry_profile(entry)
        factors = score_agent(agent=profile, case=case_profile, ring=ring, now=now, lockout=lockout)
        candidate = ScoredCandidate(agent=profile, factors=factors, total=strategy.total(factors, weights))
        ranking = Ranking(ring=ring, strategy=strategy.name, candidates=(candidate,))
        assignment = _assign_entry(
            entry=entry,
            availability=availability,
            ranking=ranking,
            candidate=candidate,
            strategy=strategy.name,
            now=now,
            started=started,
            reason=f"dispatched to {profile.code} when capacity freed, ring {ring.level}",
        )
        assignments.append(assignment)
        difficult = is_difficult(complexity=entry.complexity, frustration=entry.customer_frustration)
        profile = replace(
            profile,
            current_load=profile.current_load + 1,
            last_assigned_at=now,
            open_difficult=profile.open_difficult + int(difficult),
        )
    return assignments


def _servable_where(profile: AgentProfile, *, lockout: int) -> Q:
    """What the entry columns can rule out for this agent (the engine still checks every rule).

    Skills: below ring 2 an entry needs every required skill, so one asking a skill the agent lacks is
    skipped in SQL; from ring 2 its optional skills (in special_requirements) may be dropped, so the
    engine decides. Without this a freed agent could spend its whole scan on a long queue's head of
    cases it can never serve and never reach the one it can."""
    where = Q(language__in=sorted({*profile.languages, ""}))
    where &= Q(SkillsWithin("required_skills", profile.skills)) | Q(widen_level__gte=OPTIONAL_SKILLS_RING)
    if profile.frustration_tolerance == "low":
        where &= ~Q(customer_frustration="critical")
    if profile.difficult_streak >= lockout:
        where &= ~DIFFICULT_ASSIGNMENT_Q
    return where


def _first_servable_entry(
    *, profile: AgentProfile, now: dt.datetime, lockout: int, passing_over=None
) -> tuple[EscalationQueueEntry, Ring] | None:
    where = _servable_where(profile, lockout=lockout)
    if passing_over is not None:
        where &= ~Q(pk=passing_over)
    entries = queue_scan(now=now, chunk=DISPATCH_SCAN_CHUNK, grow=4, limit=DISPATCH_SCAN_LIMIT, where=where)
    for entry in entries:
        ring, _ = innermost_ring(
            agent=profile, case=_entry_profile(entry), level=entry.widen_level, lockout=lockout
        )
        if ring is None:
            continue
        locked = _lock_waiting_entry(entry.pk)
        if locked is not None:
            return locked, ring
    return None


def _lock_waiting_entry(entry_id) -> EscalationQueueEntry | None:
    """Lock a waiting entry unless a concurrent dispatcher holds it (or it is no longer waiting),
    with its case's primary key for the decision record."""
    return (
        EscalationQueueEntry.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk=entry_id, status=QueueStatus.QUEUED)
        .annotate(case_pk=F("case__pk"))
        .first()
    )


def _assign_entry(
    *,
    entry: EscalationQueueEntry,
    availability: AgentAvailability,
    ranking: Ranking,
    candidate: ScoredCandidate | None,
    strategy: str,
    now: dt.datetime,
    started: float,
    reason: str,
    event: str = RoutingEventType.DISPATCHED,
    prerank: dict | None = None,
) -> CaseAssignment:
    """Assign a locked queue entry to a locked agent and record the decision."""
    assignment = _create_assignment(
        case=CaseFacts.of(entry),
        availability=availability,
        now=now,
        strategy=strategy,
        confidence=routing_confidence(total=candidate.total, ring_level=ranking.ring.level)
        if candidate
        else None,
        match_score=candidate.total * 100 if candidate else None,
    )
    entry.status = QueueStatus.ASSIGNED
    entry.assigned_agent_id = availability.agent_id
    entry.assigned_at = now
    entry.save(update_fields=["status", "assigned_agent", "assigned_at"])
    _record(
        case_pk=entry.case_pk,
        strategy=strategy,
        ranking=ranking,
        winner=candidate,
        assignment=assignment,
        reason=reason,
        started=started,
        ring_level=ranking.ring.level,
        event=event,
        event_data={"entry": str(entry.pk), "waited_seconds": round((now - entry.queued_at).total_seconds())},
        prerank=prerank,
    )
    return assignment


@transaction.atomic
def queue_dispatch_for_agent(
    *, agent_id: int, now: dt.datetime | None = None, skip_locked: bool = False
) -> list[CaseAssignment]:
    """An agent may take more work (became available, capacity rose): serve the queue to it.

    With `skip_locked` (the sweep) an agent another transaction holds, being given work right now, is
    left alone instead of waited for: nothing is dispatched."""
    availability = (
        AgentAvailability.objects.select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related("agent")
        .filter(agent_id=agent_id)
        .first()
    )
    if availability is None:
        if skip_locked:
            return []
        raise AgentNotFound(code=str(agent_id))
    return _dispatch_to_locked_agent(availability=availability, now=now or timezone.now())


@transaction.atomic
def _entry_dispatch(*, entry_id, now: dt.datetime) -> CaseAssignment | None:
    """Offer one waiting entry to the best free agent at its widen ring (rings 0..widen_level)."""
    started = time.perf_counter()
    entry = EscalationQueueEntry.objects.filter(pk=entry_id, status=QueueStatus.QUEUED).first()
    if entry is None:
        return None
    strategy = _strategy(entry.routing_strategy or None)
    profile = _entry_profile(entry)
    found = _find_and_lock(
        case=profile, rings=rings_up_to(profile, entry.widen_level), strategy=strategy, now=now
    )
    if found.winner is None or found.availability is None or found.ranking is None:
        return None
    locked = _lock_waiting_entry(entry_id)
    if locked is None:
        return None
    scored = len(found.ranking.candidates)
    return _assign_entry(
        entry=locked,
        availability=found.availability,
        ranking=found.ranking,
        candidate=found.winner,
        strategy=strategy.name,
        now=now,
        started=started,
        reason=f"dispatched from the queue: best of {scored} candidates at ring {found.ranking.ring.level}"
        f"{_pool_note(found)}",
        prerank=found.prerank,
    )


def _queue_entry_for(
    case: SupportCase, *, queued_at: dt.datetime, strategy: str = ""
) -> EscalationQueueEntry:
    """A new, unsaved waiting entry for `case`, carrying the case's routing facts (the queue is scanned
    without joining cases), the strategy it was routed with and its deadline: queued_at + max wait."""
    deadline = queued_at + dt.timedelta(minutes=case.max_wait_minutes)
    return EscalationQueueEntry(
        case=case,
        routing_strategy=strategy,
        customer_id=case.customer_id,
        language=case.language,
        priority=case.priority,
        complexity=case.complexity,
        required_skills=case.required_skills,
        special_requirements=case.special_requirements,
        customer_frustration=case.customer_frustration,
        estimated_resolution_minutes=case.estimated_resolution_minutes,
        queued_at=queued_at,
        max_wait_minutes=case.max_wait_minutes,
        wait_deadline=deadline,
        next_escalation_at=deadline,
    )


def _estimate_assignment_at(
    *, entry: EscalationQueueEntry, funnel: Funnel, now: dt.datetime
) -> dt.datetime | None:
    """When the entry may expect an agent, given its place in line and the agents who could serve it.

    The agents who pass every rule but spare capacity (the funnel's servers) turn over their slots
    about once per average resolution time (their AgentPerformance.avg_resolution_minutes, else the
    case's own estimate, else 30 minutes); the entry is served after ceil(position / slots) turns.
    Coarse by design: entries ahead that these agents cannot serve are counted too. None when no
    agent could serve the entry at its current ring (widening or a new agent may change that).
    """
    if funnel.servers == 0 or funnel.server_slots <= 0:
        return None
    position = queue_position(entry=entry, now=now)
    if position == 0:
        return None
    minutes = (
        funnel.avg_resolution_minutes or entry.estimated_resolution_minutes or DEFAULT_RESOLUTION_MINUTES
    )
    turns = math.ceil(position / funnel.server_slots)
    return now + dt.timedelta(minutes=turns * float(minutes))


def queue_entry_estimate_refresh(*, entry: EscalationQueueEntry, now: dt.datetime) -> None:
    """Recompute a waiting entry's estimated assignment time (after a requeue or a take-back)."""
    profile = _entry_profile(entry)
    funnel = candidate_funnel(
        case=profile, ring=ring_for(profile, entry.widen_level), now=now, lockout=_lockout()
    )
    entry.estimated_assignment_at = _estimate_assignment_at(entry=entry, funnel=funnel, now=now)
    EscalationQueueEntry.objects.filter(pk=entry.pk).update(
        estimated_assignment_at=entry.estimated_assignment_at
    )


def _get_entry(entry_id) -> EscalationQueueEntry:
    try:
        return EscalationQueueEntry.objects.select_related("case").get(pk=entry_id)
    except (EscalationQueueEntry.DoesNotExist, ValueError, TypeError):
        raise QueueEntryNotFound(entry_id=entry_id) from None
    except Exception as error:  # a malformed UUID raises ValidationError
        if error.__class__.__name__ == "ValidationError":
            raise QueueEntryNotFound(entry_id=entry_id) from None
        raise


@transaction.atomic
def queue_entry_assign(*, entry_id, agent_id: int) -> CaseAssignment:
    """A supervisor's pick: assign a waiting entry to this agent. Capacity is still enforced; skills,
    schedule and the seed's soft rules are the supervisor's judgement."""
    started = time.perf_counter()
    entry = _get_entry(entry_id)
    if entry.status != QueueStatus.QUEUED:  # checked again under the lock below
        raise QueueEntryNotWaiting(entry_id=entry.pk, status=entry.status)
    availability = (
        AgentAvailability.objects.select_for_update(of=("self",))
        .select_related("agent")
        .filter(agent_id=agent_id)
        .first()
    )
    if availability is None:
        raise AgentNotFound(code=str(agent_id))
    if not availability.agent.is_active:
        raise RoutingValidationError(
            "The agent is inactive.", fields={"agent_id": ["The agent is inactive."]}
        )
    if availability.current_load >= availability.agent.max_concurrent_cases:
        raise AgentAtCapacity(
            agent_code=availability.agent.code,
            load=availability.current_load,
            capacity=availability.agent.max_concurrent_cases,
        )
    locked = (
        EscalationQueueEntry.objects.select_for_update(of=("self",)).select_related("case").get(pk=entry.pk)
    )
    if locked.status != QueueStatus.QUEUED:
        raise QueueEntryNotWaiting(entry_id=entry.pk, status=locked.status)
    locked.case_pk = locked.case.pk
    ring = ring_for(_entry_profile(locked), locked.widen_level)
    return _assign_entry(
        entry=locked,
        availability=availability,
        ranking=Ranking(ring=ring, strategy="manual", candidates=()),
        candidate=None,
        strategy="manual",
        now=timezone.now(),
        started=started,
        reason=f"assigned by a supervisor to {availability.agent.code}",
        event=RoutingEventType.MANUAL_ASSIGN,
    )


@transaction.atomic
def queue_entry_cancel(*, entry_id) -> EscalationQueueEntry:
    entry = _get_entry(entry_id)
    locked = (
        EscalationQueueEntry.objects.select_for_update(of=("self",)).select_related("case").get(pk=entry.pk)
    )
    if locked.status != QueueStatus.QUEUED:
        raise QueueEntryNotWaiting(entry_id=entry.pk, status=locked.status)
    locked.status = QueueStatus.CANCELLED
    locked.save(update_fields=["status"])
    locked.case.status = CaseStatus.CANCELLED
    locked.case.save(update_fields=["status", "updated_at"])
    RoutingEvent.objects.create(
        case=locked.case, event_type=RoutingEventType.CANCELLED, data={"entry": str(locked.pk)}
    )
    return locked


@transaction.atomic
def queue_entry_requeue(*, entry_id) -> EscalationQueueEntry:
    """Put a cancelled entry, or an assigned entry whose agent has not started it, back in line.

    It keeps its original queued_at and deadline (it regains its place). Taking back an unstarted
    assignment marks it `transferred` and frees the agent's capacity, which is offered to the queue at
    once, the requeued case aside (the supervisor took it from this agent); the agent is not excluded
    from it later (a supervisor's requeue is not the agent's refusal).
    """
    entry = _get_entry(entry_id)
    now = timezone.now()
    agent_id = entry.assigned_agent_id if entry.status == QueueStatus.ASSIGNED else None
    availability = freed = None
    if agent_id is not None:  # lock order: the agent's availability before the entry
        availability = (
            AgentAvailability.objects.select_for_update(of=("self",))
            .select_related("agent")
            .filter(agent_id=agent_id)
            .first()
        )
    locked = (
        EscalationQueueEntry.objects.select_for_update(of=("self",)).select_related("case").get(pk=entry.pk)
    )
    if locked.status == QueueStatus.ASSIGNED and locked.assigned_agent_id == agent_id:
        assignment = (
            CaseAssignment.objects.select_for_update(of=("self",))
            .filter(case=locked.case, agent_id=agent_id, status__in=OPEN_ASSIGNMENT_STATUSES)
            .first()
        )
        if assignment is None or assignment.status != AssignmentStatus.ASSIGNED:
            raise InvalidCaseTransition(
                case_id=locked.case_id,
                action="requeued",
                status=assignment.status if assignment else locked.status,
            )
        assignment.status = AssignmentStatus.TRANSFERRED
        assignment.completed_at = now
        assignment.save(update_fields=["status", "completed_at"])
        _release_load(agent_id, now=now, locked=availability)
        freed = availability
    elif locked.status != QueueStatus.CANCELLED:
        raise InvalidCaseTransition(case_id=locked.case_id, action="requeued", status=locked.status)
    if EscalationQueueEntry.objects.filter(case=locked.case, status=QueueStatus.QUEUED).exists():
        raise InvalidCaseTransition(case_id=locked.case_id, action="requeued", status="queued")
    locked.status = QueueStatus.QUEUED
    locked.assigned_agent = None
    locked.assigned_at = None
    locked.save(update_fields=["status", "assigned_agent", "assigned_at"])
    locked.case.status = CaseStatus.QUEUED
    locked.case.save(update_fields=["status", "updated_at"])
    RoutingEvent.objects.create(
        case=locked.case,
        event_type=RoutingEventType.REQUEUED,
        agent_id=agent_id,
        data={"entry": str(locked.pk)},
    )
    if freed is not None:
        _dispatch_to_locked_agent(availability=freed, now=now, passing_over=locked.pk)
    queue_entry_estimate_refresh(entry=locked, now=now)
    return locked


def on_agent_capacity_freed(sender, agent_id: int, **kwargs) -> None:
    """agents.signals.agent_capacity_freed receiver: serve the queue to the agent.

    Sent inside the agents service's transaction, after it changed (and locked) the agent's
    availability row, so the dispatch commits or rolls back with the change that freed the capacity
    (lock order agent -> case -> queue holds: the row is already ours). The dispatch runs in a savepoint;
    a failure in it is logged and rolled back to the savepoint, so it never turns the agent's own
    change into an error, and the next sweep serves the queue instead.
    """
    try:
        queue_dispatch_for_agent(agent_id=agent_id)
    except Exception:
        logger.exception("queue dispatch for agent %s failed; the next sweep will retry", agent_id)
