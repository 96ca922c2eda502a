"""The shared steps of every assignment: lock an agent, find and lock a free eligible agent, raise or
release its load, write the assignment and the decision record. Lock order: see routing.services."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import F

from agents.models import AgentAvailability, AvailabilityStatus, HumanAgent
from routing.engine.rules import exclusion_reason
from routing.engine.scoring import rank_candidates
from routing.engine.strategies import Strategy
from routing.engine.types import AgentProfile, Ranking, Ring, ScoredCandidate, WorkProfile
from routing.metrics import performance_count_assignment
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    DecisionOutcome,
    RoutingDecision,
    RoutingEvent,
    SupportCase,
)
from routing.selectors import CandidateSearch, agent_candidates, agent_profile, schedule_zones_in_use
from routing.selectors.agent_sql import table
from routing.services.requests import configured_weights, lockout
from routing.work import WorkKind

# --- the agent lock --------------------------------------------------------------------------------


@dataclass
class LockedAgent:
    """An agent whose availability row this transaction holds: what load accounting needs, kept in
    step with the row as the transaction changes it."""

    agent_id: int
    code: str
    status: str
    manual_override: bool
    current_load: int
    capacity: int
    is_active: bool

    @property
    def takes_work(self) -> bool:
        return self.status == AvailabilityStatus.AVAILABLE or (
            self.status == AvailabilityStatus.BUSY and not self.manual_override
        )

    @property
    def has_room(self) -> bool:
        return self.is_active and self.takes_work and self.current_load < self.capacity

    @classmethod
    def of(cls, availability: AgentAvailability) -> LockedAgent:
        """From an availability row locked by the caller (select_related agent)."""
        return cls(
            agent_id=availability.agent_id,
            code=availability.agent.code,
            status=availability.status,
            manual_override=availability.manual_override,
            current_load=availability.current_load,
            capacity=availability.agent.max_concurrent_work,
            is_active=availability.agent.is_active,
        )


_LOCK_SQL: dict[bool, str] = {}


def lock_agent(agent_id: int, *, skip_locked: bool = False) -> LockedAgent | None:
    """Lock the agent's availability row (FOR NO KEY UPDATE: other transactions' foreign-key checks on
    the agent, FOR KEY SHARE, go on) and read what load accounting needs. None if there is no such row
    or, with `skip_locked`, another transaction holds it.

    Raw SQL: this runs for every candidate a router tries."""
    sql = _LOCK_SQL.get(skip_locked)
    if sql is None:
        lock = ""
        if connection.features.has_select_for_update:
            lock = " FOR NO KEY UPDATE OF a" if connection.vendor == "postgresql" else " FOR UPDATE OF a"
            if skip_locked and connection.features.has_select_for_update_skip_locked:
                lock += " SKIP LOCKED"
        sql = _LOCK_SQL[skip_locked] = (
            "SELECT a.agent_id, h.code, a.status, a.manual_override, a.current_load, h.max_concurrent_work, "
            f"h.is_active FROM {table(AgentAvailability)} a JOIN {table(HumanAgent)} h ON h.id = a.agent_id "
            f"WHERE a.agent_id = %s{lock}"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [agent_id])
        row = cursor.fetchone()
    return None if row is None else LockedAgent(*row[:3], bool(row[3]), row[4], row[5], bool(row[6]))


# --- load ------------------------------------------------------------------------------------------


def take_load(agent: LockedAgent, *, now: dt.datetime) -> None:
    """One more piece of work for a locked agent; at capacity an `available` agent becomes `busy`.

    That `busy` is routing's, not a person's (manual_override false), so `release_load` makes the agent
    available again when the load drops."""
    full = agent.current_load + 1 >= agent.capacity
    becomes_busy = full and agent.status == AvailabilityStatus.AVAILABLE
    changes: dict[str, Any] = {"current_load": F("current_load") + 1, "last_assigned_at": now}
    if becomes_busy:
        changes.update(
            status=AvailabilityStatus.BUSY, status_since=now, manual_override=False, override_reason=""
        )
    AgentAvailability.objects.filter(pk=agent.agent_id).update(**changes)
    agent.current_load += 1
    if becomes_busy:
        agent.status, agent.manual_override = AvailabilityStatus.BUSY, False


def release_load(agent: LockedAgent, *, now: dt.datetime) -> None:
    """One piece of work fewer for a locked agent; routing's own `busy` becomes `available` (a person's
    busy stays: it is their decision)."""
    changes: dict[str, Any] = {"current_load": F("current_load") - 1}
    if agent.status == AvailabilityStatus.BUSY and not agent.manual_override:
        changes.update(status=AvailabilityStatus.AVAILABLE, status_since=now)
        agent.status = AvailabilityStatus.AVAILABLE
    AgentAvailability.objects.filter(pk=agent.agent_id).update(**changes)
    agent.current_load -= 1


# --- finding an agent --------------------------------------------------------------------------------


@dataclass
class Found:
    """The outcome of a search: the ranking of the last ring tried, the winner and its locked row."""

    ranking: Ranking | None = None
    search: CandidateSearch | None = None
    winner: ScoredCandidate | None = None
    agent: LockedAgent | None = None
    problems: list[dict] = field(default_factory=list)

    @property
    def prerank(self) -> dict:
        record = self.search.as_record() if self.search else {}
        if self.problems:
            record["skipped"] = self.problems
        return record


def lock_if_eligible(
    agent_id: int, *, work: WorkProfile, ring: Ring, now: dt.datetime, zones: list[str]
) -> tuple[LockedAgent, AgentProfile] | None:
    """Lock the agent unless another transaction holds it, then re-check every eligibility rule on a
    profile read after the lock was taken (a new statement, so it sees everything committed before the
    lock was granted: load, status, schedule, open difficult work). None if held or no longer eligible.
    """
    locked = lock_agent(agent_id, skip_locked=True)
    if locked is None:
        return None
    profile = agent_profile(agent_id=agent_id, now=now, zones=zones)
    if (
        profile is None
        or exclusion_reason(agent=profile, work=work, ring=ring, lockout=lockout()) is not None
    ):
        return None
    return locked, profile


def find_and_lock(
    *,
    work: WorkProfile,
    rings: list[Ring],
    strategy: Strategy,
    now: dt.datetime,
    before_assign: Callable[[LockedAgent, AgentProfile], AgentProfile | None] | None = None,
    adapt_work: Callable[[WorkProfile, CandidateSearch], WorkProfile] | None = None,
) -> Found:
    """Innermost ring first: rank its candidates and lock the best one still free and eligible.

    `before_assign(locked, profile)` runs under the lock before the agent is chosen (the serving-order
    guard gives the agent older waiting work first) and returns the agent's profile as it stands then,
    or None if the agent has no room left; the agent must still pass every rule for this work after
    it (the work it was just given counts: its load, its open difficult cases).

    `adapt_work(work, search)` may add facts about the candidates found to the work before they are
    ranked (lead routing adds the candidates' conversion rates for the lead's tier)."""
    zones = schedule_zones_in_use(now=now)
    weights = configured_weights()
    found = Found()
    for ring in rings:
        found.search = agent_candidates(work=work, ring=ring, now=now, lockout=lockout(), zones=zones)
        found.problems += found.search.problems
        if adapt_work is not None:
            work = adapt_work(work, found.search)
        found.ranking = rank_candidates(
            work=work,
            ring=ring,
            agents=found.search.agents,
            strategy=strategy,
            weights=weights,
            now=now,
            lockout=lockout(),
        )
        for candidate in found.ranking.candidates:
            locked = lock_if_eligible(candidate.agent.agent_id, work=work, ring=ring, now=now, zones=zones)
            if locked is None:
                continue
            if before_assign is not None:
                after = before_assign(*locked)
                if after is None or exclusion_reason(agent=after, work=work, ring=ring, lockout=lockout()):
                    continue
            found.winner, found.agent = candidate, locked[0]
            return found
    return found


# --- writing the assignment and the record -------------------------------------------------------------


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


def create_assignment(
    *,
    case: CaseFacts,
    agent: LockedAgent,
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
        agent_id=agent.agent_id,
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
    take_load(agent, now=now)
    performance_count_assignment(agent_id=agent.agent_id, now=now)
    if not case_status_written:
        SupportCase.objects.filter(case_id=case.case_id).update(status=CaseStatus.ASSIGNED, updated_at=now)
    return assignment


def record_decision(
    *,
    kind: WorkKind,
    item_pk: Any,
    strategy: Strategy | str,
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
    assigned: bool | None = None,
) -> RoutingDecision:
    """The decision record (every candidate with its factors) and its routing event, for a work item of
    any kind. `assigned` says the work went to the winner when the kind has no CaseAssignment (a lead);
    by default the decision is `assigned` when it made an assignment."""
    name, parameters = (strategy, {}) if isinstance(strategy, str) else (strategy.name, strategy.values)
    ref = kind.audit_ref(item_pk)
    agent_id = winner.agent.agent_id if winner else (assignment.agent_id if assignment else None)
    assigned = assignment is not None if assigned is None else assigned
    decision = RoutingDecision.objects.create(
        **ref,
        strategy=name,
        strategy_parameters=parameters,
        outcome=DecisionOutcome.ASSIGNED if assigned else DecisionOutcome.QUEUED,
        winner_id=agent_id,
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
        **ref,
        event_type=event,
        agent_id=assignment.agent_id if assignment else (agent_id if assigned else None),
        data={"decision": decision.pk, "ring": ring_level, **(event_data or {})},
        **({"created_at": now} if now else {}),
    )
    return decision


def pool_note(found: Found) -> str:
    if found.search is None or not found.search.pool_full:
        return ""
    return f" (pool of the {found.search.pool_limit} least-loaded, longest-idle eligible agents; more were not considered)"


def queue_reason(funnel: list[tuple[str, int]], ring: Ring) -> str:
    """Why nobody took the work: the first rule no agent passed, with the funnel's counts."""
    from routing.engine.rules import RULES_BY_NAME

    counts = ", ".join(f"{name}={count}" for name, count in funnel)
    for name, count in funnel:
        if count == 0:
            if name.startswith("skill:"):
                why = f"no agent in schedule with skill {name[6:]} at {ring.min_proficiency} or better"
            elif name.startswith("language:"):
                why = f"no agent in schedule speaks {name[9:]}"
            elif name == "agents":
                why = "no agents exist"
            else:
                why = RULES_BY_NAME[name].nobody if name in RULES_BY_NAME else name
            return f"{why} (counts: {counts})"
    return f"every eligible agent was taken by concurrent routing (counts: {counts})"
