from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agents.models import AgentAvailability
from routing.models import (
    AssignmentQueue,
    Lead,
    LeadRoutingHistory,
    RoutingDecision,
    RoutingEvent,
)
from routing.services.leads import lead_create, lead_record_outcome, lead_route
from tests.factories.leads import RoutingRuleFactory, licensed_agent

pytestmark = pytest.mark.usefixtures("lead_floor")


def new_lead(**kwargs):
    values = {
        "external_id": "L-1",
        "name": "Ada Customer",
        "insurance_line": "auto",
        "customer_segment": "smb",
        "language": "en",
        "territory": "US-CA",
        "source": "inbound_call",
        "quote_requested": True,
        "callback_requested": True,
    }
    return lead_create(**{**values, **kwargs})


def test_a_lead_goes_to_the_licensed_agent_and_takes_one_slot():
    # given
    licensed = licensed_agent(proficiency=5)
    licensed_agent(line="home")  # not licensed for auto
    lead = new_lead()
    # when
    outcome = lead_route(lead_id=lead.pk)
    # then
    assert outcome.assigned and outcome.history.assigned_agent_id == licensed.pk
    lead.refresh_from_db()
    assert lead.status == "assigned" and lead.agent_id == licensed.pk
    assert AgentAvailability.objects.get(pk=licensed.pk).current_load == 1
    decision = RoutingDecision.objects.get(lead=lead)
    assert decision.outcome == "assigned" and decision.candidates[0]["agent"] == licensed.code
    assert "specialization" in decision.candidates[0]["factors"]
    assert set(RoutingEvent.objects.filter(lead=lead).values_list("event_type", flat=True)) >= {
        "scored",
        "routed",
    }


def test_no_licensed_agent_queues_the_lead_in_its_tier_queue_with_its_sla():
    licensed_agent(line="home")
    lead = new_lead()
    outcome = lead_route(lead_id=lead.pk)
    assert not outcome.assigned
    entry = AssignmentQueue.objects.get(lead=lead, status="waiting")
    assert entry.queue_type == "hot"
    assert abs((entry.sla_expiry - entry.queued_at) - dt.timedelta(minutes=5)) < dt.timedelta(seconds=1)
    assert Lead.objects.get(pk=lead.pk).status == "queued"


def test_territory_and_language_must_be_the_agents():
    licensed_agent(territories=("US-NY",))
    licensed_agent(languages=("es",))  # the specialization's languages do not matter; AgentLanguage does
    lead = new_lead(language="de")
    assert not lead_route(lead_id=lead.pk).assigned


def test_a_rule_routes_to_an_agent_group_and_is_recorded():
    licensed_agent(department="Retail")
    enterprise = licensed_agent(department="Enterprise desk")
    RoutingRuleFactory(
        name="enterprise desk",
        rule_type="route_to_agent_group",
        condition={"field": "source", "op": "eq", "value": "inbound_call"},
        action={"department": "Enterprise desk"},
    )
    outcome = lead_route(lead_id=new_lead().pk)
    assert outcome.history.assigned_agent_id == enterprise.pk
    # the default rules (migration 0013) fire too, in priority order, each recorded
    fired = [fired["rule"] for fired in outcome.rules_fired]
    assert fired == ["Hot leads to the hot queue", "enterprise desk", "Callback requests are hot"]
    assert RoutingEvent.objects.filter(event_type="rule_fired").count() == 3


def test_conversion_releases_the_slot_and_serves_a_waiting_lead():
    agent = licensed_agent(max_concurrent_work=1)
    first, second = new_lead(), new_lead(external_id="L-2")
    lead_route(lead_id=first.pk)
    assert not lead_route(lead_id=second.pk).assigned
    lead_record_outcome(lead_id=first.pk, outcome="contacted")
    lead_record_outcome(lead_id=first.pk, outcome="converted")
    history = LeadRoutingHistory.objects.get(lead=first)
    assert history.conversion_outcome == "converted" and history.released_at is not None
    second.refresh_from_db()
    assert second.status == "assigned" and second.agent_id == agent.pk
    assert AgentAvailability.objects.get(pk=agent.pk).current_load == 1


def test_sla_breach_moves_the_lead_to_the_reassignment_queue_in_the_sweep():
    from routing.services import queue_sweep

    lead = new_lead()
    lead_route(lead_id=lead.pk)
    report = queue_sweep(now=timezone.now() + dt.timedelta(minutes=6))
    assert report.leads_escalated == 1
    entries = AssignmentQueue.objects.filter(lead=lead)
    assert {(e.queue_type, e.status) for e in entries} == {("hot", "escalated"), ("reassignment", "waiting")}
    assert RoutingEvent.objects.filter(lead=lead, event_type="sla_breached").exists()
    # a second sweep does not escalate it again
    assert queue_sweep(now=timezone.now() + dt.timedelta(minutes=7)).leads_escalated == 0
