"""The shared steps of every assignment: find and lock a free agent, raise or release its load, write
the assignment and the decision record. Lock order: see routing.services."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

from django.db import connection
from django.db.models import Case, F, Q, Value, When

from agents.models import AgentAvailability, AvailabilityStatus, HumanAgent
from routing.engine.rules import is_difficult
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
    CandidateSearch,
    agent_candidates,
    agent_still_fits,
    schedule_zones_in_use,
)
from routing.selectors.agent_sql import AgentRules, table
from routing.services.requests import _lockout, _weights


@dataclass
class Found:
    """The outcome of a search: the ranking of the last ring tried, the winner and its locked row."""

    ranking: Ranking | None = None
    search: CandidateSearch | None = None
    winner: ScoredCandidate | None = None
    availability: AgentAvailability | None = None

    @property
    def prerank(self) -> dict:
        return self.search.as_record() if self.search else {}


def _lock_if_free(
    agent_id: int, *, now: dt.datetime, zones: list[str], case: CaseProfile | None = None
) -> AgentAvailability | None:
    """Lock the agent's availability row unless another transaction holds it, and re-check under
    the lock what may have changed since the candidate search: status, activity, capacity and the
    schedule window (read with the lock, one statement) and, for a difficult case, the fatigue streak
    counting open difficult cases (one more statement, run after the lock was taken, so it sees every
    assignment committed before it). None if the row is held or the agent no longer fits.

    Raw SQL for the hot path (routing.selectors.agent_sql says why); the rows come back as the
    AgentAvailability and HumanAgent instances the rest of the service uses."""
    schedule = AgentRules(
        case=case or _ANY_CASE, ring=_ANY_RING, now=now, zones=zones, lockout=0, per_row=True
    )
    in_schedule = schedule.in_schedule()
    lock = " FOR UPDATE OF a SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT a.agent_id, a.status, a.manual_override, a.current_load, h.code, h.is_active, "
            f"h.max_concurrent_cases, CASE WHEN {in_schedule.text} THEN 1 ELSE 0 END "
            f"FROM {table(AgentAvailability)} a JOIN {table(HumanAgent)} h ON h.id = a.agent_id "
            f"WHERE a.agent_id = %s{lock}",
            [*in_schedule.params, agent_id],
        )
        row = cursor.fetchone()
    if row is None or not row[7]:
        return None
    availability = _loaded(
        AgentAvailability, agent_id=row[0], status=row[1], manual_override=row[2], current_load=row[3]
    )
    availability.agent = _loaded(
        HumanAgent, id=row[0], code=row[4], is_active=row[5], max_concurrent_cases=row[6]
    )
    if not _routable(availability):
        return None
    difficult = case is not None and is_difficult(complexity=case.complexity, frustration=case.frustration)
    if difficult and not agent_still_fits(agent_id=agent_id, now=now, difficult=True, lockout=_lockout()):
        return None
    return availability


def _loaded(model, **values):
    """A model instance for some of its columns read by hand (Model.from_db wants them in field order)."""
    names = [field.attname for field in model._meta.concrete_fields if field.attname in values]
    return model.from_db(connection.alias, names, [values[name] for name in names])


_ANY_CASE = CaseProfile(case_id="", priority="low", complexity="low", frustration="low", required_skills=())
_ANY_RING = Ring(level=0, skills=(), min_proficiency="basic")


def _routable(availability: AgentAvailability) -> bool:
    return (
        availability.agent.is_active
        and availability.takes_work
        and availability.current_load < availability.agent.max_concurrent_cases
    )


def _find_and_lock(*, case: CaseProfile, rings: list[Ring], strategy: Strategy, now: dt.datetime) -> Found:
    """Innermost ring first: rank its candidates and lock the best one still free."""
    zones = schedule_zones_in_use(now=now)
    weights = _weights()
    found = Found()
    for ring in rings:
        found.search = agent_candidates(
            case=case, ring=ring, strategy=strategy, weights=weights, now=now, lockout=_lockout(), zones=zones
        )
        found.ranking = rank_candidates(
            case=case,
            ring=ring,
            agents=found.search.agents,
            strategy=strategy,
            weights=weights,
            now=now,
            lockout=_lockout(),
        )
        for candidate in found.ranking.candidates:
            availability = _lock_if_free(candidate.agent.agent_id, now=now, zones=zones, case=case)
            if availability is not None:
                found.winner, found.availability = candidate, availability
                return found
    return found


def _take_load(availability: AgentAvailability, *, now: dt.datetime) -> None:
    """One more case for a locked agent; at capacity an `available` agent becomes `busy`.

    That `busy` is routing's, not a supervisor's: a manual override that had made the agent available
    ends there (flag and reason cleared), so `_release_load` makes the agent available again. Kept, the
    flag would read as a supervisor's `busy`, which routing never lifts: the agent would stay busy."""
    capacity = availability.agent.max_concurrent_cases
    full = availability.current_load + 1 >= capacity
    becomes_busy = full and availability.status == AvailabilityStatus.AVAILABLE
    changes: dict = {"current_load": F("current_load") + 1, "last_assigned_at": now}
    if becomes_busy:
        changes.update(
            status=AvailabilityStatus.BUSY, status_since=now, manual_override=False, override_reason=""
        )
    AgentAvailability.objects.filter(pk=availability.pk).update(**changes)
    availability.current_load += 1
    availability.last_assigned_at = now
    if becomes_busy:
        availability.status = AvailabilityStatus.BUSY
        availability.manual_override, availability.override_reason = False, ""


def _release_load(agent_id: int, *, now: dt.datetime, locked: AgentAvailability | None = None) -> None:
    """One case fewer for a locked agent; `busy` from capacity (not a manual override) -> `available`.
    With the `locked` row in hand (its status read under the lock) the new status is decided here;
    without it, in SQL. `locked` is updated to match."""
    if locked is None:
        back = Q(status=AvailabilityStatus.BUSY, manual_override=False)
        AgentAvailability.objects.filter(pk=agent_id).update(
            current_load=F("current_load") - 1,
            status=Case(When(back, then=Value(AvailabilityStatus.AVAILABLE)), default=F("status")),
            status_since=Case(When(back, then=Value(now)), default=F("status_since")),
        )
        return
    changes: dict = {"current_load": F("current_load") - 1}
    if locked.status == AvailabilityStatus.BUSY and not locked.manual_override:
        changes.update(status=AvailabilityStatus.AVAILABLE, status_since=now)
        locked.status = AvailabilityStatus.AVAILABLE
    AgentAvailability.objects.filter(pk=agent_id).update(**changes)
    locked.current_load -= 1


@dataclass(frozen=True)
class CaseFacts:
    """What an assignment copies from its case: from the SupportCase, or from a queue entry (which
    carries the same columns, escalated priority included), so dispatch never loads the case."""

    case_pk: int  # SupportCase.pk, which decisions and events point at
    case_id: str  # the case's business id, which assignments and queue entries point at
    customer_id: str
    priority: str
    complexity: str
    required_skills: list
    customer_frustration: str

    @classmethod
    def of(cls, source) -> CaseFacts:
        """From a SupportCase, or from a queue entry read with a `case_pk` annotation."""
        return cls(
            case_pk=source.pk if isinstance(source, SupportCase) else source.case_pk,
            case_id=source.case_id,
            customer_id=source.customer_id,
            priority=source.priority,
            complexity=source.complexity,
            required_skills=list(source.required_skills),
            customer_frustration=source.customer_frustration,
        )


def _create_assignment(
    *,
    case: CaseFacts,
    availability: AgentAvailability,
    now: dt.datetime,
    strategy: str,
    confidence: float | None,
    match_score: float | None,
    case_status_written: bool = False,
) -> CaseAssignment:
    """Assign the case to the locked agent and take one of its slots. The case's status becomes
    `assigned` (unless the caller wrote it already, as a new case is created assigned)."""
    assignment = CaseAssignment.objects.create(
        case_id=case.case_id,
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
    if not case_status_written:
        SupportCase.objects.filter(case_id=case.case_id).update(status=CaseStatus.ASSIGNED, updated_at=now)
    return assignment


def _record(
    *,
    case_pk: int,
    strategy: str,
    ranking: Ranking | None,
    winner: ScoredCandidate | None,
    assignment: CaseAssignment | None,
    reason: str,
    started: float,
    ring_level: int,
    event: str,
    event_data: dict | None = None,
    prerank: dict | None = None,
    now: dt.datetime | None = None,
) -> RoutingDecision:
    decision = RoutingDecision.objects.create(
        case_id=case_pk,
        strategy=strategy,
        outcome=DecisionOutcome.ASSIGNED if assignment else DecisionOutcome.QUEUED,
        winner_id=winner.agent.agent_id if winner else (assignment.agent_id if assignment else None),
        assignment=assignment,
        candidates=[candidate.as_record() for candidate in ranking.candidates] if ranking else [],
        candidate_count=len(ranking.candidates) if ranking else 0,
        prerank=prerank or {},
        reason=reason,
        widen_level=ring_level,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        **({"created_at": now} if now else {}),
    )
    RoutingEvent.objects.create(
        case_id=case_pk,
        event_type=event,
        agent_id=assignment.agent_id if assignment else None,
        data={"decision": decision.pk, "ring": ring_level, **(event_data or {})},
        **({"created_at": now} if now else {}),
    )
    return decision


def _pool_note(found: Found) -> str:
    if found.search is None or not found.search.pool_full:
        return ""
    return f" (pool of the {found.search.pool_limit} least-loaded, longest-idle eligible agents; more were not considered)"


_STAGE_REASONS = {
    "agents": "no agents exist",
    "active": "no active agent",
    "working_status": "no active agent is available (all on break, offline or otherwise away)",
    "spare_capacity": "every agent who could take it is at capacity",
    "in_schedule": "no available agent is inside a schedule window now",
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
