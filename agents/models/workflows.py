"""The automated agents' work: seed 003's `tasks`, `workflows` and `workflow_executions`.

Why here, in the agents app beside the automated agents, and not in routing: routing owns how support
cases reach *human* agents (a case, its one open assignment, the escalation queue, capacity held under
the AgentAvailability row lock). A task is work for an *automated* agent, matched on the agent's
capability rows and status, never queued or scored by the routing engine; workflows are authored and
started by automated agents (`created_by`, `started_by`) and advance by creating tasks. Every foreign key
of these tables points at AutomatedAgent or at each other, none at routing, so keeping them in the app of
the agents they serve keeps one app's migrations self-contained and lets the legacy importer (Phase 1
agents and tasks together) write one app. Routing never imports them.

Seed table -> model: tasks -> AgentTask, workflows -> Workflow, workflow_executions ->
WorkflowExecution. Every CHECK and index of the seed is declared here (idx_workflow_executions_workflow
is idx_executions_workflow: Django's 30-character limit). The two full-text GIN indexes
(`to_tsvector('english', title || ' ' || COALESCE(description, ''))` and the same over a workflow's name)
are created on PostgreSQL by migration 0010 and are the expression agents.automation.selectors searches
with, so the planner uses them; on SQLite that search falls back to matching every word (see there).

Additions to the seed, each for a behaviour the issue asks:
- AgentTask.execution (the run that created a step's task; the seed's workflow_id cannot tell two runs of
  one workflow apart), `required_capabilities` (what assignment matches against), `error_message` (why a
  task failed) and `legacy_id` (see agents.models.automated);
- WorkflowExecution.definition and workflow_version: the steps the run follows, frozen when it starts,
  so editing the workflow (a new version) never changes a run under way;
- Workflow.tags is a JSON list, not TEXT[]: one representation on both supported databases.
The seed's `created_by`/`started_by` had no ON DELETE, i.e. NO ACTION: PROTECT keeps that (an agent
who authored or started workflows is set offline, not deleted).
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils import timezone

from agents.models.automated import AutomatedAgent, IsJSONObject, RandomUUID
from agents.models.human import IsJSONArray
from config.history import HistoricalRecords

__all__ = [
    "TaskStatus",
    "TaskPriority",
    "OPEN_TASK_STATUSES",
    "AgentTask",
    "WorkflowStatus",
    "Workflow",
    "ExecutionStatus",
    "WorkflowExecution",
]


class TaskStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


OPEN_TASK_STATUSES = (TaskStatus.PENDING, TaskStatus.IN_PROGRESS)


class TaskPriority(models.TextChoices):
    """Lowest first; `TaskPriority.rank()` orders work."""

    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"

    @classmethod
    def rank(cls, value: str) -> int:
        return [choice.value for choice in cls].index(value) + 1


class WorkflowStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


class ExecutionStatus(models.TextChoices):
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class Workflow(models.Model):
    """Multi-step orchestration: `definition` holds the steps (agents.automation.definitions documents
    and validates their schema). A changed definition is a new `version`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False)
    name = models.CharField(max_length=255)
    description = models.TextField(null=True, blank=True)
    definition = models.JSONField(help_text="The steps; see the workflow step schema in the API docs.")
    status = models.CharField(
        max_length=50,
        choices=WorkflowStatus.choices,
        default=WorkflowStatus.DRAFT,
        db_default=WorkflowStatus.DRAFT.value,
    )
    version = models.PositiveIntegerField(default=1, db_default=1, editable=False)
    created_by = models.ForeignKey(
        AutomatedAgent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="workflows_created",
        db_column="created_by",
    )
    tags = models.JSONField(default=list, db_default=[], blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)
    updated_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)

    history = HistoricalRecords()  # definitions are edited: every version stays readable

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=WorkflowStatus.values), name="workflow_status_valid"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="workflow_version_positive"),
            models.CheckConstraint(
                condition=IsJSONObject("definition"), name="workflow_definition_is_object"
            ),
            models.CheckConstraint(condition=IsJSONArray("tags"), name="workflow_tags_is_array"),
            models.CheckConstraint(condition=~Q(name=""), name="workflow_name_not_blank"),
        ]
        indexes = [models.Index(fields=["status"], name="idx_workflows_status")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class WorkflowExecution(models.Model):
    """One run of a workflow: `current_step` is the index of the step whose task is open (or, once the
    run is over, of the step it ended on)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False)
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="executions", db_index=False
    )
    workflow_version = models.PositiveIntegerField(default=1)
    definition = models.JSONField(
        default=dict, db_default={}, editable=False, help_text="The steps as they were at the start."
    )
    status = models.CharField(
        max_length=50,
        choices=ExecutionStatus.choices,
        default=ExecutionStatus.RUNNING,
        db_default=ExecutionStatus.RUNNING.value,
    )
    current_step = models.PositiveIntegerField(default=0, db_default=0)
    context_data = models.JSONField(default=dict, db_default={}, blank=True)
    result_data = models.JSONField(default=dict, db_default={}, blank=True)
    started_by = models.ForeignKey(
        AutomatedAgent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="executions_started",
        db_column="started_by",
    )
    started_at = models.DateTimeField(default=timezone.now, db_default=Now())
    completed_at = models.DateTimeField(null=True, blank=True)
    error_message = models.TextField(blank=True, default="", db_default="")

    class Meta:
        ordering = ["-started_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ExecutionStatus.values), name="execution_status_valid"
            ),
            models.CheckConstraint(condition=Q(current_step__gte=0), name="execution_step_not_negative"),
            models.CheckConstraint(
                condition=IsJSONObject("context_data"), name="execution_context_is_object"
            ),
            models.CheckConstraint(condition=IsJSONObject("result_data"), name="execution_result_is_object"),
            models.CheckConstraint(
                condition=Q(status=ExecutionStatus.RUNNING, completed_at__isnull=True)
                | (~Q(status=ExecutionStatus.RUNNING) & Q(completed_at__isnull=False)),
                name="execution_completed_at_when_over",
            ),
            models.CheckConstraint(
                condition=~Q(status=ExecutionStatus.FAILED) | ~Q(error_message=""),
                name="execution_failure_has_error",
            ),
        ]
        indexes = [models.Index(fields=["workflow"], name="idx_executions_workflow")]

    def __str__(self) -> str:  # reads the workflow: select_related("workflow") where many are shown
        return f"{self.workflow.name} run of {self.started_at:%Y-%m-%d %H:%M}"


class AgentTask(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False)
    legacy_id = models.TextField(
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="The Phase 1 id this task was imported from (import_legacy_platform); empty otherwise.",
    )
    title = models.CharField(max_length=500)
    description = models.TextField(null=True, blank=True)
    status = models.CharField(
        max_length=50,
        choices=TaskStatus.choices,
        default=TaskStatus.PENDING,
        db_default=TaskStatus.PENDING.value,
    )
    priority = models.CharField(
        max_length=20,
        choices=TaskPriority.choices,
        default=TaskPriority.MEDIUM,
        db_default=TaskPriority.MEDIUM.value,
    )
    assigned_agent = models.ForeignKey(
        AutomatedAgent,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
        db_index=False,
    )
    workflow = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks", db_index=False
    )
    execution = models.ForeignKey(
        WorkflowExecution, on_delete=models.CASCADE, null=True, blank=True, related_name="tasks"
    )
    step_order = models.PositiveIntegerField(default=0, db_default=0)
    required_capabilities = models.JSONField(
        default=list, db_default=[], blank=True, help_text="Capability names the assigned agent must hold."
    )
    context_data = models.JSONField(default=dict, db_default={}, blank=True)
    result_data = models.JSONField(default=dict, db_default={}, blank=True)
    error_message = models.TextField(blank=True, default="", db_default="")
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), null=True, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, db_default=Now(), null=True, editable=False)

    class Meta:
        ordering = ["-created_at", "id"]
        verbose_name = "task"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=TaskStatus.values), name="task_status_valid"),
            models.CheckConstraint(condition=Q(priority__in=TaskPriority.values), name="task_priority_valid"),
            models.CheckConstraint(condition=Q(step_order__gte=0), name="task_step_order_not_negative"),
            models.CheckConstraint(condition=~Q(title=""), name="task_title_not_blank"),
            models.CheckConstraint(
                condition=IsJSONArray("required_capabilities"), name="task_capabilities_is_array"
            ),
            models.CheckConstraint(condition=IsJSONObject("context_data"), name="task_context_is_object"),
            models.CheckConstraint(condition=IsJSONObject("result_data"), name="task_result_is_object"),
            # A step's task belongs to the workflow its execution runs (the service sets both).
            models.CheckConstraint(
                condition=Q(execution__isnull=True) | Q(workflow__isnull=False),
                name="task_execution_has_workflow",
            ),
            # An execution creates each step's task once: advancing twice cannot duplicate a step.
            models.UniqueConstraint(
                fields=["execution", "step_order"],
                condition=Q(execution__isnull=False),
                name="unique_execution_step_task",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "priority"], name="idx_tasks_status_priority"),
            models.Index(fields=["assigned_agent"], name="idx_tasks_assigned_agent"),
            models.Index(fields=["workflow"], name="idx_tasks_workflow"),
        ]

    def __str__(self) -> str:
        return self.title
