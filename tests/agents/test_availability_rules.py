"""Availability rules: an inactive agent takes no work; a missing availability row is not "no such agent"."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from agents.models import AgentAvailability, AvailabilityStatus
from agents.services import AgentInactive, agent_set_status
from tests.factories import HumanAgentFactory

pytestmark = pytest.mark.django_db


def availability_url(code: str) -> str:
    return f"/api/v1/agents/{code}/availability/"


@pytest.fixture
def inactive_agent():
    return HumanAgentFactory(is_active=False, availability__status=AvailabilityStatus.OFFLINE)


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("status", ["available", "busy"])
def test_an_inactive_agent_cannot_be_made_available_or_busy(
    supervisor_client, inactive_agent, method, status
):
    response = getattr(supervisor_client, method)(availability_url(inactive_agent.code), {"status": status})

    assert response.status_code == 409, response.json()
    body = response.json()
    assert body["code"] == "agent_inactive"
    assert inactive_agent.code in body["detail"]
    assert "status" in body["fields"]
    assert AgentAvailability.objects.get(agent=inactive_agent).status == AvailabilityStatus.OFFLINE


@pytest.mark.parametrize("status", ["offline", "training", "break"])
def test_an_inactive_agent_may_take_a_non_working_status(supervisor_client, inactive_agent, status):
    response = supervisor_client.patch(availability_url(inactive_agent.code), {"status": status})

    assert response.status_code == 200, response.json()
    assert AgentAvailability.objects.get(agent=inactive_agent).status == status


def test_the_service_refuses_too(inactive_agent):
    with pytest.raises(AgentInactive):
        agent_set_status(agent=inactive_agent, status=AvailabilityStatus.AVAILABLE)


def test_the_admin_set_status_action_refuses_an_inactive_agent_and_changes_nobody(
    client: Client, supervisor_user: User, inactive_agent
):
    active = HumanAgentFactory(availability__status=AvailabilityStatus.BREAK)
    client.force_login(supervisor_user)

    response = client.post(
        reverse("admin:agents_humanagent_changelist"),
        {
            "action": "set_status",
            "index": 0,
            "apply": "1",
            ACTION_CHECKBOX_NAME: [active.pk, inactive_agent.pk],
            "status": "available",
            "override_reason": "",
        },
        follow=True,
    )

    content = response.content.decode()
    assert f"Agent {inactive_agent.code} is inactive" in content
    assert AgentAvailability.objects.get(agent=active).status == AvailabilityStatus.BREAK  # all or nothing
    assert AgentAvailability.objects.get(agent=inactive_agent).status == AvailabilityStatus.OFFLINE


def test_put_availability_requires_status(supervisor_client):
    agent = HumanAgentFactory()

    response = supervisor_client.put(availability_url(agent.code), {"override_reason": "coaching"})

    assert response.status_code == 400
    assert response.json()["fields"]["status"] == ["This field is required."]


# --- an agent without its availability row ----------------------------------------------------------------


def test_get_availability_of_an_agent_without_the_row_says_so(supervisor_client):
    agent = HumanAgentFactory(availability=None)

    response = supervisor_client.get(availability_url(agent.code))

    assert response.status_code == 409
    assert response.json()["code"] == "availability_missing"
    assert "No agent with code" not in response.json()["detail"]


@pytest.mark.parametrize("method", ["put", "patch"])
def test_setting_a_status_creates_the_missing_row(supervisor_client, method):
    agent = HumanAgentFactory(availability=None)

    response = getattr(supervisor_client, method)(availability_url(agent.code), {"status": "meeting"})

    assert response.status_code == 200, response.json()
    assert AgentAvailability.objects.get(agent=agent).status == AvailabilityStatus.MEETING


def test_agent_set_status_creates_the_missing_row():
    agent = HumanAgentFactory(availability=None)

    availability = agent_set_status(agent=agent, status=AvailabilityStatus.TRAINING)

    assert availability.status == AvailabilityStatus.TRAINING
    assert AgentAvailability.objects.filter(agent=agent).count() == 1


@pytest.mark.parametrize("method", ["get", "put", "patch"])
def test_an_unknown_code_is_still_404(supervisor_client, method):
    response = getattr(supervisor_client, method)(availability_url("agent_nobody"), {"status": "busy"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
