"""Bad input to the agents API is a 400 naming the field, a conflict a 409; never a 500.

Covers nested rows inside a PATCH (validated as whole rows), specialization keys (blank is NULL, a NULL
segment is one value, two rows may swap their keys), the JSON lists of a specialization, agent codes
that must stay reachable by URL, and the capacity bound.
"""

from __future__ import annotations

import logging

import pytest
from django.core.validators import validate_slug
from django.db import IntegrityError

from agents.models import AgentSpecialization, HumanAgent
from agents.services import NestedRowsConflict, agent_update
from tests.factories import AgentSpecializationFactory, HumanAgentFactory, SkillDomainFactory

pytestmark = pytest.mark.django_db


def detail_url(code: str) -> str:
    return f"/api/v1/agents/{code}/"


def new_agent_payload(**overrides) -> dict:
    return {
        "code": "agent_new",
        "name": "Nadia New",
        "email": "nadia@example.com",
        "skill_level": "senior",
        **overrides,
    }


@pytest.fixture
def agent() -> HumanAgent:
    SkillDomainFactory(code="billing")
    return HumanAgentFactory(code="agent_v")


# --- nested rows inside a PATCH are whole rows ------------------------------------------------------


@pytest.mark.parametrize(
    ("nested", "row", "missing"),
    [
        ("schedules", {"day_of_week": "monday"}, {"start_time", "end_time", "timezone", "effective_from"}),
        (
            "schedules",
            {
                "day_of_week": "monday",
                "start_time": "09:00",
                "timezone": "Europe/Madrid",
                "effective_from": "2026-01-01",
            },
            {"end_time"},
        ),
        ("skills", {"domain": "billing"}, {"proficiency"}),
        ("languages", {"language_code": "en"}, {"proficiency"}),
        ("specializations", {"confidence": "0.5"}, {"specialization"}),
    ],
    ids=[
        "schedule-day-only",
        "schedule-without-end",
        "skill-without-proficiency",
        "language-without-proficiency",
        "specialization-without-name",
    ],
)
def test_patch_with_an_incomplete_nested_row_is_400_naming_the_missing_fields(
    supervisor_client, agent, nested, row, missing
):
    response = supervisor_client.patch(detail_url(agent.code), {nested: [row]})

    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "required"
    assert set(body["fields"][nested]["0"]) == missing
    assert not getattr(agent, nested).exists()


def test_patch_with_complete_nested_rows_still_works(supervisor_client, agent):
    response = supervisor_client.patch(
        detail_url(agent.code),
        {
            "skills": [{"domain": "billing", "proficiency": "expert"}],
            "languages": [{"language_code": "es", "proficiency": "fluent"}],
        },
    )

    assert response.status_code == 200, response.json()
    assert agent.skills.get().proficiency == "expert"
    assert agent.languages.get().language_code == "es"


# --- specializations: blank is NULL, a NULL segment is one value, rows may swap keys ---------------


def test_blank_insurance_line_and_segment_are_stored_as_null(supervisor_client, agent):
    rows = [
        {"specialization": "general_a", "insurance_line": "", "customer_segment": ""},
        {"specialization": "general_b", "insurance_line": "", "customer_segment": "  "},
    ]

    response = supervisor_client.patch(detail_url(agent.code), {"specializations": rows})

    assert response.status_code == 200, response.json()
    stored = set(agent.specializations.values_list("insurance_line", "customer_segment"))
    assert stored == {(None, None)}
    assert {row["insurance_line"] for row in response.json()["specializations"]} == {None}


@pytest.mark.parametrize(
    "segment", ["smb", None, ""], ids=["same-segment", "both-every-segment", "blank-and-null"]
)
def test_two_rows_with_the_same_line_and_segment_are_400(supervisor_client, agent, segment):
    rows = [
        {"specialization": "auto_a", "insurance_line": "auto", "customer_segment": segment},
        {"specialization": "auto_b", "insurance_line": "auto", "customer_segment": None},
    ]
    if segment == "smb":
        rows[1]["customer_segment"] = "smb"

    response = supervisor_client.patch(detail_url(agent.code), {"specializations": rows})

    assert response.status_code == 400, response.json()
    assert "specializations" in response.json()["fields"]
    assert not agent.specializations.exists()


def test_the_same_line_for_a_segment_and_for_every_segment_may_coexist(supervisor_client, agent):
    rows = [
        {"specialization": "auto_smb", "insurance_line": "auto", "customer_segment": "smb"},
        {"specialization": "auto_all", "insurance_line": "auto", "customer_segment": None},
    ]

    response = supervisor_client.patch(detail_url(agent.code), {"specializations": rows})

    assert response.status_code == 200, response.json()
    assert agent.specializations.count() == 2


def test_two_specializations_can_swap_their_line_and_segment_in_one_request(supervisor_client, agent):
    # given two rows whose unique (line, segment) values the request exchanges
    first = AgentSpecializationFactory(
        agent=agent, specialization="a", insurance_line="auto", customer_segment="smb"
    )
    second = AgentSpecializationFactory(
        agent=agent, specialization="b", insurance_line="home", customer_segment=None
    )
    rows = [
        {"specialization": "a", "insurance_line": "home", "customer_segment": None},
        {"specialization": "b", "insurance_line": "auto", "customer_segment": "smb"},
    ]

    # when
    response = supervisor_client.patch(detail_url(agent.code), {"specializations": rows})

    # then both rows are kept (updated in place) with each other's keys
    assert response.status_code == 200, response.json()
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.insurance_line, first.customer_segment) == ("home", None)
    assert (second.insurance_line, second.customer_segment) == ("auto", "smb")
    assert first.history.latest("history_date").history_type == "~"


def test_changing_only_the_segment_of_a_specialization_keeps_its_insurance_line(supervisor_client, agent):
    # given a row whose line stays while its segment changes (the line is released before the update)
    row = AgentSpecializationFactory(
        agent=agent, specialization="auto_a", insurance_line="auto", customer_segment="smb"
    )
    rows = [{"specialization": "auto_a", "insurance_line": "auto", "customer_segment": "enterprise"}]

    # when
    response = supervisor_client.patch(detail_url(agent.code), {"specializations": rows})

    # then
    assert response.status_code == 200, response.json()
    row.refresh_from_db()
    assert (row.insurance_line, row.customer_segment) == ("auto", "enterprise")
    assert response.json()["specializations"][0]["insurance_line"] == "auto"


def test_the_service_reports_a_unique_collision_as_a_conflict_and_writes_nothing(agent):
    # given rows the serializer would refuse, handed to the service directly
    rows = [
        {"specialization": "auto_a", "insurance_line": "auto", "customer_segment": None},
        {"specialization": "auto_b", "insurance_line": "auto", "customer_segment": None},
    ]

    with pytest.raises(NestedRowsConflict) as raised:
        agent_update(agent=agent, name="Changed", specializations=rows)

    assert raised.value.http_status == 409
    assert raised.value.code == "conflict"
    assert "specializations" in raised.value.fields
    assert "insurance line and customer segment" in raised.value.detail
    agent.refresh_from_db()
    assert agent.name != "Changed"
    assert not AgentSpecialization.objects.filter(agent=agent).exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("languages", ["english"]),
        ("languages", "en"),
        ("territories", [""]),
        ("territories", ["US-CALIFORNIA-NORTH"]),
        ("territories", "US-CA"),
    ],
    ids=[
        "language-name",
        "language-not-a-list",
        "blank-territory",
        "territory-too-long",
        "territory-not-a-list",
    ],
)
def test_specialization_language_and_territory_lists_are_validated(supervisor_client, agent, field, value):
    response = supervisor_client.patch(
        detail_url(agent.code), {"specializations": [{"specialization": "x", field: value}]}
    )

    assert response.status_code == 400, response.json()
    assert field in response.json()["fields"]["specializations"]["0"]


def test_specialization_lists_are_stored(supervisor_client, agent):
    row = {"specialization": "x", "languages": ["en", "es"], "territories": ["US-CA", "US-NY"]}

    response = supervisor_client.patch(detail_url(agent.code), {"specializations": [row]})

    assert response.status_code == 200, response.json()
    stored = agent.specializations.get()
    assert (stored.languages, stored.territories) == (["en", "es"], ["US-CA", "US-NY"])


# --- agent codes stay reachable by URL -----------------------------------------------------------------


@pytest.mark.parametrize("code", ["agent.dot", "agent/slash", "agent x", "agent?q", ""])
def test_create_with_a_code_that_is_not_url_safe_is_400_naming_code(supervisor_client, code):
    response = supervisor_client.post("/api/v1/agents/", new_agent_payload(code=code), format="json")

    assert response.status_code == 400
    assert "code" in response.json()["fields"]
    assert not HumanAgent.objects.filter(code=code).exists()


def test_codes_of_letters_digits_underscore_and_hyphen_are_accepted(supervisor_client):
    response = supervisor_client.post("/api/v1/agents/", new_agent_payload(code="Agent-7_b"), format="json")

    assert response.status_code == 201, response.json()
    assert supervisor_client.get(detail_url("Agent-7_b")).status_code == 200


def test_the_seeded_roster_codes_pass_the_code_validator():
    codes = list(HumanAgent.objects.values_list("code", flat=True))
    assert {"agent_001", "agent_002", "agent_003"} <= set(codes)
    for code in codes:
        validate_slug(code)


def test_a_url_with_a_code_the_model_refuses_is_a_json_404(supervisor_client):
    response = supervisor_client.get("/api/v1/agents/agent.dot/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found.", "code": "not_found", "fields": {}}


def test_unknown_api_urls_get_the_json_error_shape(supervisor_client):
    for url in ("/api/v1/nothing-here/", "/api/v2/agents/", "/api/v1/agents/agent_x/availability/extra/"):
        response = supervisor_client.get(url)
        assert response.status_code == 404, url
        assert response.json()["code"] == "not_found", url


def test_unknown_urls_outside_the_api_stay_html(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- capacity bound --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("capacity", "status"), [(50, 201), (51, 400), (0, 400)])
def test_max_concurrent_work_is_between_1_and_50(supervisor_client, capacity, status):
    response = supervisor_client.post(
        "/api/v1/agents/", new_agent_payload(max_concurrent_work=capacity), format="json"
    )

    assert response.status_code == status
    if status == 400:
        assert "max_concurrent_work" in response.json()["fields"]


# --- the safety net: an IntegrityError that gets past validation is a logged 409 ------------------------


def test_an_integrity_error_in_a_view_is_a_logged_409_in_the_error_shape(
    supervisor_client, agent, monkeypatch, caplog
):
    def racing_update(**kwargs):
        raise IntegrityError('duplicate key value violates unique constraint "agents_humanagent_email_key"')

    monkeypatch.setattr("agents.api.views.agent_update", racing_update)

    with caplog.at_level(logging.WARNING, logger="config.api"):
        response = supervisor_client.patch(detail_url(agent.code), {"name": "Racer"})

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert set(body) == {"detail", "code", "fields"}
    assert "agents_humanagent_email_key" not in body["detail"]  # the SQL stays in the log
    assert any("IntegrityError" in record.getMessage() for record in caplog.records)


def test_a_night_shift_is_one_schedule_row_crossing_midnight(supervisor_client, agent):
    rows = [
        {
            "day_of_week": "friday",
            "start_time": "22:00:00",
            "end_time": "06:00:00",
            "timezone": "Europe/Madrid",
            "effective_from": "2026-01-01",
        },
        {
            "day_of_week": "saturday",
            "start_time": "09:00:00",
            "end_time": "00:00:00",
            "timezone": "Europe/Madrid",
            "effective_from": "2026-01-01",
        },
    ]
    response = supervisor_client.patch(detail_url(agent.code), {"schedules": rows}, format="json")
    assert response.status_code == 200, response.json()
    assert {(row["start_time"], row["end_time"]) for row in response.json()["schedules"]} == {
        ("22:00:00", "06:00:00"),
        ("09:00:00", "00:00:00"),
    }
