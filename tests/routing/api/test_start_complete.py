"""Start and complete through the API, and the error cases: a 400/409 that names the problem, and
nothing changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from agents.models import AgentAvailability
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    SupportCase,
)
from tests.routing.api.client import (
    CASES,
    act,
    as_assignee,
    case_url,
    ledger,
    payload,
    route,
)
from tests.routing.floor import on_shift_agent, waiting_entry

pytestmark = pytest.mark.django_db


def test_start_then_complete_records_the_outcome(supervisor_client: APIClient, billing):
    agent = on_shift_agent()
    route(supervisor_client)

    started = act(supervisor_client, "case_001", "start")
    assert started.status_code == 200, started.json()
    assert started.json()["status"] == AssignmentStatus.IN_PROGRESS
    assert started.json()["started_at"]

    completed = act(
        supervisor_client,
        "case_001",
        "complete",
        {"resolution_minutes": 18, "csat_rating": 5, "escalated": False},
    )
    assert completed.status_code == 200, completed.json()
    body = completed.json()
    assert body["status"] == AssignmentStatus.COMPLETED
    assert body["resolution_minutes"] == 18 and body["csat_rating"] == 5
    assert SupportCase.objects.get(case_id="case_001").status == CaseStatus.COMPLETED
    assert AgentAvailability.objects.get(agent=agent).current_load == 0


def test_completing_twice_is_409_and_changes_nothing(supervisor_client: APIClient, billing):
    on_shift_agent()
    route(supervisor_client)
    act(supervisor_client, "case_001", "start")
    assert act(supervisor_client, "case_001", "complete", {"csat_rating": 4}).status_code == 200

    response = act(supervisor_client, "case_001", "complete", {"csat_rating": 1})

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert CaseAssignment.objects.get(case_id="case_001").csat_rating == 4


def test_starting_twice_is_409(supervisor_client: APIClient, billing):
    on_shift_agent()
    route(supervisor_client)
    assert act(supervisor_client, "case_001", "start").status_code == 200
    response = act(supervisor_client, "case_001", "start")
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"csat_rating": 7}, "csat_rating"),
        ({"csat_rating": 0}, "csat_rating"),
        ({"resolution_minutes": -1}, "resolution_minutes"),
        ({"escalated": "perhaps"}, "escalated"),
    ],
)
def test_bad_completion_is_400_and_the_case_stays_open(
    supervisor_client: APIClient, billing, body: dict, field: str
):
    on_shift_agent()
    route(supervisor_client)
    act(supervisor_client, "case_001", "start")

    response = act(supervisor_client, "case_001", "complete", body)

    assert response.status_code == 400
    assert list(response.json()["fields"]) == [field]
    assignment = CaseAssignment.objects.get(case_id="case_001")
    assert assignment.status == AssignmentStatus.IN_PROGRESS
    assert assignment.csat_rating is None


def test_start_or_complete_of_an_unknown_case_is_404(supervisor_client: APIClient):
    for action in ("start", "complete"):
        response = supervisor_client.post(case_url("nope", action), {}, format="json")
        assert response.status_code == 404
        assert response.json()["code"] == "case_not_found"


def test_completing_a_queued_case_is_409(supervisor_client: APIClient, billing):
    assert route(supervisor_client).status_code == 202
    response = act(supervisor_client, "case_001", "complete", {})
    assert response.status_code == 409


def test_starting_a_completed_case_is_409_and_changes_nothing(supervisor_client: APIClient, billing):
    on_shift_agent()
    route(supervisor_client)
    act(supervisor_client, "case_001", "complete", {"csat_rating": 5})
    before = ledger()

    response = act(supervisor_client, "case_001", "start")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert "case_001" in response.json()["detail"]
    assert ledger() == before


# --- the error cases: a 400/409 that names the problem, and nothing changes ------------------


@pytest.fixture
def busy_floor(supervisor_client: APIClient, billing) -> None:
    """One case assigned and started, one completed, one waiting: every table has rows to disturb."""
    on_shift_agent()
    route(supervisor_client, case_id="case_open")
    act(supervisor_client, "case_open", "start")
    route(supervisor_client, case_id="case_done")
    act(supervisor_client, "case_done", "complete", {"csat_rating": 4})
    waiting_entry("case_waiting")


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "code", "named"),
    [
        ("post", CASES, payload(required_skills=["astrology"]), 400, "unknown_skill_domain", "astrology"),
        ("post", CASES, payload(priority="urgent"), 400, "invalid_choice", "priority"),
        ("post", CASES, payload(case_id="case_open"), 409, "case_already_routed", "case_open"),
        ("post", CASES, payload(case_id="case_done"), 409, "case_already_routed", "case_done"),
        ("post", CASES, payload(case_id="case_waiting"), 409, "case_already_routed", "case_waiting"),
        ("post", case_url("case_open", "complete"), {"csat_rating": 7}, 400, "max_value", "csat_rating"),
        (
            "post",
            case_url("case_done", "complete"),
            {"csat_rating": 3},
            409,
            "invalid_transition",
            "case_done",
        ),
        ("post", case_url("case_done", "start"), {}, 409, "invalid_transition", "case_done"),
        ("post", case_url("case_open", "start"), {}, 409, "invalid_transition", "case_open"),
        ("post", case_url("case_waiting", "complete"), {}, 409, "invalid_transition", "case_waiting"),
    ],
)
def test_rejected_requests_name_the_problem_and_change_nothing(
    supervisor_client: APIClient,
    busy_floor: None,
    method: str,
    url: str,
    body: dict,
    status: int,
    code: str,
    named: str,
):
    before = ledger()
    if url.endswith(("/start/", "/complete/")):  # as the agent who holds the case
        body = {**as_assignee(url.split("/")[-3]), **body}

    response = getattr(supervisor_client, method)(url, body, format="json")

    assert response.status_code == status, response.json()
    answer = response.json()
    assert answer["code"] == code
    assert named in answer["detail"] + repr(answer["fields"])
    assert ledger() == before


def test_a_late_completion_after_a_reroute_answers_409_naming_who_has_the_case(
    supervisor_client, billing, settings
):
    settings.ROUTING = {**settings.ROUTING, "ACCEPT_TIMEOUT_SECONDS": 60}
    first = on_shift_agent(code="agent_first")
    stale = route(supervisor_client, case_id="case_late").json()["assignment"]["id"]
    on_shift_agent(code="agent_second")
    from routing.services import queue_sweep

    queue_sweep(now=timezone.now() + dt.timedelta(seconds=61))
    response = supervisor_client.post(
        case_url("case_late", "complete"), {"assignment_id": stale, "csat_rating": 1}, format="json"
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "stale_assignment" and "agent_second" in body["detail"]
    by_agent = supervisor_client.post(case_url("case_late", "start"), {"agent": first.code}, format="json")
    assert by_agent.status_code == 409 and by_agent.json()["code"] == "stale_assignment"
    assert act(supervisor_client, "case_late", "start").status_code == 200  # the current one works
