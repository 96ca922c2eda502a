"""Scoring API (/api/v1/scoring/): score, queue, claim, callbacks, call sessions, conversions.

Every test runs at a fixed instant (15:00 UTC: inside the default calling window for people in UTC)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from scoring.models import CallQueueEntry, CallSession, Conversion, QueueStatus, UserCallScore
from tests.factories.agents import HumanAgentFactory
from tests.factories.leads import LeadFactory
from tests.factories.scoring import CallQueueEntryFactory, UserCallScoreFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC)
API = "/api/v1/scoring"


@pytest.fixture(autouse=True)
def _fixed_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def stranger_client(db) -> APIClient:
    """Signed in, in no group: no permission at all."""
    user = User.objects.create_user("stranger", "stranger@example.com", "correct-horse-battery")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def _person(score: int = 50, queue: str = "unsigned_users", **fields) -> UserCallScore:
    row = UserCallScoreFactory(
        person=LeadFactory(), current_score=score, created_at=NOW - dt.timedelta(days=3), **fields
    )
    CallQueueEntryFactory(person=row.person, queue_type=queue, created_at=NOW - dt.timedelta(hours=1))
    return row


def _error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, (response.status_code, response.content[:400])
    body = response.json()
    assert set(body) == {"detail", "code", "fields"}
    if code is not None:
        assert body["code"] == code, body
    return body


# --- score ------------------------------------------------------------------------------------------------


def test_score_computes_stores_and_returns_the_breakdown(supervisor_client: APIClient):
    row = _person(score=0)

    response = supervisor_client.post(f"{API}/score/", {"person": str(row.person_id)}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    row.refresh_from_db()
    assert body["person"] == str(row.person_id)
    assert body["score"] == row.current_score == body["breakdown"]["score"]
    assert body["breakdown"]["factors"][0]["name"] == "queue_type"
    assert body["queue_type"] == "unsigned_users" and body["created"] is False
    assert row.scored_at == NOW


def test_score_of_a_lead_without_a_score_row_creates_it(supervisor_client: APIClient):
    lead = LeadFactory()
    response = supervisor_client.post(f"{API}/score/", {"person": str(lead.pk)}, format="json")
    assert response.status_code == 200 and response.json()["created"] is True
    assert UserCallScore.objects.filter(person=lead).exists()


def test_score_of_an_unknown_lead_is_404(supervisor_client: APIClient):
    response = supervisor_client.post(f"{API}/score/", {"person": str(uuid.uuid4())}, format="json")
    _error(response, 404, "person_not_found")


def test_score_refuses_a_bad_id_and_unknown_keys(supervisor_client: APIClient):
    body = _error(supervisor_client.post(f"{API}/score/", {"person": "x", "extra": 1}, format="json"), 400)
    assert set(body["fields"]) == {"person", "extra"}


# --- queue ------------------------------------------------------------------------------------------------


def test_queue_lists_in_serving_order_with_positions(supervisor_client: APIClient):
    low, high = _person(score=20), _person(score=80)
    _person(score=99, queue="outstanding_requests")
    _person(score=90, call_attempts=99)  # at the attempt limit

    response = supervisor_client.get(f"{API}/queue/", {"queue_type": "unsigned_users"})

    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert [r["person"] for r in results] == [str(high.person_id), str(low.person_id)]
    assert [r["position"] for r in results] == [1, 2]
    assert results[0]["score"] == 80 and results[0]["time_zone"] == "UTC"


def test_queue_type_is_required_and_validated(supervisor_client: APIClient):
    assert "queue_type" in _error(supervisor_client.get(f"{API}/queue/"), 400)["fields"]
    body = _error(supervisor_client.get(f"{API}/queue/", {"queue_type": "callback"}), 400)
    assert list(body["fields"]) == ["queue_type"]


def test_an_unknown_query_parameter_is_400_naming_it(supervisor_client: APIClient):
    body = _error(supervisor_client.get(f"{API}/queue/", {"queue_type": "unsigned_users", "sort": "x"}), 400)
    assert list(body["fields"]) == ["sort"]


def _count_queries(client: APIClient, url: str, params: dict) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, response.content
    return len(queries)


def test_queue_query_count_does_not_grow_with_rows(supervisor_client: APIClient):
    for _ in range(2):
        _person()
    few = _count_queries(supervisor_client, f"{API}/queue/", {"queue_type": "unsigned_users"})
    for _ in range(18):
        _person()
    many = _count_queries(supervisor_client, f"{API}/queue/", {"queue_type": "unsigned_users"})
    assert few == many


# --- claim ------------------------------------------------------------------------------------------------


def test_claim_takes_the_highest_score_and_marks_it_in_progress(supervisor_client: APIClient):
    agent = HumanAgentFactory(code="caller1")
    _person(score=20)
    high = _person(score=80)

    response = supervisor_client.post(
        f"{API}/queue/claim/", {"queue_type": "unsigned_users", "agent": "caller1"}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["entry"]["person"] == str(high.person_id)
    assert body["entry"]["status"] == "in_progress" and body["claimed_by"] == "caller1"
    assert body["is_callback"] is False
    entry = CallQueueEntry.objects.get(pk=body["entry"]["id"])
    assert entry.status == QueueStatus.IN_PROGRESS and entry.claimed_by == agent
    # the claimed person leaves the queue: the next claim gets the other one
    second = supervisor_client.post(
        f"{API}/queue/claim/", {"queue_type": "unsigned_users", "agent": "caller1"}, format="json"
    )
    assert second.status_code == 200 and second.json()["entry"]["person"] != str(high.person_id)


def test_claim_on_an_empty_queue_is_404_queue_empty(supervisor_client: APIClient):
    HumanAgentFactory(code="caller1")
    response = supervisor_client.post(
        f"{API}/queue/claim/", {"queue_type": "unsigned_users", "agent": "caller1"}, format="json"
    )
    _error(response, 404, "queue_empty")


def test_claim_names_an_unknown_agent_and_queue_type(supervisor_client: APIClient):
    response = supervisor_client.post(
        f"{API}/queue/claim/", {"queue_type": "callback", "agent": "nobody"}, format="json"
    )
    assert set(_error(response, 400)["fields"]) == {"queue_type", "agent"}


# --- callbacks --------------------------------------------------------------------------------------------


def test_schedule_a_callback_then_list_it_when_due_and_overdue(supervisor_client: APIClient):
    HumanAgentFactory(code="caller1")
    lead = UserCallScoreFactory(person=LeadFactory()).person
    soon = supervisor_client.post(
        f"{API}/callbacks/",
        {
            "person": str(lead.pk),
            "queue_type": "unsigned_users",
            "scheduled_for": "2026-01-15T14:50:00Z",
            "reason": "Asked to call after lunch",
            "agent": "caller1",
            "agent_only": True,
        },
        format="json",
    )
    assert soon.status_code == 201, soon.content
    assert soon.json()["callback_id"] and soon.json()["callback_agent"] == "caller1"
    later = supervisor_client.post(
        f"{API}/callbacks/",
        {"person": str(lead.pk), "queue_type": "unsigned_users", "scheduled_for": "2026-01-16T10:00:00Z"},
        format="json",
    )
    assert later.status_code == 201 and later.json()["callback_agent"] is None

    everything = supervisor_client.get(f"{API}/callbacks/").json()["results"]
    due = supervisor_client.get(f"{API}/callbacks/", {"due": "true"}).json()["results"]
    overdue = supervisor_client.get(f"{API}/callbacks/", {"overdue": "true"}).json()["results"]

    assert len(everything) == 2
    assert [c["id"] for c in due] == [soon.json()["id"]]
    assert overdue == []  # 10 minutes late: within the 30-minute hand-over delay


def test_callback_errors(supervisor_client: APIClient):
    lead = LeadFactory()
    body = _error(
        supervisor_client.post(
            f"{API}/callbacks/",
            {"person": str(lead.pk), "queue_type": "unsigned_users", "scheduled_for": "tomorrow"},
            format="json",
        ),
        400,
    )
    assert list(body["fields"]) == ["scheduled_for"]
    body = _error(
        supervisor_client.post(
            f"{API}/callbacks/",
            {
                "person": str(lead.pk),
                "queue_type": "unsigned_users",
                "scheduled_for": "2026-01-16T10:00:00Z",
                "agent_only": True,
            },
            format="json",
        ),
        400,
    )
    assert list(body["fields"]) == ["agent_only"]
    missing = supervisor_client.post(
        f"{API}/callbacks/",
        {
            "person": str(uuid.uuid4()),
            "queue_type": "unsigned_users",
            "scheduled_for": "2026-01-16T10:00:00Z",
        },
        format="json",
    )
    _error(missing, 404, "person_not_found")
    assert "due" in _error(supervisor_client.get(f"{API}/callbacks/", {"due": "yes"}), 400)["fields"]


def test_callback_list_query_count_does_not_grow_with_rows(supervisor_client: APIClient):
    def add(n: int) -> None:
        for _ in range(n):
            CallQueueEntryFactory(
                person=LeadFactory(),
                callback_id=f"cb-{uuid.uuid4().hex}",
                callback_scheduled_for=NOW - dt.timedelta(minutes=5),
                callback_agent=HumanAgentFactory(),
            )

    add(2)
    few = _count_queries(supervisor_client, f"{API}/callbacks/", {"due": "true"})
    add(18)
    assert _count_queries(supervisor_client, f"{API}/callbacks/", {"due": "true"}) == few


# --- call sessions ----------------------------------------------------------------------------------------


def test_log_a_call_counts_an_attempt(supervisor_client: APIClient):
    HumanAgentFactory(code="caller1")
    row = _person()
    response = supervisor_client.post(
        f"{API}/call-sessions/",
        {
            "person": str(row.person_id),
            "agent": "caller1",
            "outcome": "no_answer",
            "duration_seconds": 40,
            "notes": "Rang out",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["agent"] == "caller1" and body["outcome"] == "no_answer"
    assert body["ended_at"] == "2026-01-15T15:00:00Z"
    row.refresh_from_db()
    assert row.call_attempts == 1 and row.last_call_at == NOW
    assert CallSession.objects.count() == 1


def test_log_a_call_errors(supervisor_client: APIClient):
    HumanAgentFactory(code="caller1")
    row = _person()
    body = _error(
        supervisor_client.post(
            f"{API}/call-sessions/",
            {
                "person": str(row.person_id),
                "agent": "caller1",
                "outcome": "hung_up",
                "duration_seconds": "40",
            },
            format="json",
        ),
        400,
    )
    assert set(body["fields"]) == {"outcome", "duration_seconds"}
    missing = supervisor_client.post(
        f"{API}/call-sessions/",
        {
            "person": str(row.person_id),
            "agent": "caller1",
            "outcome": "busy",
            "duration_seconds": 5,
            "queue_entry": 999_999,
        },
        format="json",
    )
    _error(missing, 404, "queue_entry_not_found")


def test_log_a_call_on_an_entry_another_agent_claimed_is_409(supervisor_client: APIClient):
    HumanAgentFactory(code="caller1")
    HumanAgentFactory(code="caller2")
    _person()
    claim = supervisor_client.post(
        f"{API}/queue/claim/", {"queue_type": "unsigned_users", "agent": "caller1"}, format="json"
    ).json()
    response = supervisor_client.post(
        f"{API}/call-sessions/",
        {
            "person": claim["entry"]["person"],
            "agent": "caller2",
            "outcome": "busy",
            "duration_seconds": 5,
            "queue_entry": claim["entry"]["id"],
        },
        format="json",
    )
    _error(response, 409, "entry_not_claimed_by_agent")


# --- conversions ------------------------------------------------------------------------------------------


def _convert(client: APIClient, person_id, **fields):
    body = {"person": str(person_id), "conversion_type": "signature", **fields}
    return client.post(f"{API}/conversions/", body, format="json")


def test_record_a_conversion_closes_the_queue_and_a_second_is_409(supervisor_client: APIClient):
    HumanAgentFactory(code="caller1")
    HumanAgentFactory(code="caller2")
    row = _person(score=70)

    response = _convert(
        supervisor_client,
        row.person_id,
        primary_agent="caller1",
        contributing_agents=["caller2"],
        signature_obtained=True,
        documents_received={"id_card": True},
        claim_value="1500.00",
        estimated_commission="150.00",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["primary_agent"] == "caller1" and body["contributing_agents"] == ["caller2"]
    assert body["previous_queue_type"] == "unsigned_users" and body["claim_value"] == "1500.00"
    row.refresh_from_db()
    assert row.is_active is False
    assert not CallQueueEntry.objects.filter(person_id=row.person_id, status=QueueStatus.PENDING).exists()
    _error(_convert(supervisor_client, row.person_id), 409, "already_converted")
    assert Conversion.objects.count() == 1


def test_conversion_errors(supervisor_client: APIClient):
    lead = LeadFactory()
    _error(_convert(supervisor_client, lead.pk), 404, "score_not_found")
    body = _error(_convert(supervisor_client, lead.pk, claim_value="-1", contributing_agents=["nobody"]), 400)
    assert set(body["fields"]) == {"claim_value", "contributing_agents"}


def test_conversions_list_filters_and_totals(supervisor_client: APIClient):
    HumanAgentFactory(code="caller1")
    HumanAgentFactory(code="caller2")
    for agent, kind, value in [
        ("caller1", "signature", "100.00"),
        ("caller1", "requirements_met", "200.00"),
        ("caller2", "signature", "400.00"),
    ]:
        row = _person()
        response = _convert(
            supervisor_client, row.person_id, primary_agent=agent, conversion_type=kind, claim_value=value
        )
        assert response.status_code == 201, response.content

    everything = supervisor_client.get(f"{API}/conversions/").json()
    assert everything["totals"] == {"count": 3, "claim_value": "700.00", "estimated_commission": "0.00"}
    mine = supervisor_client.get(f"{API}/conversions/", {"agent": "caller1", "page_size": 1}).json()
    assert mine["count"] == 2 and len(mine["results"]) == 1 and mine["totals"]["claim_value"] == "300.00"
    signatures = supervisor_client.get(f"{API}/conversions/", {"conversion_type": "signature"}).json()
    assert signatures["totals"]["count"] == 2
    window = {"converted_from": "2026-01-15T14:00:00Z", "converted_to": "2026-01-15T15:00:00Z"}
    assert supervisor_client.get(f"{API}/conversions/", window).json()["totals"]["count"] == 0


def test_conversions_list_refuses_bad_filters(supervisor_client: APIClient):
    response = supervisor_client.get(
        f"{API}/conversions/",
        {"converted_from": "yesterday", "conversion_type": "lost", "agent": "nobody"},
    )
    assert set(_error(response, 400)["fields"]) == {"converted_from", "conversion_type", "agent"}
    response = supervisor_client.get(
        f"{API}/conversions/",
        {"converted_from": "2026-01-15T15:00:00Z", "converted_to": "2026-01-15T14:00:00Z"},
    )
    assert list(_error(response, 400)["fields"]) == ["converted_to"]


def test_conversions_list_query_count_does_not_grow_with_rows(supervisor_client: APIClient):
    agents = [HumanAgentFactory(), HumanAgentFactory()]

    def add(n: int) -> None:
        for _ in range(n):
            row = _person()
            response = _convert(
                supervisor_client,
                row.person_id,
                primary_agent=agents[0].code,
                contributing_agents=[agents[1].code],
                claim_value="10.00",
            )
            assert response.status_code == 201

    add(2)
    few = _count_queries(supervisor_client, f"{API}/conversions/", {})
    add(18)
    assert _count_queries(supervisor_client, f"{API}/conversions/", {}) == few


# --- permissions --------------------------------------------------------------------------------------------


ENDPOINTS = [
    ("post", "score/"),
    ("get", "queue/?queue_type=unsigned_users"),
    ("post", "queue/claim/"),
    ("get", "callbacks/"),
    ("post", "callbacks/"),
    ("post", "call-sessions/"),
    ("get", "conversions/"),
    ("post", "conversions/"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_a_user_without_permission_is_403(stranger_client: APIClient, method: str, path: str):
    _error(getattr(stranger_client, method)(f"{API}/{path}", {}, format="json"), 403, "permission_denied")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_is_401(api_client: APIClient, method: str, path: str):
    assert getattr(api_client, method)(f"{API}/{path}", {}, format="json").status_code == 401


@pytest.mark.parametrize(("method", "path"), [e for e in ENDPOINTS if e[0] == "post"])
def test_an_analyst_may_not_write(analyst_client: APIClient, method: str, path: str):
    _error(analyst_client.post(f"{API}/{path}", {}, format="json"), 403, "permission_denied")


def test_an_analyst_may_read(analyst_client: APIClient):
    assert analyst_client.get(f"{API}/queue/", {"queue_type": "unsigned_users"}).status_code == 200
    assert analyst_client.get(f"{API}/conversions/").status_code == 200
    assert analyst_client.get(f"{API}/callbacks/").status_code == 200


def test_the_totals_decimal_is_exact(supervisor_client: APIClient):
    HumanAgentFactory(code="caller1")
    for value in ("0.10", "0.20"):
        _convert(supervisor_client, _person().person_id, claim_value=value, estimated_commission=value)
    totals = supervisor_client.get(f"{API}/conversions/").json()["totals"]
    assert Decimal(totals["claim_value"]) == Decimal("0.30")


def test_a_due_callback_is_served_before_higher_scores(supervisor_client: APIClient):
    _person(score=95)
    callee = UserCallScoreFactory(person=LeadFactory(), current_score=10)
    scheduled = supervisor_client.post(
        f"{API}/callbacks/",
        {
            "person": str(callee.person_id),
            "queue_type": "unsigned_users",
            "scheduled_for": "2026-01-15T14:00:00Z",
        },
        format="json",
    )
    assert scheduled.status_code == 201, scheduled.content

    results = supervisor_client.get(f"{API}/queue/", {"queue_type": "unsigned_users"}).json()["results"]

    assert [r["person"] for r in results][0] == str(callee.person_id)
    assert results[0]["callback_id"] == scheduled.json()["callback_id"]


def test_the_api_root_lists_the_scoring_resources(supervisor_client: APIClient):
    body = supervisor_client.get("/api/v1/").json()
    assert body["scoring_queue"].endswith(f"{API}/queue/")
    assert body["scoring_callbacks"].endswith(f"{API}/callbacks/")
    assert body["scoring_conversions"].endswith(f"{API}/conversions/")
