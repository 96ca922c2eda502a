"""The seed's CHECKs and uniqueness held by the database itself, whatever door the data comes through."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction

from agents.models import AgentCapability, AgentMessage, AgentTask, AutomatedAgent, Workflow
from tests.factories.automation import (
    AgentMessageFactory,
    AgentTaskFactory,
    AutomatedAgentFactory,
    WorkflowFactory,
)

pytestmark = pytest.mark.django_db


def _rejected(queryset, **changes) -> bool:
    try:
        with transaction.atomic():
            queryset.update(**changes)
    except IntegrityError:
        return True
    return False


@pytest.mark.parametrize(
    "changes",
    [
        {"agent_type": "robot"},
        {"status": "sleeping"},
        {"name": ""},
        {"capabilities": {"not": "a list"}},
        {"performance_metrics": []},
    ],
)
def test_agent_checks(changes):
    agent = AutomatedAgentFactory()
    assert _rejected(AutomatedAgent.objects.filter(pk=agent.pk), **changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "done"},
        {"priority": "critical"},
        {"title": ""},
        {"required_capabilities": "crm"},
        {"context_data": []},
        {"result_data": [1]},
    ],
)
def test_task_checks(changes):
    task = AgentTaskFactory()
    assert _rejected(AgentTask.objects.filter(pk=task.pk), **changes)


@pytest.mark.parametrize("changes", [{"status": "live"}, {"version": 0}, {"definition": []}, {"tags": "x"}])
def test_workflow_checks(changes):
    workflow = WorkflowFactory()
    assert _rejected(Workflow.objects.filter(pk=workflow.pk), **changes)


@pytest.mark.parametrize(
    "changes",
    [
        {"status": "read"},
        {"priority": "critical"},
        {"retry_count": 4, "max_retries": 3},
        {"status": "delivered", "delivered_at": None},
        {"payload": []},
    ],
)
def test_message_checks(changes):
    message = AgentMessageFactory()
    assert _rejected(AgentMessage.objects.filter(pk=message.pk), **changes)


def test_a_capability_is_unique_per_agent_and_its_confidence_within_0_and_1():
    agent = AutomatedAgentFactory(capabilities=["crm"])
    with pytest.raises(IntegrityError), transaction.atomic():
        AgentCapability.objects.create(agent=agent, capability_name="crm")
    assert _rejected(AgentCapability.objects.filter(agent=agent), confidence_score=1.5)


def test_a_raw_insert_gets_the_seeds_column_defaults():
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AutomatedAgent._meta.db_table} (name, agent_type) VALUES ('Raw', 'chief_of_staff')"
        )
    agent = AutomatedAgent.objects.get(name="Raw")

    assert (
        agent.status,
        agent.capabilities,
        agent.performance_metrics,
        agent.model_provider,
        agent.model_name,
    ) == (
        "idle",
        [],
        {},
        "openrouter",
        "auto",
    )
    assert agent.id is not None and agent.created_at is not None


@pytest.mark.postgres
def test_on_postgres_a_delete_outside_django_follows_the_seeds_rules():
    agent = AutomatedAgentFactory(capabilities=["crm"])
    task = AgentTaskFactory(assigned_agent=agent)
    AgentMessageFactory(sender=agent)

    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {AutomatedAgent._meta.db_table} WHERE id = %s", [agent.pk])

    task.refresh_from_db()
    assert task.assigned_agent_id is None  # SET NULL
    assert not AgentCapability.objects.filter(agent_id=agent.pk).exists()  # CASCADE
    assert not AgentMessage.objects.filter(sender_id=agent.pk).exists()
