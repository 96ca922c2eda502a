"""One bad row never breaks routing for everyone near it (issue 6, fault 3): names routing matches on
are validated at every door, and the hot path reads what it can of a row, skipping and reporting the
rest."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from agents.models import AgentSpecialization
from routing.selectors.agent_sql import parse_facts
from routing.selectors.candidates import profiles_from_rows
from routing.services import CaseRequest, case_route
from tests.factories import AgentSpecializationFactory, SkillDomainFactory
from tests.factories.routing import retire_seed_roster, routable_agent

pytestmark = pytest.mark.django_db

CONTROL = ["\x1f", "\x1e", "\x00", "\n", "\u200b"]


@pytest.mark.parametrize("char", CONTROL, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("field", ["specialization", "insurance_line", "customer_segment"])
def test_the_model_refuses_a_control_character_in_a_name_routing_matches_on(field, char):
    row = AgentSpecializationFactory.build(agent=routable_agent(), **{field: f"auto{char}x"})
    with pytest.raises(ValidationError) as refused:
        row.full_clean()
    assert field in refused.value.message_dict
    assert f"U+{ord(char):04X}" in " ".join(refused.value.message_dict[field])


def test_the_api_refuses_a_control_character_in_a_specialization_name(supervisor_client):
    agent = routable_agent()
    response = supervisor_client.patch(
        f"/api/v1/agents/{agent.code}/",
        {"specializations": [{"specialization": "complex\x1ftechnical"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "specializations" in response.json()["fields"]
    assert not AgentSpecialization.objects.filter(agent=agent).exists()


def test_a_row_written_around_validation_does_not_break_routing_for_anyone():
    # given: two agents; one carries specialization names with the separators the old search split on
    retire_seed_roster()
    SkillDomainFactory(code="billing")
    odd = routable_agent(skills={"billing": "expert"})
    other = routable_agent(skills={"billing": "intermediate"})
    AgentSpecializationFactory(agent=odd, specialization="ok")
    AgentSpecialization.objects.filter(agent=odd).update(specialization="bad\x1fname\x1e")
    # when: cases are routed to the pool that holds both
    outcomes = [
        case_route(
            request=CaseRequest(
                case_id=f"C-{n}", priority="low", complexity="low", required_skills=["billing"]
            )
        )
        for n in range(3)
    ]
    # then: every case was routed; the odd agent is a candidate like any other, its name read intact
    assert all(outcome.assignment is not None for outcome in outcomes)
    assert {outcome.assignment.agent_id for outcome in outcomes} <= {odd.pk, other.pk}
    assert any(candidate["agent_id"] == odd.pk for candidate in outcomes[0].decision.candidates)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not an object"),
        (json.dumps({"s": {"billing": "wizard"}}), "unknown proficiency"),
        (json.dumps({"p": [["name_only"]]}), "specialization"),
        (json.dumps({"p": [["x", "not a number", None, None, None, [], []]]}), "specialization"),
    ],
)
def test_parsing_an_agents_facts_is_total_skipping_and_reporting_what_does_not_read(raw, problem):
    problems: list[str] = []
    facts = parse_facts(raw, problems=problems)
    assert problems and problem in problems[0]
    assert facts.skills == {} and facts.specializations == ()


def test_a_fact_that_does_not_read_is_skipped_and_reported_with_the_agent_the_rest_kept():
    row = {
        "agent_id": 7,
        "status": "available",
        "manual_override": False,
        "current_load": 0,
        "last_assigned_at": None,
        "code": "agent_odd",
        "is_active": True,
        "max_concurrent_work": 3,
        "frustration_tolerance": "medium",
        "csat_score": None,
        "escalation_rate": None,
        "first_contact_resolution_rate": None,
        "stress_score": None,
        "consecutive_difficult_cases": 0,
        "open_difficult": 0,
        "facts": json.dumps({"s": {"billing": "expert", "refunds": "wizard"}, "l": ["en"]}),
    }
    problems: list[dict] = []
    [profile] = profiles_from_rows([row], problems=problems)
    assert profile.skills == {"billing": "expert"} and profile.languages == frozenset({"en"})
    assert problems == [{"agent": "agent_odd", "problem": "skill 'refunds': unknown proficiency 'wizard'"}]
