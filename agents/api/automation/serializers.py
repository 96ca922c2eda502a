"""Request and response shapes of the automation API (automated agents, tasks, workflows, messages).

Serializers validate and render; views hand `validated_data` to agents.automation.services. The model's
CHECK constraints are stated again here as field rules (choices, ranges, non-blank text, JSON objects and
lists) so that bad input is a 400 naming its field, never an IntegrityError.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import serializers

from agents.automation.definitions import STEP_KEYS, definition_errors
from agents.automation.services import CapabilitySpec
from agents.models import (
    AgentCapability,
    AgentMessage,
    AgentTask,
    AutomatedAgent,
    AutomatedAgentStatus,
    Workflow,
    WorkflowExecution,
)
from config.inputs import FullRowSerializer, StrictInput

CAPABILITY_NAME = {"max_length": 100, "allow_blank": False}


def agent_reference(**kwargs: Any) -> serializers.PrimaryKeyRelatedField:
    """An automated agent's id in a request: a malformed UUID is refused as such, an unknown one as
    "does not exist"."""
    return serializers.PrimaryKeyRelatedField(
        queryset=AutomatedAgent.objects.all(), pk_field=serializers.UUIDField(), **kwargs
    )


class CapabilitySerializer(FullRowSerializer):
    name = serializers.CharField(
        source="capability_name", help_text="Capability name, e.g. web_search.", **CAPABILITY_NAME
    )
    confidence_score = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        min_value=0,
        max_value=1,
        required=False,
        help_text="0 to 1; omitted: kept for a capability the agent already holds, 0.5 for a new one.",
    )

    class Meta:
        model = AgentCapability
        fields = ["name", "confidence_score", "usage_count", "last_used"]
        read_only_fields = ["usage_count", "last_used"]


class AutomatedAgentSerializer(StrictInput, serializers.ModelSerializer):
    """An automated agent. `capabilities`, when given, replaces the agent's set (usage counts of the
    names kept are kept); omitted, it is left alone."""

    capabilities = CapabilitySerializer(source="capability_rows", many=True, required=False)
    open_tasks = serializers.IntegerField(
        read_only=True, help_text="Tasks assigned and pending or in progress."
    )

    class Meta:
        model = AutomatedAgent
        fields = [
            "id",
            "legacy_id",
            "name",
            "agent_type",
            "status",
            "capabilities",
            "system_prompt",
            "model_provider",
            "model_name",
            "performance_metrics",
            "last_heartbeat",
            "open_tasks",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "legacy_id",
            "performance_metrics",
            "last_heartbeat",
            "created_at",
            "updated_at",
        ]

    def validate_capabilities(self, rows: list[dict[str, Any]]) -> list[CapabilitySpec]:
        names = [row["capability_name"] for row in rows]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise serializers.ValidationError(f"Listed more than once: {', '.join(repeated)}.")
        return [CapabilitySpec(row["capability_name"], row.get("confidence_score")) for row in rows]


class HeartbeatSerializer(StrictInput, serializers.Serializer):
    status = serializers.ChoiceField(
        choices=AutomatedAgentStatus.choices,
        required=False,
        help_text="The agent's status now; omitted, an offline agent becomes idle and others keep theirs.",
    )


class TaskSerializer(StrictInput, serializers.ModelSerializer):
    """A task. Creating one makes a stand-alone pending task; a workflow's step tasks are created by its
    executions."""

    assigned_agent_name = serializers.CharField(
        source="assigned_agent.name",
        read_only=True,
        default=None,
        allow_null=True,
        help_text="The assigned agent's name; null while nobody is assigned.",
    )
    workflow_name = serializers.CharField(
        source="workflow.name",
        read_only=True,
        default=None,
        allow_null=True,
        help_text="The workflow's name; null for a stand-alone task.",
    )
    required_capabilities = serializers.ListField(
        child=serializers.CharField(**CAPABILITY_NAME),
        required=False,
        help_text="Capability names the assigned agent must hold.",
    )
    context_data = serializers.DictField(
        required=False, help_text="Free-form input for the agent (an object)."
    )

    class Meta:
        model = AgentTask
        fields = [
            "id",
            "legacy_id",
            "title",
            "description",
            "status",
            "priority",
            "assigned_agent",
            "assigned_agent_name",
            "workflow",
            "workflow_name",
            "execution",
            "step_order",
            "required_capabilities",
            "context_data",
            "result_data",
            "error_message",
            "started_at",
            "completed_at",
            "deadline",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "legacy_id",
            "status",
            "assigned_agent",
            "workflow",
            "execution",
            "step_order",
            "result_data",
            "error_message",
            "started_at",
            "completed_at",
            "created_at",
            "updated_at",
        ]

    def validate_required_capabilities(self, names: list[str]) -> list[str]:
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise serializers.ValidationError(f"Listed more than once: {', '.join(repeated)}.")
        return names


class TaskAssignSerializer(StrictInput, serializers.Serializer):
    agent = agent_reference(
        required=False,
        allow_null=True,
        help_text="The agent's id; omitted or null, the best eligible agent is picked.",
    )


class TaskCompleteSerializer(StrictInput, serializers.Serializer):
    result_data = serializers.DictField(required=False, help_text="The task's result (an object).")


class TaskFailSerializer(StrictInput, serializers.Serializer):
    error = serializers.CharField(help_text="Why the task failed.")
    result_data = serializers.DictField(required=False, help_text="Partial results, if any (an object).")


class WorkflowSerializer(StrictInput, serializers.ModelSerializer):
    definition = serializers.JSONField(
        help_text=(
            'The steps: {"steps": [{"name", "title", "description"?, "capabilities"?, "priority"?, '
            '"deadline_minutes"?, "context"?}, ...]}, run in order. Keys allowed in a step: '
            + ", ".join(sorted(STEP_KEYS))
            + ". Unknown keys are rejected. A changed definition makes a new version."
        )
    )
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)
    created_by = agent_reference(
        required=False,
        allow_null=True,
        help_text="Authoring agent id.",
    )
    running_executions = serializers.IntegerField(read_only=True)

    class Meta:
        model = Workflow
        fields = [
            "id",
            "name",
            "description",
            "definition",
            "status",
            "version",
            "created_by",
            "tags",
            "running_executions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "version", "created_at", "updated_at"]

    def validate_definition(self, definition: Any) -> Any:
        errors = definition_errors(definition)
        if errors:
            raise serializers.ValidationError(errors)
        return definition


class ExecutionStartSerializer(StrictInput, serializers.Serializer):
    started_by = agent_reference(required=False, allow_null=True, help_text="Starting agent id.")
    context_data = serializers.DictField(
        required=False, help_text="Input for every step's task (an object; a step's own context wins)."
    )


class ExecutionTaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgentTask
        fields = ["id", "step_order", "title", "status", "assigned_agent", "error_message"]
        read_only_fields = fields


class ExecutionSerializer(serializers.ModelSerializer):
    workflow_name = serializers.CharField(source="workflow.name", read_only=True)
    tasks = ExecutionTaskSerializer(many=True, read_only=True)

    class Meta:
        model = WorkflowExecution
        fields = [
            "id",
            "workflow",
            "workflow_name",
            "workflow_version",
            "status",
            "current_step",
            "context_data",
            "result_data",
            "started_by",
            "started_at",
            "completed_at",
            "error_message",
            "tasks",
        ]
        read_only_fields = fields


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgentMessage
        fields = [
            "message_id",
            "correlation_id",
            "conversation_id",
            "sender",
            "recipient",
            "sender_type",
            "recipient_type",
            "message_type",
            "priority",
            "status",
            "subject",
            "payload",
            "retry_count",
            "max_retries",
            "next_attempt_at",
            "last_error",
            "expires_at",
            "delivered_at",
            "acknowledged_at",
            "created_at",
        ]
        read_only_fields = fields


class MessageSendSerializer(StrictInput, serializers.Serializer):
    sender = agent_reference(help_text="Sending agent id.")
    recipient = agent_reference(help_text="Receiving agent id.")
    message_type = serializers.CharField(max_length=50, help_text="e.g. task_request, status_update.")
    subject = serializers.CharField(max_length=500, required=False, allow_blank=True)
    payload = serializers.DictField(required=False, help_text="The message body (an object).")
    priority = serializers.ChoiceField(
        choices=AgentMessage._meta.get_field("priority").choices, required=False
    )
    correlation_id = serializers.UUIDField(required=False, allow_null=True)
    conversation_id = serializers.UUIDField(required=False, allow_null=True)
    max_retries = serializers.IntegerField(
        min_value=0, max_value=20, required=False, help_text="Failed deliveries retried; default 3."
    )
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="After this it can no longer be delivered; in the future."
    )

    def validate_expires_at(self, value: Any) -> Any:
        if value is not None and value <= timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return value


class MessageFailSerializer(StrictInput, serializers.Serializer):
    error = serializers.CharField(help_text="Why the delivery attempt failed.")
