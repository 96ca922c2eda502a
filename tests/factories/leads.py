"""Factories of the lead routing models."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import factory
from django.utils import timezone

from agents.models import HumanAgent
from routing.models import (
    AssignmentQueue,
    Lead,
    LeadExperimentAssignment,
    LeadRoutingHistory,
    RoutingExperiment,
    RoutingExperimentVariant,
    RoutingRule,
)
from tests.factories.agents import AgentSpecializationFactory
from tests.routing.floor import on_shift_agent


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    external_id = factory.Sequence(lambda n: f"L-{n:06d}")
    name = factory.Faker("name")
    phone = "+15551230000"
    email = factory.LazyAttribute(lambda o: f"{o.external_id.lower()}@example.com")
    insurance_line = "auto"
    customer_segment = "smb"
    language = "en"
    territory = "US-CA"
    source = "web_form"


class LeadRoutingHistoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadRoutingHistory

    lead = factory.SubFactory(LeadFactory)
    assigned_agent = factory.SubFactory("tests.factories.agents.HumanAgentFactory")
    strategy = "lead_fit"


class AssignmentQueueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AssignmentQueue

    lead = factory.SubFactory(LeadFactory, status="queued")
    queue_type = "active"
    lead_score = Decimal("50")
    queued_at = factory.LazyFunction(timezone.now)
    sla_expiry = factory.LazyAttribute(lambda o: o.queued_at + dt.timedelta(minutes=30))


class RoutingRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingRule

    name = factory.Sequence(lambda n: f"rule {n}")
    rule_type = "assign_to_queue"
    condition = factory.LazyFunction(lambda: {"field": "tier", "op": "eq", "value": "hot"})
    action = factory.LazyFunction(lambda: {"queue_type": "hot"})
    priority = 100


class RoutingExperimentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingExperiment

    name = factory.Sequence(lambda n: f"experiment {n}")


class RoutingExperimentVariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingExperimentVariant

    experiment = factory.SubFactory(RoutingExperimentFactory)
    name = factory.Sequence(lambda n: f"variant {n}")
    strategy = "lead_fit"
    allocation = Decimal("50")


class LeadExperimentAssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LeadExperimentAssignment

    lead = factory.SubFactory(LeadFactory)
    variant = factory.SubFactory(RoutingExperimentVariantFactory)
    experiment = factory.LazyAttribute(lambda o: o.variant.experiment)
    bucket = 0.5


def licensed_agent(
    *,
    line: str = "auto",
    segment: str | None = "smb",
    proficiency: int = 4,
    territories: tuple[str, ...] = ("US-CA",),
    languages: tuple[str, ...] = ("en",),
    **kwargs: Any,
) -> HumanAgent:
    """An agent on shift around the clock (English) with a specialization for the line and segment."""
    kwargs.setdefault("department", "Sales")
    agent = on_shift_agent(skills=(), **kwargs)
    AgentSpecializationFactory(
        agent=agent,
        specialization=f"{line}-{segment or 'all'}",
        insurance_line=line,
        customer_segment=segment,
        proficiency=proficiency,
        languages=list(languages),
        territories=list(territories),
    )
    return agent
