"""The lock order on PostgreSQL: agent edits, schedule edits and status changes race routing and
completions without a deadlock, an error, an agent over capacity, a case assigned twice or the serving
order broken (routing.services states the order; every lock is FOR NO KEY UPDATE)."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import threading
import time
from collections import Counter

import pytest
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from agents.models import AgentAvailability, AgentSchedule, AvailabilityStatus, HumanAgent, Weekday
from agents.services import AgentInactive, agent_set_status, agent_update, agents_set_active
from routing.engine.rules import innermost_ring
from routing.integrity import integrity_run
from routing.models import (
    OPEN_ASSIGNMENT_STATUSES,
    CaseAssignment,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
    SupportCase,
)
from routing.selectors import agent_profile, queue_scan
from routing.selectors.queue import ahead_of
from routing.services import CaseRequest, case_route, queue_sweep
from routing.services.assignment import CaseFacts, create_assignment, lock_agent
from routing.services.queue import new_work_cursor
from routing.services.requests import entry_work_profile
from tests.factories import SkillDomainFactory
from tests.factories.routing import retire_seed_roster, routable_agent
from tests.routing.actions import complete_as_assignee
from tests.routing.concurrency import analyze, run_concurrently, watch_take_load

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("seed_rows_back_after_flush"),
]


def _backends_waiting_for_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # pg_stat_activity is cached per transaction
        cursor.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def test_an_agent_edit_waits_for_a_router_holding_the_agent_instead_of_deadlocking():
    # given: an agent a router is about to give a case to
    retire_seed_roster()
    SkillDomainFactory(code="billing")
    agent = routable_agent(skills={"billing": "advanced"}, capacity=2)
    router_holds_the_agent = threading.Event()

    def router(index: int) -> None:
        with transaction.atomic():
            locked = lock_agent(agent.pk)  # the agent's availability row, as every router takes it
            router_holds_the_agent.set()
            deadline = time.monotonic() + 10
            while _backends_waiting_for_a_lock() == 0 and time.monotonic() < deadline:
                time.sleep(0.01)  # until the editor is queued behind us
            # the assignment's foreign-key check takes FOR KEY SHARE on the agent row
            case = SupportCase.objects.create(
                case_id="LOCK-1", priority="low", complexity="low", status="assigned"
            )
            create_assignment(
                case=CaseFacts.of(case),
                agent=locked,
                now=timezone.now(),
                strategy="skill_based",
                confidence=None,
                match_score=None,
                case_status_written=True,
            )

    def editor(index: int) -> None:
        router_holds_the_agent.wait(10)
        agent_update(agent=HumanAgent.objects.get(pk=agent.pk), max_concurrent_work=4)  # raise capacity

    # when: both run at once (FOR UPDATE on the agent row here deadlocked against the router's FK check)
    errors = run_concurrently(lambda index: (router, editor)[index](index), 2)

    # then: no error; the edit waited for the router and both changes are in
    assert not errors, errors
    assert HumanAgent.objects.get(pk=agent.pk).max_concurrent_work == 4
    assert AgentAvailability.objects.get(pk=agent.pk).current_load == 1


ROUTERS = 16
CASES = 640
AGENTS = 24


def _whole_week() -> list[dict]:
    return [
        {
            "day_of_week": day,
            "start_time": dt.time(0),
            "end_time": dt.time(0),
            "timezone": "UTC",
            "effective_from": dt.date(2020, 1, 1),
        }
        for day in Weekday
    ]


def test_agent_schedule_and_status_edits_race_sixteen_routers_and_completions_without_errors(monkeypatch):
    # given: 24 agents with room for 1-4 cases each, in schedule all week
    retire_seed_roster()
    SkillDomainFactory(code="billing")
    rng = random.Random(11)
    agents = [
        routable_agent(skills={"billing": "advanced"}, capacity=rng.randint(1, 3)).pk for _ in range(AGENTS)
    ]
    analyze()

    def broken_invariant(agent_id: int) -> str | None:
        """Under the agent's lock, right after a load was raised: within capacity, and a new case went
        straight to the agent only if no waiting case it could serve was ahead of it."""
        capacity = HumanAgent.objects.get(pk=agent_id).max_concurrent_work
        open_count = CaseAssignment.objects.filter(
            agent_id=agent_id, status__in=OPEN_ASSIGNMENT_STATUSES
        ).count()
        if open_count > capacity:
            return f"agent {agent_id}: {open_count} open > {capacity}"
        latest = (
            CaseAssignment.objects.filter(agent_id=agent_id)
            .order_by("-assigned_at")
            .select_related("case")
            .first()
        )
        if latest is None or latest.case.queue_entries.exists():
            return None  # work from the queue: the queue's own order
        now = latest.assigned_at
        profile = agent_profile(agent_id=agent_id, now=now)
        settled = now - dt.timedelta(seconds=2)  # entries committed well before this route began
        ahead = ahead_of(new_work_cursor(priority=latest.priority, now=now), now=now)
        for entry in queue_scan(now=now, limit=50, where=ahead & Q(queued_at__lt=settled)):
            locked = (
                EscalationQueueEntry.objects.select_for_update(skip_locked=True).filter(pk=entry.pk).first()
            )
            ring, _ = innermost_ring(
                agent=profile, work=entry_work_profile(entry), level=entry.widen_level, lockout=3
            )
            if locked is not None and ring is not None:
                return f"{latest.case_id} went to agent {agent_id} before waiting {entry.case_id}"
        return None

    violations = watch_take_load(monkeypatch, broken_invariant)
    stop = threading.Event()
    outcomes: Counter[str] = Counter()
    tally = threading.Lock()

    def route_and_complete(index: int) -> None:
        local = random.Random(index)
        mine: list[str] = []
        for n in range(index, CASES, ROUTERS):
            outcome = case_route(
                request=CaseRequest(
                    case_id=f"RACE-{n:04d}",
                    priority=local.choice(["low", "medium", "high", "critical"]),
                    complexity="low",
                    required_skills=["billing"],
                    language="en",
                )
            )
            with tally:
                outcomes[str(outcome.http_status)] += 1
            if outcome.assignment is not None:
                mine.append(outcome.case.case_id)
            if mine and local.random() < 0.5:
                complete_as_assignee(
                    case_id=mine.pop(local.randrange(len(mine))), csat_rating=local.randint(1, 5)
                )

    def edit_agents(index: int) -> None:
        local = random.Random(1000 + index)
        while not stop.is_set():
            agent = HumanAgent.objects.get(pk=local.choice(agents))
            change = local.random()
            if change < 0.4:  # more room (never less than the work held: that is not routing's to keep)
                agent_update(agent=agent, max_concurrent_work=min(agent.max_concurrent_work + 1, 5))
            elif change < 0.7:
                agent_update(agent=agent, schedules=local.choice([_whole_week(), _whole_week()[:5]]))
            elif change < 0.85:
                agents_set_active(agent_ids=[agent.pk], active=False)
            else:
                agents_set_active(agent_ids=[agent.pk], active=True)
                agent_set_status(agent=agent.pk, status=AvailabilityStatus.AVAILABLE)

    def change_statuses(index: int) -> None:
        local = random.Random(2000 + index)
        while not stop.is_set():
            agent_id = local.choice(agents)
            if not HumanAgent.objects.filter(pk=agent_id, is_active=True).exists():
                continue
            with contextlib.suppress(AgentInactive):  # deactivated meanwhile by the editor: refused, rightly
                agent_set_status(
                    agent=agent_id,
                    status=local.choice(
                        [AvailabilityStatus.AVAILABLE, AvailabilityStatus.BUSY, AvailabilityStatus.BREAK]
                        + [AvailabilityStatus.AVAILABLE] * 3
                    ),
                )

    def work(index: int) -> None:
        try:
            if index < ROUTERS:
                route_and_complete(index)
            elif index == ROUTERS:
                edit_agents(index)
            else:
                change_statuses(index)
        finally:
            if index < ROUTERS:
                with tally:
                    outcomes["routers done"] += 1
                    if outcomes["routers done"] == ROUTERS:
                        stop.set()

    # when: 16 routers completing as they go, one thread editing agents, two changing statuses
    errors = run_concurrently(work, ROUTERS + 3)

    # then: nothing failed, no invariant broke under any lock
    assert not errors, errors[:3]
    assert not violations, violations[:5]
    assert outcomes["201"] > 0 and outcomes["202"] > 0
    # no case is assigned twice (no timeouts run here), and every case is accounted for
    twice = CaseAssignment.objects.values("case_id").annotate(n=Count("id")).filter(n__gt=1)
    assert list(twice) == []
    statuses = Counter(
        SupportCase.objects.filter(case_id__startswith="RACE-").values_list("status", flat=True)
    )
    assert sum(statuses.values()) == CASES
    # the loads are the open work, and the database's own checks pass
    loads = dict(
        AgentAvailability.objects.filter(agent_id__in=agents).values_list("agent_id", "current_load")
    )
    open_per_agent = Counter(
        CaseAssignment.objects.filter(status__in=OPEN_ASSIGNMENT_STATUSES).values_list("agent_id", flat=True)
    )
    assert {agent: load for agent, load in loads.items() if load} == dict(open_per_agent)
    assert [result.name for result in integrity_run() if not result.ok] == []
    # and once everyone is available again, the sweep serves what waited, in serving order
    HumanAgent.objects.update(is_active=True, max_concurrent_work=5)
    AgentAvailability.objects.filter(agent_id__in=agents).update(
        status=AvailabilityStatus.AVAILABLE, manual_override=False
    )
    AgentSchedule.objects.filter(agent_id__in=agents).delete()
    for agent_id in agents:
        agent_update(agent=HumanAgent.objects.get(pk=agent_id), schedules=_whole_week())
    queue_sweep()
    waiting = EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED).count()
    room = AgentAvailability.objects.filter(
        agent_id__in=agents, current_load__lt=F("agent__max_concurrent_work")
    ).count()
    assert waiting == 0 or room == 0
    assert SupportCase.objects.filter(status=CaseStatus.QUEUED).count() == waiting
