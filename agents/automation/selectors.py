"""Reads of automated agents, tasks, workflows, executions and messages, joined for the API and admin so
that a page costs the same queries for 3 rows or 300; and the full-text search of tasks and workflows.

Full-text search (`task_search`, `workflow_search`; the API's `?search=` and the admin's search box):
- PostgreSQL: `to_tsvector('english', title || ' ' || COALESCE(description, '')) @@
  plainto_tsquery('english', <terms>)`, the very expression of the GIN indexes idx_tasks_search and
  idx_workflows_search (migration 0010), so the planner uses them. English stemming applies ("routing"
  finds "routed") and stop words are ignored (a search of only stop words finds nothing);
- SQLite (no to_tsvector): every word of the terms must occur in the title/name or the description,
  case-insensitively for ASCII letters (SQLite's LIKE), as a substring, with no stemming and no index.
Both read the terms the same way: words are runs of letters and digits; punctuation separates them.
Terms without any word filter nothing out.
"""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connections
from django.db.models import BooleanField, Count, F, Func, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from agents.automation.errors import (
    AutomatedAgentNotFound,
    ExecutionNotFound,
    MessageNotFound,
    TaskNotFound,
    WorkflowNotFound,
)
from agents.models import (
    OPEN_TASK_STATUSES,
    AgentCapability,
    AgentMessage,
    AgentTask,
    AutomatedAgent,
    ExecutionStatus,
    Workflow,
    WorkflowExecution,
)

SEARCH_WORD = re.compile(r"\w+")


class FullTextMatch(Func):
    """PostgreSQL: `to_tsvector('english', <text> || ' ' || COALESCE(<description>, '')) @@
    plainto_tsquery('english', <terms>)`, written exactly as the GIN indexes of migration 0010 are."""

    output_field = BooleanField()

    def __init__(self, text: Any, description: Any, terms: Any) -> None:
        super().__init__(text, description, terms)

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        (text, text_params), (description, description_params), (terms, terms_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        sql = (
            f"to_tsvector('english', {text} || ' ' || COALESCE({description}, '')) "
            f"@@ plainto_tsquery('english', {terms})"
        )
        return sql, [*text_params, *description_params, *terms_params]


def search_words(terms: str) -> list[str]:
    return SEARCH_WORD.findall(terms)


def _full_text(queryset: QuerySet, text_field: str, terms: str) -> QuerySet:
    words = search_words(terms)
    if not words:
        return queryset
    if connections[queryset.db].vendor == "postgresql":
        return queryset.filter(FullTextMatch(F(text_field), F("description"), Value(" ".join(words))))
    for word in words:
        queryset = queryset.filter(Q(**{f"{text_field}__icontains": word}) | Q(description__icontains=word))
    return queryset


def task_search(queryset: QuerySet[AgentTask], terms: str) -> QuerySet[AgentTask]:
    """Tasks whose title and description match `terms` (see the module docstring)."""
    return _full_text(queryset, "title", terms)


def workflow_search(queryset: QuerySet[Workflow], terms: str) -> QuerySet[Workflow]:
    """Workflows whose name and description match `terms` (see the module docstring)."""
    return _full_text(queryset, "name", terms)


def _open_task_count() -> Coalesce:
    counts = (
        AgentTask.objects.filter(assigned_agent=OuterRef("pk"), status__in=OPEN_TASK_STATUSES)
        .order_by()
        .values("assigned_agent")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Coalesce(Subquery(counts), Value(0))


def automated_agent_list() -> QuerySet[AutomatedAgent]:
    """Agents with their capability rows and `open_tasks` (pending or in progress): two queries a page."""
    return AutomatedAgent.objects.annotate(open_tasks=_open_task_count()).prefetch_related(
        Prefetch("capability_rows", queryset=AgentCapability.objects.order_by("capability_name"))
    )


def automated_agent_detail(*, agent_id: Any) -> AutomatedAgent:
    try:
        return automated_agent_list().get(pk=agent_id)
    except (AutomatedAgent.DoesNotExist, ValueError, ValidationError):
        raise AutomatedAgentNotFound(agent_id=agent_id) from None


def task_list() -> QuerySet[AgentTask]:
    """Tasks with their agent and workflow joined: one query a page."""
    return AgentTask.objects.select_related("assigned_agent", "workflow")


def task_detail(*, task_id: Any) -> AgentTask:
    try:
        return task_list().get(pk=task_id)
    except (AgentTask.DoesNotExist, ValueError, ValidationError):
        raise TaskNotFound(task_id=task_id) from None


def workflow_list() -> QuerySet[Workflow]:
    """Workflows with their author joined and `running_executions` counted: one query a page."""
    running = (
        WorkflowExecution.objects.filter(workflow=OuterRef("pk"), status=ExecutionStatus.RUNNING)
        .order_by()
        .values("workflow")
        .annotate(count=Count("pk"))
        .values("count")
    )
    return Workflow.objects.select_related("created_by").annotate(
        running_executions=Coalesce(Subquery(running), Value(0))
    )


def workflow_detail(*, workflow_id: Any) -> Workflow:
    try:
        return workflow_list().get(pk=workflow_id)
    except (Workflow.DoesNotExist, ValueError, ValidationError):
        raise WorkflowNotFound(workflow_id=workflow_id) from None


def execution_list() -> QuerySet[WorkflowExecution]:
    """Executions with their workflow and starter joined and their step tasks prefetched (in order)."""
    return WorkflowExecution.objects.select_related("workflow", "started_by").prefetch_related(
        Prefetch("tasks", queryset=AgentTask.objects.select_related("assigned_agent").order_by("step_order"))
    )


def execution_detail(*, execution_id: Any) -> WorkflowExecution:
    try:
        return execution_list().get(pk=execution_id)
    except (WorkflowExecution.DoesNotExist, ValueError, ValidationError):
        raise ExecutionNotFound(execution_id=execution_id) from None


def message_list() -> QuerySet[AgentMessage]:
    """Messages with sender and recipient joined: one query a page."""
    return AgentMessage.objects.select_related("sender", "recipient")


def message_detail(*, message_id: Any) -> AgentMessage:
    try:
        return message_list().get(message_id=message_id)
    except (AgentMessage.DoesNotExist, ValueError, ValidationError):
        raise MessageNotFound(message_id=message_id) from None
