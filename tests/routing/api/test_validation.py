"""Routing input validation: field errors that name the problem, nothing written; the service and the
engine agree with the API on what is valid."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from routing.engine.rules import parse_special_requirements
from routing.errors import RoutingValidationError
from routing.models import (
    CaseAssignment,
    EscalationQueueEntry,
    SupportCase,
)
from routing.services import case_route
from tests.routing.api.client import (
    CASES,
    assert_nothing_routed,
    case_request,
    route,
)
from tests.routing.floor import on_shift_agent, waiting_entry

pytestmark = pytest.mark.django_db


def test_unknown_skill_domain_is_400_naming_it(supervisor_client: APIClient, billing):
    response = route(supervisor_client, required_skills=["billing", "astrology", "tarot"])
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_skill_domain"
    assert body["fields"]["required_skills"] == ["Unknown skill domain(s): astrology, tarot."]
    assert_nothing_routed()


def test_unknown_skill_domain_costs_one_query_to_check(supervisor_client: APIClient, billing):
    with CaptureQueriesContext(connection) as queries:
        route(supervisor_client, required_skills=["billing", "astrology", "technical", "x", "y"])
    skill_queries = [q for q in queries.captured_queries if "agents_skilldomain" in q["sql"]]
    assert len(skill_queries) == 1


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("priority", "urgent", "invalid_choice"),
        ("complexity", "extreme", "invalid_choice"),
        ("customer_frustration", "furious", "invalid_choice"),
        ("language", "english", "invalid_choice"),
        ("strategy", "coin_toss", "invalid_choice"),
        ("max_wait_minutes", 0, "min_value"),
        ("estimated_resolution_minutes", -5, "min_value"),
        ("required_skills", "billing", "not_a_list"),
        ("special_requirements", ["vip"], "not_a_dict"),
        ("case_id", "", "blank"),
    ],
)
def test_bad_input_is_400_naming_the_field(
    supervisor_client: APIClient, billing, field: str, value: Any, code: str
):
    response = route(supervisor_client, **{field: value})
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Invalid input."
    assert list(body["fields"]) == [field]
    assert body["code"] == code
    assert_nothing_routed()


@pytest.mark.parametrize(
    ("special", "code", "named"),
    [
        ({"specializations": 5}, "not_a_list", "specializations"),
        ({"specializations": "vip"}, "not_a_list", "specializations"),
        ({"specializations": [{"name": "vip"}]}, "invalid", "specializations[0]"),
        ({"specializations": [None]}, "null", "specializations[0]"),
        ({"specializations": ["x" * 101]}, "max_length", "specializations[0]"),
        ({"specializations": ["vip"] * 51}, "max_length", "specializations"),
        ({"specialization": ["vip"]}, "invalid", "specialization"),
        ({"specialization": {"a": 1}}, "invalid", "specialization"),
        ({"min_proficiency": 5}, "invalid_choice", "min_proficiency"),
        ({"min_proficiency": ["expert"]}, "invalid_choice", "min_proficiency"),
        ({"min_proficiency": "godlike"}, "invalid_choice", "min_proficiency"),
        ({"optional_skills": "billing"}, "not_a_list", "optional_skills"),
        ({"optional_skills": {"billing": True}}, "not_a_list", "optional_skills"),
        ({"optional_skills": [["billing"]]}, "invalid", "optional_skills[0]"),
        ({"optional_skills": ["technical"]}, "optional_skill_not_required", "optional_skills"),
        ({"min_proficency": "expert"}, "unknown_key", "min_proficency"),
    ],
)
def test_bad_special_requirements_are_400_naming_the_key(
    supervisor_client: APIClient, billing, special: dict, code: str, named: str
):
    # when a case asks for special requirements of the wrong shape
    response = route(supervisor_client, special_requirements=special)

    # then the answer names the field and the key, and nothing is written
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code
    assert list(body["fields"]) == ["special_requirements"]
    assert any(named in message for message in body["fields"]["special_requirements"])
    assert_nothing_routed()


def test_valid_special_requirements_are_stored_without_nulls(supervisor_client: APIClient, billing):
    special = {
        "min_proficiency": "advanced",
        "optional_skills": ["technical"],
        "specializations": ["enterprise_accounts"],
        "specialization": None,
    }
    response = route(
        supervisor_client, required_skills=["billing", "technical"], special_requirements=special
    )
    assert response.status_code == 202, response.json()
    assert SupportCase.objects.get(case_id="case_001").special_requirements == {
        "min_proficiency": "advanced",
        "optional_skills": ["technical"],
        "specializations": ["enterprise_accounts"],
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("case_id", None),
        ("case_id", ["case_001"]),
        ("case_id", "x" * 10_000),
        ("customer_id", {"id": 1}),
        ("customer_id", "c" * 10_000),
        ("priority", None),
        ("priority", ["high"]),
        ("complexity", {"level": "low"}),
        ("required_skills", None),
        ("required_skills", {"billing": True}),
        ("required_skills", [["billing"]]),
        ("required_skills", ["billing"] * 51),
        ("customer_frustration", 3),
        ("language", None),
        ("special_requirements", None),
        ("special_requirements", "vip"),
        ("estimated_resolution_minutes", "9" * 5_000),
        ("estimated_resolution_minutes", True),
        ("max_wait_minutes", 1e300),
        ("max_wait_minutes", None),
        ("strategy", ["skill_based"]),
    ],
)
def test_odd_json_is_400_naming_the_field(supervisor_client: APIClient, billing, field: str, value: Any):
    response = route(supervisor_client, **{field: value})
    assert response.status_code == 400, response.content
    assert list(response.json()["fields"]) == [field]
    assert_nothing_routed()


@pytest.mark.parametrize(
    "body", ["[]", "5", "null", '"case"', "{", "[" * 5_000 + "]" * 5_000, '{"a":' * 3_000]
)
def test_malformed_or_absurdly_nested_json_is_400(supervisor_client: APIClient, body: str):
    response = supervisor_client.post(CASES, body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["code"] in {"parse_error", "invalid", "null"}
    assert_nothing_routed()


def test_an_oversized_body_is_413_in_the_error_shape(supervisor_client: APIClient, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000
    response = route(supervisor_client, customer_id="c" * 2_000)
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request body is larger than the server accepts.",
        "code": "request_too_large",
        "fields": {},
    }
    assert_nothing_routed()


@pytest.mark.parametrize(
    "special",
    [
        {"specializations": 5},
        {"specialization": 5},
        {"min_proficiency": ["expert"]},
        {"optional_skills": "billing"},
        {"optional_skills": ["technical"]},
        {"min_proficency": "expert"},
        ["vip"],
        None,
    ],
)
def test_the_service_rejects_the_same_special_requirements_for_every_other_door(billing, special: Any):
    with pytest.raises(RoutingValidationError) as raised:
        case_route(request=case_request(special_requirements=special))
    assert list(raised.value.fields) == ["special_requirements"]
    assert_nothing_routed()


@pytest.mark.parametrize(
    "stored",
    [
        {"specializations": 5},
        {"specialization": 5},
        {"specializations": [None, 3, "vip"]},
        {"min_proficiency": "godlike"},
        {"min_proficiency": {"level": 1}},
        {"optional_skills": 7},
        {"optional_skills": "billing"},
        {"anything": ["else"]},
        ["not", "a", "dict"],
        None,
        "vip",
    ],
)
def test_the_engine_reads_any_stored_special_requirements_without_failing(stored: Any):
    # Rows written before validation (or imported raw) must never break routing or the queue sweep.
    problems: list[str] = []
    parsed = parse_special_requirements(stored, ["billing", "technical"], problems=problems)
    assert parsed["min_proficiency"] in {"basic", "intermediate", "advanced", "expert"}
    assert all(isinstance(name, str) for name in parsed["specializations"])
    assert set(parsed["optional_skills"]) <= {"billing", "technical"}
    assert problems  # and a validating caller is told what was wrong


def test_a_queued_case_with_garbage_special_requirements_is_still_dispatched(billing):
    # given a waiting entry whose stored special requirements predate validation
    entry = waiting_entry("case_old")
    EscalationQueueEntry.objects.filter(pk=entry.pk).update(
        special_requirements={"specializations": 5, "min_proficiency": "godlike"}
    )
    agent = on_shift_agent()
    # when the sweep offers the queue to free agents
    from routing.services import queue_sweep

    queue_sweep()
    # then the case is assigned as if no special requirement had been given
    assert CaseAssignment.objects.get(case_id="case_old").agent == agent


def test_missing_required_fields_are_named(supervisor_client: APIClient):
    response = supervisor_client.post(CASES, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"case_id", "priority", "complexity", "required_skills"}
