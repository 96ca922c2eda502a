"""Writes of tasks: create, assign, start, complete, fail, cancel.

Assignment is atomic: the agent's row is locked (FOR NO KEY UPDATE) and checked (idle or active, holding
every capability the task asks), then the task's row is locked and taken only if it is still pending and
unassigned, so two assigners racing for one task give it to one agent and the other gets 409
`task_already_assigned`. Picking an agent (no agent named) walks the eligible agents with SKIP LOCKED, so
concurrent assigners pick different agents instead of queueing on one (only when every eligible agent is
held does it wait for the best one): fewest open tasks first, then the highest mean confidence in the
asked capabilities, then the freshest heartbeat. The order is read when the agent is locked, so under
contention an assigner may take the second best.

Lock order (shared with agents.automation.services.workflows): execution, then agent, then task. An
assignment makes an idle agent active; an agent left without open tasks by a completion, failure or
cancellation goes back from active to idle. A finished step's task advances its execution in the same
transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Avg, Count, Exists, F, FloatField, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.automation.errors import (
    AgentLacksCapabilities,
    AgentNotAssignable,
    NoAgentAvailable,
    TaskAlreadyAssigned,
    TaskNotAssigned,
    TaskNotFound,
    TaskTransitionInvalid,
)
from agents.automation.services.agents import automated_agent_locked, automated_agents_release_if_free
from agents.automation.services.workflows import (
    execution_locked,
    execution_step_completed,
    execution_step_failed,
)
from agents.models import (
    ASSIGNABLE_AGENT_STATUSES,
    OPEN_TASK_STATUSES,
    AgentCapability,
    AgentTask,
    AutomatedAgent,
    AutomatedAgentStatus,
    ExecutionStatus,
    TaskPriority,
    TaskStatus,
    WorkflowExecution,
)
from config.errors import DomainError


@transaction.atomic
def task_create(
    *,
    title: str,
    description: str | None = None,
    priority: str = TaskPriority.MEDIUM,
    required_capabilities: Sequence[str] = (),
    context_data: dict[str, Any] | None = None,
    deadline: dt.datetime | None = None,
) -> AgentTask:
    """A stand-alone task (a workflow's step tasks are created by its execution)."""
    now = timezone.now()
    return AgentTask.objects.create(
        title=title,
        description=description,
        priority=priority,
        required_capabilities=list(dict.fromkeys(required_capabilities)),
        context_data=context_data or {},
        deadline=deadline,
        created_at=now,
        updated_at=now,
    )


def _task(task_id: Any) -> AgentTask:
    try:
        return AgentTask.objects.get(pk=task_id)
    except AgentTask.DoesNotExist:
        raise TaskNotFound(task_id=task_id) from None


def _task_locked(task_id: Any) -> AgentTask:
    try:
        return AgentTask.objects.select_for_update(of=("self",)).get(pk=task_id)
    except AgentTask.DoesNotExist:
        raise TaskNotFound(task_id=task_id) from None


def agents_eligible_for(required_capabilities: Sequence[str]) -> QuerySet[AutomatedAgent]:
    """Agents a task asking these capabilities may go to, best first (see the module docstring).

    Annotated with `open_tasks` and `capability_confidence`; every filter and ordering is a subquery, so
    the queryset can be locked row by row (FOR UPDATE allows no GROUP BY).
    """
    agents = AutomatedAgent.objects.filter(status__in=ASSIGNABLE_AGENT_STATUSES)
    for name in dict.fromkeys(required_capabilities):
        agents = agents.filter(
            Exists(AgentCapability.objects.filter(agent=OuterRef("pk"), capability_name=name))
        )
    open_tasks = (
        AgentTask.objects.filter(assigned_agent=OuterRef("pk"), status__in=OPEN_TASK_STATUSES)
        .order_by()
        .values("assigned_agent")
        .annotate(count=Count("pk"))
        .values("count")
    )
    confidence = (
        AgentCapability.objects.filter(agent=OuterRef("pk"), capability_name__in=list(required_capabilities))
        .order_by()
        .values("agent")
        .annotate(mean=Avg("confidence_score"))
        .values("mean")
    )
    return agents.annotate(
        open_tasks=Coalesce(Subquery(open_tasks), Value(0)),
        capability_confidence=Coalesce(
            Subquery(confidence, output_field=FloatField()), Value(0.0), output_field=FloatField()
        ),
    ).order_by(
        "open_tasks", F("capability_confidence").desc(), F("last_heartbeat").desc(nulls_last=True), "pk"
    )


def _missing_capabilities(agent: AutomatedAgent, required: Sequence[str]) -> list[str]:
    held = set(
        AgentCapability.objects.filter(agent=agent, capability_name__in=list(required)).values_list(
            "capability_name", flat=True
        )
    )
    return [name for name in required if name not in held]


def _require_unassigned_pending(task: AgentTask) -> None:
    if task.assigned_agent_id is not None and task.status in OPEN_TASK_STATUSES:
        raise TaskAlreadyAssigned(task_id=task.pk, agent_id=task.assigned_agent_id)
    if task.status != TaskStatus.PENDING:
        raise TaskTransitionInvalid(task_id=task.pk, status=task.status, action="assigned")


@transaction.atomic
def task_assign(*, task_id: Any, agent_id: Any = None) -> AgentTask:
    """Give a pending, unassigned task to `agent_id`, or to the best eligible agent when none is named."""
    snapshot = _task(task_id)
    _require_unassigned_pending(snapshot)  # fail fast, before locking any agent
    required = list(snapshot.required_capabilities)
    if agent_id is None:
        eligible = agents_eligible_for(required)
        # Skip agents other assigners hold, so racing assigners spread out; if every eligible agent is
        # held right now, wait for the best one rather than answer that nobody can take the task.
        agent = eligible.select_for_update(skip_locked=True, no_key=True, of=("self",)).first()
        if agent is None:
            agent = eligible.select_for_update(no_key=True, of=("self",)).first()
        if agent is None:
            raise NoAgentAvailable(capabilities=", ".join(required) or "none")
    else:
        agent = automated_agent_locked(agent_id=agent_id)
        if agent.status not in ASSIGNABLE_AGENT_STATUSES:
            raise AgentNotAssignable(
                agent_id=agent.pk, status=agent.status, fields={"agent": [f"The agent is {agent.status}."]}
            )
        missing = _missing_capabilities(agent, required)
        if missing:
            raise AgentLacksCapabilities(
                agent_id=agent.pk,
                missing=", ".join(missing),
                fields={"agent": [f"Lacks {', '.join(missing)}."]},
            )
    task = _task_locked(task_id)
    _require_unassigned_pending(task)  # another assigner may have won since the snapshot
    if list(task.required_capabilities) != required and _missing_capabilities(
        agent, task.required_capabilities
    ):
        raise AgentLacksCapabilities(agent_id=agent.pk, missing=", ".join(task.required_capabilities))
    now = timezone.now()
    task.assigned_agent = agent
    task.updated_at = now
    task.save(update_fields=["assigned_agent", "updated_at"])
    if agent.status == AutomatedAgentStatus.IDLE:
        agent.status = AutomatedAgentStatus.ACTIVE
        agent.updated_at = now
        agent.save(update_fields=["status", "updated_at"])
    AgentCapability.objects.filter(agent=agent, capability_name__in=list(task.required_capabilities)).update(
        usage_count=F("usage_count") + 1, last_used=now
    )
    return task


@transaction.atomic
def task_start(*, task_id: Any) -> AgentTask:
    """The assigned agent starts the task: pending -> in_progress."""
    task = _task_locked(task_id)
    if task.status != TaskStatus.PENDING:
        raise TaskTransitionInvalid(task_id=task.pk, status=task.status, action="started")
    if task.assigned_agent_id is None:
        raise TaskNotAssigned(task_id=task.pk)
    now = timezone.now()
    task.status = TaskStatus.IN_PROGRESS
    task.started_at = now
    task.updated_at = now
    task.save(update_fields=["status", "started_at", "updated_at"])
    return task


def _finish_locked(task_id: Any) -> tuple[AgentTask, WorkflowExecution | None]:
    """Lock what finishing a task touches, in the lock order: its execution, its agent, the task."""
    snapshot = _task(task_id)
    execution = execution_locked(execution_id=snapshot.execution_id) if snapshot.execution_id else None
    if snapshot.assigned_agent_id is not None:
        automated_agent_locked(agent_id=snapshot.assigned_agent_id)
    task = _task_locked(task_id)
    if task.assigned_agent_id != snapshot.assigned_agent_id and task.assigned_agent_id is not None:
        # Assigned between the two reads: its agent is not locked, so do not touch it; the caller retries.
        raise TaskTransitionInvalid(
            task_id=task.pk, status=task.status, action="finished while being assigned"
        )
    return task, execution


@transaction.atomic
def task_complete(*, task_id: Any, result_data: dict[str, Any] | None = None) -> AgentTask:
    """in_progress -> completed with its result; a step's task advances its execution."""
    task, execution = _finish_locked(task_id)
    if task.status != TaskStatus.IN_PROGRESS:
        raise TaskTransitionInvalid(task_id=task.pk, status=task.status, action="completed")
    now = timezone.now()
    task.status = TaskStatus.COMPLETED
    task.result_data = result_data or {}
    task.completed_at = now
    task.updated_at = now
    task.save(update_fields=["status", "result_data", "completed_at", "updated_at"])
    if task.assigned_agent_id is not None:
        automated_agents_release_if_free(agent_ids=[task.assigned_agent_id], now=now)
    if execution is not None and execution.status == ExecutionStatus.RUNNING:
        execution_step_completed(execution=execution, task=task, now=now)
    return task


@transaction.atomic
def task_fail(*, task_id: Any, error: str, result_data: dict[str, Any] | None = None) -> AgentTask:
    """A pending or in-progress task failed; a step's task fails its execution with the error."""
    task, execution = _finish_locked(task_id)
    if task.status not in OPEN_TASK_STATUSES:
        raise TaskTransitionInvalid(task_id=task.pk, status=task.status, action="failed")
    now = timezone.now()
    task.status = TaskStatus.FAILED
    task.error_message = error
    task.result_data = result_data or {}
    task.completed_at = now
    task.updated_at = now
    task.save(update_fields=["status", "error_message", "result_data", "completed_at", "updated_at"])
    if task.assigned_agent_id is not None:
        automated_agents_release_if_free(agent_ids=[task.assigned_agent_id], now=now)
    if execution is not None and execution.status == ExecutionStatus.RUNNING:
        execution_step_failed(execution=execution, task=task, now=now)
    return task


@transaction.atomic
def task_cancel(*, task_id: Any) -> AgentTask:
    """A pending or in-progress task is cancelled; a step's task cancels its execution too."""
    task, execution = _finish_locked(task_id)
    if task.status not in OPEN_TASK_STATUSES:
        raise TaskTransitionInvalid(task_id=task.pk, status=task.status, action="cancelled")
    now = timezone.now()
    task.status = TaskStatus.CANCELLED
    task.completed_at = now
    task.updated_at = now
    task.save(update_fields=["status", "completed_at", "updated_at"])
    if task.assigned_agent_id is not None:
        automated_agents_release_if_free(agent_ids=[task.assigned_agent_id], now=now)
    if execution is not None and execution.status == ExecutionStatus.RUNNING:
        execution.status = ExecutionStatus.CANCELLED
        execution.completed_at = now
        execution.save(update_fields=["status", "completed_at"])
    return task


@dataclass
class BulkOutcome:
    """What a bulk action did: the ids it changed and, per id it could not, the reason."""

    done: list[Any] = field(default_factory=list)
    refused: dict[Any, str] = field(default_factory=dict)


def tasks_assign(*, task_ids: Sequence[Any]) -> BulkOutcome:
    """Assign each task to its best eligible agent, one transaction per task (each is atomic on its
    own; one task nobody can take does not hold back the others)."""
    outcome = BulkOutcome()
    for task_id in task_ids:
        try:
            task_assign(task_id=task_id)
        except DomainError as error:
            outcome.refused[task_id] = error.detail
        else:
            outcome.done.append(task_id)
    return outcome


def tasks_cancel(*, task_ids: Sequence[Any]) -> BulkOutcome:
    """Cancel each open task, one transaction per task (a step's task cancels its execution)."""
    outcome = BulkOutcome()
    for task_id in task_ids:
        try:
            task_cancel(task_id=task_id)
        except DomainError as error:
            outcome.refused[task_id] = error.detail
        else:
            outcome.done.append(task_id)
    return outcome
