"""The routing admin names cases and agents, never database ids, and shows event data as text."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from routing.models import RoutingDecision, RoutingEvent
from tests.factories.agents import HumanAgentFactory
from tests.routing.test_admin import assignment_with_decision

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(client: Client, supervisor_user: User) -> Client:
    client.force_login(supervisor_user)
    return client


def test_assignment_and_decision_are_labelled_by_case_id_and_agent_name():
    agent = HumanAgentFactory(name="Grace Hopper")
    assignment = assignment_with_decision("tour-004", agent)
    decision = RoutingDecision.objects.get(assignment=assignment)

    assert str(assignment) == "tour-004 → Grace Hopper (Assigned)"
    assert str(decision) == "tour-004: Assigned via skill_based"


def test_decision_list_and_page_show_the_case_id_not_its_database_id(supervisor: Client):
    agent = HumanAgentFactory(name="Grace Hopper")
    assignment = assignment_with_decision("tour-004", agent)
    decision = RoutingDecision.objects.get(assignment=assignment)

    listing = supervisor.get(reverse("admin:routing_routingdecision_changelist"))
    page = supervisor.get(reverse("admin:routing_routingdecision_change", args=[decision.pk]))

    rows = listing.context["cl"].result_list
    assert [listing.context["cl"].model_admin.work_item(row) for row in rows] == ["tour-004"]
    headers = [header["text"] for header in listing.context["result_headers"]]
    assert headers[:1] == ["case or lead"] and "chosen agent" in headers
    assert "tour-004: Assigned via skill_based" in page.content.decode()
    assert f">{decision.case.pk}<" not in listing.content.decode()


def test_event_list_shows_the_case_id_agent_name_and_readable_data(supervisor: Client):
    agent = HumanAgentFactory(name="Grace Hopper")
    assignment = assignment_with_decision("tour-004", agent)
    RoutingEvent.objects.create(
        case=assignment.case,
        event_type="routed",
        agent=agent,
        data={"match_score": 87.5, "required_skills": ["billing", "claims"]},
    )

    content = supervisor.get(reverse("admin:routing_routingevent_changelist")).content.decode()

    assert "tour-004" in content and "Grace Hopper" in content
    assert "<strong>match score</strong>: 87.5" in content
    assert "<strong>required skills</strong>: billing, claims" in content
    assert "{&quot;" not in content and '{"match_score"' not in content


def test_assignment_list_has_the_outcome_columns_and_worded_headers(supervisor: Client):
    assignment_with_decision("tour-004", HumanAgentFactory(name="Grace Hopper"))

    response = supervisor.get(reverse("admin:routing_caseassignment_changelist"))

    headers = [header["text"] for header in response.context["result_headers"]]
    assert headers == [
        "case",
        "agent",
        "status",
        "priority",
        "assigned",
        "completed",
        "CSAT",
        "escalated",
    ]
    assert all("_" not in header for header in headers)
    assert "Grace Hopper" in response.content.decode()
