"""Queueing and dispatch: why a case waits, and the queue served when an agent may take work."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from agents.models import AgentAvailability, AgentPerformance, AvailabilityStatus
from agents.services import agent_set_status, agent_update
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
    RoutingEvent,
    RoutingEventType,
)
from routing.services import (
    case_route,
    queue_dispatch_for_agent,
    queue_sweep,
)
from tests.factories.routing import routable_agent
from tests.routing.actions import complete_as_assignee, load_of, request_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_floor")]


# --- queueing and dispatch -----------------------------------------------------------------------


def test_no_eligible_agent_queues_the_case_and_says_why():
    routable_agent(skills={"refunds": "expert"})
    outcome = case_route(request=request_for(max_wait_minutes=10))
    assert outcome.http_status == 202
    entry = outcome.queue_entry
    assert entry.status == QueueStatus.QUEUED
    assert entry.wait_deadline == entry.queued_at + dt.timedelta(minutes=10)
    assert outcome.case.status == CaseStatus.QUEUED
    assert outcome.decision.outcome == "queued"
    assert "skill billing" in outcome.decision.reason
    assert "in_schedule=1" in outcome.decision.reason


def test_completion_dispatches_the_highest_waiting_case_in_the_same_transaction():
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    case_route(request=request_for("C-1"))
    case_route(request=request_for("LOW", priority="low"))
    case_route(request=request_for("HIGH", priority="high"))
    assignment = complete_as_assignee(case_id="C-1", csat_rating=5, resolution_minutes=12)
    assert assignment.status == AssignmentStatus.COMPLETED
    assert assignment.csat_rating == 5 and assignment.resolution_minutes == 12
    dispatched = CaseAssignment.objects.get(case__case_id="HIGH")
    assert dispatched.agent_id == agent.pk and dispatched.status == AssignmentStatus.ASSIGNED
    assert EscalationQueueEntry.objects.get(case__case_id="HIGH").status == QueueStatus.ASSIGNED
    assert EscalationQueueEntry.objects.get(case__case_id="LOW").status == QueueStatus.QUEUED
    assert load_of(agent) == 1
    assert RoutingEvent.objects.filter(case__case_id="HIGH", event_type=RoutingEventType.DISPATCHED).exists()


def test_a_queued_case_is_dispatched_with_the_strategy_it_was_routed_with(settings):
    # given a case routed with a named strategy (not the default) that had to wait
    settings.ROUTING = {**settings.ROUTING, "DEFAULT_STRATEGY": "skill_based"}
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    case_route(request=request_for("C-1"))
    case_route(request=request_for("WAITS", strategy="least_busy"))
    assert EscalationQueueEntry.objects.get(case__case_id="WAITS").routing_strategy == "least_busy"
    # when the agent frees up and the queue is served to them
    complete_as_assignee(case_id="C-1")
    # then the dispatch kept the case's strategy
    dispatched = CaseAssignment.objects.get(case__case_id="WAITS")
    assert (dispatched.agent_id, dispatched.routing_strategy) == (agent.pk, "least_busy")
    assert RoutingDecision.objects.filter(case__case_id="WAITS").latest("created_at").strategy == "least_busy"


def test_the_sweep_dispatches_a_waiting_case_with_its_own_strategy():
    # given a case that waited with a named strategy while nobody was free
    agent = routable_agent(skills={"billing": "advanced"})
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.OFFLINE)
    case_route(request=request_for("SWEPT", strategy="performance_based"))
    # when the agent is free again without a service noticing (so only the sweep can serve the case)
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.AVAILABLE)
    assert queue_sweep().dispatched == 1
    # then
    assert CaseAssignment.objects.get(case__case_id="SWEPT").routing_strategy == "performance_based"


def test_a_waiting_case_whose_stored_strategy_no_longer_exists_is_served_with_the_default(settings, caplog):
    # given a case that waited with a strategy since unregistered (a timed-out assignment of a
    # hand-written router, an older release's name)
    settings.ROUTING = {**settings.ROUTING, "DEFAULT_STRATEGY": "skill_based"}
    agent = routable_agent(skills={"billing": "advanced"})
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.OFFLINE)
    case_route(request=request_for("OLD", strategy="least_busy"))
    EscalationQueueEntry.objects.filter(case__case_id="OLD").update(routing_strategy="retired_router")
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.AVAILABLE)
    # when the sweep offers the queue
    report = queue_sweep()
    # then the case is served (not a failure for every agent that reaches it), with the default, and
    # the decision says why
    assert (report.dispatched, report.failed) == (1, 0)
    assert CaseAssignment.objects.get(case__case_id="OLD").routing_strategy == "skill_based"
    decision = RoutingDecision.objects.filter(case__case_id="OLD").latest("created_at")
    assert decision.strategy == "skill_based"
    assert "its stored strategy 'retired_router' is unusable, skill_based used" in decision.reason
    assert "OLD has an unusable stored strategy" in caplog.text


def test_a_freed_agent_reaches_a_case_it_can_serve_behind_a_long_head_it_cannot(monkeypatch):
    # given more waiting billing cases than a freed agent's scan reads, and a technical case behind them
    from routing.services import queue as queue_module

    monkeypatch.setattr(queue_module, "DISPATCH_SCAN_LIMIT", 3)
    agent = routable_agent(skills={"technical": "advanced"}, capacity=1)
    case_route(request=request_for("MINE", required_skills=["technical"]))
    for n in range(6):
        case_route(request=request_for(f"BILLING-{n}", priority="high"))  # nobody holds billing
    case_route(request=request_for("BEHIND", priority="low", required_skills=["technical"]))
    # when the agent frees up
    complete_as_assignee(case_id="MINE")
    # then the scan skipped the cases asking a skill the agent lacks, in SQL, and found the one it can serve
    assert CaseAssignment.objects.get(case__case_id="BEHIND").agent_id == agent.pk


def test_the_sweep_serves_an_idle_agent_a_case_behind_a_head_nobody_can_take(monkeypatch):
    # given a head of waiting billing cases longer than the sweep offers, and a technical case behind
    from routing.services import sweep as sweep_module

    monkeypatch.setattr(sweep_module, "SWEEP_DISPATCH_LIMIT", 2)
    agent = routable_agent(skills={"technical": "advanced"})
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.OFFLINE)
    for n in range(4):
        case_route(request=request_for(f"BILLING-{n}", priority="high"))
    case_route(request=request_for("BEHIND", priority="low", required_skills=["technical"]))
    # when the agent is free again without any service noticing, and completes nothing
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.AVAILABLE)
    report = queue_sweep()
    # then the sweep offered the queue to the idle agent too
    assert report.dispatched == 1
    assert CaseAssignment.objects.get(case__case_id="BEHIND").agent_id == agent.pk


def test_a_completion_dispatches_one_entry_for_the_one_slot_it_frees():
    # given: an agent with two slots, both taken, and three cases waiting
    agent = routable_agent(skills={"billing": "advanced"}, capacity=2)
    for n in range(5):
        case_route(request=request_for(f"C-{n}"))
    assert load_of(agent) == 2
    # when: one case completes
    complete_as_assignee(case_id="C-0")
    # then: one waiting case (the oldest of equal priority) takes the freed slot
    assert load_of(agent) == 2
    assert list(
        EscalationQueueEntry.objects.filter(status=QueueStatus.ASSIGNED).values_list(
            "case__case_id", flat=True
        )
    ) == ["C-2"]


def test_dispatch_skips_entries_the_agent_cannot_serve():
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    case_route(request=request_for("C-1"))
    case_route(request=request_for("REFUND", priority="critical", required_skills=["refunds"]))
    case_route(request=request_for("BILL", priority="low"))
    complete_as_assignee(case_id="C-1")
    assert CaseAssignment.objects.get(case__case_id="BILL").agent_id == agent.pk
    assert not CaseAssignment.objects.filter(case__case_id="REFUND").exists()


def test_an_agent_coming_back_from_break_is_served_the_queue():
    agent = routable_agent(skills={"billing": "advanced"})
    agent_set_status(agent=agent, status=AvailabilityStatus.BREAK)
    case_route(request=request_for("C-1"))
    assignments = queue_dispatch_for_agent(agent_id=agent.pk)  # break -> offline: nothing yet
    assert assignments == []
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.AVAILABLE)
    assignments = queue_dispatch_for_agent(agent_id=agent.pk)
    assert [a.case_id for a in assignments] == ["C-1"]


def test_becoming_available_dispatches_in_the_same_transaction():
    agent = routable_agent(skills={"billing": "advanced"})
    agent_set_status(agent=agent, status=AvailabilityStatus.BREAK)
    case_route(request=request_for("C-1"))
    # a rolled-back status change dispatches nothing: the dispatch is part of it
    with pytest.raises(RuntimeError), transaction.atomic():
        agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE)
        assert CaseAssignment.objects.get(case__case_id="C-1").agent_id == agent.pk
        raise RuntimeError("roll back")
    assert not CaseAssignment.objects.filter(case__case_id="C-1").exists()
    assert EscalationQueueEntry.objects.get(case__case_id="C-1").status == QueueStatus.QUEUED
    # when it commits, no on_commit callback is needed
    agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE)
    assert CaseAssignment.objects.get(case__case_id="C-1").agent_id == agent.pk
    assert load_of(agent) == 1


def test_lifting_a_supervisors_busy_dispatches_the_queue_in_the_same_transaction():
    # given an agent a supervisor set busy (a manual override) while a case waits
    agent = routable_agent(skills={"billing": "advanced"})
    agent_set_status(agent=agent, status=AvailabilityStatus.BUSY, override_reason="coaching")
    case_route(request=request_for("C-1"))
    assert EscalationQueueEntry.objects.get(case__case_id="C-1").status == QueueStatus.QUEUED
    # when the supervisor makes the agent available again (busy -> available: both "working" statuses)
    agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE)
    # then the waiting case is theirs at once
    assert CaseAssignment.objects.get(case__case_id="C-1").agent_id == agent.pk
    assert load_of(agent) == 1


def test_an_agent_made_available_by_override_returns_to_available_after_filling_up():
    # given an agent a supervisor forced available (with a reason), with room for one case
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE, override_reason="covering the queue")
    # when routing fills the agent up, the busy is routing's own: the override ends there
    case_route(request=request_for("C-1"))
    availability = AgentAvailability.objects.get(agent=agent)
    assert (availability.status, availability.manual_override) == (AvailabilityStatus.BUSY, False)
    # then completing the case frees the agent, who takes the next case
    complete_as_assignee(case_id="C-1")
    availability.refresh_from_db()
    assert (availability.status, availability.current_load) == (AvailabilityStatus.AVAILABLE, 0)
    assert case_route(request=request_for("C-2")).assignment.agent_id == agent.pk


def test_raising_capacity_dispatches_the_queue():
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    case_route(request=request_for("C-1"))
    case_route(request=request_for("C-2"))
    case_route(request=request_for("C-3"))
    assert load_of(agent) == 1
    agent_update(agent=agent, max_concurrent_work=3)
    assert load_of(agent) == 3
    assert set(CaseAssignment.objects.filter(agent=agent).values_list("case__case_id", flat=True)) == {
        "C-1",
        "C-2",
        "C-3",
    }
    agent_update(agent=agent, max_concurrent_work=2)  # lowering dispatches nothing (and takes nothing back)
    assert load_of(agent) == 3


def test_a_queued_case_gets_an_estimated_assignment_time():
    # given: one agent who could serve billing, busy with one case; its recent average is 20 minutes
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    AgentPerformance.objects.filter(agent=agent).update(avg_resolution_minutes=20)
    case_route(request=request_for("C-1"))
    # when: two more cases wait
    first = case_route(request=request_for("C-2")).queue_entry
    second = case_route(request=request_for("C-3")).queue_entry
    # then: one slot turns over every ~20 minutes
    assert first.estimated_assignment_at == first.queued_at + dt.timedelta(minutes=20)
    assert second.estimated_assignment_at == second.queued_at + dt.timedelta(minutes=40)
    # and nobody could serve refunds: no estimate rather than a made-up one
    assert (
        case_route(
            request=request_for("R-1", required_skills=["refunds"])
        ).queue_entry.estimated_assignment_at
        is None
    )
