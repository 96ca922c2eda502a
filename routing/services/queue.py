"""Serving the escalation queue: dispatch to an agent who may take work, offer an entry to the best free
agent, the supervisor's actions (assign to a chosen agent, cancel, requeue) and an entry's wait estimate.

The serving order (routing.selectors.queue: overdue first, then higher priority, then older) is a
guarantee, held where work is handed out rather than by the timing of events:
- whenever an agent may take more work (status, capacity, schedule or skill edits, a completion), the
  agent is offered the queue first, in serving order (`dispatch_to_locked_agent`);
- a new case goes straight to an agent only when no waiting case that agent can serve outranks it, and
  an entry offered by the sweep goes to an agent only when no entry ahead of it is one the agent can
  serve: under the agent's lock the router first gives the agent the waiting work ahead
  (`serving_order_guard`), and takes the agent for the new work only if room is left. The guard reads
  at most GUARD_EXAMINE entries of each band ahead (a bound on every route's cost under a deep
  backlog the agent cannot serve); work further back is reached by the agent's next freed slot (its
  dispatch scan is not bounded so) and by the sweep. A schedule window
  opening is an event no writer sees; this guard (and the sweep, which offers the queue to idle agents)
  is what serves the queue first then.

The queue is read in serving order through routing.selectors.queue_scan without joining cases (entries
carry the case's facts and language). SQL narrows the scan for an agent by what entry columns can say
(ENTRY_FILTERS: one narrowing per eligibility rule that entry columns express); the engine's rules
decide, entry by entry, at its widen ring.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Callable
from dataclasses import replace

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from agents.selectors import AgentNotFound
from routing.engine.rules import (
    ELIGIBILITY_RULES,
    OPTIONAL_SKILLS_RING,
    innermost_ring,
    locked_out,
    never_rules_broken,
    ring_for,
    rings_up_to,
    routing_confidence,
    work_is_difficult,
)
from routing.engine.scoring import score_candidate
from routing.engine.types import AgentProfile, Ranking, Ring, ScoredCandidate
from routing.errors import (
    AgentAtCapacity,
    AssignmentRefused,
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
    Priority,
    QueueStatus,
    RoutingEvent,
    RoutingEventType,
    SupportCase,
)
from routing.selectors import Funnel, QueueCursor, agent_profile, candidate_funnel, queue_position, queue_scan
from routing.selectors.queue import SkillsWithin, ahead_of, queue_anything_ahead
from routing.services.assignment import (
    CaseFacts,
    LockedAgent,
    create_assignment,
    find_and_lock,
    lock_agent,
    pool_note,
    record_decision,
    release_load,
)
from routing.services.requests import (
    configured_weights,
    entry_work_profile,
    lockout,
    stored_strategy,
)
from routing.work import CASES

logger = logging.getLogger(__name__)

DISPATCH_SCAN_LIMIT = 1000  # waiting entries examined per agent offered the queue
# The serving-order guard looks at this many waiting entries ahead of new work (per band) for one the
# agent can serve; a deeper backlog is reached by freed agents' scans and the sweep.
GUARD_EXAMINE = 500
DISPATCH_SCAN_CHUNK = 8  # the first read (most agents can serve one of the first few); then x4
DEFAULT_RESOLUTION_MINUTES = 30  # for the wait estimate when no agent has a recorded average


# --- which entries an agent may serve, as far as entry columns tell --------------------------------------

EntryFilter = Callable[[AgentProfile, int], Q | None]


def _language_filter(agent: AgentProfile, lockout_at: int) -> Q:
    return Q(language__in=sorted({*agent.languages, ""}))


def _skills_filter(agent: AgentProfile, lockout_at: int) -> Q:
    # Below ring 2 an entry needs every required skill, so one asking a skill the agent lacks is skipped;
    # from ring 2 its optional skills may be dropped, so the engine decides. Without this a freed agent
    # could spend its whole scan on a long queue's head of cases it can never serve.
    return Q(SkillsWithin("required_skills", agent.skills)) | Q(widen_level__gte=OPTIONAL_SKILLS_RING)


def _tolerance_filter(agent: AgentProfile, lockout_at: int) -> Q | None:
    return ~Q(customer_frustration="critical") if agent.frustration_tolerance == "low" else None


def _fatigue_filter(agent: AgentProfile, lockout_at: int) -> Q | None:
    return ~DIFFICULT_ASSIGNMENT_Q if locked_out(streak=agent.difficult_streak, lockout=lockout_at) else None


# Per eligibility rule (by name) the narrowing entry columns can state for an agent, or None where only
# the agent's own rows say (active, status, schedule, capacity: checked before any scan) or where the
# engine decides (the excluded list). tests/routing/test_rules_agree.py proves no filter drops an entry
# the engine would give the agent.
ENTRY_FILTERS: dict[str, EntryFilter | None] = {
    "active": None,
    "working_status": None,
    "in_schedule": None,
    "language": _language_filter,
    "skills": _skills_filter,
    "frustration_tolerance": _tolerance_filter,
    "fatigue_lockout": _fatigue_filter,
    "excluded": None,
    # Lead work only (the case queue holds no leads).
    "lead_specialization": None,
    "agent_group": None,
    "spare_capacity": None,
}
if set(ENTRY_FILTERS) != {rule.name for rule in ELIGIBILITY_RULES}:
    raise ImportError("ENTRY_FILTERS must name every eligibility rule")


def servable_where(agent: AgentProfile, *, lockout_at: int) -> Q:
    where = Q()
    for rule in ELIGIBILITY_RULES:
        narrowing = ENTRY_FILTERS[rule.name]
        condition = narrowing(agent, lockout_at) if narrowing else None
        if condition is not None:
            where &= condition
    return where


# --- the queue -----------------------------------------------------------------------------------


def dispatch_to_locked_agent(
    *,
    agent: LockedAgent,
    now: dt.datetime,
    limit: int | None = None,
    passing_over=None,
    ahead: Q | None = None,
    profile: AgentProfile | None = None,
    reason: str = "",
    examine: int | None = None,
) -> list[CaseAssignment]:
    """Give a locked agent the highest waiting entries it can serve, while it has room (at most
    `limit` of them), leaving the entry `passing_over` (a primary key) alone and, with `ahead`, only
    entries that condition selects (those ahead of other work in serving order).

    The agent's facts are loaded once (or given as `profile`, read under the lock); entries are examined
    in serving order (at most DISPATCH_SCAN_LIMIT of them) against the engine's rules at each entry's
    widen ring, and the first match is locked with skip_locked (a concurrent dispatcher may hold it).
    """
    if not agent.has_room:
        return []
    profile = profile or agent_profile(agent_id=agent.agent_id, now=now)
    if profile is None or not profile.in_schedule:
        return []
    weights = configured_weights()
    lockout_at = lockout()
    assignments: list[CaseAssignment] = []
    while agent.has_room and (limit is None or len(assignments) < limit):
        started = time.perf_counter()
        found = _first_servable_entry(
            profile=profile,
            now=now,
            lockout_at=lockout_at,
            passing_over=passing_over,
            ahead=ahead,
            examine=examine,
        )
        if found is None:
            break
        entry, ring = found
        strategy, note = stored_strategy(
            entry.routing_strategy, entry.strategy_parameters, item=entry.case_id
        )
        work = entry_work_profile(entry)
        candidate = score_candidate(
            agent=profile,
            work=work,
            ring=ring,
            strategy=strategy,
            configured=weights,
            now=now,
            lockout=lockout_at,
        )
        ranking = Ranking(ring=ring, strategy=strategy.name, candidates=(candidate,))
        assignment = assign_entry(
            entry=entry,
            agent=agent,
            ranking=ranking,
            candidate=candidate,
            strategy=strategy,
            now=now,
            started=started,
            reason=(reason or f"dispatched to {profile.code} when it could take work, ring {ring.level}")
            + note,
        )
        assignments.append(assignment)
        profile = replace(
            profile,
            current_load=profile.current_load + 1,
            last_assigned_at=now,
            open_difficult=profile.open_difficult + int(work_is_difficult(work)),
        )
    return assignments


def _first_servable_entry(
    *,
    profile: AgentProfile,
    now: dt.datetime,
    lockout_at: int,
    passing_over=None,
    ahead: Q | None = None,
    examine: int | None = None,
) -> tuple[EscalationQueueEntry, Ring] | None:
    where = servable_where(profile, lockout_at=lockout_at)
    if passing_over is not None:
        where &= ~Q(pk=passing_over)
    if ahead is not None:
        where &= ahead
    entries = queue_scan(
        now=now,
        chunk=DISPATCH_SCAN_CHUNK,
        grow=4,
        limit=DISPATCH_SCAN_LIMIT,
        where=where,
        examine=examine,
        languages=profile.languages,  # servable_where requires them (_language_filter)
    )
    for entry in entries:
        ring, _ = innermost_ring(
            agent=profile, work=entry_work_profile(entry), level=entry.widen_level, lockout=lockout_at
        )
        if ring is None:
            continue
        locked = _lock_waiting_entry(entry.pk)
        if locked is not None:
            return locked, ring
    return None


def serving_order_guard(
    *, cursor: QueueCursor, now: dt.datetime, passing_over=None, placing: str
) -> Callable[[LockedAgent, AgentProfile], AgentProfile | None]:
    """For find_and_lock: before a locked agent takes the work at `cursor` (its place in serving order),
    give the agent the waiting entries ahead of it that the agent can serve; the agent's profile then
    (read again if it was given work), or None if no room is left.

    Indexed probes answer "is anything ahead in a language the agent speaks?" first
    (routing.selectors.queue_anything_ahead; usually not), so an empty queue, or a backlog in other
    languages, costs the router two index probes."""
    ahead = ahead_of(cursor, now=now)
    if passing_over is not None:
        ahead &= ~Q(pk=passing_over)
    anything_ahead: dict[frozenset[str], bool] = {}

    def guard(agent: LockedAgent, profile: AgentProfile) -> AgentProfile | None:
        # Ahead in a language the agent speaks (or none): a backlog in other languages costs one probe.
        if profile.languages not in anything_ahead:
            anything_ahead[profile.languages] = queue_anything_ahead(
                cursor, now=now, languages=profile.languages
            )
        if anything_ahead[profile.languages]:
            served = dispatch_to_locked_agent(
                agent=agent,
                now=now,
                ahead=ahead,
                passing_over=passing_over,
                profile=profile,
                reason=f"served before {placing}: it waited longer or ranks higher (serving order)",
                examine=GUARD_EXAMINE,
            )
            if served:  # read again: the work just given counts (load, open difficult cases)
                profile = agent_profile(agent_id=agent.agent_id, now=now) or profile
        return profile if agent.has_room else None

    return guard


def new_work_cursor(*, priority: str, now: dt.datetime) -> QueueCursor:
    """Where new work of `priority` arriving now stands in serving order: behind every waiting entry of
    its priority or higher and every overdue one."""
    return QueueCursor(overdue=False, priority_rank=Priority.rank(priority), queued_at=now, entry_id=None)


def _lock_waiting_entry(entry_id) -> EscalationQueueEntry | None:
    """Lock a waiting entry unless a concurrent dispatcher holds it (or it is no longer waiting),
    with its case's primary key for the decision record."""
    return (
        EscalationQueueEntry.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
        .filter(pk=entry_id, status=QueueStatus.QUEUED)
        .annotate(case_pk=F("case__pk"))
        .first()
    )


def assign_entry(
    *,
    entry: EscalationQueueEntry,
    agent: LockedAgent,
    ranking: Ranking,
    candidate: ScoredCandidate | None,
    strategy,
    now: dt.datetime,
    started: float,
    reason: str,
    event: str = RoutingEventType.DISPATCHED,
    prerank: dict | None = None,
    event_data: dict | None = None,
) -> CaseAssignment:
    """Assign a locked queue entry to a locked agent and record the decision."""
    assignment = create_assignment(
        case=CaseFacts.of(entry),
        agent=agent,
        now=now,
        strategy=strategy if isinstance(strategy, str) else strategy.name,
        confidence=routing_confidence(total=candidate.total, ring_level=ranking.ring.level)
        if candidate
        else None,
        match_score=candidate.total * 100 if candidate else None,
    )
    entry.status = QueueStatus.ASSIGNED
    entry.assigned_agent_id = agent.agent_id
    entry.assigned_at = now
    entry.save(update_fields=["status", "assigned_agent", "assigned_at"])
    record_decision(
        kind=CASES,
        item_pk=entry.case_pk,
        strategy=strategy,
        ranking=ranking,
        winner=candidate,
        assignment=assignment,
        reason=reason,
        started=started,
        ring_level=ranking.ring.level,
        event=event,
        event_data={
            "entry": str(entry.pk),
            "waited_seconds": round((now - entry.queued_at).total_seconds()),
            **(event_data or {}),
        },
        prerank=prerank,
    )
    return assignment


def queue_dispatch_for_agent(
    *, agent_id: int, now: dt.datetime | None = None, skip_locked: bool = False
) -> list[CaseAssignment]:
    """An agent may take more work (became available, capacity rose, schedule or skills changed):
    serve the queue to it, in a transaction (a savepoint inside the caller's).

    Both queues are probed first (one query): with nothing waiting, the usual case of a status change,
    that is all it costs, no savepoint, lock or agent facts. With `skip_locked` (the sweep) an agent
    another transaction holds, being given work right now, is left alone instead of waited for:
    nothing is dispatched."""
    # Waiting leads and cases share the agent (routing.services.lead_queue.serve_freed_capacity).
    from routing.selectors.leads import waiting_work
    from routing.services.lead_queue import serve_freed_capacity

    waiting = waiting_work()
    if not waiting:
        return []
    with transaction.atomic():
        agent = lock_agent(agent_id, skip_locked=skip_locked)
        if agent is None:
            if skip_locked:
                return []
            raise AgentNotFound(code=str(agent_id))
        return serve_freed_capacity(agent=agent, now=now or timezone.now(), waiting=waiting)


@transaction.atomic
def entry_dispatch(*, entry_id, now: dt.datetime) -> CaseAssignment | None:
    """Offer one waiting entry to the best free agent at its widen ring (rings 0..widen_level); the
    agent first serves any entry ahead of this one it can serve (the serving-order guard)."""
    started = time.perf_counter()
    entry = EscalationQueueEntry.objects.filter(pk=entry_id, status=QueueStatus.QUEUED).first()
    if entry is None:
        return None
    strategy, note = stored_strategy(entry.routing_strategy, entry.strategy_parameters, item=entry.case_id)
    work = entry_work_profile(entry)
    cursor = QueueCursor(entry.wait_deadline <= now, entry.priority_rank, entry.queued_at, entry.pk)
    found = find_and_lock(
        work=work,
        rings=rings_up_to(work, entry.widen_level),
        strategy=strategy,
        now=now,
        before_assign=serving_order_guard(
            cursor=cursor, now=now, passing_over=entry.pk, placing=entry.case_id
        ),
    )
    if found.winner is None or found.agent is None or found.ranking is None:
        return None
    locked = _lock_waiting_entry(entry_id)
    if locked is None:
        return None
    scored = len(found.ranking.candidates)
    return assign_entry(
        entry=locked,
        agent=found.agent,
        ranking=found.ranking,
        candidate=found.winner,
        strategy=strategy,
        now=now,
        started=started,
        reason=f"dispatched from the queue: best of {scored} candidates at ring {found.ranking.ring.level}"
        f"{pool_note(found)}{note}",
        prerank=found.prerank,
    )


def queue_entry_for(
    case: SupportCase, *, queued_at: dt.datetime, strategy: str = "", strategy_parameters: dict | None = None
) -> EscalationQueueEntry:
    """A new, unsaved waiting entry for `case`, carrying the case's routing facts (the queue is scanned
    without joining cases), the strategy it was routed with and its deadline: queued_at + max wait."""
    deadline = queued_at + dt.timedelta(minutes=case.max_wait_minutes)
    return EscalationQueueEntry(
        case=case,
        routing_strategy=strategy,
        strategy_parameters=strategy_parameters or {},
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


def estimate_assignment_at(
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
    work = entry_work_profile(entry)
    funnel = candidate_funnel(work=work, ring=ring_for(work, entry.widen_level), now=now, lockout=lockout())
    entry.estimated_assignment_at = estimate_assignment_at(entry=entry, funnel=funnel, now=now)
    EscalationQueueEntry.objects.filter(pk=entry.pk).update(
        estimated_assignment_at=entry.estimated_assignment_at
    )


def _get_entry(entry_id) -> EscalationQueueEntry:
    try:
        return EscalationQueueEntry.objects.select_related("case").get(pk=entry_id)
    except (EscalationQueueEntry.DoesNotExist, ValueError, TypeError, ValidationError):
        raise QueueEntryNotFound(entry_id=entry_id) from None


def _lock_entry(entry: EscalationQueueEntry) -> EscalationQueueEntry:
    return (
        EscalationQueueEntry.objects.select_for_update(no_key=True, of=("self",))
        .select_related("case")
        .get(pk=entry.pk)
    )


NEVER_RULE_MESSAGES = {
    "frustration_tolerance": "the customer's frustration is critical and the agent's tolerance is low",
    "fatigue_lockout": "the case is difficult and the agent is locked out after consecutive difficult cases",
}


@transaction.atomic
def queue_entry_assign(*, entry_id, agent_id: int, override_reason: str = "") -> CaseAssignment:
    """A supervisor's pick: assign a waiting entry to this agent. Capacity is enforced; skills, schedule
    and the soft rules are the supervisor's judgement. The seed's "never" rules (critical frustration to
    a low-tolerance agent, difficult work to a locked-out agent) refuse the assignment with the reason
    unless the supervisor gives an `override_reason`, which the decision and its event record."""
    started = time.perf_counter()
    override_reason = (override_reason or "").strip()
    entry = _get_entry(entry_id)
    if entry.status != QueueStatus.QUEUED:  # checked again under the lock below
        raise QueueEntryNotWaiting(entry_id=entry.pk, status=entry.status)
    agent = lock_agent(agent_id)
    if agent is None:
        raise AgentNotFound(code=str(agent_id))
    if not agent.is_active:
        raise RoutingValidationError(
            "The agent is inactive.", fields={"agent_id": ["The agent is inactive."]}
        )
    if agent.current_load >= agent.capacity:
        raise AgentAtCapacity(agent_code=agent.code, load=agent.current_load, capacity=agent.capacity)
    locked = _lock_entry(entry)
    if locked.status != QueueStatus.QUEUED:
        raise QueueEntryNotWaiting(entry_id=entry.pk, status=locked.status)
    now = timezone.now()
    work = entry_work_profile(locked)
    profile = agent_profile(agent_id=agent_id, now=now)
    broken = never_rules_broken(agent=profile, work=work, lockout=lockout()) if profile else []
    if broken and not override_reason:
        reasons = [NEVER_RULE_MESSAGES[rule] for rule in broken]
        raise AssignmentRefused(
            case_id=locked.case_id,
            agent_code=agent.code,
            reasons="; ".join(reasons),
            fields={"override_reason": [f"Required to assign anyway: {'; '.join(reasons)}."]},
        )
    locked.case_pk = locked.case.pk
    ring = ring_for(work, locked.widen_level)
    reason = f"assigned by a supervisor to {agent.code}"
    if broken:
        reason += f", overriding {', '.join(broken)}: {override_reason}"
    return assign_entry(
        entry=locked,
        agent=agent,
        ranking=Ranking(ring=ring, strategy="manual", candidates=()),
        candidate=None,
        strategy="manual",
        now=now,
        started=started,
        reason=reason,
        event=RoutingEventType.MANUAL_ASSIGN,
        event_data={"override_reason": override_reason, "rules_overridden": broken} if broken else None,
    )


@transaction.atomic
def queue_entry_cancel(*, entry_id) -> EscalationQueueEntry:
    entry = _get_entry(entry_id)
    locked = _lock_entry(entry)
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
    agent = lock_agent(agent_id) if agent_id is not None else None  # lock order: the agent first
    locked = _lock_entry(entry)
    freed = None
    if locked.status == QueueStatus.ASSIGNED and locked.assigned_agent_id == agent_id and agent is not None:
        assignment = (
            CaseAssignment.objects.select_for_update(no_key=True, of=("self",))
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
        release_load(agent, now=now)
        freed = agent
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
        dispatch_to_locked_agent(agent=freed, now=now, passing_over=locked.pk)
    queue_entry_estimate_refresh(entry=locked, now=now)
    return locked


def on_agent_capacity_freed(sender, agent_id: int, **kwargs) -> None:
    """agents.signals.agent_capacity_freed receiver: serve the queue to the agent.

    Sent inside the agents service's transaction, after it changed (and locked) the agent's
    availability row, so the dispatch commits or rolls back with the change that freed the capacity
    (the lock order holds: the row is already ours). The dispatch runs in a savepoint; a failure in it
    is logged and rolled back to the savepoint, so it never turns the agent's own change into an error,
    and the next sweep serves the queue instead. The probe of both queues before it is one plain read
    outside the savepoint (a read that fails there means the connection itself has failed).
    """
    try:
        queue_dispatch_for_agent(agent_id=agent_id)
    except Exception:
        logger.exception("queue dispatch for agent %s failed; the next sweep will retry", agent_id)
