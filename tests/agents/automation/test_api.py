"""The automation API: permissions, the error shape, every operation, filters and query counts."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from agents.models import AgentTask, AutomatedAgent, Workflow
from tests.factories.automation import (
    AgentMessageFactory,
    AgentTaskFactory,
    AutomatedAgentFactory,
    WorkflowFactory,
    two_step_definition,
)

pytestmark = pytest.mark.django_db

BASE = "/api/v1/automation"


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "code", "fields"}
    assert body["code"] == code
    return body


# --- permissions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["agents/", "tasks/", "workflows/", "executions/", "messages/"])
def test_anonymous_requests_are_401_in_the_error_shape(api_client, path):
    _error(api_client.get(f"{BASE}/{path}"), 401, "not_authenticated")


def test_analysts_read_but_cannot_write(analyst_client):
    task = AgentTaskFactory()
    assert analyst_client.get(f"{BASE}/tasks/").status_code == 200
    _error(analyst_client.post(f"{BASE}/tasks/", {"title": "T"}), 403, "permission_denied")
    _error(analyst_client.post(f"{BASE}/tasks/{task.pk}/assign/", {}), 403, "permission_denied")


def test_an_unknown_id_is_404_in_the_error_shape(supervisor_client):
    for path in ("agents", "tasks", "workflows", "executions", "messages"):
        _error(supervisor_client.get(f"{BASE}/{path}/{uuid.uuid4()}/"), 404, "not_found")


# --- automated agents ----------------------------------------------------------------------------------


def test_create_an_agent_with_capabilities_then_replace_them(supervisor_client):
    created = supervisor_client.post(
        f"{BASE}/agents/",
        {
            "name": "Ops bot",
            "agent_type": "master_operator",
            "capabilities": [{"name": "crm", "confidence_score": "0.80"}, {"name": "phone"}],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert [(c["name"], c["confidence_score"]) for c in body["capabilities"]] == [
        ("crm", "0.80"),
        ("phone", "0.50"),
    ]
    assert (body["status"], body["model_provider"], body["model_name"], body["open_tasks"]) == (
        "idle",
        "openrouter",
        "auto",
        0,
    )

    patched = supervisor_client.patch(f"{BASE}/agents/{body['id']}/", {"capabilities": [{"name": "phone"}]})

    assert [c["name"] for c in patched.json()["capabilities"]] == ["phone"]
    assert AutomatedAgent.objects.get(pk=body["id"]).capabilities == ["phone"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "", "agent_type": "master_operator"}, "name"),
        ({"name": "A", "agent_type": "robot"}, "agent_type"),
        ({"name": "A", "agent_type": "master_operator", "status": "asleep"}, "status"),
        (
            {
                "name": "A",
                "agent_type": "master_operator",
                "capabilities": [{"name": "x", "confidence_score": 2}],
            },
            "capabilities",
        ),
        (
            {"name": "A", "agent_type": "master_operator", "capabilities": [{"name": "x"}, {"name": "x"}]},
            "capabilities",
        ),
    ],
)
def test_bad_agent_input_is_400_naming_the_field(supervisor_client, payload, field):
    response = supervisor_client.post(f"{BASE}/agents/", payload, format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert AutomatedAgent.objects.count() == 0


def test_heartbeat_brings_an_offline_agent_back_idle(supervisor_client):
    agent = AutomatedAgentFactory(status="offline", last_heartbeat=None)

    body = supervisor_client.post(f"{BASE}/agents/{agent.pk}/heartbeat/", {}).json()

    assert body["status"] == "idle"
    assert body["last_heartbeat"] is not None


def test_agent_filters_and_unknown_filter_values(supervisor_client):
    AutomatedAgentFactory(capabilities=["crm"], status="idle")
    AutomatedAgentFactory(status="offline")

    assert len(supervisor_client.get(f"{BASE}/agents/", {"capability": "crm"}).json()["results"]) == 1
    assert len(supervisor_client.get(f"{BASE}/agents/", {"status": "offline"}).json()["results"]) == 1
    body = _error(supervisor_client.get(f"{BASE}/agents/", {"status": "sleeping"}), 400, "invalid_choice")
    assert "status" in body["fields"]


def test_agent_list_query_count_does_not_grow(supervisor_client, django_assert_max_num_queries):
    for _n in range(2):
        AutomatedAgentFactory(capabilities=["a", "b"])
    with django_assert_max_num_queries(99) as few:
        supervisor_client.get(f"{BASE}/agents/")
    for _n in range(8):
        AutomatedAgentFactory(capabilities=["a", "b", "c"])
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = supervisor_client.get(f"{BASE}/agents/")
    assert len(response.json()["results"]) == 10


# --- tasks ---------------------------------------------------------------------------------------------


def test_a_task_is_created_assigned_started_and_completed_through_the_api(supervisor_client):
    agent = AutomatedAgentFactory(capabilities=["crm"])
    created = supervisor_client.post(
        f"{BASE}/tasks/", {"title": "Update CRM", "required_capabilities": ["crm"], "priority": "high"}
    )
    assert created.status_code == 201, created.content
    task_id = created.json()["id"]

    assigned = supervisor_client.post(f"{BASE}/tasks/{task_id}/assign/", {})
    started = supervisor_client.post(f"{BASE}/tasks/{task_id}/start/")
    completed = supervisor_client.post(f"{BASE}/tasks/{task_id}/complete/", {"result_data": {"rows": 3}})

    assert (assigned.json()["assigned_agent"], assigned.json()["assigned_agent_name"]) == (
        str(agent.pk),
        agent.name,
    )
    assert started.json()["status"] == "in_progress"
    assert (completed.json()["status"], completed.json()["result_data"]) == ("completed", {"rows": 3})


def test_assignment_conflicts_are_409_with_their_codes(supervisor_client):
    offline = AutomatedAgentFactory(status="offline")
    task = AgentTaskFactory(required_capabilities=["phone"])

    _error(
        supervisor_client.post(f"{BASE}/tasks/{task.pk}/assign/", {"agent": str(offline.pk)}),
        409,
        "agent_not_assignable",
    )
    _error(supervisor_client.post(f"{BASE}/tasks/{task.pk}/assign/", {}), 409, "no_agent_available")
    body = _error(
        supervisor_client.post(f"{BASE}/tasks/{task.pk}/assign/", {"agent": str(uuid.uuid4())}),
        400,
        "does_not_exist",
    )
    assert "agent" in body["fields"]
    _error(supervisor_client.post(f"{BASE}/tasks/{task.pk}/complete/", {}), 409, "task_transition_invalid")


def test_fail_needs_an_error(supervisor_client):
    task = AgentTaskFactory()
    body = _error(supervisor_client.post(f"{BASE}/tasks/{task.pk}/fail/", {}), 400, "required")
    assert "error" in body["fields"]

    failed = supervisor_client.post(f"{BASE}/tasks/{task.pk}/fail/", {"error": "boom"})
    assert (failed.json()["status"], failed.json()["error_message"]) == ("failed", "boom")


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "T" * 501}, "title"),
        ({"title": "T", "priority": "critical"}, "priority"),
        ({"title": "T", "context_data": ["not", "an", "object"]}, "context_data"),
        ({"title": "T", "required_capabilities": ["a", "a"]}, "required_capabilities"),
        ({"title": "T", "status": "completed", "required_capabilities": "crm"}, "required_capabilities"),
    ],
)
def test_bad_task_input_is_400_naming_the_field(supervisor_client, payload, field):
    response = supervisor_client.post(f"{BASE}/tasks/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert AgentTask.objects.count() == 0


def test_task_filters(supervisor_client):
    agent = AutomatedAgentFactory()
    AgentTaskFactory(status="completed", priority="low", assigned_agent=agent)
    AgentTaskFactory(status="pending", priority="urgent")

    def count(**params) -> int:
        return supervisor_client.get(f"{BASE}/tasks/", params).json()["count"]

    assert (
        count(status="completed"),
        count(priority="urgent"),
        count(agent=str(agent.pk)),
        count(unassigned="true"),
    ) == (
        1,
        1,
        1,
        1,
    )
    assert (
        "priority"
        in _error(supervisor_client.get(f"{BASE}/tasks/", {"priority": "critical"}), 400, "invalid_choice")[
            "fields"
        ]
    )
    assert "agent" in supervisor_client.get(f"{BASE}/tasks/", {"agent": "not-a-uuid"}).json()["fields"]


def test_task_search_finds_words_of_title_and_description(supervisor_client):
    AgentTaskFactory(title="Refund invoice 1042", description="Customer was double charged")
    AgentTaskFactory(title="Schedule demo", description=None)

    def titles(terms):
        return [
            t["title"] for t in supervisor_client.get(f"{BASE}/tasks/", {"search": terms}).json()["results"]
        ]

    assert titles("refund") == ["Refund invoice 1042"]
    assert titles("double charged") == ["Refund invoice 1042"]
    assert titles("demo") == ["Schedule demo"]
    assert titles("refund demo") == []


def test_task_list_query_count_does_not_grow(supervisor_client, django_assert_max_num_queries):
    workflow = WorkflowFactory()
    AgentTaskFactory(assigned_agent=AutomatedAgentFactory(), workflow=workflow)
    with django_assert_max_num_queries(99) as few:
        supervisor_client.get(f"{BASE}/tasks/")
    for _ in range(9):
        AgentTaskFactory(assigned_agent=AutomatedAgentFactory(), workflow=WorkflowFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert supervisor_client.get(f"{BASE}/tasks/").json()["count"] == 10


# --- workflows and executions --------------------------------------------------------------------------


def test_a_workflow_is_created_activated_and_started(supervisor_client):
    starter = AutomatedAgentFactory(agent_type="chief_of_staff")
    created = supervisor_client.post(
        f"{BASE}/workflows/",
        {
            "name": "Onboarding",
            "definition": two_step_definition(),
            "tags": ["sales"],
            "created_by": str(starter.pk),
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    workflow_id = created.json()["id"]
    _error(
        supervisor_client.post(f"{BASE}/workflows/{workflow_id}/executions/", {}), 409, "workflow_not_active"
    )
    assert (
        supervisor_client.patch(f"{BASE}/workflows/{workflow_id}/", {"status": "active"}).json()["version"]
        == 1
    )

    started = supervisor_client.post(
        f"{BASE}/workflows/{workflow_id}/executions/",
        {"started_by": str(starter.pk), "context_data": {"account": "ACME"}},
        format="json",
    )

    assert started.status_code == 201, started.content
    execution = started.json()
    assert (execution["status"], execution["current_step"], execution["workflow_name"]) == (
        "running",
        0,
        "Onboarding",
    )
    assert [(t["step_order"], t["title"], t["status"]) for t in execution["tasks"]] == [
        (0, "Research the account", "pending")
    ]
    detail = supervisor_client.get(f"{BASE}/executions/{execution['id']}/").json()
    assert detail["context_data"] == {"account": "ACME"}
    assert supervisor_client.get(f"{BASE}/workflows/{workflow_id}/").json()["running_executions"] == 1

    cancelled = supervisor_client.post(f"{BASE}/executions/{execution['id']}/cancel/")
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["tasks"][0]["status"] == "cancelled"


def test_an_invalid_definition_is_400_listing_each_problem_with_its_path(supervisor_client):
    response = supervisor_client.post(
        f"{BASE}/workflows/",
        {"name": "W", "definition": {"steps": [{"name": "a", "titel": "x"}]}},
        format="json",
    )

    body = _error(response, 400, "invalid")
    assert body["fields"]["definition"] == ["steps[0].titel: unknown key.", "steps[0].title: required."]
    assert Workflow.objects.count() == 0


def test_a_changed_definition_through_the_api_is_a_new_version(supervisor_client):
    workflow = WorkflowFactory()
    body = supervisor_client.patch(
        f"{BASE}/workflows/{workflow.pk}/",
        {"definition": {"steps": [{"name": "a", "title": "A"}]}},
        format="json",
    ).json()
    assert body["version"] == 2


def test_workflow_search_and_filters(supervisor_client):
    WorkflowFactory(name="Churn rescue", description="Win back accounts", status="active")
    WorkflowFactory(name="Onboarding", description=None, status="draft")

    names = lambda **p: [w["name"] for w in supervisor_client.get(f"{BASE}/workflows/", p).json()["results"]]  # noqa: E731

    assert names(search="accounts") == ["Churn rescue"]
    assert names(status="draft") == ["Onboarding"]
    _error(supervisor_client.get(f"{BASE}/workflows/", {"status": "retired"}), 400, "invalid_choice")


def test_execution_and_workflow_lists_query_counts_do_not_grow(
    supervisor_client, django_assert_max_num_queries
):
    from agents.automation.services import workflow_execution_start

    workflow_execution_start(workflow_id=WorkflowFactory().pk)
    counts = {}
    for path in ("executions", "workflows"):
        with django_assert_max_num_queries(99) as few:
            supervisor_client.get(f"{BASE}/{path}/")
        counts[path] = len(few.captured_queries)
    for _ in range(6):
        workflow_execution_start(workflow_id=WorkflowFactory().pk, started_by=AutomatedAgentFactory())
    for path, count in counts.items():
        with django_assert_max_num_queries(count):
            assert supervisor_client.get(f"{BASE}/{path}/").json()["count"] == 7


# --- messages ------------------------------------------------------------------------------------------


def test_a_message_is_sent_delivered_and_acknowledged(supervisor_client):
    sender, recipient = AutomatedAgentFactory(agent_type="chief_of_staff"), AutomatedAgentFactory()
    sent = supervisor_client.post(
        f"{BASE}/messages/",
        {
            "sender": str(sender.pk),
            "recipient": str(recipient.pk),
            "message_type": "task_request",
            "payload": {"task": 1},
        },
        format="json",
    )
    assert sent.status_code == 201, sent.content
    message_id = sent.json()["message_id"]
    assert (sent.json()["status"], sent.json()["sender_type"]) == ("sent", "chief_of_staff")

    assert supervisor_client.post(f"{BASE}/messages/{message_id}/deliver/").json()["status"] == "delivered"
    acknowledged = supervisor_client.post(f"{BASE}/messages/{message_id}/acknowledge/").json()
    assert acknowledged["status"] == "acknowledged"
    _error(
        supervisor_client.post(f"{BASE}/messages/{message_id}/deliver/"), 409, "message_transition_invalid"
    )


def test_a_failed_delivery_is_retried_then_failed(supervisor_client):
    message = AgentMessageFactory(max_retries=1)

    first = supervisor_client.post(f"{BASE}/messages/{message.message_id}/fail/", {"error": "busy"}).json()
    assert (first["status"], first["retry_count"], first["last_error"]) == ("pending", 1, "busy")
    second = supervisor_client.post(f"{BASE}/messages/{message.message_id}/fail/", {"error": "gone"}).json()
    assert second["status"] == "failed"


def test_bad_message_input_is_400(supervisor_client):
    agent = AutomatedAgentFactory()
    past = (timezone.now() - dt.timedelta(minutes=1)).isoformat()
    body = _error(
        supervisor_client.post(
            f"{BASE}/messages/",
            {
                "sender": str(agent.pk),
                "recipient": str(uuid.uuid4()),
                "message_type": "",
                "expires_at": past,
                "priority": "asap",
            },
            format="json",
        ),
        400,
        "does_not_exist",
    )
    assert set(body["fields"]) == {"recipient", "message_type", "expires_at", "priority"}


def test_message_filters_and_list_query_count(supervisor_client, django_assert_max_num_queries):
    recipient = AutomatedAgentFactory()
    AgentMessageFactory(recipient=recipient, status="sent")
    with django_assert_max_num_queries(99) as few:
        supervisor_client.get(f"{BASE}/messages/")
    for _ in range(6):
        AgentMessageFactory(status="sent")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert supervisor_client.get(f"{BASE}/messages/").json()["count"] == 7
    assert supervisor_client.get(f"{BASE}/messages/", {"recipient": str(recipient.pk)}).json()["count"] == 1
    _error(supervisor_client.get(f"{BASE}/messages/", {"status": "lost"}), 400, "invalid_choice")


def test_the_api_root_links_the_automation_resources(supervisor_client):
    body = supervisor_client.get("/api/v1/").json()

    assert body["automation_tasks"].endswith("/api/v1/automation/tasks/")
    assert body["automation_agents"].endswith("/api/v1/automation/agents/")


@pytest.mark.parametrize(
    ("payload", "field", "message", "code"),
    [
        ({"title": "T", "status": "completed"}, "status", "Read-only", "read_only"),
        ({"title": "T", "prority": "high"}, "prority", "Unknown field", "unknown_field"),
    ],
)
def test_a_key_the_request_may_not_set_is_400_naming_it(supervisor_client, payload, field, message, code):
    response = supervisor_client.post(f"{BASE}/tasks/", payload, format="json")

    body = _error(response, 400, code)
    assert message in body["fields"][field][0]
    assert AgentTask.objects.count() == 0


def test_an_unknown_key_in_a_nested_capability_is_400(supervisor_client):
    response = supervisor_client.post(
        f"{BASE}/agents/",
        {"name": "A", "agent_type": "master_operator", "capabilities": [{"name": "crm", "confidence": 0.9}]},
        format="json",
    )

    assert response.status_code == 400
    assert "confidence" in str(response.json()["fields"]["capabilities"])


def test_a_patched_capability_must_be_whole(supervisor_client):
    agent = AutomatedAgentFactory(capabilities=["crm"])

    response = supervisor_client.patch(f"{BASE}/agents/{agent.pk}/", {"capabilities": [{}]}, format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["capabilities"] == {"0": {"name": ["This field is required."]}}
    assert AutomatedAgent.objects.get(pk=agent.pk).capabilities == ["crm"]


def test_a_malformed_agent_id_is_400_naming_the_field(supervisor_client):
    task = AgentTaskFactory()
    body = _error(
        supervisor_client.post(f"{BASE}/tasks/{task.pk}/assign/", {"agent": "agent-7"}), 400, "invalid"
    )
    assert "agent" in body["fields"]


@pytest.mark.parametrize("value", ["maybe", "1", "True"])
def test_unassigned_takes_true_or_false_only(supervisor_client, value):
    body = _error(supervisor_client.get(f"{BASE}/tasks/", {"unassigned": value}), 400, "invalid")
    assert "unassigned" in body["fields"]


def test_unassigned_filters_both_ways(supervisor_client):
    mine = AgentTaskFactory(assigned_agent=AutomatedAgentFactory())
    nobody = AgentTaskFactory()
    ids = {
        value: [
            row["id"]
            for row in supervisor_client.get(f"{BASE}/tasks/", {"unassigned": value}).json()["results"]
        ]
        for value in ("true", "false")
    }
    assert ids == {"true": [str(nobody.pk)], "false": [str(mine.pk)]}


def test_a_title_longer_than_its_maximum_is_400_even_when_whitespace_would_be_trimmed(supervisor_client):
    # \u0085 is whitespace to Python: DRF trims it before counting, the schema's maxLength counts it
    body = {"title": "\u0085 " + "x" * 499}
    response = supervisor_client.post(f"{BASE}/tasks/", body, format="json")
    assert _error(response, 400, "max_length")["fields"]["title"]
    assert (
        supervisor_client.post(f"{BASE}/tasks/", {"title": " " + "x" * 499}, format="json").status_code == 201
    )


def test_a_nul_character_deep_in_result_data_is_400_not_a_server_error(supervisor_client):
    task = AgentTaskFactory(status="in_progress", started_at=timezone.now())
    body = {"error": "boom", "result_data": {"rows": [{"key\u0000": True}]}}
    response = supervisor_client.post(f"{BASE}/tasks/{task.pk}/fail/", body, format="json")
    assert _error(response, 400, "null_characters")["fields"]["result_data"]
