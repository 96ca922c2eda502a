"""A supervisor's queue actions: assign, cancel, requeue."""

from __future__ import annotations

import pytest

from agents.models import AgentAvailability, AvailabilityStatus
from routing.errors import (
    AgentAtCapacity,
    InvalidCaseTransition,
    QueueEntryNotWaiting,
)
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    QueueStatus,
    SupportCase,
)
from routing.services import (
    case_route,
    queue_entry_assign,
    queue_entry_cancel,
    queue_entry_requeue,
)
from tests.factories.routing import routable_agent
from tests.routing.actions import load_of, request_for, start_as_assignee

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_floor")]


# --- supervisor actions --------------------------------------------------------------------------


def test_supervisor_assigns_a_waiting_entry_with_capacity_enforced():
    outcome = case_route(request=request_for("C-1", required_skills=["refunds"]))
    agent = routable_agent(skills={}, capacity=1)
    assignment = queue_entry_assign(entry_id=outcome.queue_entry.pk, agent_id=agent.pk)
    assert assignment.agent_id == agent.pk and assignment.routing_strategy == "manual"
    assert load_of(agent) == 1
    with pytest.raises(QueueEntryNotWaiting):
        queue_entry_assign(entry_id=outcome.queue_entry.pk, agent_id=agent.pk)
    other = case_route(request=request_for("C-2", required_skills=["refunds"]))
    with pytest.raises(AgentAtCapacity) as error:
        queue_entry_assign(entry_id=other.queue_entry.pk, agent_id=agent.pk)
    assert error.value.http_status == 409
    assert load_of(agent) == 1


def test_cancel_and_requeue():
    outcome = case_route(request=request_for("C-1", required_skills=["refunds"]))
    cancelled = queue_entry_cancel(entry_id=outcome.queue_entry.pk)
    assert cancelled.status == QueueStatus.CANCELLED
    assert SupportCase.objects.get(case_id="C-1").status == CaseStatus.CANCELLED
    with pytest.raises(QueueEntryNotWaiting):
        queue_entry_cancel(entry_id=outcome.queue_entry.pk)
    requeued = queue_entry_requeue(entry_id=outcome.queue_entry.pk)
    assert requeued.status == QueueStatus.QUEUED
    assert requeued.queued_at == outcome.queue_entry.queued_at
    with pytest.raises(InvalidCaseTransition):
        queue_entry_requeue(entry_id=outcome.queue_entry.pk)


def test_requeue_takes_back_an_unstarted_assignment_but_not_a_started_one():
    outcome = case_route(request=request_for("C-1", required_skills=["refunds"]))
    agent = routable_agent(skills={})
    queue_entry_assign(entry_id=outcome.queue_entry.pk, agent_id=agent.pk)
    requeued = queue_entry_requeue(entry_id=outcome.queue_entry.pk)
    assert requeued.status == QueueStatus.QUEUED and requeued.assigned_agent_id is None
    assert load_of(agent) == 0
    assert CaseAssignment.objects.get(case__case_id="C-1").status == AssignmentStatus.TRANSFERRED
    queue_entry_assign(entry_id=outcome.queue_entry.pk, agent_id=agent.pk)
    start_as_assignee(case_id="C-1")
    with pytest.raises(InvalidCaseTransition):
        queue_entry_requeue(entry_id=outcome.queue_entry.pk)
    assert load_of(agent) == 1


def test_a_requeue_offers_the_freed_slot_to_the_next_case_not_the_requeued_one():
    # given an agent (one slot) a supervisor gave C-1 while C-2 waits behind it
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.OFFLINE)
    first = case_route(request=request_for("C-1", priority="high"))
    case_route(request=request_for("C-2", priority="low"))
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.AVAILABLE)
    queue_entry_assign(entry_id=first.queue_entry.pk, agent_id=agent.pk)
    # when the supervisor takes C-1 back before the agent starts it
    requeued = queue_entry_requeue(entry_id=first.queue_entry.pk)
    # then C-1 waits again and the freed slot went to C-2 in the same transaction
    assert requeued.status == QueueStatus.QUEUED
    assert (
        CaseAssignment.objects.get(case__case_id="C-2", status=AssignmentStatus.ASSIGNED).agent_id == agent.pk
    )
    assert load_of(agent) == 1
