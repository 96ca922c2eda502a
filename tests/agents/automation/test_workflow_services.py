"""Workflows and executions: validated definitions, versions, step-by-step advance, failure, cancel."""

from __future__ import annotations

import datetime as dt

import pytest

from agents.automation.errors import ExecutionNotRunning, InvalidWorkflowDefinition, WorkflowNotActive
from agents.automation.services import (
    task_assign,
    task_complete,
    task_fail,
    task_start,
    workflow_create,
    workflow_execution_cancel,
    workflow_execution_start,
    workflow_update,
)
from agents.models import AgentTask, AutomatedAgentStatus, ExecutionStatus, TaskStatus
from tests.factories.automation import AutomatedAgentFactory, WorkflowFactory, two_step_definition

pytestmark = pytest.mark.django_db


def _work(task: AgentTask, agent_id) -> None:
    task_assign(task_id=task.pk, agent_id=agent_id)
    task_start(task_id=task.pk)


def test_an_invalid_definition_is_refused_listing_every_problem():
    with pytest.raises(InvalidWorkflowDefinition) as refused:
        workflow_create(name="W", definition={"steps": [{"name": "a"}, {"title": "b"}]})

    assert refused.value.fields == {"definition": ["steps[0].title: required.", "steps[1].name: required."]}


def test_a_changed_definition_is_a_new_version_and_the_same_one_is_not():
    workflow = workflow_create(name="W", definition=two_step_definition())

    assert workflow_update(workflow_id=workflow.pk, definition=two_step_definition()).version == 1
    assert (
        workflow_update(workflow_id=workflow.pk, definition={"steps": [{"name": "x", "title": "X"}]}).version
        == 2
    )
    assert workflow.history.count() == 3


def test_only_an_active_workflow_starts():
    workflow = WorkflowFactory(status="draft")

    with pytest.raises(WorkflowNotActive, match="draft"):
        workflow_execution_start(workflow_id=workflow.pk)


def test_an_execution_advances_step_by_step_creating_each_steps_task_and_completes():
    # given
    agent = AutomatedAgentFactory(capabilities=["web_search", "writing"])
    definition = two_step_definition(first=["web_search"], second=["writing"])
    definition["steps"][1]["deadline_minutes"] = 30
    definition["steps"][1]["context"] = {"tone": "warm"}
    workflow = WorkflowFactory(definition=definition)
    starter = AutomatedAgentFactory(agent_type="chief_of_staff")

    # when: started, the first step's task exists and nothing else
    execution = workflow_execution_start(
        workflow_id=workflow.pk, started_by=starter, context_data={"account": "ACME"}
    )
    first = AgentTask.objects.get(execution=execution)
    assert (first.step_order, first.title, first.required_capabilities) == (
        0,
        "Research the account",
        ["web_search"],
    )
    assert first.context_data == {"account": "ACME"}
    assert first.workflow_id == workflow.pk

    # when: the first step's task completes, the second's is created
    _work(first, agent.pk)
    task_complete(task_id=first.pk, result_data={"found": 3})
    execution.refresh_from_db()
    second = AgentTask.objects.get(execution=execution, step_order=1)
    assert (execution.status, execution.current_step) == (ExecutionStatus.RUNNING, 1)
    assert (second.priority, second.context_data) == ("high", {"account": "ACME", "tone": "warm"})
    assert second.deadline is not None and second.deadline - second.created_at == dt.timedelta(minutes=30)

    # when: the last step completes, the run is complete with every step's result
    _work(second, agent.pk)
    task_complete(task_id=second.pk, result_data={"draft": "Hello"})
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.COMPLETED
    assert execution.completed_at is not None
    assert execution.result_data == {"research": {"found": 3}, "draft": {"draft": "Hello"}}
    assert AgentTask.objects.filter(execution=execution).count() == 2


def test_a_failed_step_fails_the_execution_with_the_error_and_creates_no_further_step():
    agent = AutomatedAgentFactory()
    execution = workflow_execution_start(workflow_id=WorkflowFactory().pk)
    first = AgentTask.objects.get(execution=execution)
    _work(first, agent.pk)

    task_fail(task_id=first.pk, error="search API down")

    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.FAILED
    assert execution.error_message == "Step 1 (research) failed: search API down"
    assert AgentTask.objects.filter(execution=execution).count() == 1


def test_a_running_execution_keeps_its_steps_when_the_workflow_changes():
    workflow = WorkflowFactory()
    execution = workflow_execution_start(workflow_id=workflow.pk)
    workflow_update(workflow_id=workflow.pk, definition={"steps": [{"name": "only", "title": "Only"}]})
    first = AgentTask.objects.get(execution=execution)
    _work(first, AutomatedAgentFactory().pk)

    task_complete(task_id=first.pk)

    assert AgentTask.objects.get(execution=execution, step_order=1).title == "Draft the reply"
    execution.refresh_from_db()
    assert execution.workflow_version == 1


def test_cancel_cancels_the_open_step_task_and_frees_its_agent():
    agent = AutomatedAgentFactory()
    execution = workflow_execution_start(workflow_id=WorkflowFactory().pk)
    task = AgentTask.objects.get(execution=execution)
    _work(task, agent.pk)

    workflow_execution_cancel(execution_id=execution.pk)

    execution.refresh_from_db()
    task.refresh_from_db()
    agent.refresh_from_db()
    assert (execution.status, task.status, agent.status) == (
        ExecutionStatus.CANCELLED,
        TaskStatus.CANCELLED,
        AutomatedAgentStatus.IDLE,
    )
    with pytest.raises(ExecutionNotRunning):
        workflow_execution_cancel(execution_id=execution.pk)
