from __future__ import annotations

import pytest
from django.db import connection

from agents.selectors import AgentNotFound, agent_availability_get, agent_detail, agent_list
from tests.factories import (
    AgentLanguageFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
    SkillDomainFactory,
)

pytestmark = pytest.mark.django_db


def _touch_everything(agent) -> tuple:
    return (
        [skill.domain.code for skill in agent.skills.all()],
        list(agent.languages.all()),
        list(agent.specializations.all()),
        list(agent.schedules.all()),
        agent.availability.status,
        agent.performance.current_workload,  # reads availability back through the agent
    )


@pytest.mark.parametrize("count", [3, 30])
def test_agent_list_queries_do_not_grow_with_rows(django_assert_num_queries, count):
    domain = SkillDomainFactory(code="billing")
    for agent in HumanAgentFactory.create_batch(count):
        AgentSkillFactory(agent=agent, domain=domain)
        AgentLanguageFactory(agent=agent)
        AgentSpecializationFactory(agent=agent)
        AgentScheduleFactory(agent=agent)

    # agents joined to availability and performance + skills (with domain) + languages
    # + specializations + schedules
    with django_assert_num_queries(5):
        agents = list(agent_list())
        for agent in agents:
            _touch_everything(agent)

    assert len(agents) >= count


def test_agent_detail_is_prefetched(django_assert_num_queries):
    agent = HumanAgentFactory()
    AgentSkillFactory(agent=agent)
    agent_detail(code=agent.code)  # PostgreSQL builds its one statement once per process

    # PostgreSQL: one statement (agents.selectors.AgentDetailStatement); elsewhere agent_list's five
    with django_assert_num_queries(1 if connection.vendor == "postgresql" else 5):
        _touch_everything(agent_detail(code=agent.code))


def test_agent_detail_unknown_code():
    with pytest.raises(AgentNotFound, match="agent_nope"):
        agent_detail(code="agent_nope")


def test_agent_availability_get_is_one_query_with_capacity(django_assert_num_queries):
    agent = HumanAgentFactory(max_concurrent_work=6)

    with django_assert_num_queries(1):
        assert agent_availability_get(code=agent.code).agent.max_concurrent_work == 6


def test_agent_availability_get_unknown_code():
    with pytest.raises(AgentNotFound):
        agent_availability_get(code="agent_nope")
