"""Bad input never reaches the database as a 500, and every error under /api/ answers the API's JSON.

The sweeps read the published OpenAPI schema, so an operation, parameter or body field added later is
swept too: a NUL character in every query parameter and in every string of every request body, and an
OPTIONS request on every path, by a supervisor (who may change) and an analyst (who may only read).
PostgreSQL text cannot hold a NUL character, so there an unchecked one fails the query itself (a
DataError, a 500); the sweeps run on both databases and expect the same 400.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.test import Client, RequestFactory
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from agents.automation.services import workflow_execution_start
from agents.models import HumanAgent
from config import api
from routing.models import SupportCase
from tests.factories import HumanAgentFactory
from tests.factories.agents import AgentSkillFactory, SkillDomainFactory
from tests.factories.automation import (
    AgentMessageFactory,
    AgentTaskFactory,
    AutomatedAgentFactory,
    WorkflowFactory,
    two_step_definition,
)
from tests.factories.leads import (
    LeadFactory,
    RoutingExperimentFactory,
    RoutingExperimentVariantFactory,
    RoutingRuleFactory,
)
from tests.factories.routing import SupportCaseFactory
from tests.factories.scoring import UserCallScoreFactory
from tests.factories.voice import OrganizationFactory
from tests.voice.conftest import build_tenant, next_weekday
from voice.models import MembershipRole
from voice.services.tenancy import membership_save

pytestmark = pytest.mark.django_db

NUL = "a\x00b"
AGENT_CODE = "sweep_agent"
CASE_ID = "SWEEP-1"


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def targets(db, supervisor_user, analyst_user) -> dict[str, Any]:
    """The rows the sweeps' path parameters name, keyed "<app>/<collection>" (see `_url`): an agent
    with a skill and a case; a voice organization with one row of each kind, of which the supervisor
    is a manager and the analyst a member (voice answers only inside one's organization); automated
    agents with a task, a workflow and its execution, and a message; a lead, a routing rule and a draft
    experiment with its two variants; a lead with a call score (the person scoring's bodies name)."""
    agent = HumanAgentFactory(code=AGENT_CODE)
    AgentSkillFactory(agent=agent, domain=SkillDomainFactory(code="billing"))
    SupportCaseFactory(case_id=CASE_ID)
    tenant = build_tenant(OrganizationFactory(name="Sweep Dental", slug="sweep"), "Sweep")
    membership_save(organization=tenant.organization, user=supervisor_user, role=MembershipRole.MANAGER)
    membership_save(organization=tenant.organization, user=analyst_user, role=MembershipRole.STAFF)
    robot, other = AutomatedAgentFactory(agent_type="chief_of_staff"), AutomatedAgentFactory()
    workflow = WorkflowFactory()
    execution = workflow_execution_start(workflow_id=workflow.pk, started_by=robot, context_data={})
    experiment = RoutingExperimentFactory(name="Sweep experiment")
    RoutingExperimentVariantFactory(experiment=experiment, name="control", is_control=True, position=0)
    RoutingExperimentVariantFactory(experiment=experiment, name="treatment", position=1)
    return {
        "routing/leads": LeadFactory(external_id="SWEEP-LEAD").pk,
        # scoring's endpoints name their person in the body: a lead with a call score
        "scoring/person": UserCallScoreFactory(person=LeadFactory(external_id="SWEEP-CALLEE")).person_id,
        "routing/rules": RoutingRuleFactory(name="Sweep rule").pk,
        "routing/experiments": experiment.pk,
        "voice/locations": tenant.location.pk,
        "voice/services": tenant.service.pk,
        "voice/providers": tenant.provider.pk,
        "voice/appointments": tenant.appointment.pk,
        "voice/configs": tenant.config.pk,
        "voice/calls": tenant.call.pk,
        "voice/knowledge": tenant.knowledge.pk,
        "automation/agents": robot.pk,
        "automation/tasks": AgentTaskFactory().pk,
        "automation/workflows": workflow.pk,
        "automation/executions": execution.pk,
        "automation/messages": AgentMessageFactory(sender=robot, recipient=other).message_id,
        "tenant": tenant,
        "robot": robot,
        "other_robot": other,
    }


def _url(path: str, targets: dict[str, Any]) -> str:
    """The schema path with its parameters filled in: an agent's `{code}`, a case's `{case_id}`, and
    for `/api/v1/<app>/<collection>/{id}/` the row `targets` holds for that collection."""
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part == "{code}":
            parts[index] = AGENT_CODE
        elif part == "{case_id}":
            parts[index] = CASE_ID
        elif part.startswith("{"):
            parts[index] = str(targets[f"{parts[index - 2]}/{parts[index - 1]}"])
    return "/".join(parts)


def _operations(schema: dict) -> Iterator[tuple[str, str, dict]]:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield path, method, operation


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    if "allOf" in node and len(node["allOf"]) == 1:
        return _resolve(schema, node["allOf"][0])
    return node


def _assert_api_error(response: Any, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:300])
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "code", "fields"}
    return body


# --- fault 10: the two 500s -------------------------------------------------------------------------------


def _agent_body(**overrides: Any) -> dict:
    return {
        "code": "nul_agent",
        "name": "Nul Agent",
        "email": "nul@example.com",
        "skill_level": "senior",
        "skills": [{"domain": "billing", "proficiency": "expert"}],
        **overrides,
    }


@pytest.mark.parametrize("method", ["post", "put", "patch"])
def test_a_nul_byte_in_a_nested_skill_domain_is_400_naming_it(
    supervisor_client: APIClient, targets: None, method: str
):
    url = "/api/v1/agents/" if method == "post" else f"/api/v1/agents/{AGENT_CODE}/"
    body = _agent_body(
        code="nul_agent" if method == "post" else AGENT_CODE,
        skills=[{"domain": "bill\x00ing", "proficiency": "expert"}],
    )
    agents_before = HumanAgent.objects.count()

    response = getattr(supervisor_client, method)(url, body, format="json")

    error = _assert_api_error(response, 400)
    assert error["fields"]["skills"]["0"]["domain"] == ["Null characters are not allowed."]
    assert HumanAgent.objects.count() == agents_before


def test_options_on_availability_by_a_user_who_may_change_it_describes_the_put(
    supervisor_client: APIClient, targets: None
):
    response = supervisor_client.options(f"/api/v1/agents/{AGENT_CODE}/availability/")

    assert response.status_code == 200
    assert "status" in response.json()["actions"]["PUT"]


def test_options_on_the_availability_of_an_unknown_agent_is_not_a_500(supervisor_client: APIClient):
    response = supervisor_client.options("/api/v1/agents/nobody/availability/")

    assert response.status_code == 200
    assert "actions" not in response.json()  # nothing to put to


@pytest.mark.parametrize("who", ["supervisor_client", "analyst_client"])
def test_options_on_every_path_answers_json(request: pytest.FixtureRequest, schema: dict, targets, who: str):
    client: APIClient = request.getfixturevalue(who)
    for path in schema["paths"]:
        response = client.options(_url(path, targets))
        assert response.status_code == 200, (who, path, response.content[:300])
        assert response.json()["name"]


# --- NUL characters anywhere they could reach the database --------------------------------------------------


def _query_parameters(schema: dict) -> list[tuple[str, str]]:
    return [
        (path, parameter["name"])
        for path, method, operation in _operations(schema)
        if method == "get"
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "query"
    ]


def test_the_sweep_covers_the_list_filters(schema: dict):
    swept = set(_query_parameters(schema))
    assert {
        ("/api/v1/agents/", name) for name in ("skill", "search", "ordering", "page", "page_size")
    } <= swept
    assert ("/api/v1/routing/queue/", "page_size") in swept
    assert {("/api/v1/scoring/queue/", "queue_type"), ("/api/v1/scoring/callbacks/", "overdue")} <= swept
    assert {
        ("/api/v1/scoring/conversions/", name)
        for name in ("converted_from", "converted_to", "conversion_type", "agent", "page")
    } <= swept


def test_a_nul_byte_in_any_query_parameter_is_400_naming_it(
    supervisor_client: APIClient, schema: dict, targets
):
    for path, name in _query_parameters(schema):
        response = supervisor_client.get(_url(path, targets), {name: NUL})
        error = _assert_api_error(response, 400)
        assert name in error["fields"], (path, name, error)


def _string_paths(schema: dict, node: dict, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place a string can go in a request body of this schema (list items as index 0)."""
    node = _resolve(schema, node)
    kinds = node.get("type")
    if "oneOf" in node or "anyOf" in node:
        for option in node.get("oneOf", node.get("anyOf", [])):
            yield from _string_paths(schema, option, prefix)
        return
    if kinds == "object" or "properties" in node:
        for name, child in node.get("properties", {}).items():
            if not _resolve(schema, child).get("readOnly"):
                yield from _string_paths(schema, child, (*prefix, name))
    elif kinds == "array":
        yield from _string_paths(schema, node["items"], (*prefix, 0))
    elif kinds == "string" or "enum" in node:
        yield prefix


def _with_value(body: dict, where: tuple[Any, ...], value: Any) -> dict:
    """`body` with `value` at `where`, building the missing containers (a list gets one item)."""
    changed = copy.deepcopy(body)
    container: Any = changed
    for key, following in zip(where, [*where[1:], None], strict=True):
        if following is None:
            if isinstance(container, list):
                container[:1] = [value]
            else:
                container[key] = value
            break
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(container, list):
            if not container:
                container.append(empty)
            container = container[0]
        else:
            if not isinstance(container.get(key), type(empty)):
                container[key] = empty
            container = container[key]
    return changed


def _valid_bodies(targets: dict[str, Any]) -> dict[tuple[str, str], dict]:
    """A body each operation accepts (or refuses only for the state of its row, never for its shape)."""
    tenant = targets["tenant"]
    location = {
        "name": "Sweep Uptown",
        "street": "1 Main St",
        "city": "Boston",
        "region": "ma",
        "postal_code": "02116",
        "country": "us",
        "time_zone": "America/New_York",
        "phone": "+16175550199",
        "hours": [{"weekday": "monday", "opens_at": "08:00", "closes_at": "17:00"}],
        "exceptions": [{"date": "2030-12-25", "closed": True, "reason": "Christmas Day"}],
        "service_ids": [tenant.service.pk],
    }
    knowledge = {
        "category": "faq",
        "title": "Parking",
        "content": "Behind the building.",
        "tags": ["parking"],
    }
    lead = {
        "external_id": "NUL-LEAD",
        "name": "Nul Lead",
        "phone": "+15551230000",
        "email": "nul-lead@example.com",
        "insurance_line": "auto",
        "customer_segment": "smb",
        "language": "en",
        "territory": "US-CA",
        "source": "web_form",
        "estimated_premium": "1200.00",
    }
    rule = {
        "name": "Nul rule",
        "description": "Hot leads first.",
        "rule_type": "assign_to_queue",
        "condition": {"field": "tier", "op": "eq", "value": "hot"},
        "action": {"queue_type": "hot"},
    }
    experiment = {
        "name": "Nul experiment",
        "description": "Lead fit against skill based.",
        "success_metric": "conversion",
        "guardrail_metrics": ["sla_breach_rate"],
        "variants": [
            {"name": "control", "strategy": "lead_fit", "allocation": 50, "is_control": True},
            {"name": "treatment", "strategy": "skill_based", "allocation": 50},
        ],
    }
    person = str(targets["scoring/person"])
    voice, automation, scoring = "/api/v1/voice", "/api/v1/automation", "/api/v1/scoring"
    return {
        ("/api/v1/agents/", "post"): _agent_body(),
        ("/api/v1/agents/{code}/", "put"): _agent_body(code=AGENT_CODE),
        ("/api/v1/agents/{code}/", "patch"): {},
        ("/api/v1/agents/{code}/availability/", "put"): {"status": "available"},
        ("/api/v1/agents/{code}/availability/", "patch"): {},
        ("/api/v1/routing/cases/", "post"): {
            "case_id": "NUL-1",
            "priority": "high",
            "complexity": "low",
            "required_skills": ["billing"],
        },
        ("/api/v1/routing/cases/{case_id}/start/", "post"): {"agent": AGENT_CODE},
        ("/api/v1/routing/leads/", "post"): lead,
        ("/api/v1/routing/leads/{id}/outcome/", "post"): {"outcome": "contacted"},
        ("/api/v1/routing/rules/", "post"): rule,
        ("/api/v1/routing/rules/{id}/", "put"): rule,
        ("/api/v1/routing/rules/{id}/", "patch"): {},
        ("/api/v1/routing/rules/{id}/test/", "post"): {"lead_id": str(targets["routing/leads"])},
        ("/api/v1/routing/experiments/", "post"): experiment,
        ("/api/v1/routing/experiments/{id}/", "put"): experiment,
        ("/api/v1/routing/experiments/{id}/", "patch"): {},
        ("/api/v1/routing/cases/{case_id}/complete/", "post"): {"agent": AGENT_CODE},
        (f"{voice}/locations/", "post"): location,
        (f"{voice}/locations/{{id}}/", "put"): location,
        (f"{voice}/locations/{{id}}/", "patch"): {},
        (f"{voice}/services/", "post"): {"name": "Whitening", "description": "Teeth whitening."},
        (f"{voice}/services/{{id}}/", "put"): {"name": "Whitening"},
        (f"{voice}/services/{{id}}/", "patch"): {},
        (f"{voice}/providers/", "post"): {"name": "Dr Who", "location_ids": [tenant.location.pk]},
        (f"{voice}/providers/{{id}}/", "put"): {"name": "Dr Who"},
        (f"{voice}/providers/{{id}}/", "patch"): {},
        (f"{voice}/appointments/", "post"): {
            "location": tenant.location.pk,
            "service": tenant.service.pk,
            "provider": tenant.provider.pk,
            "customer_name": "Pat",
            "customer_phone": "+13125550100",
            "start_at": next_weekday(0, hour=10).isoformat(),
        },
        (f"{voice}/appointments/{{id}}/", "patch"): {},
        (f"{voice}/configs/", "post"): {"policies": {}},
        (f"{voice}/calls/", "post"): {
            "call_id": "sweep-2",
            "location": tenant.location.pk,
            "started_at": "2030-01-07T15:00:00Z",
            "ended_at": "2030-01-07T15:01:00Z",
            "status": "completed",
        },
        (f"{voice}/calls/stream/", "post"): {
            "call_id": "sweep-3",
            "location": tenant.location.pk,
            "started_at": "2030-01-07T15:00:00Z",
        },
        (f"{voice}/calls/{{id}}/turns/", "post"): {"turns": [{"index": 5, "speaker": "agent", "text": "Hi"}]},
        (f"{voice}/calls/{{id}}/events/", "post"): {"events": [{"type": "barge_in"}]},
        (f"{voice}/calls/{{id}}/close/", "post"): {"ended_at": "2030-01-07T15:04:00Z", "status": "failed"},
        (f"{voice}/knowledge/", "post"): knowledge,
        (f"{voice}/knowledge/{{id}}/", "put"): knowledge,
        (f"{voice}/knowledge/{{id}}/", "patch"): {},
        (f"{automation}/agents/", "post"): {
            "name": "Ops bot",
            "agent_type": "master_operator",
            "capabilities": [{"name": "crm"}],
        },
        (f"{automation}/agents/{{id}}/", "patch"): {},
        (f"{automation}/agents/{{id}}/heartbeat/", "post"): {},
        (f"{automation}/tasks/", "post"): {"title": "Call back", "priority": "high"},
        (f"{automation}/tasks/{{id}}/assign/", "post"): {"agent": str(targets["robot"].pk)},
        (f"{automation}/tasks/{{id}}/complete/", "post"): {"result_data": {"rows": 3}},
        (f"{automation}/tasks/{{id}}/fail/", "post"): {"error": "boom"},
        (f"{automation}/workflows/", "post"): {"name": "Onboarding", "definition": two_step_definition()},
        (f"{automation}/workflows/{{id}}/", "patch"): {},
        (f"{automation}/workflows/{{id}}/executions/", "post"): {"context_data": {"account": "ACME"}},
        (f"{automation}/messages/", "post"): {
            "sender": str(targets["robot"].pk),
            "recipient": str(targets["other_robot"].pk),
            "message_type": "task_request",
            "payload": {"task": 1},
        },
        (f"{automation}/messages/{{message_id}}/fail/", "post"): {"error": "busy"},
        (f"{scoring}/score/", "post"): {"person": person},
        (f"{scoring}/queue/claim/", "post"): {"queue_type": "unsigned_users", "agent": AGENT_CODE},
        (f"{scoring}/callbacks/", "post"): {
            "person": person,
            "queue_type": "unsigned_users",
            "scheduled_for": "2030-01-07T15:00:00Z",
            "reason": "Asked to be called back",
            "agent": AGENT_CODE,
            "agent_only": True,
        },
        (f"{scoring}/call-sessions/", "post"): {
            "person": person,
            "agent": AGENT_CODE,
            "outcome": "no_answer",
            "duration_seconds": 30,
            "notes": "Rang out",
        },
        (f"{scoring}/conversions/", "post"): {
            "person": person,
            "conversion_type": "signature",
            "conversion_reason": "Signed on the call",
            "primary_agent": AGENT_CODE,
            "contributing_agents": [AGENT_CODE],
            "documents_received": {"id_card": "received"},
            "requirements_met": ["identity"],
            "claim_value": "1500.00",
            "estimated_commission": "150.00",
        },
    }


def _body_operations(schema: dict) -> list[tuple[str, str, dict]]:
    found = []
    for path, method, operation in _operations(schema):
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            found.append((path, method, content["application/json"]["schema"]))
    return found


def test_every_operation_with_a_body_has_a_valid_body_to_sweep(schema: dict, targets):
    assert {(path, method) for path, method, _ in _body_operations(schema)} <= set(_valid_bodies(targets))


def test_a_nul_byte_in_any_string_of_any_body_is_400_naming_its_field(
    supervisor_client: APIClient, schema: dict, targets
):
    swept = 0
    valid = _valid_bodies(targets)
    for path, method, body_schema in _body_operations(schema):
        for where in _string_paths(schema, body_schema):
            body = _with_value(valid[(path, method)], where, NUL)
            response = getattr(supervisor_client, method)(_url(path, targets), body, format="json")
            error = _assert_api_error(response, 400)
            assert where[0] in error["fields"], (method, path, where, error)
            swept += 1
    assert swept > 150  # every string field of every body, nested rows included
    assert not SupportCase.objects.filter(case_id="NUL-1").exists()


# --- every error under /api/ answers JSON, 500 included --------------------------------------------------


def test_an_unexpected_error_under_the_api_is_a_json_500(supervisor_user, monkeypatch):
    def broken(**kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("agents.api.views.agent_detail", broken)
    client = Client(raise_request_exception=False)
    client.force_login(supervisor_user)

    response = client.get(f"/api/v1/agents/{AGENT_CODE}/", HTTP_ACCEPT="application/json")

    body = _assert_api_error(response, 500)
    assert body["code"] == "server_error"
    assert "a bug" not in body["detail"]


def test_errors_outside_the_api_keep_django_s_pages():
    request = RequestFactory().get("/admin/")
    assert not api.api_server_error(request)["Content-Type"].startswith("application/json")
    assert not api.api_bad_request(request, SuspiciousOperation())["Content-Type"].startswith(
        "application/json"
    )


def test_a_disallowed_host_under_the_api_is_a_json_400():
    response = Client().get("/api/v1/agents/", HTTP_HOST="evil.example.com")

    body = _assert_api_error(response, 400)
    assert body["code"] == "bad_request"


def test_a_django_permission_denied_under_the_api_is_json():
    response = api.api_permission_denied(RequestFactory().get("/api/v1/agents/"), PermissionDenied())
    assert response.status_code == 403
    assert response["Content-Type"].startswith("application/json")
    assert json.loads(response.content)["code"] == "permission_denied"


# --- NUL characters in any URL of the site ---------------------------------------------------------------


def test_a_nul_byte_in_an_admin_filter_is_400_not_a_database_error(supervisor_user):
    client = Client(raise_request_exception=False)
    client.force_login(supervisor_user)

    response = client.get("/admin/agents/humanagent/", {"department": NUL})

    assert response.status_code == 400


def test_a_nul_byte_in_an_unknown_api_parameter_is_400_naming_it(supervisor_client: APIClient):
    body = _assert_api_error(supervisor_client.get("/api/v1/routing/queue/", {"whatever": NUL}), 400)
    assert body["code"] == "null_characters"
    assert list(body["fields"]) == ["whatever"]


def test_a_nul_byte_in_an_api_path_is_400(supervisor_client: APIClient):
    body = _assert_api_error(supervisor_client.get("/api/v1/agents/a%00b/"), 400)
    assert body["fields"] == {"path": ["Null characters are not allowed."]}
