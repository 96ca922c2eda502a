"""Factories for the automated agents' models. Capabilities go through the service that keeps the agent's
JSON list and its rows in step (`capabilities=[...]` on AutomatedAgentFactory)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from agents.automation.services import CapabilitySpec, automated_agent_set_capabilities
from agents.models import (
    AgentMessage,
    AgentPerformanceSample,
    AgentTask,
    AutomatedAgent,
    AutomatedAgentStatus,
    AutomatedAgentType,
    MessageStatus,
    TaskPriority,
    TaskStatus,
    Workflow,
    WorkflowStatus,
)


def two_step_definition(*, first: list[str] | None = None, second: list[str] | None = None) -> dict:
    return {
        "steps": [
            {"name": "research", "title": "Research the account", "capabilities": first or []},
            {"name": "draft", "title": "Draft the reply", "capabilities": second or [], "priority": "high"},
        ]
    }


class AutomatedAgentFactory(factory.django.DjangoModelFactory):
    """An idle agent; `capabilities=["a", ("b", "0.9")]` gives it capability rows (confidence 0.5 unless
    given) through automated_agent_set_capabilities."""

    class Meta:
        model = AutomatedAgent
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Operator {n:04d}")
    agent_type = AutomatedAgentType.MASTER_OPERATOR
    status = AutomatedAgentStatus.IDLE
    system_prompt = "You operate the floor."
    last_heartbeat = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def capabilities(agent: AutomatedAgent, create: bool, extracted: list | None, **kwargs) -> None:
        if not create or not extracted:
            return
        specs = [
            CapabilitySpec(item, None) if isinstance(item, str) else CapabilitySpec(item[0], Decimal(item[1]))
            for item in extracted
        ]
        automated_agent_set_capabilities(agent_id=agent.pk, capabilities=specs)
        agent.refresh_from_db()


class AgentTaskFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentTask

    title = factory.Sequence(lambda n: f"Task {n:04d}")
    description = "Follow up with the customer."
    status = TaskStatus.PENDING
    priority = TaskPriority.MEDIUM


class WorkflowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workflow

    name = factory.Sequence(lambda n: f"Workflow {n:04d}")
    description = "Two steps."
    definition = factory.LazyFunction(two_step_definition)
    status = WorkflowStatus.ACTIVE


class AgentMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentMessage

    sender = factory.SubFactory(AutomatedAgentFactory)
    recipient = factory.SubFactory(AutomatedAgentFactory)
    sender_type = factory.LazyAttribute(lambda o: o.sender.agent_type)
    recipient_type = factory.LazyAttribute(lambda o: o.recipient.agent_type)
    message_type = "status_update"
    subject = factory.Sequence(lambda n: f"Update {n}")
    status = MessageStatus.SENT


class AgentPerformanceSampleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentPerformanceSample

    agent = factory.SubFactory(AutomatedAgentFactory)
    metric_name = "latency_ms"
    metric_value = Decimal("120.5000")
    metric_unit = "ms"
    recorded_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(minutes=1))
