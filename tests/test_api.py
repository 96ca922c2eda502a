"""Project-wide API pieces in config.api: shared rendering (`rendered`) and the API root."""

from __future__ import annotations

import pytest

from agents.api.serializers import AgentSerializer
from agents.selectors import agent_detail
from config.api import rendered
from tests.factories import (
    AgentLanguageFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
)

pytestmark = pytest.mark.django_db


def _agent_with_nested_rows(code: str):
    agent = HumanAgentFactory(code=code)
    AgentSkillFactory(agent=agent)
    AgentLanguageFactory(agent=agent, language_code="es")
    AgentSpecializationFactory(agent=agent)
    AgentScheduleFactory(agent=agent)
    return agent_detail(code=code)


def test_rendered_equals_a_fresh_serializer_for_each_instance() -> None:
    # given two different agents rendered one after the other by the shared instance
    first, second = _agent_with_nested_rows("render_1"), _agent_with_nested_rows("render_2")
    # when
    shown = [rendered(AgentSerializer, first), rendered(AgentSerializer, second)]
    # then nothing of the first leaks into the second
    assert shown == [AgentSerializer(first).data, AgentSerializer(second).data]
    assert shown[0]["code"] == "render_1" and shown[1]["code"] == "render_2"


def test_rendered_many_equals_a_fresh_list_serializer() -> None:
    agents = [_agent_with_nested_rows(f"render_m{n}") for n in range(3)]
    assert rendered(AgentSerializer, agents, many=True) == AgentSerializer(agents, many=True).data


# --- /api/v1/: the index of the API ------------------------------------------------------------------


def test_the_api_root_lists_the_resources_to_a_signed_in_client(supervisor_client) -> None:
    response = supervisor_client.get("/api/v1/")
    assert response.status_code == 200
    body = response.json()
    assert body["agents"].endswith("/api/v1/agents/")
    assert body["routing_queue"].endswith("/api/v1/routing/queue/")
    assert body["docs"].endswith("/api/docs/")


def test_the_api_root_asks_an_anonymous_client_to_authenticate(api_client) -> None:
    response = api_client.get("/api/v1/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
