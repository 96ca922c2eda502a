"""Writes of workflows and their executions.

An execution follows the steps frozen into it when it started (`WorkflowExecution.definition`): step k's
task is created when step k-1's task completes (agents.automation.services.tasks calls
`execution_step_completed` under the locks it holds), and the run ends completed after the last step, or
failed, with the step's error, when a step's task fails. The unique (execution, step_order) constraint
makes a step's task exist at most once, whatever races.

Lock order, shared with the task services: execution, then agent, then task. Executions and workflows are
pointed at by other rows' foreign keys, so they are locked FOR NO KEY UPDATE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from agents.automation.definitions import WorkflowStep, definition_errors, definition_steps
from agents.automation.errors import (
    ExecutionNotFound,
    ExecutionNotRunning,
    InvalidWorkflowDefinition,
    WorkflowNotActive,
    WorkflowNotFound,
)
from agents.automation.services.agents import automated_agents_locked, automated_agents_release_if_free
from agents.models import (
    OPEN_TASK_STATUSES,
    AgentTask,
    AutomatedAgent,
    ExecutionStatus,
    TaskStatus,
    Workflow,
    WorkflowExecution,
    WorkflowStatus,
)

WORKFLOW_EDITABLE_FIELDS = ("name", "description", "definition", "status", "tags")


def workflow_definition_validate(definition: Any) -> None:
    """Raise InvalidWorkflowDefinition (400, every problem under `definition`) unless it fits the schema."""
    errors = definition_errors(definition)
    if errors:
        raise InvalidWorkflowDefinition(fields={"definition": errors})


@transaction.atomic
def workflow_create(
    *,
    name: str,
    definition: dict[str, Any],
    description: str | None = None,
    status: str = WorkflowStatus.DRAFT,
    tags: Sequence[str] = (),
    created_by: AutomatedAgent | None = None,
) -> Workflow:
    workflow_definition_validate(definition)
    now = timezone.now()
    return Workflow.objects.create(
        name=name,
        description=description,
        definition=definition,
        status=status,
        tags=list(tags),
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )


def _workflow_locked(workflow_id: Any) -> Workflow:
    try:
        return Workflow.objects.select_for_update(no_key=True, of=("self",)).get(pk=workflow_id)
    except Workflow.DoesNotExist:
        raise WorkflowNotFound(workflow_id=workflow_id) from None


@transaction.atomic
def workflow_update(*, workflow_id: Any, **changes: Any) -> Workflow:
    """Change a workflow; a changed definition is validated and makes a new version. Running executions
    keep the steps they started with."""
    unknown = set(changes) - set(WORKFLOW_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    workflow = _workflow_locked(workflow_id)
    fields = list(changes)
    if "definition" in changes and changes["definition"] != workflow.definition:
        workflow_definition_validate(changes["definition"])
        workflow.version += 1
        fields.append("version")
    if "tags" in changes:
        changes["tags"] = list(changes["tags"])
    for field, value in changes.items():
        setattr(workflow, field, value)
    workflow.updated_at = timezone.now()
    workflow.save(update_fields=[*fields, "updated_at"])
    return workflow


def _step_task_create(execution: WorkflowExecution, index: int, now: dt.datetime) -> AgentTask:
    step: WorkflowStep = definition_steps(execution.definition)[index]
    return AgentTask.objects.create(
        title=step.title,
        description=step.description,
        priority=step.priority,
        workflow_id=execution.workflow_id,
        execution=execution,
        step_order=index,
        required_capabilities=list(step.capabilities),
        context_data={**execution.context_data, **step.context},
        deadline=now + dt.timedelta(minutes=step.deadline_minutes) if step.deadline_minutes else None,
        created_at=now,
        updated_at=now,
    )


@transaction.atomic
def workflow_execution_start(
    *, workflow_id: Any, started_by: AutomatedAgent | None = None, context_data: dict[str, Any] | None = None
) -> WorkflowExecution:
    """Start a run of an active workflow: the execution, and the task of its first step."""
    workflow = _workflow_locked(workflow_id)
    if workflow.status != WorkflowStatus.ACTIVE:
        raise WorkflowNotActive(workflow_id=workflow.pk, status=workflow.status)
    now = timezone.now()
    execution = WorkflowExecution.objects.create(
        workflow=workflow,
        workflow_version=workflow.version,
        definition=workflow.definition,
        context_data=context_data or {},
        started_by=started_by,
        started_at=now,
    )
    _step_task_create(execution, 0, now)
    return execution


def execution_locked(*, execution_id: Any) -> WorkflowExecution:
    try:
        return WorkflowExecution.objects.select_for_update(no_key=True, of=("self",)).get(pk=execution_id)
    except WorkflowExecution.DoesNotExist:
        raise ExecutionNotFound(execution_id=execution_id) from None


def execution_step_completed(*, execution: WorkflowExecution, task: AgentTask, now: dt.datetime) -> None:
    """The task of the execution's current step completed (caller holds the execution's and task's
    locks): keep its result under the step's name and start the next step, or finish the run."""
    steps = definition_steps(execution.definition)
    step = steps[task.step_order]
    execution.result_data = {**execution.result_data, step.name: task.result_data}
    if task.step_order + 1 < len(steps):
        execution.current_step = task.step_order + 1
        _step_task_create(execution, execution.current_step, now)
    else:
        execution.status = ExecutionStatus.COMPLETED
        execution.completed_at = now
    execution.save(update_fields=["result_data", "current_step", "status", "completed_at"])


def execution_step_failed(*, execution: WorkflowExecution, task: AgentTask, now: dt.datetime) -> None:
    """The task of a step failed: the run fails with the step's error (caller holds the locks)."""
    step = definition_steps(execution.definition)[task.step_order]
    execution.status = ExecutionStatus.FAILED
    execution.completed_at = now
    execution.error_message = (
        f"Step {task.step_order + 1} ({step.name}) failed: {task.error_message or 'no reason given'}"
    )
    execution.save(update_fields=["status", "completed_at", "error_message"])


@transaction.atomic
def workflow_execution_cancel(*, execution_id: Any) -> WorkflowExecution:
    """Cancel a running execution and its open step task."""
    execution = execution_locked(execution_id=execution_id)
    if execution.status != ExecutionStatus.RUNNING:
        raise ExecutionNotRunning(execution_id=execution.pk, status=execution.status)
    now = timezone.now()
    open_tasks = AgentTask.objects.filter(execution=execution, status__in=OPEN_TASK_STATUSES)
    agent_ids = sorted(
        set(open_tasks.exclude(assigned_agent=None).values_list("assigned_agent_id", flat=True))
    )
    automated_agents_locked(agent_ids=agent_ids)  # agents before tasks: the lock order
    open_tasks.update(status=TaskStatus.CANCELLED, completed_at=now, updated_at=now)
    automated_agents_release_if_free(agent_ids=agent_ids, now=now)
    execution.status = ExecutionStatus.CANCELLED
    execution.completed_at = now
    execution.save(update_fields=["status", "completed_at"])
    return execution


@transaction.atomic
def workflows_set_status(*, workflow_ids: Sequence[Any], status: str) -> int:
    """Activate, pause or retire several workflows at once (the admin's actions); returns how many."""
    locked = list(
        Workflow.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk__in=list(workflow_ids))
        .order_by("pk")
    )
    return Workflow.objects.filter(pk__in=[workflow.pk for workflow in locked]).update(
        status=status, updated_at=timezone.now()
    )
