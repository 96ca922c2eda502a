"""Routing a new case, starting it and completing it."""

from __future__ import annotations

import math
import time

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from agents.models import AgentAvailability, AgentPerformance
from routing.engine.rules import is_difficult, ring_for, routing_confidence
from routing.engine.strategies import Strategy
from routing.engine.types import CaseProfile
from routing.errors import CaseAlreadyRouted, CaseNotFound, InvalidCaseTransition, RoutingValidationError
from routing.models import (
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
from routing.selectors import candidate_funnel
from routing.services.assignment import (
    CaseFacts,
    _create_assignment,
    _find_and_lock,
    _pool_note,
    _queue_reason,
    _record,
    _release_load,
)
from routing.services.queue import _dispatch_to_locked_agent, _estimate_assignment_at, _queue_entry_for
from routing.services.requests import CaseRequest, RoutingOutcome, _lockout, _strategy, _validate_request

# --- routing a new case --------------------------------------------------------------------------


def case_route(*, request: CaseRequest) -> RoutingOutcome:
    """Route a new case: assign it to the best free eligible agent, or queue it and say why.

    The SupportCase, its assignment, the agent's load and the decision and event rows are written in one
    transaction. A request for a case_id routed before (or concurrently) loses on the unique case_id and
    gets CaseAlreadyRouted; nothing it did remains.
    """
    started = time.perf_counter()
    profile = _validate_request(request)
    strategy = _strategy(request.strategy)
    try:  # a case_id already routed fails on the unique case_id and rolls the whole attempt back
        return _case_route(request=request, profile=profile, strategy=strategy, started=started)
    except IntegrityError:
        status = SupportCase.objects.filter(case_id=request.case_id).values_list("status", flat=True).first()
        if status is None:
            raise
        raise CaseAlreadyRouted(case_id=request.case_id, status=status) from None


@transaction.atomic
def _case_route(
    *, request: CaseRequest, profile: CaseProfile, strategy: Strategy, started: float
) -> RoutingOutcome:
    now = timezone.now()
    ring = ring_for(profile, 0)
    found = _find_and_lock(case=profile, rings=[ring], strategy=strategy, now=now)
    assigned = found.winner is not None and found.availability is not None
    case = SupportCase.objects.create(
        case_id=request.case_id,
        customer_id=request.customer_id,
        priority=request.priority,
        complexity=request.complexity,
        required_skills=list(profile.required_skills),
        special_requirements=request.special_requirements,
        customer_frustration=request.customer_frustration,
        language=request.language,
        estimated_resolution_minutes=request.estimated_resolution_minutes,
        max_wait_minutes=request.max_wait_minutes,
        status=CaseStatus.ASSIGNED if assigned else CaseStatus.QUEUED,
        created_at=now,
    )
    if assigned:
        winner = found.winner
        assignment = _create_assignment(
            case=CaseFacts.of(case),
            availability=found.availability,
            now=now,
            strategy=strategy.name,
            confidence=routing_confidence(total=winner.total, ring_level=ring.level),
            match_score=winner.total * 100,
            case_status_written=True,
        )
        scored = len(found.ranking.candidates) if found.ranking else 0
        decision = _record(
            case_pk=case.pk,
            strategy=strategy.name,
            ranking=found.ranking,
            winner=winner,
            assignment=assignment,
            reason=f"best of {scored} candidates at ring {ring.level}{_pool_note(found)}",
            started=started,
            ring_level=ring.level,
            event=RoutingEventType.ROUTED,
            prerank=found.prerank,
        )
        return RoutingOutcome(case=case, decision=decision, assignment=assignment, queue_entry=None)

    entry = _queue_entry_for(case, queued_at=now, strategy=strategy.name)
    entry.save(force_insert=True)
    funnel = candidate_funnel(case=profile, ring=ring, now=now, lockout=_lockout())
    entry.estimated_assignment_at = _estimate_assignment_at(entry=entry, funnel=funnel, now=now)
    if entry.estimated_assignment_at is not None:
        entry.save(update_fields=["estimated_assignment_at"])
    decision = _record(
        case_pk=case.pk,
        strategy=strategy.name,
        ranking=found.ranking,
        winner=None,
        assignment=None,
        reason=_queue_reason(funnel.stages, ring),
        started=started,
        ring_level=ring.level,
        event=RoutingEventType.QUEUED,
        event_data={"entry": str(entry.pk), "counts": dict(funnel.stages)},
        prerank=found.prerank,
    )
    return RoutingOutcome(case=case, decision=decision, assignment=None, queue_entry=entry)


# --- starting and completing ---------------------------------------------------------------------


def _get_case(case_id: str) -> SupportCase:
    try:
        return SupportCase.objects.get(case_id=case_id)
    except SupportCase.DoesNotExist:
        raise CaseNotFound(case_id=case_id) from None


@transaction.atomic
def case_start(*, case_id: str) -> CaseAssignment:
    """The agent accepts the case: its assignment goes from assigned to in progress."""
    case = _get_case(case_id)
    assignment = (
        CaseAssignment.objects.select_for_update(of=("self",))
        .filter(case=case, status=AssignmentStatus.ASSIGNED)
        .first()
    )
    if assignment is None:
        raise InvalidCaseTransition(case_id=case_id, action="started", status=case.status)
    now = timezone.now()
    assignment.status = AssignmentStatus.IN_PROGRESS
    assignment.started_at = now
    assignment.save(update_fields=["status", "started_at"])
    case.status = CaseStatus.IN_PROGRESS
    case.save(update_fields=["status", "updated_at"])
    RoutingEvent.objects.create(case=case, event_type=RoutingEventType.STARTED, agent_id=assignment.agent_id)
    return assignment


def case_complete(
    *,
    case_id: str,
    resolution_minutes: int | None = None,
    csat_rating: int | None = None,
    escalated: bool = False,
) -> CaseAssignment:
    """Close the case's open assignment, free the agent's capacity, update the fatigue streak and, in
    the same transaction, dispatch to the agent the highest waiting entry it can serve (one: one slot
    was freed; slots free for other reasons are filled when they free up or by the sweep).

    The open assignment is read before its agent's row is locked (the lock order puts the agent
    first). If it moved while we waited for the lock (a timeout reroute took it back and gave it to
    another agent), nothing has been written: the completion is tried once more against the
    assignment open now, rather than answering a false 409.
    """
    errors: dict[str, list[str]] = {}
    if csat_rating is not None and not (isinstance(csat_rating, int) and 1 <= csat_rating <= 5):
        errors["csat_rating"] = ["A whole number from 1 to 5."]
    if resolution_minutes is not None and not (
        isinstance(resolution_minutes, int) and resolution_minutes >= 0
    ):
        errors["resolution_minutes"] = ["Not negative."]
    if errors:
        raise RoutingValidationError(fields=errors)
    case = _get_case(case_id)
    for _attempt in range(2):
        assignment = _case_complete_once(
            case=case, resolution_minutes=resolution_minutes, csat_rating=csat_rating, escalated=escalated
        )
        if assignment is not None:
            return assignment
    case.refresh_from_db(fields=["status"])
    raise InvalidCaseTransition(case_id=case_id, action="completed", status=case.status)


def _lock_agent_row(agent_id: int) -> AgentAvailability:
    return (
        AgentAvailability.objects.select_for_update(of=("self",))
        .select_related("agent")
        .get(agent_id=agent_id)
    )


@transaction.atomic
def _case_complete_once(
    *, case: SupportCase, resolution_minutes: int | None, csat_rating: int | None, escalated: bool
) -> CaseAssignment | None:
    """One attempt; None if the open assignment moved while we waited for its agent's lock."""
    open_assignment = (
        CaseAssignment.objects.filter(case=case, status__in=OPEN_ASSIGNMENT_STATUSES)
        .values("pk", "agent_id")
        .first()
    )
    if open_assignment is None:
        case.refresh_from_db(fields=["status"])
        raise InvalidCaseTransition(case_id=case.case_id, action="completed", status=case.status)
    # Lock order: the agent's availability row first, then the assignment.
    availability = _lock_agent_row(open_assignment["agent_id"])
    assignment = (
        CaseAssignment.objects.select_for_update(of=("self",))
        .filter(pk=open_assignment["pk"], status__in=OPEN_ASSIGNMENT_STATUSES)
        .first()
    )
    if assignment is None:
        return None
    now = timezone.now()
    if resolution_minutes is None:
        since = assignment.started_at or assignment.assigned_at
        resolution_minutes = max(0, math.ceil((now - since).total_seconds() / 60))
    assignment.status = AssignmentStatus.ESCALATED if escalated else AssignmentStatus.COMPLETED
    assignment.completed_at = now
    assignment.resolution_minutes = resolution_minutes
    assignment.csat_rating = csat_rating
    assignment.escalated = escalated
    assignment.save(
        update_fields=["status", "completed_at", "resolution_minutes", "csat_rating", "escalated"]
    )
    case.status = CaseStatus.COMPLETED
    case.save(update_fields=["status", "updated_at"])
    EscalationQueueEntry.objects.filter(case=case, status=QueueStatus.ASSIGNED).update(
        status=QueueStatus.COMPLETED
    )

    _release_load(availability.agent_id, now=now, locked=availability)
    # The streak counts difficult cases since the last break; an easy case in between does not end it
    # (only agents.services.agent_set_status(BREAK) does). The open difficult cases count separately.
    if is_difficult(complexity=assignment.complexity, frustration=assignment.customer_frustration):
        AgentPerformance.objects.filter(agent_id=availability.agent_id).update(
            consecutive_difficult_cases=F("consecutive_difficult_cases") + 1, last_difficult_case_at=now
        )
    RoutingEvent.objects.create(
        case=case,
        event_type=RoutingEventType.COMPLETED,
        agent_id=availability.agent_id,
        data={"resolution_minutes": resolution_minutes, "csat_rating": csat_rating, "escalated": escalated},
    )
    _dispatch_to_locked_agent(availability=availability, now=now, limit=1)
    return assignment
