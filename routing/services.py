"""Every write of routing: route a case, start and complete it, serve and sweep the escalation queue.

Locking (shared with agents.services): an agent's AgentAvailability row is the lock that guards its
capacity, and it is always taken before any case, assignment or queue row; when several agents are
involved they are locked one at a time in agent_id order. Routers lock candidates with
`select_for_update(skip_locked=True, of=("self",))` and re-check status and load under the lock: a
candidate taken by a concurrent router is skipped and the next one tried. Queue entries are locked with
skip_locked too, so two dispatchers never serve one entry. On SQLite row locks do not exist; the
IMMEDIATE transactions configured in settings serialise writers, which keeps the same invariants.

Load is changed with F() updates under the row lock and without simple_history (the load changes on
every assignment; its history would dwarf the table). Status changes made here follow the same path.

Choices documented here:
- A completion with `escalated=True` ends the assignment with status `escalated` (and escalated=True);
  otherwise `completed`. Both are terminal, free capacity and close the case (case status completed).
- A case may be completed from `assigned` (never started): resolution time then counts from assignment.
- Queue dispatch (sweep, timeout reroute) uses the configured default strategy: the case's original
  strategy is on its first decision, not on the queue entry.
- An overdue entry is escalated once per lapsed max-wait period: at queued_at + max_wait, again at
  queued_at + 2 x max_wait, and so on (priority caps at critical, the count keeps rising).
- `busy` set by a supervisor (manual override) is not routable; `busy` set by routing at capacity is,
  once a case completes.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from agents.languages import ISO_639_1
from agents.models import AgentAvailability, AgentPerformance, AvailabilityStatus, Proficiency, SkillDomain
from agents.selectors import AgentNotFound
from routing.engine.rules import (
    MAX_RING,
    innermost_ring,
    is_difficult,
    parse_special_requirements,
    ring_for,
    rings_up_to,
    routing_confidence,
)
from routing.engine.scoring import rank_candidates, score_agent
from routing.engine.strategies import Strategy
from routing.engine.strategies import get as get_strategy
from routing.engine.strategies import names as strategy_names
from routing.engine.types import AgentProfile, CaseProfile, Ranking, Ring, ScoredCandidate, Weights
from routing.errors import (
    AgentAtCapacity,
    CaseAlreadyRouted,
    CaseNotFound,
    InvalidCaseTransition,
    QueueEntryNotFound,
    QueueEntryNotWaiting,
    RoutingValidationError,
    UnknownSkillDomain,
    UnknownStrategy,
)
from routing.models import (
    OPEN_ASSIGNMENT_STATUSES,
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    Complexity,
    DecisionOutcome,
    EscalationQueueEntry,
    Frustration,
    Priority,
    QueueStatus,
    RoutingDecision,
    RoutingEvent,
    RoutingEventType,
    SupportCase,
)
from routing.selectors import (
    agent_candidates,
    agent_profile,
    candidate_funnel,
    queue_serving_order,
    schedule_zones_in_use,
)

logger = logging.getLogger(__name__)

DISPATCH_SCAN_LIMIT = 1000  # waiting entries examined per freed agent
SWEEP_DISPATCH_LIMIT = 200  # waiting entries offered to free agents per sweep
SWEEP_BATCH = 500  # timed-out assignments taken back per sweep


# --- contract types ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRequest:
    case_id: str
    priority: str
    complexity: str
    required_skills: list[str]
    customer_id: str = ""
    customer_frustration: str = "low"
    language: str = ""
    special_requirements: dict = field(default_factory=dict)
    estimated_resolution_minutes: int | None = None
    max_wait_minutes: int = 30
    strategy: str | None = None


@dataclass
class RoutingOutcome:
    case: SupportCase
    decision: RoutingDecision
    assignment: CaseAssignment | None
    queue_entry: EscalationQueueEntry | None

    @property
    def http_status(self) -> int:
        return 201 if self.assignment is not None else 202


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


# --- settings and validation ---------------------------------------------------------------------


def _lockout() -> int:
    return int(settings.ROUTING["DIFFICULT_CASE_LOCKOUT"])


def _weights() -> Weights:
    return Weights.from_mapping(settings.ROUTING["WEIGHTS"])


def _strategy(name: str | None) -> Strategy:
    name = name or settings.ROUTING["DEFAULT_STRATEGY"]
    try:
        return get_strategy(name)
    except KeyError:
        choices = ", ".join(strategy_names())
        raise UnknownStrategy(
            strategy=name,
            choices=choices,
            fields={"strategy": [f"Unknown strategy {name!r}; choose one of {choices}."]},
        ) from None


def _validate_request(request: CaseRequest) -> CaseProfile:
    """Service-side validation (the serializer validates too; this guards every other door)."""
    errors: dict[str, list[str]] = {}

    def check(name: str, ok: bool, message: str) -> None:
        if not ok:
            errors.setdefault(name, []).append(message)

    check("case_id", bool(request.case_id) and len(request.case_id) <= 50, "1 to 50 characters.")
    check("priority", request.priority in Priority.values, f"One of {', '.join(Priority.values)}.")
    check("complexity", request.complexity in Complexity.values, f"One of {', '.join(Complexity.values)}.")
    check(
        "customer_frustration",
        request.customer_frustration in Frustration.values,
        f"One of {', '.join(Frustration.values)}.",
    )
    check("language", not request.language or request.language in ISO_639_1, "An ISO 639-1 code, e.g. en.")
    check(
        "max_wait_minutes",
        isinstance(request.max_wait_minutes, int) and request.max_wait_minutes > 0,
        "A positive number of minutes.",
    )
    check(
        "estimated_resolution_minutes",
        request.estimated_resolution_minutes is None or request.estimated_resolution_minutes >= 0,
        "Not negative.",
    )
    skills_ok = isinstance(request.required_skills, list | tuple) and all(
        isinstance(skill, str) for skill in request.required_skills
    )
    check("required_skills", skills_ok, "A list of skill domain codes.")
    special = request.special_requirements
    check("special_requirements", isinstance(special, dict), "An object.")
    if isinstance(special, dict):
        minimum = special.get("min_proficiency")
        check(
            "special_requirements",
            minimum is None or minimum in Proficiency.values,
            f"min_proficiency must be one of {', '.join(Proficiency.values)}.",
        )
        check(
            "special_requirements",
            isinstance(special.get("optional_skills", []), list),
            "optional_skills must be a list of skill codes.",
        )
    if errors:
        raise RoutingValidationError(fields=errors)
    _strategy(request.strategy)
    skills = list(dict.fromkeys(request.required_skills))
    known = set(SkillDomain.objects.filter(code__in=skills).values_list("code", flat=True))
    unknown = [skill for skill in skills if skill not in known]
    if unknown:
        raise UnknownSkillDomain(
            codes=", ".join(unknown),
            fields={"required_skills": [f"Unknown skill domain: {code}." for code in unknown]},
        )
    return _case_profile(
        case_id=request.case_id,
        priority=request.priority,
        complexity=request.complexity,
        frustration=request.customer_frustration,
        required_skills=skills,
        language=request.language,
        special_requirements=special,
    )


def _case_profile(
    *,
    case_id: str,
    priority: str,
    complexity: str,
    frustration: str,
    required_skills: list[str],
    language: str,
    special_requirements: dict,
    excluded: list[int] | None = None,
) -> CaseProfile:
    parsed = parse_special_requirements(special_requirements or {}, required_skills)
    return CaseProfile(
        case_id=case_id,
        priority=priority,
        complexity=complexity,
        frustration=frustration,
        required_skills=tuple(required_skills),
        language=language,
        min_proficiency=parsed["min_proficiency"],
        optional_skills=parsed["optional_skills"],
        specializations=parsed["specializations"],
        excluded_agent_ids=frozenset(int(agent_id) for agent_id in excluded or ()),
    )


def _entry_profile(entry: EscalationQueueEntry) -> CaseProfile:
    return _case_profile(
        case_id=entry.case_id,
        priority=entry.priority,
        complexity=entry.complexity,
        frustration=entry.customer_frustration,
        required_skills=list(entry.required_skills),
        language=entry.case.language,
        special_requirements=entry.special_requirements,
        excluded=entry.excluded_agents,
    )


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


# --- routing a new case --------------------------------------------------------------------------


def case_route(*, request: CaseRequest) -> RoutingOutcome:
    """Route a new case: assign it to the best free eligible agent, or queue it and say why.

    The SupportCase, its assignment, the agent's load and the decision and event rows are written in one
    transaction. A concurrent request for the same case_id loses on the unique case_id and gets
    CaseAlreadyRouted.
    """
    started = time.perf_counter()
    profile = _validate_request(request)
    strategy = _strategy(request.strategy)
    existing = SupportCase.objects.filter(case_id=request.case_id).values_list("status", flat=True).first()
    if existing is not None:
        raise CaseAlreadyRouted(case_id=request.case_id, status=existing)
    try:
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
    ranking, winner, availability = _find_and_lock(case=profile, rings=[ring], strategy=strategy, now=now)
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
        status=CaseStatus.QUEUED,
        created_at=now,
    )
    if winner is not None and availability is not None:
        assignment = _create_assignment(
            case=case,
            availability=availability,
            now=now,
            strategy=strategy.name,
            confidence=routing_confidence(total=winner.total, ring_level=ring.level),
            match_score=winner.total * 100,
        )
        decision = _record(
            case=case,
            strategy=strategy.name,
            ranking=ranking,
            winner=winner,
            assignment=assignment,
            reason=f"best of {len(ranking.candidates) if ranking else 0} candidates at ring {ring.level}",
            started=started,
            ring_level=ring.level,
            event=RoutingEventType.ROUTED,
        )
        return RoutingOutcome(case=case, decision=decision, assignment=assignment, queue_entry=None)

    entry = EscalationQueueEntry.objects.create(
        case=case,
        customer_id=case.customer_id,
        priority=case.priority,
        complexity=case.complexity,
        required_skills=case.required_skills,
        special_requirements=case.special_requirements,
        customer_frustration=case.customer_frustration,
        estimated_resolution_minutes=case.estimated_resolution_minutes,
        queued_at=now,
        max_wait_minutes=case.max_wait_minutes,
        wait_deadline=now + dt.timedelta(minutes=case.max_wait_minutes),
    )
    funnel = candidate_funnel(case=profile, ring=ring, now=now, lockout=_lockout())
    decision = _record(
        case=case,
        strategy=strategy.name,
        ranking=ranking,
        winner=None,
        assignment=None,
        reason=_queue_reason(funnel, ring),
        started=started,
        ring_level=ring.level,
        event=RoutingEventType.QUEUED,
        event_data={"entry": str(entry.pk), "counts": dict(funnel)},
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


@transaction.atomic
def case_complete(
    *,
    case_id: str,
    resolution_minutes: int | None = None,
    csat_rating: int | None = None,
    escalated: bool = False,
) -> CaseAssignment:
    """Close the case's open assignment, free the agent's capacity, update the fatigue streak and, in
    the same transaction, dispatch the best waiting case the agent can serve."""
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
    open_assignment = CaseAssignment.objects.filter(case=case, status__in=OPEN_ASSIGNMENT_STATUSES).first()
    if open_assignment is None:
        raise InvalidCaseTransition(case_id=case_id, action="completed", status=case.status)
    # Lock order: the agent's availability row first, then the assignment.
    availability = (
        AgentAvailability.objects.select_for_update(of=("self",))
        .select_related("agent")
        .get(agent_id=open_assignment.agent_id)
    )
    assignment = (
        CaseAssignment.objects.select_for_update(of=("self",))
        .filter(pk=open_assignment.pk, status__in=OPEN_ASSIGNMENT_STATUSES)
        .first()
    )
    if assignment is None:  # taken back or completed while we waited for the lock
        case.refresh_from_db(fields=["status"])
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

    _release_load(availability.agent_id, now=now)
    if is_difficult(complexity=assignment.complexity, frustration=assignment.customer_frustration):
        AgentPerformance.objects.filter(agent_id=availability.agent_id).update(
            consecutive_difficult_cases=F("consecutive_difficult_cases") + 1, last_difficult_case_at=now
        )
    else:
        AgentPerformance.objects.filter(agent_id=availability.agent_id).update(consecutive_difficult_cases=0)
    RoutingEvent.objects.create(
        case=case,
        event_type=RoutingEventType.COMPLETED,
        agent_id=availability.agent_id,
        data={"resolution_minutes": resolution_minutes, "csat_rating": csat_rating, "escalated": escalated},
    )
    availability.refresh_from_db(fields=["current_load", "status", "manual_override"])
    _dispatch_to_locked_agent(availability=availability, now=now)
    return assignment


# --- the queue -----------------------------------------------------------------------------------


def _dispatch_to_locked_agent(*, availability: AgentAvailability, now: dt.datetime) -> list[CaseAssignment]:
    """Give a locked agent the highest waiting entries it can serve, while it has room.

    The agent's facts are loaded once; entries are examined in serving order (at most
    DISPATCH_SCAN_LIMIT of them) against the pure engine's rules at each entry's widen ring, and the
    first match is locked with skip_locked (a concurrent dispatcher may hold it).
    """
    if not _routable(availability):
        return []
    profile = agent_profile(agent_id=availability.agent_id, now=now)
    if profile is None or not profile.in_schedule:
        return []
    strategy = _strategy(None)
    assignments: list[CaseAssignment] = []
    while profile.current_load < profile.max_concurrent_cases:
        started = time.perf_counter()
        found = _first_servable_entry(profile=profile, now=now)
        if found is None:
            break
        entry, ring = found
        case_profile = _entry_profile(entry)
        factors = score_agent(agent=profile, case=case_profile, ring=ring, now=now, lockout=_lockout())
        candidate = ScoredCandidate(agent=profile, factors=factors, total=strategy.total(factors, _weights()))
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
        profile = replace(profile, current_load=profile.current_load + 1, last_assigned_at=now)
    return assignments


def _first_servable_entry(
    *, profile: AgentProfile, now: dt.datetime
) -> tuple[EscalationQueueEntry, Ring] | None:
    lockout = _lockout()
    scanned = 0
    chunk = 200
    while scanned < DISPATCH_SCAN_LIMIT:
        entries = list(queue_serving_order(now=now)[scanned : scanned + chunk])
        if not entries:
            return None
        for entry in entries:
            ring, _ = innermost_ring(
                agent=profile, case=_entry_profile(entry), level=entry.widen_level, lockout=lockout
            )
            if ring is None:
                continue
            locked = (
                EscalationQueueEntry.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("case")
                .filter(pk=entry.pk, status=QueueStatus.QUEUED)
                .first()
            )
            if locked is not None:
                return locked, ring
        scanned += len(entries)
        if len(entries) < chunk:
            return None
    return None


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
) -> CaseAssignment:
    """Assign a locked queue entry to a locked agent and record the decision."""
    assignment = _create_assignment(
        case=entry.case,
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
        case=entry.case,
        strategy=strategy,
        ranking=ranking,
        winner=candidate,
        assignment=assignment,
        reason=reason,
        started=started,
        ring_level=ranking.ring.level,
        event=event,
        event_data={"entry": str(entry.pk), "waited_seconds": round((now - entry.queued_at).total_seconds())},
    )
    return assignment


@transaction.atomic
def queue_dispatch_for_agent(*, agent_id: int) -> list[CaseAssignment]:
    """An agent may take more work (became available, capacity rose): serve the queue to it."""
    availability = (
        AgentAvailability.objects.select_for_update(of=("self",))
        .select_related("agent")
        .filter(agent_id=agent_id)
        .first()
    )
    if availability is None:
        raise AgentNotFound(code=str(agent_id))
    return _dispatch_to_locked_agent(availability=availability, now=timezone.now())


@transaction.atomic
def _entry_dispatch(*, entry_id, now: dt.datetime) -> CaseAssignment | None:
    """Offer one waiting entry to the best free agent at its widen ring (rings 0..widen_level)."""
    started = time.perf_counter()
    entry = (
        EscalationQueueEntry.objects.select_related("case")
        .filter(pk=entry_id, status=QueueStatus.QUEUED)
        .first()
    )
    if entry is None:
        return None
    strategy = _strategy(None)
    profile = _entry_profile(entry)
    ranking, winner, availability = _find_and_lock(
        case=profile, rings=rings_up_to(profile, entry.widen_level), strategy=strategy, now=now
    )
    if winner is None or availability is None or ranking is None:
        return None
    locked = (
        EscalationQueueEntry.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("case")
        .filter(pk=entry_id, status=QueueStatus.QUEUED)
        .first()
    )
    if locked is None:
        return None
    return _assign_entry(
        entry=locked,
        availability=availability,
        ranking=ranking,
        candidate=winner,
        strategy=strategy.name,
        now=now,
        started=started,
        reason=f"dispatched from the queue: best of {len(ranking.candidates)} candidates at ring {ranking.ring.level}",
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
    assignment marks it `transferred` and frees the agent's capacity; the agent is not excluded (a
    supervisor's requeue is not the agent's refusal).
    """
    entry = _get_entry(entry_id)
    now = timezone.now()
    agent_id = entry.assigned_agent_id if entry.status == QueueStatus.ASSIGNED else None
    if agent_id is not None:  # lock order: the agent's availability before the entry
        AgentAvailability.objects.select_for_update(of=("self",)).filter(agent_id=agent_id).first()
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
        _release_load(agent_id, now=now)
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
    return locked


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


def on_agent_capacity_freed(sender, agent_id: int, **kwargs) -> None:
    """agents.signals.agent_capacity_freed receiver (sent after commit): serve the queue to the agent.

    The agent's own change has committed; a failure here must not turn it into an error for the
    caller, so it is logged and the next sweep serves the queue instead.
    """
    try:
        queue_dispatch_for_agent(agent_id=agent_id)
    except Exception:
        logger.exception("queue dispatch for agent %s failed; the next sweep will retry", agent_id)
