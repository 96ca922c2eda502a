"""Concurrent routing and completion on PostgreSQL: capacity is never exceeded, no case is assigned
twice, and every submitted case is accounted for.

16 threads, each on its own connection, route 2,000 cases to 50 agents (capacities 1-5, all in schedule
and available) while completing cases at random. Capacity is checked inside every transaction that
raises a load, under the agent's row lock: the test wraps routing.services.assignment.take_load to count the
agent's open assignments right after the new one was written, so a moment with more open assignments
than capacity cannot slip between two snapshots.

A second test races the fatigue lockout the same way: 8 routers, mostly difficult cases, a lockout of
2; no agent ever holds a third open difficult case (the streak is re-checked under the agent's lock).
"""

from __future__ import annotations

import random
import threading
from collections import Counter

import pytest
from django.db.models import Count, F

from agents.models import AgentAvailability
from routing.models import (
    DIFFICULT_ASSIGNMENT_Q,
    OPEN_ASSIGNMENT_STATUSES,
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
    RoutingEvent,
    RoutingEventType,
    SupportCase,
)
from routing.services import CaseRequest, case_route
from tests.factories import SkillDomainFactory
from tests.factories.routing import retire_seed_roster, routable_agent
from tests.routing.actions import complete_as_assignee
from tests.routing.concurrency import analyze as _analyze
from tests.routing.concurrency import run_concurrently as _run_concurrently
from tests.routing.concurrency import watch_take_load as _watch_take_load

THREADS = 16
CASES = 2000
AGENTS = 50


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("seed_rows_back_after_flush")
def test_concurrent_routing_never_exceeds_capacity_nor_assigns_a_case_twice(monkeypatch):
    # given: the default CANDIDATE_LIMIT and pool (50 each): every agent is in reach of every router
    retire_seed_roster()
    SkillDomainFactory(code="billing")
    rng = random.Random(7)
    capacities = {}
    for _ in range(AGENTS):
        capacity = rng.randint(1, 5)
        agent = routable_agent(skills={"billing": "advanced"}, capacity=capacity)
        capacities[agent.pk] = capacity

    _analyze()

    def over_capacity(agent_id: int) -> str | None:
        open_count = CaseAssignment.objects.filter(
            agent_id=agent_id, status__in=OPEN_ASSIGNMENT_STATUSES
        ).count()
        if open_count > capacities[agent_id]:
            return f"agent {agent_id}: {open_count} open > {capacities[agent_id]}"
        return None

    violations = _watch_take_load(monkeypatch, over_capacity)
    outcomes: Counter[str] = Counter()
    outcomes_lock = threading.Lock()

    def route_and_complete(index: int) -> None:
        local_rng = random.Random(index)
        mine: list[str] = []
        for n in range(index, CASES, THREADS):
            case_id = f"CC-{n:05d}"
            outcome = case_route(
                request=CaseRequest(
                    case_id=case_id,
                    priority=local_rng.choice(["low", "medium", "high", "critical"]),
                    complexity=local_rng.choice(["low", "medium"]),
                    required_skills=["billing"],
                    language="en",
                )
            )
            with outcomes_lock:
                outcomes[str(outcome.http_status)] += 1
            if outcome.assignment is not None:
                mine.append(case_id)
            if mine and local_rng.random() < 0.45:
                done = mine.pop(local_rng.randrange(len(mine)))
                complete_as_assignee(case_id=done, csat_rating=local_rng.randint(1, 5))

    # when
    errors = _run_concurrently(route_and_complete, THREADS)

    # then
    assert not errors, errors[:3]
    assert not violations, violations[:5]
    assert outcomes["201"] > 0 and outcomes["202"] > 0  # both paths raced: assigned and queued
    over = AgentAvailability.objects.filter(
        agent_id__in=capacities, current_load__gt=F("agent__max_concurrent_work")
    )
    assert not over.exists()
    open_per_agent = dict(
        CaseAssignment.objects.filter(status__in=OPEN_ASSIGNMENT_STATUSES)
        .values_list("agent_id")
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    loads = dict(
        AgentAvailability.objects.filter(agent_id__in=capacities).values_list("agent_id", "current_load")
    )
    assert {agent: load for agent, load in loads.items() if load} == open_per_agent
    # No timeout runs here, so nothing legitimately reroutes a case: each case has at most one
    # assignment of any status (the partial unique constraint only guards the open ones).
    twice = (
        CaseAssignment.objects.filter(case__case_id__startswith="CC-")
        .values("case_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    )
    assert list(twice) == []
    assert not RoutingEvent.objects.filter(
        case__case_id__startswith="CC-",
        event_type__in=[RoutingEventType.ACCEPT_TIMEOUT, RoutingEventType.REQUEUED],
    ).exists()
    # Every completed case was completed once, by the agent it was assigned to.
    completed_cases = set(
        CaseAssignment.objects.filter(
            case__case_id__startswith="CC-", status=AssignmentStatus.COMPLETED
        ).values_list("case_id", flat=True)
    )
    assert completed_cases == set(
        SupportCase.objects.filter(case_id__startswith="CC-", status=CaseStatus.COMPLETED).values_list(
            "case_id", flat=True
        )
    )
    statuses = Counter(SupportCase.objects.filter(case_id__startswith="CC-").values_list("status", flat=True))
    assert sum(statuses.values()) == CASES
    assigned = statuses[CaseStatus.ASSIGNED] + statuses[CaseStatus.IN_PROGRESS]
    assert assigned + statuses[CaseStatus.QUEUED] + statuses[CaseStatus.COMPLETED] == CASES
    assert statuses[CaseStatus.COMPLETED] > 0 and statuses[CaseStatus.QUEUED] > 0

    # ... and each status is backed by the rows that make it true, so no case is lost between them:
    # an assigned case holds exactly one open assignment, a queued one exactly one waiting entry.
    def case_ids(**filters) -> set[str]:
        return set(
            SupportCase.objects.filter(case_id__startswith="CC-", **filters).values_list("case_id", flat=True)
        )

    open_cases = list(
        CaseAssignment.objects.filter(
            case__case_id__startswith="CC-", status__in=OPEN_ASSIGNMENT_STATUSES
        ).values_list("case_id", flat=True)
    )
    assert sorted(open_cases) == sorted(case_ids(status__in=[CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS]))
    waiting = list(
        EscalationQueueEntry.objects.filter(
            case__case_id__startswith="CC-", status=QueueStatus.QUEUED
        ).values_list("case_id", flat=True)
    )
    assert sorted(waiting) == sorted(case_ids(status=CaseStatus.QUEUED))
    # every routing attempt left its decision
    assert (
        RoutingDecision.objects.filter(case__case_id__startswith="CC-").values("case_id").distinct().count()
        == CASES
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("seed_rows_back_after_flush")
def test_concurrent_routers_never_push_an_agent_past_the_fatigue_lockout(monkeypatch, settings):
    # given: 10 agents with room for 5 cases each and a lockout of 2 difficult cases; 8 routers send
    # 200 cases, most of them difficult, so the lock-time fatigue re-check is raced on every agent
    settings.ROUTING = {**settings.ROUTING, "DIFFICULT_CASE_LOCKOUT": 2}
    retire_seed_roster()
    SkillDomainFactory(code="billing")
    agents = [routable_agent(skills={"billing": "advanced"}, capacity=5).pk for _ in range(10)]
    _analyze()

    def past_lockout(agent_id: int) -> str | None:
        difficult = CaseAssignment.objects.filter(
            DIFFICULT_ASSIGNMENT_Q, agent_id=agent_id, status__in=OPEN_ASSIGNMENT_STATUSES
        ).count()
        return f"agent {agent_id}: {difficult} open difficult cases > 2" if difficult > 2 else None

    violations = _watch_take_load(monkeypatch, past_lockout)

    def route_mostly_difficult(index: int) -> None:
        local_rng = random.Random(100 + index)
        for n in range(index, 200, 8):
            case_route(
                request=CaseRequest(
                    case_id=f"FT-{n:04d}",
                    priority="medium",
                    complexity=local_rng.choice(["high", "high", "high", "low"]),
                    required_skills=["billing"],
                    language="en",
                )
            )

    # when
    errors = _run_concurrently(route_mostly_difficult, 8)

    # then every agent took difficult work up to the lockout and never beyond it
    assert not errors, errors[:3]
    assert not violations, violations[:5]
    open_difficult = Counter(
        CaseAssignment.objects.filter(
            DIFFICULT_ASSIGNMENT_Q, status__in=OPEN_ASSIGNMENT_STATUSES
        ).values_list("agent_id", flat=True)
    )
    assert set(open_difficult) <= set(agents) and max(open_difficult.values()) == 2
    queued_difficult = EscalationQueueEntry.objects.filter(DIFFICULT_ASSIGNMENT_Q, status=QueueStatus.QUEUED)
    assert queued_difficult.count() == SupportCase.objects.filter(
        case_id__startswith="FT-", complexity="high"
    ).count() - sum(open_difficult.values())
