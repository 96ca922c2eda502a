"""The shared steps of every assignment: lock a free agent, raise or release its load, write the
assignment and the decision record. Lock order: see routing.services."""

from __future__ import annotations

import datetime as dt
import time

from django.db.models import Case, F, Q, Value, When

from agents.models import AgentAvailability, AvailabilityStatus
from routing.engine.scoring import rank_candidates
from routing.engine.strategies import Strategy
from routing.engine.types import CaseProfile, Ranking, Ring, ScoredCandidate
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    DecisionOutcome,
    RoutingDecision,
    RoutingEvent,
    SupportCase,
)
from routing.selectors import (
    agent_candidates,
    schedule_zones_in_use,
)
from routing.services.requests import _lockout, _weights

# --- the shared steps ----------------------------------------------------------------------------


def _lock_if_free(agent_id: int) -> AgentAvailability | None:
    """Lock the agent's availability row unless another transaction holds it; None if it is held,
    or if under the lock the agent turns out not to be routable (status, activity, capacity)."""
    availability = (
        AgentAvailability.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("agent")
        .filter(agent_id=agent_id)
        .first()
    )
    if availability is None or not _routable(availability):
        return None
    return availability


def _routable(availability: AgentAvailability) -> bool:
    working = availability.status == AvailabilityStatus.AVAILABLE or (
        availability.status == AvailabilityStatus.BUSY and not availability.manual_override
    )
    return (
        availability.agent.is_active
        and working
        and availability.current_load < availability.agent.max_concurrent_cases
    )


def _find_and_lock(
    *, case: CaseProfile, rings: list[Ring], strategy: Strategy, now: dt.datetime
) -> tuple[Ranking | None, ScoredCandidate | None, AgentAvailability | None]:
    """Innermost ring first: rank its candidates and lock the best one still free."""
    zones = schedule_zones_in_use()
    ranking: Ranking | None = None
    for ring in rings:
        agents = agent_candidates(
            case=case, ring=ring, prerank=strategy.prerank, now=now, lockout=_lockout(), zones=zones
        )
        ranking = rank_candidates(
            case=case,
            ring=ring,
            agents=agents,
            strategy=strategy,
            weights=_weights(),
            now=now,
            lockout=_lockout(),
        )
        for candidate in ranking.candidates:
            availability = _lock_if_free(candidate.agent.agent_id)
            if availability is not None:
                return ranking, candidate, availability
    return ranking, None, None


def _take_load(availability: AgentAvailability, *, now: dt.datetime) -> None:
    """One more case for a locked agent; at capacity an `available` agent becomes `busy`."""
    capacity = availability.agent.max_concurrent_cases
    full = availability.current_load + 1 >= capacity
    becomes_busy = full and availability.status == AvailabilityStatus.AVAILABLE
    AgentAvailability.objects.filter(pk=availability.pk).update(
        current_load=F("current_load") + 1,
        last_assigned_at=now,
        status=Value(AvailabilityStatus.BUSY) if becomes_busy else F("status"),
        status_since=Value(now) if becomes_busy else F("status_since"),
    )
    availability.current_load += 1
    availability.last_assigned_at = now
    if becomes_busy:
        availability.status = AvailabilityStatus.BUSY


def _release_load(agent_id: int, *, now: dt.datetime) -> None:
    """One case fewer for a locked agent; `busy` from capacity (not a manual override) -> `available`."""
    back = Q(status=AvailabilityStatus.BUSY, manual_override=False)
    AgentAvailability.objects.filter(pk=agent_id).update(
        current_load=F("current_load") - 1,
        status=Case(When(back, then=Value(AvailabilityStatus.AVAILABLE)), default=F("status")),
        status_since=Case(When(back, then=Value(now)), default=F("status_since")),
    )


def _create_assignment(
    *,
    case: SupportCase,
    availability: AgentAvailability,
    now: dt.datetime,
    strategy: str,
    confidence: float | None,
    match_score: float | None,
) -> CaseAssignment:
    assignment = CaseAssignment.objects.create(
        case=case,
        agent_id=availability.agent_id,
        customer_id=case.customer_id,
        assigned_at=now,
        status=AssignmentStatus.ASSIGNED,
        priority=case.priority,
        complexity=case.complexity,
        required_skills=case.required_skills,
        customer_frustration=case.customer_frustration,
        routing_strategy=strategy,
        routing_confidence=None if confidence is None else round(confidence, 2),
        match_score=None if match_score is None else round(match_score, 2),
    )
    _take_load(availability, now=now)
    case.status = CaseStatus.ASSIGNED
    case.save(update_fields=["status", "updated_at"])
    return assignment


def _record(
    *,
    case: SupportCase,
    strategy: str,
    ranking: Ranking | None,
    winner: ScoredCandidate | None,
    assignment: CaseAssignment | None,
    reason: str,
    started: float,
    ring_level: int,
    event: str,
    event_data: dict | None = None,
) -> RoutingDecision:
    decision = RoutingDecision.objects.create(
        case=case,
        strategy=strategy,
        outcome=DecisionOutcome.ASSIGNED if assignment else DecisionOutcome.QUEUED,
        winner_id=winner.agent.agent_id if winner else (assignment.agent_id if assignment else None),
        assignment=assignment,
        candidates=[candidate.as_record() for candidate in ranking.candidates] if ranking else [],
        candidate_count=len(ranking.candidates) if ranking else 0,
        reason=reason,
        widen_level=ring_level,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
    )
    RoutingEvent.objects.create(
        case=case,
        event_type=event,
        agent_id=assignment.agent_id if assignment else None,
        data={"decision": decision.pk, "ring": ring_level, **(event_data or {})},
    )
    return decision


_STAGE_REASONS = {
    "agents": "no agents exist",
    "active": "no active agent",
    "working_status": "no active agent is available (all on break, offline or otherwise away)",
    "spare_capacity": "every available agent is at capacity",
    "in_schedule": "no agent with spare capacity is inside a schedule window now",
    "frustration_tolerance": "only low-tolerance agents remain and the customer's frustration is critical",
    "fatigue_lockout": "every remaining agent is locked out after consecutive difficult cases",
    "excluded": "the remaining agents already timed out on this case",
}


def _queue_reason(funnel: list[tuple[str, int]], ring: Ring) -> str:
    counts = ", ".join(f"{name}={count}" for name, count in funnel)
    for name, count in funnel:
        if count == 0:
            if name.startswith("skill:"):
                why = f"no agent in schedule with skill {name[6:]} at {ring.min_proficiency} or better"
            elif name.startswith("language:"):
                why = f"no agent in schedule speaks {name[9:]}"
            else:
                why = _STAGE_REASONS.get(name, name)
            return f"{why} (counts: {counts})"
    return f"every eligible agent was taken by concurrent routing (counts: {counts})"
