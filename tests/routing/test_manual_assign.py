"""A supervisor's hand assignment keeps capacity and the seed's "never" rules: a critically frustrated
customer is never given to a low-tolerance agent, a difficult case never to an agent locked out after
consecutive difficult cases, unless the supervisor gives an override reason, which the record keeps
(issue 6, fault 7)."""

from __future__ import annotations

import pytest

from agents.models import AgentPerformance
from routing.errors import AssignmentRefused
from routing.models import CaseAssignment, EscalationQueueEntry, QueueStatus, RoutingDecision, RoutingEvent
from routing.services import CaseRequest, case_route, queue_entry_assign
from tests.factories import SkillDomainFactory
from tests.factories.routing import retire_seed_roster, routable_agent

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def floor() -> None:
    retire_seed_roster()
    SkillDomainFactory(code="billing")


def waiting(case_id: str, **facts) -> EscalationQueueEntry:
    outcome = case_route(
        request=CaseRequest(case_id=case_id, priority="high", required_skills=["billing"], **facts)
    )
    assert outcome.http_status == 202
    return outcome.queue_entry


@pytest.mark.parametrize(
    ("facts", "agent_facts", "rule"),
    [
        ({"complexity": "low", "customer_frustration": "critical"}, {"frustration_tolerance": "low"}, "low"),
        ({"complexity": "high"}, {"streak": 3}, "locked out"),
    ],
    ids=["critical-frustration-to-low-tolerance", "difficult-case-to-locked-out-agent"],
)
def test_the_never_rules_refuse_a_hand_assignment_with_the_reason(facts, agent_facts, rule):
    # given: a waiting case and an agent the rule forbids (not in schedule, so routing left it waiting)
    streak = agent_facts.pop("streak", 0)
    agent = routable_agent(skills={"billing": "advanced"}, always_on=False, **agent_facts)
    AgentPerformance.objects.filter(agent=agent).update(consecutive_difficult_cases=streak)
    entry = waiting("C-1", **facts)
    # when the supervisor assigns it without a reason
    with pytest.raises(AssignmentRefused) as refused:
        queue_entry_assign(entry_id=entry.pk, agent_id=agent.pk)
    # then: 409 naming the rule, and nothing changed
    assert refused.value.http_status == 409 and rule in refused.value.detail
    assert "override_reason" in refused.value.fields
    assert EscalationQueueEntry.objects.get(pk=entry.pk).status == QueueStatus.QUEUED
    assert not CaseAssignment.objects.exists()


def test_an_override_reason_lets_the_supervisor_assign_and_is_recorded():
    agent = routable_agent(skills={"billing": "advanced"}, always_on=False, frustration_tolerance="low")
    entry = waiting("C-1", complexity="low", customer_frustration="critical")

    assignment = queue_entry_assign(
        entry_id=entry.pk, agent_id=agent.pk, override_reason="the customer asked for this agent by name"
    )

    assert assignment.agent_id == agent.pk
    decision = RoutingDecision.objects.get(assignment=assignment)
    assert "overriding frustration_tolerance: the customer asked for this agent by name" in decision.reason
    event = RoutingEvent.objects.get(case__case_id="C-1", event_type="manual_assign")
    assert event.data["override_reason"] == "the customer asked for this agent by name"
    assert event.data["rules_overridden"] == ["frustration_tolerance"]


def test_a_hand_assignment_breaking_no_rule_needs_no_reason():
    agent = routable_agent(skills={"billing": "basic"}, always_on=False)  # skills: the supervisor's call
    entry = waiting("C-1", complexity="low")
    assert queue_entry_assign(entry_id=entry.pk, agent_id=agent.pk).agent_id == agent.pk


def test_the_admin_breakdown_of_a_hand_assignment_says_so():
    from routing.admin import decision_breakdown_html

    agent = routable_agent(skills={"billing": "basic"}, always_on=False)
    entry = waiting("C-2", complexity="low")
    queue_entry_assign(entry_id=entry.pk, agent_id=agent.pk)
    decision = RoutingDecision.objects.filter(case__case_id="C-2").latest("created_at")

    html = decision_breakdown_html(decision)

    assert "Assigned by hand" in html and "No candidate was eligible" not in html
