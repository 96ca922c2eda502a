"""The routing admin: the queue in serving order and its actions, assignments with their decision
breakdown, read-only cases and audit trail, constant query counts, supervisor vs analyst."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin as django_admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agents.models import AgentAvailability, HumanAgent
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
    RoutingEvent,
    SupportCase,
)
from tests.factories.agents import HumanAgentFactory
from tests.routing.test_api import on_shift_agent, waiting_entry

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:routing_escalationqueueentry_changelist")
ASSIGNMENTS = reverse("admin:routing_caseassignment_changelist")
CASES = reverse("admin:routing_supportcase_changelist")


@pytest.fixture
def supervisor(client: Client, supervisor_user: User) -> Client:
    client.force_login(supervisor_user)
    return client


@pytest.fixture
def analyst(client: Client, analyst_user: User) -> Client:
    client.force_login(analyst_user)
    return client


def rows_of(response: Any) -> list[Any]:
    return list(response.context["cl"].result_list)


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def run_action(
    client: Client, action: str, entries: list[EscalationQueueEntry], url: str = QUEUE, **extra: Any
):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(entry.pk) for entry in entries], "index": 0, **extra}
    return client.post(url, data, follow=True)


def assignment_with_decision(
    case_id: str, agent: HumanAgent, *, strategy: str = "skill_based"
) -> CaseAssignment:
    case = SupportCase.objects.create(
        case_id=case_id,
        priority="medium",
        complexity="low",
        required_skills=["billing"],
        status=CaseStatus.ASSIGNED,
    )
    assignment = CaseAssignment.objects.create(
        case=case,
        agent=agent,
        priority="medium",
        complexity="low",
        routing_strategy=strategy,
        match_score=87,
        routing_confidence="0.90",
    )
    runner_up = {"agent_id": agent.pk + 10_000, "agent": "agent_runner_up", "total": 0.61}
    RoutingDecision.objects.create(
        case=case,
        strategy=strategy,
        outcome="assigned",
        winner=agent,
        assignment=assignment,
        candidate_count=2,
        duration_ms=3.5,
        candidates=[
            {
                "agent_id": agent.pk,
                "agent": agent.code,
                "total": 0.87,
                "factors": {
                    "skill": 0.9,
                    "performance": 0.8,
                    "frustration_fit": 1.0,
                    "fatigue": 1.0,
                    "load_balance": 0.6,
                },
            },
            {
                **runner_up,
                "factors": {
                    "skill": 0.5,
                    "performance": 0.7,
                    "frustration_fit": 0.5,
                    "fatigue": 1.0,
                    "load_balance": 0.4,
                },
            },
        ],
    )
    RoutingEvent.objects.create(case=case, event_type="routed", agent=agent, data={"ring": 0})
    return assignment


# --- the queue changelist ----------------------------------------------------------------------------


def test_queue_changelist_is_in_serving_order_with_positions_and_sla(supervisor: Client):
    waiting_entry("case_high", priority="high", queued_minutes_ago=3)
    waiting_entry("case_overdue", priority="low", queued_minutes_ago=50, max_wait=30)
    waiting_entry("case_critical", priority="critical", queued_minutes_ago=1)

    response = supervisor.get(QUEUE)

    assert response.status_code == 200
    rows = rows_of(response)
    assert [entry.case_id for entry in rows] == ["case_overdue", "case_critical", "case_high"]
    assert [entry.position for entry in rows] == [1, 2, 3]
    content = response.content.decode()
    assert content.count("✗ breached") == 1
    assert content.count("✓ within") == 2
    assert "#ba2121" in content  # breached is red


def test_queue_changelist_positions_continue_on_the_next_page(supervisor: Client, monkeypatch):
    monkeypatch.setattr(django_admin.site._registry[EscalationQueueEntry], "list_per_page", 2)
    for index in range(5):
        waiting_entry(f"case_{index}", queued_minutes_ago=10 - index)
    rows = rows_of(supervisor.get(QUEUE, {"p": 2}))
    assert [(entry.case_id, entry.position) for entry in rows] == [("case_2", 3), ("case_3", 4)]


def test_queue_changelist_ignores_column_sorting(supervisor: Client):
    waiting_entry("case_critical", priority="critical")
    waiting_entry("case_low", priority="low")
    rows = rows_of(supervisor.get(QUEUE, {"o": "3"}))
    assert [entry.case_id for entry in rows] == ["case_critical", "case_low"]


def test_queue_changelist_query_count_does_not_grow(supervisor: Client, django_assert_num_queries):
    for index in range(3):
        waiting_entry(f"few_{index}")
    with CaptureQueriesContext(connection) as few:
        assert supervisor.get(QUEUE).status_code == 200
    for index in range(27):
        waiting_entry(f"many_{index}")
    with django_assert_num_queries(len(few.captured_queries)):
        response = supervisor.get(QUEUE)
    assert len(rows_of(response)) == 30


def test_queue_state_filter_shows_past_entries_without_positions(supervisor: Client):
    waiting_entry("case_waiting")
    gone = waiting_entry("case_gone")
    EscalationQueueEntry.objects.filter(pk=gone.pk).update(status=QueueStatus.CANCELLED)

    rows = rows_of(supervisor.get(QUEUE, {"state": QueueStatus.CANCELLED}))

    assert [(entry.case_id, entry.position) for entry in rows] == [("case_gone", None)]
    assert [entry.case_id for entry in rows_of(supervisor.get(QUEUE))] == ["case_waiting"]


def test_queue_entry_change_page_is_read_only(supervisor: Client):
    entry = waiting_entry("case_1")
    url = reverse("admin:routing_escalationqueueentry_change", args=[entry.pk])
    response = supervisor.get(url)
    assert response.status_code == 200
    assert not response.context["has_change_permission"]


# --- the queue actions -------------------------------------------------------------------------------


def test_assign_action_asks_for_an_agent_with_spare_capacity(supervisor: Client):
    entry = waiting_entry("case_1")
    free = on_shift_agent(code="agent_free")
    full = on_shift_agent(code="agent_full", max_concurrent_cases=1)
    AgentAvailability.objects.filter(agent=full).update(current_load=1)

    response = supervisor.post(
        QUEUE, {"action": "assign_to_agent", ACTION_CHECKBOX_NAME: [str(entry.pk)], "index": 0}
    )

    assert response.status_code == 200
    assert "admin/routing/escalationqueueentry/assign_to_agent.html" in [t.name for t in response.templates]
    choices = list(response.context["form"].fields["agent"].queryset)
    assert free in choices
    assert full not in choices
    assert EscalationQueueEntry.objects.get(pk=entry.pk).status == QueueStatus.QUEUED


def test_assign_action_assigns_through_the_service(supervisor: Client):
    entry = waiting_entry("case_1")
    agent = on_shift_agent(code="agent_free")

    response = run_action(supervisor, "assign_to_agent", [entry], apply="Assign", agent=agent.pk)

    assert response.status_code == 200
    entry.refresh_from_db()
    assert entry.status == QueueStatus.ASSIGNED
    assert entry.assigned_agent == agent
    assignment = CaseAssignment.objects.get(case_id="case_1")
    assert assignment.agent == agent and assignment.status == AssignmentStatus.ASSIGNED
    assert AgentAvailability.objects.get(agent=agent).current_load == 1
    assert any("Assigned to agent_free: 1 queue entry" in message for message in messages_of(response))


def test_assign_action_reports_domain_errors_and_assigns_the_rest(supervisor: Client):
    waiting = waiting_entry("case_waiting")
    gone = waiting_entry("case_gone")
    EscalationQueueEntry.objects.filter(pk=gone.pk).update(status=QueueStatus.CANCELLED)
    agent = on_shift_agent(code="agent_free")

    url = f"{QUEUE}?state=cancelled"
    response = run_action(supervisor, "assign_to_agent", [gone], url=url, apply="Assign", agent=agent.pk)

    assert any(message.startswith("case_gone:") for message in messages_of(response))
    assert not CaseAssignment.objects.exists()
    response = run_action(supervisor, "assign_to_agent", [waiting], apply="Assign", agent=agent.pk)
    assert CaseAssignment.objects.get().case_id == "case_waiting"


def test_cancel_action_cancels_through_the_service(supervisor: Client):
    first, second = waiting_entry("case_1"), waiting_entry("case_2")
    response = run_action(supervisor, "cancel_entries", [first, second])
    assert set(EscalationQueueEntry.objects.values_list("status", flat=True)) == {QueueStatus.CANCELLED}
    assert any("Cancelled 2 queue entries" in message for message in messages_of(response))


def test_cancel_action_reports_entries_that_are_not_waiting(supervisor: Client):
    gone = waiting_entry("case_gone")
    EscalationQueueEntry.objects.filter(pk=gone.pk).update(status=QueueStatus.CANCELLED)
    response = run_action(supervisor, "cancel_entries", [gone], url=f"{QUEUE}?state=cancelled")
    assert any(message.startswith("case_gone:") for message in messages_of(response))


def test_requeue_action_calls_the_service(supervisor: Client):
    entry = waiting_entry("case_1")
    EscalationQueueEntry.objects.filter(pk=entry.pk).update(widen_level=2)
    response = run_action(supervisor, "requeue_entries", [entry])
    assert response.status_code == 200
    messages = messages_of(response)
    assert messages and all(message.startswith(("Requeued", "case_1:")) for message in messages)


def test_analysts_see_the_queue_but_not_its_actions(analyst: Client):
    entry = waiting_entry("case_1")
    response = analyst.get(QUEUE)
    assert response.status_code == 200
    assert response.context["action_form"] is None or not response.context["cl"].actions  # no actions offered
    run_action(analyst, "cancel_entries", [entry])
    assert EscalationQueueEntry.objects.get(pk=entry.pk).status == QueueStatus.QUEUED


def test_supervisors_are_offered_the_queue_actions(supervisor: Client):
    waiting_entry("case_1")
    response = supervisor.get(QUEUE)
    offered = {name for name, _ in response.context["action_form"].fields["action"].choices}
    assert {"assign_to_agent", "cancel_entries", "requeue_entries"} <= offered


# --- assignments -------------------------------------------------------------------------------------


def test_assignment_changelist_query_count_does_not_grow(supervisor: Client, django_assert_num_queries):
    for index in range(3):
        assignment_with_decision(f"few_{index}", HumanAgentFactory())
    with CaptureQueriesContext(connection) as few:
        assert supervisor.get(ASSIGNMENTS).status_code == 200
    for index in range(27):
        assignment_with_decision(f"many_{index}", HumanAgentFactory())
    with django_assert_num_queries(len(few.captured_queries)):
        response = supervisor.get(ASSIGNMENTS)
    assert len(rows_of(response)) == 30


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status__exact": "in_progress"}, ["case_b"]),
        ({"priority__exact": "medium"}, ["case_a", "case_b", "case_c"]),
        ({"strategy": "least_busy"}, ["case_c"]),
        ({"agent_code": "agent_ada"}, ["case_a", "case_b"]),
    ],
)
def test_assignment_changelist_filters(supervisor: Client, params: dict, expected: list[str]):
    ada, bob = HumanAgentFactory(code="agent_ada"), HumanAgentFactory(code="agent_bob")
    assignment_with_decision("case_a", ada)
    assignment_with_decision("case_b", ada)
    assignment_with_decision("case_c", bob, strategy="least_busy")
    CaseAssignment.objects.filter(case_id="case_b").update(status=AssignmentStatus.IN_PROGRESS)

    response = supervisor.get(ASSIGNMENTS, params)

    assert response.status_code == 200
    assert sorted(assignment.case_id for assignment in rows_of(response)) == expected


def test_assignment_page_shows_the_decision_breakdown(supervisor: Client):
    agent = HumanAgentFactory(code="agent_ada")
    assignment = assignment_with_decision("case_a", agent)

    response = supervisor.get(reverse("admin:routing_caseassignment_change", args=[assignment.pk]))

    assert response.status_code == 200
    content = response.content.decode()
    assert "agent_ada ★ winner" in content
    assert "agent_runner_up" in content
    for factor in ("skill", "performance", "frustration_fit", "fatigue", "load_balance"):
        assert f"<th>{factor}</th>" in content
    assert "0.870" in content and "0.610" in content
    assert "ring 0" in content


def test_assignments_cannot_be_added_or_changed_in_the_admin(supervisor: Client):
    assignment = assignment_with_decision("case_a", HumanAgentFactory())
    assert supervisor.get(reverse("admin:routing_caseassignment_add")).status_code == 403
    response = supervisor.post(
        reverse("admin:routing_caseassignment_change", args=[assignment.pk]), {"csat_rating": 1}
    )
    assert response.status_code == 403
    assert CaseAssignment.objects.get(pk=assignment.pk).csat_rating is None


# --- cases and the audit trail -----------------------------------------------------------------------


def test_case_page_shows_assignments_decisions_and_events_read_only(supervisor: Client):
    agent = HumanAgentFactory(code="agent_ada")
    assignment_with_decision("case_a", agent)
    case = SupportCase.objects.get(case_id="case_a")

    response = supervisor.get(reverse("admin:routing_supportcase_change", args=[case.pk]))

    assert response.status_code == 200
    inlines = {formset.opts.model for formset in response.context["inline_admin_formsets"]}
    assert inlines == {CaseAssignment, EscalationQueueEntry, RoutingDecision, RoutingEvent}
    assert all(not formset.has_change_permission for formset in response.context["inline_admin_formsets"])
    assert "agent_ada" in response.content.decode()


def test_case_changelist_and_audit_admins_render(supervisor: Client, django_assert_max_num_queries):
    assignment_with_decision("case_a", HumanAgentFactory())
    decision = RoutingDecision.objects.get()
    for url in (
        CASES,
        reverse("admin:routing_routingdecision_changelist"),
        reverse("admin:routing_routingevent_changelist"),
        reverse("admin:routing_routingdecision_change", args=[decision.pk]),
    ):
        assert supervisor.get(url).status_code == 200, url
    assert supervisor.get(reverse("admin:routing_routingdecision_add")).status_code == 403
