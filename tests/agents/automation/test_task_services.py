"""Tasks: assignment (explicit and best agent), start, complete, fail, cancel; agents' status follows."""

from __future__ import annotations

import pytest

from agents.automation.errors import (
    AgentLacksCapabilities,
    AgentNotAssignable,
    NoAgentAvailable,
    TaskAlreadyAssigned,
    TaskNotAssigned,
    TaskTransitionInvalid,
)
from agents.automation.services import (
    task_assign,
    task_cancel,
    task_complete,
    task_create,
    task_fail,
    task_start,
    tasks_assign,
)
from agents.models import AgentCapability, AutomatedAgentStatus, TaskStatus
from tests.factories.automation import AgentTaskFactory, AutomatedAgentFactory

pytestmark = pytest.mark.django_db


def test_task_create_is_pending_unassigned_and_deduplicates_capabilities():
    task = task_create(title="Call back", required_capabilities=["phone", "phone", "crm"])

    assert (task.status, task.assigned_agent_id, task.required_capabilities) == (
        "pending",
        None,
        ["phone", "crm"],
    )


def test_assigning_to_a_named_agent_with_the_capabilities_takes_the_task_and_makes_it_active():
    agent = AutomatedAgentFactory(capabilities=["crm", "phone"])
    task = task_create(title="Call back", required_capabilities=["phone"])

    task = task_assign(task_id=task.pk, agent_id=agent.pk)

    agent.refresh_from_db()
    assert task.assigned_agent_id == agent.pk
    assert agent.status == AutomatedAgentStatus.ACTIVE
    used = AgentCapability.objects.get(agent=agent, capability_name="phone")
    assert (used.usage_count, used.last_used is not None) == (1, True)
    assert AgentCapability.objects.get(agent=agent, capability_name="crm").usage_count == 0


@pytest.mark.parametrize("status", ["busy", "error", "offline"])
def test_an_agent_that_is_not_idle_or_active_is_refused(status):
    agent = AutomatedAgentFactory(status=status)
    task = task_create(title="T")

    with pytest.raises(AgentNotAssignable) as refused:
        task_assign(task_id=task.pk, agent_id=agent.pk)

    assert refused.value.fields == {"agent": [f"The agent is {status}."]}
    task.refresh_from_db()
    assert task.assigned_agent_id is None


def test_an_agent_lacking_a_capability_is_refused_naming_it():
    agent = AutomatedAgentFactory(capabilities=["crm"])
    task = task_create(title="T", required_capabilities=["crm", "phone"])

    with pytest.raises(AgentLacksCapabilities, match="phone"):
        task_assign(task_id=task.pk, agent_id=agent.pk)


def test_an_assigned_task_cannot_be_assigned_again_to_anyone():
    first, second = AutomatedAgentFactory(), AutomatedAgentFactory()
    task = task_create(title="T")
    task_assign(task_id=task.pk, agent_id=first.pk)

    with pytest.raises(TaskAlreadyAssigned):
        task_assign(task_id=task.pk, agent_id=second.pk)
    with pytest.raises(TaskAlreadyAssigned):
        task_assign(task_id=task.pk)


def test_the_best_agent_has_the_capabilities_then_fewest_open_tasks_then_highest_confidence():
    # given: one without the capability, one busy with a task, two free with different confidence
    AutomatedAgentFactory(capabilities=["crm"])
    loaded = AutomatedAgentFactory(capabilities=[("phone", "0.99")])
    task_assign(task_id=task_create(title="earlier").pk, agent_id=loaded.pk)
    AutomatedAgentFactory(capabilities=[("phone", "0.60")])
    confident = AutomatedAgentFactory(capabilities=[("phone", "0.90")])
    AutomatedAgentFactory(capabilities=[("phone", "1.00")], status="offline")

    task = task_assign(task_id=task_create(title="T", required_capabilities=["phone"]).pk)

    assert task.assigned_agent_id == confident.pk


def test_no_eligible_agent_is_409_no_agent_available():
    AutomatedAgentFactory(capabilities=["crm"])

    with pytest.raises(NoAgentAvailable, match="phone"):
        task_assign(task_id=task_create(title="T", required_capabilities=["phone"]).pk)


def test_start_needs_an_assigned_pending_task():
    task = task_create(title="T")
    with pytest.raises(TaskNotAssigned):
        task_start(task_id=task.pk)

    task_assign(task_id=task.pk, agent_id=AutomatedAgentFactory().pk)
    task = task_start(task_id=task.pk)
    assert (task.status, task.started_at is not None) == ("in_progress", True)
    with pytest.raises(TaskTransitionInvalid, match="in_progress; it cannot be started"):
        task_start(task_id=task.pk)


def test_completing_the_last_open_task_makes_the_agent_idle_again_and_keeps_the_result():
    agent = AutomatedAgentFactory()
    first, second = task_create(title="1"), task_create(title="2")
    for task in (first, second):
        task_assign(task_id=task.pk, agent_id=agent.pk)
        task_start(task_id=task.pk)

    task_complete(task_id=first.pk, result_data={"calls": 2})
    agent.refresh_from_db()
    assert agent.status == AutomatedAgentStatus.ACTIVE  # still holds the second
    done = task_complete(task_id=second.pk)
    agent.refresh_from_db()

    assert agent.status == AutomatedAgentStatus.IDLE
    first.refresh_from_db()
    assert (first.status, first.result_data, first.completed_at is not None) == (
        "completed",
        {"calls": 2},
        True,
    )
    assert done.status == TaskStatus.COMPLETED


def test_complete_needs_a_started_task():
    task = task_create(title="T")
    with pytest.raises(TaskTransitionInvalid, match="pending; it cannot be completed"):
        task_complete(task_id=task.pk)


def test_fail_records_the_error_and_a_finished_task_cannot_fail():
    task = task_create(title="T")
    task_assign(task_id=task.pk, agent_id=AutomatedAgentFactory().pk)

    failed = task_fail(task_id=task.pk, error="CRM timed out", result_data={"attempts": 3})

    assert (failed.status, failed.error_message, failed.result_data) == (
        "failed",
        "CRM timed out",
        {"attempts": 3},
    )
    with pytest.raises(TaskTransitionInvalid):
        task_fail(task_id=task.pk, error="again")
    with pytest.raises(TaskTransitionInvalid):
        task_cancel(task_id=task.pk)


def test_bulk_assign_assigns_what_it_can_and_names_why_not_for_the_rest():
    AutomatedAgentFactory(capabilities=["crm"])
    possible = task_create(title="ok", required_capabilities=["crm"])
    impossible = task_create(title="no", required_capabilities=["phone"])
    taken = AgentTaskFactory(assigned_agent=AutomatedAgentFactory())

    outcome = tasks_assign(task_ids=[possible.pk, impossible.pk, taken.pk])

    assert outcome.done == [possible.pk]
    assert set(outcome.refused) == {impossible.pk, taken.pk}
    assert "phone" in outcome.refused[impossible.pk]
