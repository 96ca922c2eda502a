"""The automation admin: change lists (query counts, filters, full-text search), the agent page with its
capabilities inline, adding a task, workflows with executions inline, and actions through the services."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agents.automation.services import workflow_execution_start
from agents.models import AgentCapability, AgentTask, AutomatedAgent, Workflow
from tests.factories.automation import (
    AgentMessageFactory,
    AgentPerformanceSampleFactory,
    AgentTaskFactory,
    AutomatedAgentFactory,
    WorkflowFactory,
    two_step_definition,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(client: Client, supervisor_user: User) -> Client:
    client.force_login(supervisor_user)
    return client


def _changelist(model: str) -> str:
    return reverse(f"admin:agents_{model}_changelist")


def _rows(model: str) -> None:
    """One more row of `model` with everything its change list shows."""
    if model == "automatedagent":
        AutomatedAgentFactory(capabilities=["crm", "phone"])
    elif model == "agenttask":
        AgentTaskFactory(assigned_agent=AutomatedAgentFactory(), workflow=WorkflowFactory())
    elif model == "workflow":
        WorkflowFactory(created_by=AutomatedAgentFactory())
    elif model == "workflowexecution":
        workflow_execution_start(workflow_id=WorkflowFactory().pk, started_by=AutomatedAgentFactory())
    elif model == "agentmessage":
        AgentMessageFactory()
    else:
        AgentPerformanceSampleFactory()


@pytest.mark.parametrize(
    "model",
    [
        "automatedagent",
        "agenttask",
        "workflow",
        "workflowexecution",
        "agentmessage",
        "agentperformancesample",
    ],
)
def test_changelist_query_count_does_not_grow_with_rows(supervisor: Client, django_assert_num_queries, model):
    for _ in range(2):
        _rows(model)
    with CaptureQueriesContext(connection) as few:
        assert supervisor.get(_changelist(model)).status_code == 200
    for _ in range(8):
        _rows(model)
    with django_assert_num_queries(len(few.captured_queries)):
        response = supervisor.get(_changelist(model))
    assert response.context["cl"].result_count == 10


def test_agent_changelist_shows_heartbeat_age_flagging_stale_ones(supervisor: Client):
    AutomatedAgentFactory(name="Fresh", last_heartbeat=timezone.now() - dt.timedelta(seconds=30))
    AutomatedAgentFactory(name="Quiet", last_heartbeat=timezone.now() - dt.timedelta(hours=2))
    AutomatedAgentFactory(name="New", last_heartbeat=None)

    page = supervisor.get(_changelist("automatedagent")).content.decode()

    assert "2\xa0hours ago (stale)" in page
    assert "never" in page
    assert "0\xa0minutes ago" in page


def test_saving_the_capabilities_inline_rewrites_the_agents_capability_list(supervisor: Client):
    agent = AutomatedAgentFactory(capabilities=["crm"])
    crm = AgentCapability.objects.get(agent=agent)
    url = reverse("admin:agents_automatedagent_change", args=[agent.pk])
    prefix = "capability_rows"

    response = supervisor.post(
        url,
        {
            "name": agent.name,
            "agent_type": agent.agent_type,
            "status": "busy",
            "system_prompt": "",
            "model_provider": "openrouter",
            "model_name": "auto",
            f"{prefix}-TOTAL_FORMS": "2",
            f"{prefix}-INITIAL_FORMS": "1",
            f"{prefix}-0-id": str(crm.pk),
            f"{prefix}-0-agent": str(agent.pk),
            f"{prefix}-0-capability_name": "crm",
            f"{prefix}-0-confidence_score": "0.95",
            f"{prefix}-0-DELETE": "on",
            f"{prefix}-1-agent": str(agent.pk),
            f"{prefix}-1-capability_name": "phone",
            f"{prefix}-1-confidence_score": "0.70",
        },
    )

    assert response.status_code == 302, response.context["errors"] if response.context else response
    agent.refresh_from_db()
    assert (agent.status, agent.capabilities) == ("busy", ["phone"])
    assert list(
        AgentCapability.objects.filter(agent=agent).values_list("capability_name", "confidence_score")
    ) == [("phone", Decimal("0.70"))]


def test_task_changelist_filters_by_status_priority_and_agent_and_searches_full_text(supervisor: Client):
    agent = AutomatedAgentFactory(name="Ops")
    AgentTaskFactory(title="Refund the invoice", status="pending", priority="urgent", assigned_agent=agent)
    AgentTaskFactory(
        title="Call the customer", description="about the refund", status="completed", priority="low"
    )
    AgentTaskFactory(title="Demo", status="pending", priority="low")

    def titles(**params) -> list[str]:
        response = supervisor.get(_changelist("agenttask"), params)
        return sorted(task.title for task in response.context["cl"].result_list)

    assert titles(status__exact="pending") == ["Demo", "Refund the invoice"]
    assert titles(priority__exact="low") == ["Call the customer", "Demo"]
    assert titles(assigned_agent__id__exact=str(agent.pk)) == ["Refund the invoice"]
    assert titles(q="refund") == ["Call the customer", "Refund the invoice"]


def test_a_task_is_added_through_the_service_and_its_page_is_read_only(supervisor: Client):
    response = supervisor.post(
        reverse("admin:agents_agenttask_add"),
        {
            "title": "Reconcile payouts",
            "description": "",
            "priority": "high",
            "required_capabilities": '["finance"]',
            "context_data": '{"month": "2026-11"}',
        },
    )

    assert response.status_code == 302
    task = AgentTask.objects.get()
    assert (task.title, task.required_capabilities, task.context_data) == (
        "Reconcile payouts",
        ["finance"],
        {"month": "2026-11"},
    )
    page = supervisor.get(reverse("admin:agents_agenttask_change", args=[task.pk]))
    assert page.status_code == 200
    assert 'name="title"' not in page.content.decode()


def test_assign_and_cancel_actions_call_the_services(supervisor: Client):
    agent = AutomatedAgentFactory(capabilities=["crm"])
    assignable = AgentTaskFactory(required_capabilities=["crm"])
    hopeless = AgentTaskFactory(required_capabilities=["telepathy"])

    response = supervisor.post(
        _changelist("agenttask"),
        {"action": "assign_best_agent", ACTION_CHECKBOX_NAME: [str(assignable.pk), str(hopeless.pk)]},
        follow=True,
    )

    assignable.refresh_from_db()
    assert assignable.assigned_agent_id == agent.pk
    notes = [str(message) for message in response.context["messages"]]
    assert "1 task(s) assigned." in notes
    assert any("telepathy" in note for note in notes)

    supervisor.post(
        _changelist("agenttask"), {"action": "cancel_tasks", ACTION_CHECKBOX_NAME: [str(assignable.pk)]}
    )
    assignable.refresh_from_db()
    assert assignable.status == "cancelled"


def test_a_workflow_page_shows_its_executions_and_rejects_a_bad_definition(supervisor: Client):
    workflow = WorkflowFactory(name="Renewal")
    workflow_execution_start(workflow_id=workflow.pk)
    url = reverse("admin:agents_workflow_change", args=[workflow.pk])

    page = supervisor.get(url)
    assert page.status_code == 200
    assert "running" in page.content.decode().lower()

    response = supervisor.post(
        url,
        {
            "name": "Renewal",
            "definition": '{"steps": [{"name": "a"}]}',
            "status": "active",
            "tags": "[]",
            "executions-TOTAL_FORMS": "1",
            "executions-INITIAL_FORMS": "1",
        },
    )
    assert response.status_code == 200
    assert "steps[0].title: required." in response.content.decode()


def test_a_workflow_added_in_the_admin_is_validated_and_versioned_by_the_service(supervisor: Client):
    response = supervisor.post(
        reverse("admin:agents_workflow_add"),
        {
            "name": "Renewal",
            "definition": '{"steps": [{"name": "a", "title": "A"}]}',
            "status": "draft",
            "tags": '["sales"]',
            "executions-TOTAL_FORMS": "0",
            "executions-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    workflow = Workflow.objects.get()
    assert (workflow.version, workflow.tags) == (1, ["sales"])

    supervisor.post(_changelist("workflow"), {"action": "activate", ACTION_CHECKBOX_NAME: [str(workflow.pk)]})
    workflow.refresh_from_db()
    assert workflow.status == "active"


def test_workflow_search_is_full_text(supervisor: Client):
    WorkflowFactory(
        name="Churn rescue", description="win back lapsed accounts", definition=two_step_definition()
    )
    WorkflowFactory(name="Onboarding", description=None)

    response = supervisor.get(_changelist("workflow"), {"q": "lapsed"})

    assert [workflow.name for workflow in response.context["cl"].result_list] == ["Churn rescue"]


def test_agent_actions_set_the_status_of_the_selected(supervisor: Client):
    agents = [AutomatedAgentFactory(status="active") for _ in range(2)]

    supervisor.post(
        _changelist("automatedagent"),
        {"action": "mark_offline", ACTION_CHECKBOX_NAME: [str(agent.pk) for agent in agents]},
    )

    assert set(AutomatedAgent.objects.values_list("status", flat=True)) == {"offline"}
