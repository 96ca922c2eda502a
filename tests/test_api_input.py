"""Input the API used to accept and silently drop or change, and the schema that says what it takes.

- bodies: JSON only; any other content type is a 415 (a form cannot carry nested rows);
- filters, `page`, `page_size`: a value they cannot use is a 400 naming the parameter;
- identifiers (case ids, agent codes, employee ids, skill codes): taken exactly as sent, whitespace
  around one is a 400;
- a taken unique value (agent code, email, employee id) is a 409 `unique` naming the field, like a case
  id routed twice;
- schedule times are local wall-clock times, declared as such.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from agents.models import AgentSchedule, HumanAgent
from routing.models import SupportCase
from tests.factories import HumanAgentFactory
from tests.factories.agents import AgentSkillFactory, SkillDomainFactory
from tests.factories.routing import EscalationQueueEntryFactory

pytestmark = pytest.mark.django_db

AGENTS = "/api/v1/agents/"
CASES = "/api/v1/routing/cases/"
QUEUE = "/api/v1/routing/queue/"


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.fixture
def billing(db) -> None:
    SkillDomainFactory(code="billing")


def _error(response: Any, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:400])
    body = response.json()
    assert set(body) == {"detail", "code", "fields"}
    return body


def _agent_body(**overrides: Any) -> dict:
    return {
        "code": "agent_new",
        "name": "Nadia New",
        "email": "nadia@example.com",
        "skill_level": "senior",
        "skills": [{"domain": "billing", "proficiency": "expert"}],
        **overrides,
    }


def _case_body(**overrides: Any) -> dict:
    return {
        "case_id": "CASE-1",
        "priority": "high",
        "complexity": "low",
        "required_skills": ["billing"],
        **overrides,
    }


# --- fault 11: JSON only ----------------------------------------------------------------------------------


def test_a_multipart_agent_with_nested_skills_is_415_not_an_agent_without_skills(
    supervisor_client: APIClient, billing
):
    body = {**_agent_body(), "skills": json.dumps(_agent_body()["skills"])}

    response = supervisor_client.post(AGENTS, body, format="multipart")

    assert _error(response, 415)["code"] == "unsupported_media_type"
    assert not HumanAgent.objects.filter(code="agent_new").exists()


def test_a_form_encoded_route_request_is_415_not_a_case_without_its_requirements(
    supervisor_client: APIClient, billing
):
    body = "case_id=CASE-1&priority=high&complexity=low&required_skills=billing&special_requirements=%7B%7D"

    response = supervisor_client.post(CASES, body, content_type="application/x-www-form-urlencoded")

    assert _error(response, 415)["code"] == "unsupported_media_type"
    assert not SupportCase.objects.exists()


WRITES = [
    ("post", AGENTS),
    ("put", f"{AGENTS}agent_x/"),
    ("patch", f"{AGENTS}agent_x/"),
    ("put", f"{AGENTS}agent_x/availability/"),
    ("patch", f"{AGENTS}agent_x/availability/"),
    ("post", CASES),
]


@pytest.mark.parametrize(("method", "url"), WRITES)
@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", ""]
)
def test_every_write_with_a_body_that_is_not_json_is_415(
    supervisor_client: APIClient, billing, method: str, url: str, content_type: str
):
    HumanAgentFactory(code="agent_x", name="Unchanged")

    # "" is a body without a Content-Type header (what a WSGI server passes on for one)
    response = supervisor_client.generic(method.upper(), url, b"name=Changed", content_type=content_type)

    assert _error(response, 415)["code"] == "unsupported_media_type"
    assert HumanAgent.objects.get(code="agent_x").name == "Unchanged"


def test_the_schema_takes_json_only_and_documents_415_on_every_body(schema: dict):
    bodies = 0
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if "requestBody" in operation:
                bodies += 1
                assert list(operation["requestBody"]["content"]) == ["application/json"], (method, path)
                assert "415" in operation["responses"], (method, path)
    assert bodies >= 7


# --- unknown filter values: a 400 naming the parameter ------------------------------------------------------


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("skill", "nosuch"),
        ("skill", " billing"),  # not trimmed into a known code
        ("active", "maybe"),
        ("active", "1"),
        ("language", "xx"),
        ("status", "sleeping"),
        ("ordering", "nosuch"),
        ("ordering", "code,"),
        ("ordering", "-nosuch,name"),
    ],
)
def test_an_unknown_filter_value_is_400_naming_the_parameter(
    supervisor_client: APIClient, billing, parameter: str, value: str
):
    body = _error(supervisor_client.get(AGENTS, {parameter: value}), 400)
    assert list(body["fields"]) == [parameter]


def test_known_filter_values_filter(supervisor_client: APIClient, billing):
    skilled = HumanAgentFactory(code="skilled", is_active=True)
    AgentSkillFactory(agent=skilled, domain=SkillDomainFactory(code="billing"))
    HumanAgentFactory(code="inactive", is_active=False)

    def codes(**query: str) -> list[str]:
        response = supervisor_client.get(AGENTS, query)
        assert response.status_code == 200, response.json()
        return [row["code"] for row in response.json()["results"]]

    assert "skilled" in codes(skill="billing") and "inactive" not in codes(skill="billing")
    assert "inactive" not in codes(active="true")
    assert codes(active="false") == ["inactive"]
    assert codes(ordering="-code")[:2] == ["skilled", "inactive"]
    # an empty value is the parameter left out (what the browsable API's filter form sends)
    assert codes(skill="", active="", language="", status="", ordering="") == codes()


def test_the_schema_declares_what_each_filter_takes(schema: dict):
    parameters = {p["name"]: p for p in schema["paths"][AGENTS]["get"]["parameters"]}
    assert parameters["active"]["schema"]["type"] == "boolean"
    ordering = parameters["ordering"]
    assert ordering["schema"]["type"] == "array" and ordering["explode"] is False
    assert {"code", "-code", "hire_date"} <= set(ordering["schema"]["items"]["enum"])
    for name in ("skill", "language", "status", "active", "department", "search", "ordering"):
        assert parameters[name]["allowEmptyValue"] is True, name
    for name in ("page", "page_size"):
        assert parameters[name]["schema"] == {"type": "integer", "minimum": 1}
        assert "allowEmptyValue" not in parameters[name]


# --- pagination -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [AGENTS, QUEUE])
@pytest.mark.parametrize(
    ("parameter", "value"),
    [(p, v) for p in ("page", "page_size") for v in ("0", "-1", "abc", "", "1.5", "last")],
)
def test_a_page_or_page_size_that_is_not_a_positive_integer_is_400_naming_it(
    supervisor_client: APIClient, url: str, parameter: str, value: str
):
    body = _error(supervisor_client.get(url, {parameter: value}), 400)
    assert list(body["fields"]) == [parameter]


@pytest.mark.parametrize("url", [AGENTS, QUEUE])
def test_a_page_past_the_last_is_a_documented_404_naming_page(
    supervisor_client: APIClient, schema: dict, url: str
):
    body = _error(supervisor_client.get(url, {"page": 999}), 404)
    assert body["code"] == "page_not_found"
    assert list(body["fields"]) == ["page"]
    assert "404" in schema["paths"][url]["get"]["responses"]
    assert "400" in schema["paths"][url]["get"]["responses"]


def test_the_first_page_of_an_empty_list_is_an_empty_page(supervisor_client: APIClient):
    response = supervisor_client.get(QUEUE, {"page": 1})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_pages_still_page(supervisor_client: APIClient):
    for index in range(3):
        EscalationQueueEntryFactory(case__case_id=f"PAGED-{index}")
    second = supervisor_client.get(QUEUE, {"page": 2, "page_size": 2}).json()
    assert second["count"] == 3 and len(second["results"]) == 1
    assert second["results"][0]["position"] == 3


# --- identifiers are taken exactly as sent -----------------------------------------------------------------


@pytest.mark.parametrize("case_id", [" CASE-1", "CASE-1 ", "\tCASE-1", "CASE-1\n"])
def test_whitespace_around_a_case_id_is_400_not_trimmed(supervisor_client: APIClient, billing, case_id: str):
    body = _error(supervisor_client.post(CASES, _case_body(case_id=case_id), format="json"), 400)
    assert list(body["fields"]) == ["case_id"]
    assert not SupportCase.objects.exists()


@pytest.mark.parametrize("skills", [[" billing"], ["billing "]])
def test_whitespace_around_a_required_skill_is_400(supervisor_client: APIClient, billing, skills: list[str]):
    body = _error(supervisor_client.post(CASES, _case_body(required_skills=skills), format="json"), 400)
    assert list(body["fields"]) == ["required_skills"]


@pytest.mark.parametrize(
    ("field", "value"), [("code", " agent_new"), ("code", "agent_new "), ("employee_id", " E-1")]
)
def test_whitespace_around_an_agent_identifier_is_400(
    supervisor_client: APIClient, billing, field: str, value: str
):
    body = _error(supervisor_client.post(AGENTS, _agent_body(**{field: value}), format="json"), 400)
    assert list(body["fields"]) == [field]
    assert not HumanAgent.objects.filter(name="Nadia New").exists()


def test_the_case_id_in_a_url_is_not_trimmed_either(supervisor_client: APIClient):
    from tests.factories.routing import SupportCaseFactory

    SupportCaseFactory(case_id="CASE-7")
    assert supervisor_client.get(f"{CASES}CASE-7/").status_code == 200
    assert supervisor_client.get(f"{CASES}%20CASE-7/").status_code == 404


# --- fault 14: duplicates are conflicts (409), as a case id routed twice is --------------------------------


@pytest.mark.parametrize(
    ("field", "value"), [("code", "taken"), ("email", "taken@example.com"), ("employee_id", "E-TAKEN")]
)
def test_a_taken_unique_value_is_409_naming_the_field(
    supervisor_client: APIClient, billing, field: str, value: str
):
    HumanAgentFactory(code="taken", email="taken@example.com", employee_id="E-TAKEN")
    agents_before = HumanAgent.objects.count()

    body = _error(supervisor_client.post(AGENTS, _agent_body(**{field: value}), format="json"), 409)

    assert body["code"] == "unique"
    assert list(body["fields"]) == [field]
    assert HumanAgent.objects.count() == agents_before


def test_changing_an_agent_to_a_taken_code_is_409(supervisor_client: APIClient):
    HumanAgentFactory(code="taken")
    HumanAgentFactory(code="mine")

    body = _error(supervisor_client.patch(f"{AGENTS}mine/", {"code": "taken"}, format="json"), 409)

    assert body["code"] == "unique" and list(body["fields"]) == ["code"]


def test_a_taken_value_with_another_invalid_field_is_still_400(supervisor_client: APIClient, billing):
    HumanAgentFactory(code="taken")

    body = _error(
        supervisor_client.post(AGENTS, _agent_body(code="taken", skill_level="wizard"), format="json"), 400
    )

    assert set(body["fields"]) == {"code", "skill_level"}


def test_a_unique_value_taken_by_a_concurrent_request_is_409_naming_the_column(
    supervisor_client: APIClient, billing, monkeypatch
):
    # given a request that passed validation while another one took the code (the race the
    # serializer cannot see), the database's unique constraint answers
    from agents.services import agent_create

    def racing_create(**kwargs: Any) -> HumanAgent:
        HumanAgentFactory(code=kwargs["code"], email="first@example.com")
        with transaction.atomic():
            return agent_create(**kwargs)

    monkeypatch.setattr("agents.api.views.agent_create", racing_create)

    body = _error(supervisor_client.post(AGENTS, _agent_body(code="raced"), format="json"), 409)

    assert body["code"] == "unique"
    assert list(body["fields"]) == ["code"]


def test_the_schema_documents_409_on_agent_writes(schema: dict):
    for method in ("post",):
        assert "409" in schema["paths"][AGENTS][method]["responses"]
    for method in ("put", "patch"):
        assert "409" in schema["paths"][f"{AGENTS}{{code}}/"][method]["responses"]


def test_agents_without_an_employee_id_do_not_collide(supervisor_client: APIClient, billing):
    for number, blank in enumerate(["", None, ""]):
        body = _agent_body(code=f"no_id_{number}", email=f"no_id_{number}@example.com", employee_id=blank)
        response = supervisor_client.post(AGENTS, body, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["employee_id"] is None
    assert HumanAgent.objects.filter(employee_id__isnull=True, code__startswith="no_id_").count() == 3


# --- fault 14: schedule times are local wall-clock times -------------------------------------------------


def _schedule(**overrides: Any) -> dict:
    return {
        "day_of_week": "monday",
        "start_time": "09:00",
        "end_time": "17:00",
        "timezone": "Europe/Paris",
        "effective_from": "2026-01-01",
        **overrides,
    }


def test_the_schema_declares_schedule_times_as_local_times_with_their_pattern(schema: dict):
    for component in ("AgentSchedule", "AgentScheduleRequest"):
        for name in ("start_time", "end_time"):
            declared = schema["components"]["schemas"][component]["properties"][name]
            assert "format" not in declared
            assert declared["type"] == "string"
            assert re.fullmatch(declared["pattern"], "09:00:00")
            assert "local" in declared["description"].lower()


def test_schedule_times_render_as_the_schema_says(supervisor_client: APIClient, billing):
    response = supervisor_client.post(
        AGENTS, _agent_body(schedules=[_schedule(start_time="09:00:30.5")]), format="json"
    )
    assert response.status_code == 201, response.json()
    schema = SchemaGenerator().get_schema(request=None, public=True)
    pattern = schema["components"]["schemas"]["AgentSchedule"]["properties"]["start_time"]["pattern"]
    row = response.json()["schedules"][0]
    assert row["start_time"] == "09:00:30.500000"
    assert re.fullmatch(pattern, row["start_time"]) and re.fullmatch(pattern, row["end_time"])


@pytest.mark.parametrize(
    "value", ["09:00:00Z", "09:00:00+02:00", "0900", "9:00", "24:00", "09:00:00.1234567"]
)
def test_a_schedule_time_that_is_not_a_local_wall_clock_time_is_400(
    supervisor_client: APIClient, billing, value: str
):
    body = _error(
        supervisor_client.post(AGENTS, _agent_body(schedules=[_schedule(start_time=value)]), format="json"),
        400,
    )
    assert "start_time" in body["fields"]["schedules"]["0"]
    assert not AgentSchedule.objects.filter(agent__code="agent_new").exists()


# --- JSON types as the schema states them, not coerced ----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "method", "body", "field"),
    [
        (AGENTS, "post", _agent_body(employee_id=0), "employee_id"),
        (AGENTS, "post", _agent_body(max_concurrent_work="4"), "max_concurrent_work"),
        (AGENTS, "post", _agent_body(is_active=1), "is_active"),
        (AGENTS, "post", _agent_body(base_hourly_rate=25.5), "base_hourly_rate"),
        (
            AGENTS,
            "post",
            _agent_body(skills=[{"domain": "billing", "proficiency": "expert", "years_experience": 2}]),
            "skills",
        ),
        (AGENTS, "post", _agent_body(skills={"domain": "billing"}), "skills"),
        (f"{AGENTS}agent_x/availability/", "put", {"status": 1}, "status"),
        (CASES, "post", _case_body(special_requirements={"specialization": 0}), "special_requirements"),
        (CASES, "post", _case_body(required_skills=[1]), "required_skills"),
        (CASES, "post", _case_body(max_wait_minutes=True), "max_wait_minutes"),
        # RFC 3339, as the schema's formats say: no date-time read in the server's zone, no basic format
        (
            f"{AGENTS}agent_x/availability/",
            "patch",
            {"expected_available_at": "2026-12-01T14:30:00"},
            "expected_available_at",
        ),
        (AGENTS, "post", _agent_body(hire_date="20260101"), "hire_date"),
    ],
)
def test_a_value_of_the_wrong_json_type_is_400_not_coerced(
    supervisor_client: APIClient, billing, url: str, method: str, body: dict, field: str
):
    HumanAgentFactory(code="agent_x")

    response = getattr(supervisor_client, method)(url, body, format="json")

    assert list(_error(response, 400)["fields"]) == [field]
    assert not HumanAgent.objects.filter(code="agent_new").exists()
    assert not SupportCase.objects.exists()


# --- the browsable API (development settings) still serves a signed-in supervisor ------------------------


@pytest.mark.parametrize(
    "url",
    [AGENTS, f"{AGENTS}agent_001/", f"{AGENTS}agent_001/availability/", QUEUE, f"{AGENTS}?active=&skill="],
)
def test_the_browsable_api_pages_render_for_a_supervisor(supervisor_user, url: str):
    client = APIClient()
    client.force_login(supervisor_user)

    response = client.get(url, HTTP_ACCEPT="text/html")

    assert response.status_code == 200, response.content[:300]
    page = response.content.decode()
    # writes go through the raw-data form, as JSON: it offers no other content type
    if 'name="_content_type"' in page:
        offered = re.findall(
            r'<option value="([^"]+)"', page.split('name="_content_type"', 1)[1].split("</select>", 1)[0]
        )
        assert offered == ["application/json"]


def test_the_browsable_api_raw_form_posts_json(supervisor_user, billing):
    client = APIClient()
    client.force_login(supervisor_user)  # session authentication, as the browsable API

    response = client.post(
        AGENTS, json.dumps(_agent_body()), content_type="application/json", HTTP_ACCEPT="text/html"
    )

    assert response.status_code == 201
    assert HumanAgent.objects.get(code="agent_new").skills.count() == 1
