"""The routing API: auth, validation as field errors, 201 vs 202, start/complete, the queue, a case page,
query counts and the published OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from agents.models import AgentAvailability, AvailabilityStatus, HumanAgent, Proficiency, Weekday
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
    SupportCase,
)
from tests.factories.agents import (
    AgentLanguageFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    HumanAgentFactory,
    SkillDomainFactory,
)

pytestmark = pytest.mark.django_db

CASES = "/api/v1/routing/cases/"
QUEUE = "/api/v1/routing/queue/"


def case_url(case_id: str, action: str = "") -> str:
    return f"{CASES}{case_id}/{action + '/' if action else ''}"


# --- data --------------------------------------------------------------------------------------------


def on_shift_agent(*, skills: tuple[str, ...] = ("billing",), **kwargs: Any) -> HumanAgent:
    """An available agent with the skills (expert), English, and a UTC schedule covering every day."""
    agent = HumanAgentFactory(**kwargs)
    for code in skills:
        AgentSkillFactory(agent=agent, domain=SkillDomainFactory(code=code), proficiency=Proficiency.EXPERT)
    AgentLanguageFactory(agent=agent, language_code="en")
    for day in Weekday.values:
        AgentScheduleFactory(
            agent=agent,
            day_of_week=day,
            start_time=dt.time(0, 0),
            end_time=dt.time(23, 59, 59, 999999),
            timezone="UTC",
            effective_from=timezone.localdate() - dt.timedelta(days=30),
        )
    return agent


def payload(**overrides: Any) -> dict[str, Any]:
    return {
        "case_id": "case_001",
        "customer_id": "cust_9",
        "priority": "high",
        "complexity": "medium",
        "required_skills": ["billing"],
        "customer_frustration": "moderate",
        "language": "en",
        "special_requirements": {},
        "estimated_resolution_minutes": 20,
        "max_wait_minutes": 30,
        **overrides,
    }


def waiting_entry(
    case_id: str, *, priority: str = "medium", queued_minutes_ago: float = 1, max_wait: int = 30
) -> EscalationQueueEntry:
    """A case waiting in the queue, written directly (the queue's shape, not the routing path)."""
    queued_at = timezone.now() - dt.timedelta(minutes=queued_minutes_ago)
    case = SupportCase.objects.create(
        case_id=case_id,
        priority=priority,
        complexity="low",
        required_skills=["billing"],
        max_wait_minutes=max_wait,
        status=CaseStatus.QUEUED,
        created_at=queued_at,
    )
    return EscalationQueueEntry.objects.create(
        case=case,
        priority=priority,
        complexity="low",
        required_skills=["billing"],
        queued_at=queued_at,
        max_wait_minutes=max_wait,
        wait_deadline=queued_at + dt.timedelta(minutes=max_wait),
    )


@pytest.fixture(autouse=True)
def roster_offline(db) -> None:
    """The seeded roster (agents migration 0003) goes offline: each test staffs the floor it needs."""
    AgentAvailability.objects.update(status=AvailabilityStatus.OFFLINE)


@pytest.fixture
def billing() -> None:
    SkillDomainFactory(code="billing")
    SkillDomainFactory(code="technical")


def route(client: APIClient, **overrides: Any) -> Any:
    return client.post(CASES, payload(**overrides), format="json")


def assert_nothing_routed() -> None:
    assert not SupportCase.objects.exists()
    assert not CaseAssignment.objects.exists()
    assert not EscalationQueueEntry.objects.exists()
    assert not RoutingDecision.objects.exists()


# --- authentication and permissions ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", CASES),
        ("get", QUEUE),
        ("get", case_url("case_001")),
        ("post", case_url("case_001", "start")),
        ("post", case_url("case_001", "complete")),
    ],
)
def test_anonymous_requests_are_401(api_client: APIClient, method: str, url: str):
    response = getattr(api_client, method)(url, {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", CASES),
        ("post", case_url("case_001", "start")),
        ("post", case_url("case_001", "complete")),
    ],
)
def test_analysts_may_not_route_start_or_complete(analyst_client: APIClient, billing, method: str, url: str):
    response = getattr(analyst_client, method)(url, payload(), format="json")
    assert response.status_code == 403
    assert_nothing_routed()


def test_analysts_may_read_the_queue_and_cases(analyst_client: APIClient):
    waiting_entry("case_q")
    assert analyst_client.get(QUEUE).status_code == 200
    assert analyst_client.get(case_url("case_q")).status_code == 200


def test_a_staff_user_without_routing_permissions_is_403(api_client: APIClient, django_user_model):
    user = django_user_model.objects.create_user("nobody", "n@example.com", "x", is_staff=True)
    api_client.force_authenticate(user)
    assert api_client.get(QUEUE).status_code == 403
    assert api_client.get(case_url("case_001")).status_code == 403


# --- routing a case: 201 assigned, 202 queued --------------------------------------------------------


def test_routing_to_an_eligible_agent_answers_201_with_assignment_and_decision(
    supervisor_client: APIClient, billing
):
    # given two agents who can take a billing case, one far better suited
    strong = on_shift_agent(code="agent_strong")
    on_shift_agent(code="agent_other", skills=("technical",))

    # when the case is routed
    response = route(supervisor_client)

    # then it is assigned, and the answer explains the decision
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["case_id"] == "case_001"
    assignment = body["assignment"]
    assert assignment["agent"]["code"] == strong.code
    assert assignment["status"] == AssignmentStatus.ASSIGNED
    assert assignment["routing_strategy"] == "skill_based"
    decision = body["decision"]
    assert decision["outcome"] == "assigned"
    assert decision["winner_id"] == strong.pk
    assert decision["ring"] == 0
    assert decision["duration_ms"] >= 0
    assert decision["candidate_count"] >= 1
    best = decision["candidates"][0]
    assert best["agent_id"] == strong.pk and best["agent_code"] == strong.code
    assert {"skill", "performance", "frustration_fit", "fatigue", "load_balance"} <= set(best["factors"])
    assert 0 <= best["total"] <= 1
    assert CaseAssignment.objects.get(case_id="case_001").agent == strong


def test_routing_with_a_named_strategy_uses_it(supervisor_client: APIClient, billing):
    on_shift_agent()
    response = route(supervisor_client, strategy="least_busy")
    assert response.status_code == 201, response.json()
    assert response.json()["decision"]["strategy"] == "least_busy"
    assert response.json()["assignment"]["routing_strategy"] == "least_busy"


def test_routing_with_nobody_eligible_answers_202_with_queue_entry_and_position(
    supervisor_client: APIClient, billing
):
    # given one case already waiting at the same priority
    waiting_entry("case_earlier", priority="high", queued_minutes_ago=5)

    # when a case nobody can take now is routed
    response = route(supervisor_client)

    # then it is queued behind the earlier one
    assert response.status_code == 202, response.json()
    body = response.json()
    entry = body["queue_entry"]
    assert entry["case_id"] == "case_001"
    assert entry["position"] == 2
    assert entry["priority"] == "high"
    assert entry["sla_breached"] is False
    assert entry["waiting_seconds"] >= 0
    assert body["decision"]["outcome"] == "queued"
    assert body["decision"]["winner_id"] is None
    assert EscalationQueueEntry.objects.get(case_id="case_001").status == QueueStatus.QUEUED


def test_a_queued_critical_case_goes_ahead_of_waiting_lower_priorities(supervisor_client: APIClient, billing):
    waiting_entry("case_low", priority="low", queued_minutes_ago=10)
    waiting_entry("case_high", priority="high", queued_minutes_ago=10)
    response = route(supervisor_client, priority="critical")
    assert response.status_code == 202
    assert response.json()["queue_entry"]["position"] == 1


# --- validation: field errors, nothing written -------------------------------------------------------


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


def test_missing_required_fields_are_named(supervisor_client: APIClient):
    response = supervisor_client.post(CASES, {}, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"case_id", "priority", "complexity", "required_skills"}


def test_routing_the_same_case_twice_is_409(supervisor_client: APIClient, billing):
    on_shift_agent()
    assert route(supervisor_client).status_code == 201
    response = route(supervisor_client)
    assert response.status_code == 409
    assert response.json()["code"] == "case_already_routed"
    assert CaseAssignment.objects.count() == 1
    assert RoutingDecision.objects.count() == 1


# --- start and complete ------------------------------------------------------------------------------


def test_start_then_complete_records_the_outcome(supervisor_client: APIClient, billing):
    agent = on_shift_agent()
    route(supervisor_client)

    started = supervisor_client.post(case_url("case_001", "start"))
    assert started.status_code == 200, started.json()
    assert started.json()["status"] == AssignmentStatus.IN_PROGRESS
    assert started.json()["started_at"]

    completed = supervisor_client.post(
        case_url("case_001", "complete"),
        {"resolution_minutes": 18, "csat_rating": 5, "escalated": False},
        format="json",
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
    supervisor_client.post(case_url("case_001", "start"))
    assert supervisor_client.post(case_url("case_001", "complete"), {"csat_rating": 4}).status_code == 200

    response = supervisor_client.post(case_url("case_001", "complete"), {"csat_rating": 1}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert CaseAssignment.objects.get(case_id="case_001").csat_rating == 4


def test_starting_twice_is_409(supervisor_client: APIClient, billing):
    on_shift_agent()
    route(supervisor_client)
    assert supervisor_client.post(case_url("case_001", "start")).status_code == 200
    response = supervisor_client.post(case_url("case_001", "start"))
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
    supervisor_client.post(case_url("case_001", "start"))

    response = supervisor_client.post(case_url("case_001", "complete"), body, format="json")

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
    response = supervisor_client.post(case_url("case_001", "complete"), {}, format="json")
    assert response.status_code == 409


# --- the queue ---------------------------------------------------------------------------------------


def test_queue_lists_waiting_entries_in_serving_order_with_positions(supervisor_client: APIClient):
    # given: an overdue low-priority case, a critical one, two high ones (older first) and a cancelled one
    waiting_entry("case_low_overdue", priority="low", queued_minutes_ago=45, max_wait=30)
    waiting_entry("case_high_new", priority="high", queued_minutes_ago=2)
    waiting_entry("case_high_old", priority="high", queued_minutes_ago=9)
    waiting_entry("case_critical", priority="critical", queued_minutes_ago=1)
    gone = waiting_entry("case_cancelled", priority="critical")
    EscalationQueueEntry.objects.filter(pk=gone.pk).update(status=QueueStatus.CANCELLED)

    response = supervisor_client.get(QUEUE)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    rows = body["results"]
    assert [row["case_id"] for row in rows] == [
        "case_low_overdue",
        "case_critical",
        "case_high_old",
        "case_high_new",
    ]
    assert [row["position"] for row in rows] == [1, 2, 3, 4]
    assert [row["sla_breached"] for row in rows] == [True, False, False, False]
    assert rows[0]["waiting_minutes"] == 45
    assert rows[2]["waiting_minutes"] == 9


def test_queue_positions_continue_across_pages(supervisor_client: APIClient):
    for index in range(5):
        waiting_entry(f"case_{index}", queued_minutes_ago=10 - index)
    response = supervisor_client.get(QUEUE, {"page": 2, "page_size": 2})
    rows = response.json()["results"]
    assert [row["case_id"] for row in rows] == ["case_2", "case_3"]
    assert [row["position"] for row in rows] == [3, 4]


def test_queue_positions_match_queue_position(supervisor_client: APIClient):
    from routing.selectors import queue_position

    entries = [
        waiting_entry("a", priority="low", queued_minutes_ago=40, max_wait=30),
        waiting_entry("b", priority="critical", queued_minutes_ago=3),
        waiting_entry("c", priority="medium", queued_minutes_ago=8),
        waiting_entry("d", priority="medium", queued_minutes_ago=2),
    ]
    rows = supervisor_client.get(QUEUE).json()["results"]
    listed = {row["case_id"]: row["position"] for row in rows}
    for entry in entries:
        entry.refresh_from_db()
        assert listed[entry.case_id] == queue_position(entry=entry)


def test_queue_ignores_ordering_parameters(supervisor_client: APIClient):
    waiting_entry("first", priority="critical")
    waiting_entry("second", priority="low")
    rows = supervisor_client.get(QUEUE, {"ordering": "priority"}).json()["results"]
    assert [row["case_id"] for row in rows] == ["first", "second"]


def test_queue_query_count_does_not_grow_with_entries(
    supervisor_client: APIClient, django_assert_num_queries
):
    for index in range(3):
        waiting_entry(f"few_{index}")
    with CaptureQueriesContext(connection) as few:
        assert len(supervisor_client.get(QUEUE).json()["results"]) == 3
    for index in range(27):
        waiting_entry(f"many_{index}")
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(supervisor_client.get(QUEUE).json()["results"]) == 30


def test_queue_query_count_is_pinned(supervisor_client: APIClient, django_assert_num_queries):
    waiting_entry("one")
    # token + user, permissions (user, group), count, page
    with django_assert_num_queries(5):
        supervisor_client.get(QUEUE)


# --- a case page -------------------------------------------------------------------------------------


def test_case_detail_shows_assignments_queue_entries_and_decisions(supervisor_client: APIClient, billing):
    agent = on_shift_agent()
    route(supervisor_client)

    response = supervisor_client.get(case_url("case_001"))

    assert response.status_code == 200
    body = response.json()
    assert body["case_id"] == "case_001"
    assert body["status"] == CaseStatus.ASSIGNED
    assert body["required_skills"] == ["billing"]
    assert body["language"] == "en"
    assert [a["agent"]["code"] for a in body["assignments"]] == [agent.code]
    assert body["queue_entries"] == []
    assert len(body["decisions"]) == 1
    assert body["decisions"][0]["candidates"][0]["agent_code"] == agent.code


def test_case_detail_of_a_queued_case_lists_its_queue_entry(supervisor_client: APIClient, billing):
    route(supervisor_client)
    body = supervisor_client.get(case_url("case_001")).json()
    assert body["status"] == CaseStatus.QUEUED
    assert [entry["status"] for entry in body["queue_entries"]] == [QueueStatus.QUEUED]
    assert body["assignments"] == []


def test_case_detail_of_an_unknown_case_is_404(supervisor_client: APIClient):
    response = supervisor_client.get(case_url("case_missing"))
    assert response.status_code == 404
    assert response.json()["code"] == "case_not_found"


def test_case_detail_query_count_does_not_grow_with_history(
    supervisor_client: APIClient, django_assert_num_queries
):
    def case_with_history(case_id: str, rounds: int) -> None:
        entry = waiting_entry(case_id)
        for _ in range(rounds):
            agent = HumanAgentFactory()
            CaseAssignment.objects.create(
                case_id=case_id,
                agent=agent,
                status=AssignmentStatus.TRANSFERRED,
                priority="medium",
                complexity="low",
            )
            RoutingDecision.objects.create(
                case_id=entry.case.pk, strategy="skill_based", outcome="assigned", winner=agent
            )

    case_with_history("small", 1)
    case_with_history("large", 10)
    with CaptureQueriesContext(connection) as small:
        supervisor_client.get(case_url("small"))
    with django_assert_num_queries(len(small.captured_queries)):
        body = supervisor_client.get(case_url("large")).json()
    assert len(body["assignments"]) == 10 and len(body["decisions"]) == 10


# --- the published contract --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_documents_201_and_202_for_routing(schema: dict[str, Any]):
    responses = schema["paths"]["/api/v1/routing/cases/"]["post"]["responses"]
    assert responses["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/AssignedOutcome")
    assert responses["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/QueuedOutcome")
    assert {"400", "401", "403", "409"} <= set(responses)


def test_schema_documents_every_routing_endpoint(schema: dict[str, Any]):
    paths = schema["paths"]
    assert "get" in paths["/api/v1/routing/cases/{case_id}/"]
    assert "post" in paths["/api/v1/routing/cases/{case_id}/start/"]
    complete = paths["/api/v1/routing/cases/{case_id}/complete/"]["post"]
    assert complete["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CaseCompleteInputRequest"
    )
    queue = paths["/api/v1/routing/queue/"]["get"]
    assert {parameter["name"] for parameter in queue["parameters"]} == {"page", "page_size"}
    waiting = schema["components"]["schemas"]["WaitingEntry"]["properties"]
    assert {"position", "waiting_seconds", "waiting_minutes", "sla_breached"} <= set(waiting)
    assert waiting["sla_breached"]["type"] == "boolean"


def test_schema_is_valid_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
