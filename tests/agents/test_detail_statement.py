"""agent_detail's one statement (PostgreSQL) gives what the ORM path gives: the same instances, field by
field, with the same select_related and prefetch caches, and the same API rendering."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest

from agents.api.serializers import AgentSerializer
from agents.models import AgentAvailability, AgentPerformance, HumanAgent
from agents.selectors import AgentDetailStatement, AgentNotFound, agent_detail, agent_list, agent_page
from config.api import rendered
from tests.factories import (
    AgentLanguageFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
    SkillDomainFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _values(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def _graph(agent: HumanAgent) -> dict:
    """Everything a caller of agent_detail may read, without a query, as plain values."""
    related = {}
    for name in ("availability", "performance"):
        try:
            row = getattr(agent, name)
        except (AgentAvailability.DoesNotExist, AgentPerformance.DoesNotExist):
            row = None
        related[name] = None if row is None else (_values(row), row.agent is agent)
    return {
        "agent": _values(agent),
        **related,
        "skills": [
            (_values(skill), _values(skill.domain), skill.agent is agent) for skill in agent.skills.all()
        ],
        "languages": [(_values(row), row.agent is agent) for row in agent.languages.all()],
        "specializations": [(_values(row), row.agent is agent) for row in agent.specializations.all()],
        "schedules": [(_values(row), row.agent is agent) for row in agent.schedules.all()],
    }


def _random_agent(rng: random.Random, domains: list) -> HumanAgent:
    agent = HumanAgentFactory(
        base_hourly_rate=rng.choice([None, Decimal("17.50"), Decimal("0.00")]),
        hire_date=rng.choice([None, dt.date(2021, 3, 4)]),
        employee_id=rng.choice([None, f"E-{rng.randrange(10**9)}"]),
    )
    if rng.random() < 0.3:
        AgentAvailability.objects.filter(agent=agent).update(
            expected_available_at=dt.datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=dt.UTC),
            last_assigned_at=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            override_reason="lunch 'n' \"coffee\" \\ ",
        )
    for domain in rng.sample(domains, rng.randint(0, len(domains))):
        AgentSkillFactory(
            agent=agent,
            domain=domain,
            years_experience=rng.choice([0, Decimal("2.5"), 12]),
            last_updated=rng.choice([None, dt.date(2026, 2, 3)]),
            certification_level=rng.choice(["", "gold"]),
        )
    for code in rng.sample(["en", "es", "fr", "zh"], rng.randint(0, 3)):
        AgentLanguageFactory(agent=agent, language_code=code)
    for index in range(rng.randint(0, 2)):
        AgentSpecializationFactory(
            agent=agent,
            specialization=f"spécialité {index} ✓",
            confidence=Decimal("0.85"),
            success_rate=Decimal("0.9213"),
            languages=rng.choice([[], ["en", "es"]]),
            territories=rng.choice([[], ["US-CA"]]),
        )
    for day in rng.sample(["monday", "tuesday", "saturday"], rng.randint(0, 3)):
        AgentScheduleFactory(
            agent=agent,
            day_of_week=day,
            start_time=dt.time(rng.randint(0, 12), 30),
            end_time=dt.time(17, 15, 30),
            effective_until=rng.choice([None, dt.date(2027, 1, 1)]),
        )
    return agent


def test_the_statement_gives_what_the_orm_gives_for_varied_agents():
    rng = random.Random(12)
    domains = [SkillDomainFactory(code=f"domain_{index}", description="d") for index in range(4)]
    agents = [_random_agent(rng, domains) for _ in range(25)]
    AgentPerformance.objects.filter(agent=agents[0]).delete()  # a missing one-to-one reads as missing
    AgentAvailability.objects.filter(agent=agents[1]).delete()

    for agent in agents:
        # when
        statement = AgentDetailStatement.get().fetch(agent.code)
        orm = agent_list().get(code=agent.code)

        # then
        assert _graph(statement) == _graph(orm)
        assert rendered(AgentSerializer, statement) == rendered(AgentSerializer, orm)


def test_a_page_through_the_statement_gives_what_the_orm_gives_in_the_same_order():
    rng = random.Random(5)
    domains = [SkillDomainFactory(code=f"domain_{index}", description="d") for index in range(3)]
    agents = [_random_agent(rng, domains) for _ in range(12)]
    AgentAvailability.objects.filter(agent=agents[2]).delete()
    ordered = agent_list().order_by("-name", "code")

    # when: the middle page of three, cut as a paginator cuts it
    page = agent_page(ordered, lambda queryset: list(queryset[4:8]))

    # then: the ORM's page, instance for instance, and rendered alike
    orm = list(ordered[4:8])
    assert [agent.code for agent in page] == [agent.code for agent in orm]
    assert [_graph(agent) for agent in page] == [_graph(agent) for agent in orm]
    assert rendered(AgentSerializer, page, many=True) == rendered(AgentSerializer, orm, many=True)
    assert agent_page(ordered, lambda queryset: []) == []


def test_the_statement_is_one_query_whatever_the_nested_rows(django_assert_num_queries):
    agent = _random_agent(random.Random(3), [SkillDomainFactory(code=f"d_{n}") for n in range(3)])
    for _ in range(5):
        AgentScheduleFactory(agent=agent)
    agent_detail(code=agent.code)  # the statement is built once per process

    with django_assert_num_queries(1):
        found = agent_detail(code=agent.code)
        _graph(found)
        rendered(AgentSerializer, found)


def test_the_statement_does_not_find_an_unknown_code():
    with pytest.raises(AgentNotFound):
        agent_detail(code="agent_nope")
