"""Routing a new case, starting it and completing it."""

from __future__ import annotations

import math
import time
import uuid

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from agents.models import AgentPerformance, HumanAgent
from agents.selectors import AgentNotFound
from routing.engine.rules import is_difficult, ring_for, routing_confidence
from routing.engine.strategies import Strategy
from routing.engine.types import WorkProfile
from routing.errors import (
    AssignmentNotFound,
    AssignmentNotIdentified,
    CaseAlreadyRouted,
    CaseNotFound,
    InvalidCaseTransition,
    RoutingValidationError,
    StaleAssignment,
)
from routing.metrics import performance_refresh_agent
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
    LockedAgent,
    create_assignment,
    find_and_lock,
    lock_agent,
    pool_note,
    queue_reason,
    record_decision,
    release_load,
)
from routing.services.queue import (
    estimate_assignment_at,
    new_work_cursor,
    queue_entry_for,
    serving_order_guard,
)
from routing.services.requests import (
    CaseRequest,
    RoutingOutcome,
    lockout,
    strategy_for,
    validate_case_request,
)
from routing.work import CASES

# --- routing a new case --------------------------------------------------------------------------


def case_route(*, request: CaseRequest) -> RoutingOutcome:
    """Route a new case: assign it to the best free eligible agent, or queue it and say why.

    Serving order first: an agent is given the new case only when no waiting case it can serve
    outranks it (routing.services.queue.serving_order_guard); otherwise the agent takes the waiting
    work and the next candidate is tried.

    The SupportCase, its assignment, the agent's load and the decision and event rows are written in one
    transaction. A request for a case_id routed before (or concurrently) loses on the unique case_id and
    gets CaseAlreadyRouted; nothing it did remains.
    """
    started = time.perf_counter()
    profile = validate_case_request(request)
    strategy = strategy_for(request.strategy, request.strategy_parameters)
    try:  # a case_id already routed fails on the unique case_id and rolls the whole attempt back
        return _case_route(request=request, profile=profile, strategy=strategy, started=started)
    except IntegrityError:
        status = SupportCase.objects.filter(case_id=request.case_id).values_list("status", flat=True).first()
        if status is None:
            raise
        raise CaseAlreadyRouted(case_id=request.case_id, status=status) from None


@transaction.atomic
def _case_route(
    *, request: CaseRequest, profile: WorkProfile, strategy: Strategy, started: float
) -> RoutingOutcome:
    now = timezone.now()
    ring = ring_for(profile, 0)
    found = find_and_lock(
        work=profile,
        rings=[ring],
        strategy=strategy,
        now=now,
        before_assign=serving_order_guard(
            cursor=new_work_cursor(priority=request.priority, now=now),
            now=now,
            placing=f"new case {request.case_id}",
        ),
    )
    assigned = found.winner is not None and found.agent is not None
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
        assignment = create_assignment(
            case=CaseFacts.of(case),
            agent=found.agent,
            now=now,
            strategy=strategy.name,
            confidence=routing_confidence(total=winner.total, ring_level=ring.level),
            match_score=winner.total * 100,
            case_status_written=True,
        )
        scored = len(found.ranking.candidates) if found.ranking else 0
        decision = record_decision(
            kind=CASES,
            item_pk=case.pk,
            strategy=strategy,
            ranking=found.ranking,
            winner=winner,
            assignment=assignment,
            reason=f"best of {scored} candidates at ring {ring.level}{pool_note(found)}",
            started=started,
            ring_level=ring.level,
            event=RoutingEventType.ROUTED,
            prerank=found.prerank,
        )
        return RoutingOutcome(case=case, decision=decision, assignment=assignment, queue_entry=None)

    entry = queue_entry_for(case, queued_at=now, strategy=strategy.name, strategy_parameters=strategy.values)
    entry.save(force_insert=True)
    funnel = candidate_funnel(work=profile, ring=ring, now=now, lockout=lockout())
    entry.estimated_assignment_at = estimate_assignment_at(entry=entry, funnel=funnel, now=now)
    if entry.estimated_assignment_at is not None:
        entry.save(update_fields=["estimated_assignment_at"])
    decision = record_decision(
        kind=CASES,
        item_pk=case.pk,
        strategy=strategy,
        ranking=found.ranking,
        winner=None,
        assignment=None,
        reason=queue_reason(funnel.stages, ring),
        started=started,
        ring_level=ring.level,
        event=RoutingEventType.QUEUED,
        event_data={"entry": str(entry.pk), "counts": dict(funnel.stages)},
        prerank=found.prerank,
    )
    return RoutingOutcome(case=case, decision=decision, assignment=None, queue_entry=entry)


# --- starting and completing ---------------------------------------------------------------------
#
# Start and complete name the assignment they act on (its id, or the acting agent's code): keyed by the
# case alone, an agent's late action after an acceptance timeout gave the case to someone else would
# act on the other agent's assignment. A stale one is a 409 that says what happened.


def _get_case(case_id: str) -> SupportCase:
    try:
        return SupportCase.objects.get(case_id=case_id)
    except SupportCase.DoesNotExist:
        raise CaseNotFound(case_id=case_id) from None


def _parse_assignment_id(value) -> uuid.UUID | None:
    if value is None or value == "":
        return None
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise RoutingValidationError(
            fields={"assignment_id": ["Not a valid assignment id (a UUID)."]}
        ) from None


def _identified(case: SupportCase, *, assignment_id, agent: str | None, action: str) -> dict:
    """The case's open assignment, provided it is the one the caller names (by id or by its agent's
    code): 400 if the caller names none, 404 for an assignment or agent the case does not know, 409
    `stale_assignment` if the one named is no longer open and the case is with someone else now, 409
    `invalid_transition` if the case has no open assignment at all (completed, queued, ...)."""
    wanted = _parse_assignment_id(assignment_id)
    rows = list(
        CaseAssignment.objects.filter(case=case)
        .order_by("-assigned_at")
        .values("pk", "agent_id", "status", "agent__code")
    )
    current = next((row for row in rows if row["status"] in OPEN_ASSIGNMENT_STATUSES), None)
    if current is None:  # nothing open to act on, whatever the caller names
        case.refresh_from_db(fields=["status"])
        raise InvalidCaseTransition(case_id=case.case_id, action=action, status=case.status)
    if wanted is None and not agent:
        raise AssignmentNotIdentified(
            fields={"assignment_id": ["Give assignment_id or agent (the acting agent's code)."]}
        )
    if wanted is not None:
        named = next((row for row in rows if row["pk"] == wanted), None)
        if named is None:
            raise AssignmentNotFound(case_id=case.case_id, assignment_id=wanted)
        if agent and named["agent__code"] != agent:
            raise RoutingValidationError(
                fields={"agent": [f"Assignment {wanted} belongs to {named['agent__code']}, not {agent}."]}
            )
    else:
        named = current if current is not None and current["agent__code"] == agent else None
        named = named or next((row for row in rows if row["agent__code"] == agent), None)
        if named is None:
            if not HumanAgent.objects.filter(code=agent).exists():
                raise AgentNotFound(code=agent)
            raise AssignmentNotFound(
                f"Agent {agent} holds no assignment of case {case.case_id}.",
                case_id=case.case_id,
                assignment_id="",
            )
    if named["pk"] == current["pk"]:
        return current
    raise StaleAssignment(
        f"Case {case.case_id} cannot be {action} by {named['agent__code']}: that assignment is no longer open "
        f"(status {named['status']}); the case is now with {current['agent__code']}.",
        case_id=case.case_id,
        fields={"assignment_id" if wanted else "agent": ["Not the case's open assignment."]},
    )


@transaction.atomic
def case_start(*, case_id: str, assignment_id=None, agent: str | None = None) -> CaseAssignment:
    """The agent accepts the case: its assignment goes from assigned to in progress."""
    case = _get_case(case_id)
    named = _identified(case, assignment_id=assignment_id, agent=agent, action="started")
    assignment = (
        CaseAssignment.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk=named["pk"], status=AssignmentStatus.ASSIGNED)
        .first()
    )
    if assignment is None:  # open, but already started (or moved since it was read)
        case.refresh_from_db(fields=["status"])
        raise InvalidCaseTransition(case_id=case_id, action="started", status=case.status)
    now = timezone.now()
    assignment.status = AssignmentStatus.IN_PROGRESS
    assignment.started_at = now
    assignment.save(update_fields=["status", "started_at"])
    case.status = CaseStatus.IN_PROGRESS
    case.save(update_fields=["status", "updated_at"])
    RoutingEvent.objects.create(
        case=case,
        event_type=RoutingEventType.STARTED,
        agent_id=assignment.agent_id,
        data={"assignment": str(assignment.pk)},
    )
    return assignment


def case_complete(
    *,
    case_id: str,
    assignment_id=None,
    agent: str | None = None,
    resolution_minutes: int | None = None,
    csat_rating: int | None = None,
    escalated: bool = False,
) -> CaseAssignment:
    """Close the named open assignment, free the agent's capacity, update the fatigue streak and, in
    the same transaction, dispatch to the agent the highest waiting entry it can serve (one: one slot
    was freed; slots free for other reasons are filled when they free up or by the sweep)."""
    errors: dict[str, list[str]] = {}
    if csat_rating is not None and not (isinstance(csat_rating, int) and 1 <= csat_rating <= 5):
        errors["csat_rating"] = ["A whole number from 1 to 5."]
    if resolution_minutes is not None and not (
        isinstance(resolution_minutes, int) and resolution_minutes >= 0
    ):
        errors["resolution_minutes"] = ["Not negative."]
    if errors:
        raise RoutingValidationError(fields=errors)
    return _case_complete(
        case_id=case_id,
        assignment_id=assignment_id,
        agent=agent,
        resolution_minutes=resolution_minutes,
        csat_rating=csat_rating,
        escalated=escalated,
    )


@transaction.atomic
def _case_complete(
    *,
    case_id: str,
    assignment_id,
    agent: str | None,
    resolution_minutes: int | None,
    csat_rating: int | None,
    escalated: bool,
) -> CaseAssignment:
    case = _get_case(case_id)
    named = _identified(case, assignment_id=assignment_id, agent=agent, action="completed")
    # Lock order: the agent's availability row first, then the assignment. If the assignment moved while
    # we waited for the lock (taken back and given to someone else), it is stale now: 409.
    locked = lock_agent(named["agent_id"])
    assignment = (
        CaseAssignment.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk=named["pk"], status__in=OPEN_ASSIGNMENT_STATUSES)
        .first()
    )
    if assignment is None or locked is None:  # moved while we waited for the agent's lock
        _identified(case, assignment_id=named["pk"], agent=None, action="completed")  # raises what happened
        raise InvalidCaseTransition(case_id=case_id, action="completed", status=case.status)
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
    release_load(locked, now=now)
    _streak_after_completion(
        locked,
        difficult=is_difficult(complexity=assignment.complexity, frustration=assignment.customer_frustration),
        now=now,
    )
    RoutingEvent.objects.create(
        case=case,
        event_type=RoutingEventType.COMPLETED,
        agent_id=locked.agent_id,
        data={
            "assignment": str(assignment.pk),
            "resolution_minutes": resolution_minutes,
            "csat_rating": csat_rating,
            "escalated": escalated,
        },
    )
    performance_refresh_agent(agent_id=locked.agent_id, now=now)  # the snapshot as of this completion
    # The freed slot: waiting leads and cases share it (routing.services.lead_queue.serve_freed_capacity).
    from routing.services.lead_queue import serve_freed_capacity

    serve_freed_capacity(agent=locked, now=now, limit=1)
    return assignment


def _streak_after_completion(agent: LockedAgent, *, difficult: bool, now) -> None:
    """routing.engine.rules.streak_after_completion in one UPDATE: a difficult completion adds one; an
    easy one resets the streak unless the agent is locked out (then only rest does)."""
    performance = AgentPerformance.objects.filter(agent_id=agent.agent_id)
    if difficult:
        performance.update(
            consecutive_difficult_cases=F("consecutive_difficult_cases") + 1, last_difficult_case_at=now
        )
        return
    lockout_at = lockout()
    if lockout_at <= 0:
        performance.update(consecutive_difficult_cases=0)
        return
    performance.filter(consecutive_difficult_cases__gt=0).update(
        consecutive_difficult_cases=Case(
            When(consecutive_difficult_cases__gte=lockout_at, then=F("consecutive_difficult_cases")),
            default=Value(0),
        )
    )
