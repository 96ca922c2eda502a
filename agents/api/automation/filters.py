"""Query-string filters of the automation lists (django-filter: an unknown choice is a 400 naming the
parameter) and the full-text `?search=` of tasks and workflows."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import Exists, OuterRef, QuerySet
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

from agents.automation.selectors import task_search, workflow_search
from agents.models import (
    AgentCapability,
    AgentMessage,
    AgentTask,
    AutomatedAgent,
    AutomatedAgentStatus,
    AutomatedAgentType,
    ExecutionStatus,
    MessagePriority,
    MessageStatus,
    TaskPriority,
    TaskStatus,
    Workflow,
    WorkflowExecution,
    WorkflowStatus,
)
from config.filters import StrictBooleanFilter


class AutomatedAgentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=AutomatedAgentStatus.choices, label="Status.")
    agent_type = django_filters.ChoiceFilter(choices=AutomatedAgentType.choices, label="Agent type.")
    capability = django_filters.CharFilter(
        method="filter_capability", label="Agents holding this capability."
    )

    class Meta:
        model = AutomatedAgent
        fields = ["status", "agent_type", "capability"]

    def filter_capability(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(
            Exists(AgentCapability.objects.filter(agent=OuterRef("pk"), capability_name=value))
        )


class TaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices, label="Status.")
    priority = django_filters.ChoiceFilter(choices=TaskPriority.choices, label="Priority.")
    agent = django_filters.UUIDFilter(field_name="assigned_agent", label="Assigned agent id.")
    unassigned = StrictBooleanFilter(
        field_name="assigned_agent", lookup_expr="isnull", label="true: tasks nobody is assigned."
    )
    workflow = django_filters.UUIDFilter(field_name="workflow", label="Workflow id.")
    execution = django_filters.UUIDFilter(field_name="execution", label="Workflow execution id.")

    class Meta:
        model = AgentTask
        fields = ["status", "priority", "agent", "unassigned", "workflow", "execution"]


class WorkflowFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WorkflowStatus.choices, label="Status.")
    created_by = django_filters.UUIDFilter(field_name="created_by", label="Authoring agent id.")

    class Meta:
        model = Workflow
        fields = ["status", "created_by"]


class ExecutionFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ExecutionStatus.choices, label="Status.")
    workflow = django_filters.UUIDFilter(field_name="workflow", label="Workflow id.")

    class Meta:
        model = WorkflowExecution
        fields = ["status", "workflow"]


class MessageFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MessageStatus.choices, label="Delivery status.")
    priority = django_filters.ChoiceFilter(choices=MessagePriority.choices, label="Priority.")
    sender = django_filters.UUIDFilter(field_name="sender", label="Sending agent id.")
    recipient = django_filters.UUIDFilter(field_name="recipient", label="Receiving agent id.")
    message_type = django_filters.CharFilter(field_name="message_type", label="Message type (exact).")
    correlation_id = django_filters.UUIDFilter(label="Correlation id.")
    conversation_id = django_filters.UUIDFilter(label="Conversation id.")

    class Meta:
        model = AgentMessage
        fields = [
            "status",
            "priority",
            "sender",
            "recipient",
            "message_type",
            "correlation_id",
            "conversation_id",
        ]


class FullTextSearchFilter(BaseFilterBackend):
    """`?search=` over title (or name) and description: PostgreSQL full-text search on the seed's GIN
    index, word matching on SQLite (agents.automation.selectors). The view names its search function."""

    search_param = "search"
    description = (
        "Full-text search of the {what} and description (English stemming on PostgreSQL; every word must "
        "appear on SQLite)."
    )

    def filter_queryset(self, request: Request, queryset: QuerySet, view: Any) -> QuerySet:
        terms = request.query_params.get(self.search_param, "")
        if not terms.strip():
            return queryset
        search = task_search if queryset.model is AgentTask else workflow_search
        return search(queryset, terms)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        model = view.get_queryset().model
        what = "title" if model is AgentTask else "name"
        return [
            {
                "name": self.search_param,
                "required": False,
                "in": "query",
                "description": self.description.format(what=what),
                "schema": {"type": "string"},
            }
        ]
