"""The supervisor admin for automated agents, their tasks, workflows and messages (imported by
agents.admin). Thin: list configuration, inlines, and actions that call agents.automation.services.

- Automated agents: heartbeat age (flagged stale past AUTOMATION_HEARTBEAT_MAX_AGE_SECONDS), status,
  capabilities inline. The form saves through automated_agent_create/update and the inline is handed to
  automated_agent_set_capabilities as a whole set, so the agent's capability list follows its rows.
- Tasks: filters by status, priority and agent; the search box is the full-text search of the API
  (agents.automation.selectors.task_search). Tasks are driven by their agents through the API, so a task
  is added here but never edited; actions assign (best eligible agent) and cancel, one task at a time
  in the service, each atomically.
- Workflows, with their executions inline (read-only) and the same full-text search; the definition is
  checked against the step schema on save. Messages are read-only, showing their delivery state.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.timesince import timesince
from simple_history.admin import SimpleHistoryAdmin

from agents.automation import services
from agents.automation.definitions import definition_errors
from agents.automation.selectors import task_search, workflow_search
from agents.automation.services import CapabilitySpec
from agents.models import (
    AgentCapability,
    AgentMessage,
    AgentPerformanceSample,
    AgentTask,
    AutomatedAgent,
    AutomatedAgentStatus,
    Workflow,
    WorkflowExecution,
    WorkflowStatus,
)


class ReadOnlyAdminMixin:
    """Rows written by the automation itself (agents' traffic, runs): viewable, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AgentCapabilityInline(admin.TabularInline):
    model = AgentCapability
    extra = 0
    fields = ("capability_name", "confidence_score", "usage_count", "last_used")
    readonly_fields = ("usage_count", "last_used")
    ordering = ("capability_name",)


def _capability_rows(formset: Any) -> list[CapabilitySpec]:
    """The capability set the inline asks for (deleted and untouched extra forms left out). The admin
    log's change message reads new/changed/deleted objects, which formset.save() would have set."""
    specs: list[CapabilitySpec] = []
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for row_form in formset.forms:
        is_new = row_form in formset.extra_forms
        if formset._should_delete_form(row_form):
            if not is_new:
                formset.deleted_objects.append(row_form.instance)
            continue
        if is_new and not row_form.has_changed():
            continue
        data = row_form.cleaned_data
        specs.append(CapabilitySpec(data["capability_name"], data.get("confidence_score")))
        if is_new:
            formset.new_objects.append(row_form.instance)
        elif row_form.has_changed():
            formset.changed_objects.append((row_form.instance, row_form.changed_data))
    return specs


@admin.register(AutomatedAgent)
class AutomatedAgentAdmin(admin.ModelAdmin):
    list_display = ("name", "agent_type", "status", "heartbeat_age", "capability_names", "model_name")
    list_filter = ("status", "agent_type")
    search_fields = ("name",)
    ordering = ("name",)
    fields = (
        "name",
        "agent_type",
        "status",
        "system_prompt",
        ("model_provider", "model_name"),
        "last_heartbeat",
        "performance_metrics",
        "legacy_id",
        ("created_at", "updated_at"),
    )
    readonly_fields = ("last_heartbeat", "performance_metrics", "legacy_id", "created_at", "updated_at")
    inlines = [AgentCapabilityInline]
    actions = ["mark_offline", "mark_idle"]

    @admin.display(description="last heartbeat", ordering="last_heartbeat")
    def heartbeat_age(self, agent: AutomatedAgent) -> str:
        if agent.last_heartbeat is None:
            return "never"
        age = timezone.now() - agent.last_heartbeat
        stale = age.total_seconds() > settings.AUTOMATION["HEARTBEAT_MAX_AGE_SECONDS"]
        return f"{timesince(agent.last_heartbeat)} ago" + (" (stale)" if stale else "")

    @admin.display(description="capabilities")
    def capability_names(self, agent: AutomatedAgent) -> str:
        return ", ".join(agent.capabilities) or "—"

    def save_model(
        self, request: HttpRequest, obj: AutomatedAgent, form: forms.ModelForm, change: bool
    ) -> None:
        editable = {
            field: form.cleaned_data[field]
            for field in services.AGENT_EDITABLE_FIELDS
            if field in form.cleaned_data
        }
        if change:
            services.automated_agent_update(agent_id=obj.pk, **editable)
        else:
            obj.pk = services.automated_agent_create(**editable).pk

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        if formset.model is not AgentCapability:
            return super().save_formset(request, form, formset, change)
        services.automated_agent_set_capabilities(
            agent_id=form.instance.pk, capabilities=_capability_rows(formset)
        )

    def _set_status(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        count = services.automated_agents_set_status(
            agent_ids=list(queryset.values_list("pk", flat=True)), status=status
        )
        self.message_user(request, f"{count} agent(s) set {status}.", messages.SUCCESS)

    @admin.action(description="Mark selected agents offline", permissions=["change"])
    def mark_offline(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, AutomatedAgentStatus.OFFLINE)

    @admin.action(description="Mark selected agents idle", permissions=["change"])
    def mark_idle(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, AutomatedAgentStatus.IDLE)


class TaskAddForm(forms.ModelForm):
    class Meta:
        model = AgentTask
        fields = ("title", "description", "priority", "required_capabilities", "context_data", "deadline")

    def clean_required_capabilities(self) -> list[str]:
        names = self.cleaned_data["required_capabilities"]
        if not isinstance(names, list) or not all(isinstance(name, str) and name.strip() for name in names):
            raise forms.ValidationError('A list of capability names, e.g. ["web_search"].')
        return names

    def clean_context_data(self) -> dict[str, Any]:
        context = self.cleaned_data["context_data"]
        if not isinstance(context, dict):
            raise forms.ValidationError('An object, e.g. {"account": "ACME"}.')
        return context


def _report(
    admin_view: admin.ModelAdmin, request: HttpRequest, outcome: services.BulkOutcome, verb: str
) -> None:
    if outcome.done:
        admin_view.message_user(request, f"{len(outcome.done)} task(s) {verb}.", messages.SUCCESS)
    for reason in outcome.refused.values():
        admin_view.message_user(request, reason, messages.WARNING)


@admin.register(AgentTask)
class AgentTaskAdmin(admin.ModelAdmin):
    form = TaskAddForm
    list_display = ("title", "status", "priority", "assigned_agent", "workflow", "deadline", "created_at")
    list_filter = ("status", "priority", ("assigned_agent", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("assigned_agent", "workflow")
    search_fields = ("title",)  # replaced by the full-text search (get_search_results)
    search_help_text = "Full-text search of title and description."
    ordering = ("-created_at",)
    actions = ["assign_best_agent", "cancel_tasks"]
    readonly_fields = (
        "status",
        "assigned_agent",
        "workflow",
        "execution",
        "step_order",
        "result_data",
        "error_message",
        "started_at",
        "completed_at",
        "legacy_id",
        "created_at",
        "updated_at",
    )

    def get_fields(self, request: HttpRequest, obj: AgentTask | None = None) -> Any:
        add_fields = list(TaskAddForm.Meta.fields)
        return add_fields if obj is None else [*add_fields, *self.readonly_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: AgentTask | None = None) -> Any:
        return () if obj is None else (*TaskAddForm.Meta.fields, *self.readonly_fields)

    def has_change_permission(self, request: HttpRequest, obj: AgentTask | None = None) -> bool:
        # Viewing a task opens its page read-only; the actions below need the change permission.
        return super().has_change_permission(request, obj) if obj is None else False

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        return (task_search(queryset, search_term) if search_term.strip() else queryset), False

    def save_model(self, request: HttpRequest, obj: AgentTask, form: forms.ModelForm, change: bool) -> None:
        obj.pk = services.task_create(
            **{field: form.cleaned_data[field] for field in TaskAddForm.Meta.fields}
        ).pk

    @admin.action(description="Assign selected tasks to the best eligible agent", permissions=["change"])
    def assign_best_agent(self, request: HttpRequest, queryset: QuerySet) -> None:
        _report(
            self,
            request,
            services.tasks_assign(task_ids=list(queryset.values_list("pk", flat=True))),
            "assigned",
        )

    @admin.action(description="Cancel selected tasks", permissions=["change"])
    def cancel_tasks(self, request: HttpRequest, queryset: QuerySet) -> None:
        _report(
            self,
            request,
            services.tasks_cancel(task_ids=list(queryset.values_list("pk", flat=True))),
            "cancelled",
        )


class WorkflowForm(forms.ModelForm):
    class Meta:
        model = Workflow
        fields = ("name", "description", "definition", "status", "tags", "created_by")

    def clean_definition(self) -> Any:
        definition = self.cleaned_data["definition"]
        errors = definition_errors(definition)
        if errors:
            raise forms.ValidationError(errors)
        return definition

    def clean_tags(self) -> list[str]:
        tags = self.cleaned_data["tags"]
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise forms.ValidationError('A list of tags, e.g. ["onboarding"].')
        return tags


def _step_of(execution: WorkflowExecution) -> str:
    steps = len(execution.definition.get("steps", [])) if isinstance(execution.definition, dict) else 0
    return f"{execution.current_step + 1} of {steps}"


class WorkflowExecutionInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = WorkflowExecution
    extra = 0
    fields = (
        "status",
        "workflow_version",
        "step",
        "started_by",
        "started_at",
        "completed_at",
        "error_message",
    )
    readonly_fields = fields
    ordering = ("-started_at",)
    show_change_link = True

    @admin.display(description="step")
    def step(self, execution: WorkflowExecution) -> str:
        return _step_of(execution)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("started_by", "workflow")


@admin.register(Workflow)
class WorkflowAdmin(SimpleHistoryAdmin):
    form = WorkflowForm
    list_display = ("name", "status", "version", "created_by", "updated_at")
    list_filter = ("status",)
    list_select_related = ("created_by",)
    search_fields = ("name",)  # replaced by the full-text search (get_search_results)
    search_help_text = "Full-text search of name and description."
    readonly_fields = ("version", "created_at", "updated_at")
    inlines = [WorkflowExecutionInline]
    actions = ["activate", "pause"]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        return (workflow_search(queryset, search_term) if search_term.strip() else queryset), False

    def get_readonly_fields(self, request: HttpRequest, obj: Workflow | None = None) -> Any:
        # The author is set when the workflow is created; it is history, not an editable field.
        return self.readonly_fields if obj is None else (*self.readonly_fields, "created_by")

    def save_model(self, request: HttpRequest, obj: Workflow, form: forms.ModelForm, change: bool) -> None:
        data = form.cleaned_data  # the form checked the definition as the services do
        if change:
            fields = [field for field in services.WORKFLOW_EDITABLE_FIELDS if field in form.changed_data]
            services.workflow_update(workflow_id=obj.pk, **{field: data[field] for field in fields})
        else:
            obj.pk = services.workflow_create(**{field: data[field] for field in WorkflowForm.Meta.fields}).pk

    def _set_status(self, request: HttpRequest, queryset: QuerySet, status: str) -> None:
        count = services.workflows_set_status(
            workflow_ids=list(queryset.values_list("pk", flat=True)), status=status
        )
        self.message_user(request, f"{count} workflow(s) set {status}.", messages.SUCCESS)

    @admin.action(description="Activate selected workflows", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, WorkflowStatus.ACTIVE)

    @admin.action(description="Pause selected workflows", permissions=["change"])
    def pause(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_status(request, queryset, WorkflowStatus.PAUSED)


class ExecutionTaskInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AgentTask
    fk_name = "execution"
    extra = 0
    fields = ("step", "title", "status", "assigned_agent", "error_message", "completed_at")
    readonly_fields = fields
    ordering = ("step_order",)
    show_change_link = True

    @admin.display(description="step")
    def step(self, task: AgentTask) -> int:
        return task.step_order + 1  # steps are counted from 1, as in the execution's error message

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("assigned_agent")


@admin.register(WorkflowExecution)
class WorkflowExecutionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("workflow", "status", "step", "started_by", "started_at", "completed_at")
    list_filter = ("status",)
    list_select_related = ("workflow", "started_by")
    search_fields = ("workflow__name",)
    ordering = ("-started_at",)
    inlines = [ExecutionTaskInline]
    fields = (
        "workflow",
        "workflow_version",
        "status",
        "step",
        "started_by",
        ("started_at", "completed_at"),
        "error_message",
        "context_data",
        "result_data",
    )
    readonly_fields = ("step",)

    @admin.display(description="step")
    def step(self, execution: WorkflowExecution) -> str:
        return _step_of(execution)


@admin.register(AgentMessage)
class AgentMessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("message", "sender", "recipient", "priority", "delivery_state", "created_at")
    list_filter = ("status", "priority", "message_type")
    list_select_related = ("sender", "recipient")
    search_fields = ("subject", "message_type")
    ordering = ("-created_at",)

    @admin.display(description="message", ordering="message_type")
    def message(self, message: AgentMessage) -> str:
        return f"{message.message_type}: {message.subject}" if message.subject else message.message_type

    @admin.display(description="delivery", ordering="status")
    def delivery_state(self, message: AgentMessage) -> str:
        """The status with the moment that matters for it, and the retries spent."""
        moment = {
            "delivered": message.delivered_at,
            "acknowledged": message.acknowledged_at,
            "pending": message.next_attempt_at,
            "expired": message.expires_at,
        }.get(message.status)
        text = message.get_status_display()
        if moment is not None:
            text += f" ({'next attempt' if message.status == 'pending' else ''} {timezone.localtime(moment):%Y-%m-%d %H:%M})".replace(
                "( ", "("
            )
        if message.retry_count:
            text += f", retry {message.retry_count} of {message.max_retries}"
        return text


@admin.register(AgentPerformanceSample)
class AgentPerformanceSampleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("agent", "metric_name", "metric_value", "metric_unit", "recorded_at")
    list_filter = ("metric_name",)
    list_select_related = ("agent",)
    search_fields = ("agent__name", "metric_name")
    ordering = ("-recorded_at",)
