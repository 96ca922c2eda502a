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

from agents.models import AgentAvailability, AvailabilityStatus, HumanAgent
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseAssignmentArchive,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
    RoutingEvent,
    SupportCase,
)
from tests.factories.agents import HumanAgentFactory
from tests.routing.floor import on_shift_agent, waiting_entry

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:routing_escalationqueueentry_changelist")
ASSIGNMENTS = reverse("admin:routing_caseassignment_changelist")
CASES = reverse("admin:routing_supportcase_changelist")
ASSIGNABLE = reverse("admin:routing_escalationqueueentry_assignable_agents")


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
    full = on_shift_agent(code="agent_full", max_concurrent_work=1)
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


def test_assign_action_refuses_a_never_rule_unless_the_supervisor_gives_an_override_reason(
    supervisor: Client,
):
    # given: a critically frustrated customer and a low-tolerance agent
    entry = waiting_entry("case_angry")
    EscalationQueueEntry.objects.filter(pk=entry.pk).update(customer_frustration="critical")
    agent = on_shift_agent(code="agent_calm", frustration_tolerance="low")
    # when: assigned without a reason, the action says why not and assigns nothing
    response = run_action(supervisor, "assign_to_agent", [entry], apply="Assign", agent=agent.pk)
    assert any("tolerance is low" in message for message in messages_of(response))
    assert not CaseAssignment.objects.exists()
    # when: with a reason, it assigns and the record keeps the reason
    reason = "supervisor on the line with them"
    run_action(supervisor, "assign_to_agent", [entry], apply="Assign", agent=agent.pk, override_reason=reason)
    assert CaseAssignment.objects.get().agent == agent
    assert reason in RoutingDecision.objects.get(case__case_id="case_angry").reason


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


def test_assign_form_is_an_autocomplete_whose_page_does_not_grow_with_agents(
    supervisor: Client, django_assert_num_queries
):
    # given a waiting entry and a few agents who could take it
    entry = waiting_entry("case_1")
    for index in range(3):
        on_shift_agent(code=f"agent_few_{index}")
    data = {"action": "assign_to_agent", ACTION_CHECKBOX_NAME: [str(entry.pk)], "index": 0}
    with CaptureQueriesContext(connection) as few:
        first = supervisor.post(QUEUE, data)
    # when there are ten times as many
    HumanAgentFactory.create_batch(30)
    AgentAvailability.objects.update(status=AvailabilityStatus.AVAILABLE)
    with django_assert_num_queries(len(few.captured_queries)):
        response = supervisor.post(QUEUE, data)
    # then the page lists no agent: the widget asks the autocomplete view as the supervisor types
    content = response.content.decode()
    assert first.status_code == response.status_code == 200
    assert "admin-autocomplete" in content and f'data-ajax--url="{ASSIGNABLE}"' in content
    assert "agent_few_0" not in content and '<option value="' not in content.split('name="agent"')[1][:400]
    assert "admin/js/autocomplete.js" in content


def test_assignable_agents_autocomplete_searches_only_agents_who_can_take_a_case(supervisor: Client):
    on_shift_agent(code="agent_ada", name="Ada Lovelace")
    full = on_shift_agent(code="agent_adam", name="Adam Full", max_concurrent_work=1)
    AgentAvailability.objects.filter(agent=full).update(current_load=1)
    away = on_shift_agent(code="agent_adele", name="Adele Away")
    AgentAvailability.objects.filter(agent=away).update(status=AvailabilityStatus.BREAK)
    on_shift_agent(code="agent_bob", name="Bob Lovelace")

    by_code = supervisor.get(ASSIGNABLE, {"term": "agent_ad"}).json()
    by_name = supervisor.get(ASSIGNABLE, {"term": "lovelace"}).json()

    assert [result["text"].split(" (")[1].split(")")[0] for result in by_code["results"]] == ["agent_ada"]
    assert by_code["pagination"] == {"more": False}
    assert len(by_name["results"]) == 2
    assert "1/" not in by_code["results"][0]["text"] and "0/5" in by_code["results"][0]["text"]


def test_assignable_agents_autocomplete_pages_and_costs_the_same_queries(
    supervisor: Client, django_assert_num_queries
):
    AgentAvailability.objects.update(status=AvailabilityStatus.OFFLINE)  # the seeded roster
    for index in range(3):
        on_shift_agent(code=f"pool_{index:03d}")
    with CaptureQueriesContext(connection) as few:
        supervisor.get(ASSIGNABLE)
    for index in range(3, 45):
        on_shift_agent(code=f"pool_{index:03d}")
    with django_assert_num_queries(len(few.captured_queries)):
        page_one = supervisor.get(ASSIGNABLE).json()
    page_three = supervisor.get(ASSIGNABLE, {"page": 3}).json()
    assert len(page_one["results"]) == 20 and page_one["pagination"]["more"] is True
    assert len(page_three["results"]) == 5 and page_three["pagination"]["more"] is False


def test_assignable_agents_autocomplete_needs_the_queue_change_permission(analyst: Client):
    assert analyst.get(ASSIGNABLE).status_code == 403


def test_assign_action_refuses_an_agent_who_cannot_take_a_case(supervisor: Client):
    entry = waiting_entry("case_1")
    away = on_shift_agent(code="agent_away")
    AgentAvailability.objects.filter(agent=away).update(status=AvailabilityStatus.OFFLINE)

    response = run_action(supervisor, "assign_to_agent", [entry], apply="Assign", agent=away.pk)

    assert response.status_code == 200
    assert response.context["form"].errors["agent"]
    assert EscalationQueueEntry.objects.get(pk=entry.pk).status == QueueStatus.QUEUED
    assert not CaseAssignment.objects.exists()


def test_assign_action_reports_the_services_refusal_when_the_agent_filled_up(supervisor: Client, monkeypatch):
    # given an agent who was free when the form was validated but is full when the service locks them
    import routing.admin as routing_admin

    entries = [waiting_entry("case_1"), waiting_entry("case_2")]
    agent = on_shift_agent(code="agent_one_slot", max_concurrent_work=1)
    monkeypatch.setattr(routing_admin, "assignable_agents", lambda: HumanAgent.objects.all())

    response = run_action(supervisor, "assign_to_agent", entries, apply="Assign", agent=agent.pk)

    # then one entry is assigned and the other is refused by the service, named
    assert CaseAssignment.objects.count() == 1
    assert any("at capacity" in message for message in messages_of(response))


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


def archived(case_id: str, agent: HumanAgent) -> CaseAssignmentArchive:
    """An assignment_with_decision moved to the archive by the daily maintenance."""
    import datetime as dt

    from django.utils import timezone

    from routing.maintenance import MaintenanceOptions, assignments_archive

    assignment = assignment_with_decision(case_id, agent)
    CaseAssignment.objects.filter(pk=assignment.pk).update(
        status=AssignmentStatus.ESCALATED, escalated=True, completed_at=timezone.now()
    )
    assignments_archive(MaintenanceOptions(now=timezone.now() + dt.timedelta(days=91)))
    return CaseAssignmentArchive.objects.get(pk=assignment.pk)


def test_archived_assignment_page_shows_the_cases_decision_breakdown(supervisor: Client):
    # given an archived assignment, whose decision lost its link to it
    agent = HumanAgentFactory(code="agent_ada")
    row = archived("case_a", agent)
    assert RoutingDecision.objects.get().assignment_id is None

    response = supervisor.get(reverse("admin:routing_caseassignmentarchive_change", args=[row.pk]))

    # then the case's decision and its breakdown are still there
    assert response.status_code == 200
    content = response.content.decode()
    assert "chose this assignment&#x27;s agent" in content or "chose this assignment's agent" in content
    assert "agent_ada ★ winner" in content and "agent_runner_up" in content
    assert "<th>frustration_fit</th>" in content and "0.870" in content


def test_archived_assignment_page_links_its_own_decision_and_the_decision_links_back(supervisor: Client):
    # given an archived assignment whose decision was relinked to it by the archive step
    row = archived("case_a", HumanAgentFactory(code="agent_ada"))
    decision = RoutingDecision.objects.get()
    assert decision.archived_assignment_id == row.pk

    archive_page = supervisor.get(reverse("admin:routing_caseassignmentarchive_change", args=[row.pk]))
    decision_page = supervisor.get(reverse("admin:routing_routingdecision_change", args=[decision.pk]))

    # then each page links the other, and the case's decision list marks this assignment's own decision
    content = archive_page.content.decode()
    assert reverse("admin:routing_routingdecision_change", args=[decision.pk]) in content
    assert "this assignment&#x27;s decision" in content or "this assignment's decision" in content
    assert (
        reverse("admin:routing_caseassignmentarchive_change", args=[row.pk]) in decision_page.content.decode()
    )


def test_case_page_links_its_archived_assignments(supervisor: Client):
    row = archived("case_a", HumanAgentFactory(code="agent_ada"))
    case = SupportCase.objects.get(case_id="case_a")

    content = supervisor.get(reverse("admin:routing_supportcase_change", args=[case.pk])).content.decode()

    assert reverse("admin:routing_caseassignmentarchive_change", args=[row.pk]) in content


def test_archive_changelist_renders(supervisor: Client):
    archived("case_a", HumanAgentFactory())
    response = supervisor.get(reverse("admin:routing_caseassignmentarchive_changelist"))
    assert response.status_code == 200 and len(rows_of(response)) == 1
