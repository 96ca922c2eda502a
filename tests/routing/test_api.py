"""The routing API: auth, validation as field errors, 201 vs 202, start/complete, the queue, a case page,
query counts and the published OpenAPI schema."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from agents.models import AgentAvailability, AvailabilityStatus, HumanAgent, Proficiency, Weekday
from routing.engine.rules import parse_special_requirements
from routing.errors import RoutingValidationError
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseAssignmentArchive,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
    RoutingEvent,
    SupportCase,
)
from routing.services import CaseRequest, case_route
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


def as_assignee(case_id: str) -> dict:
    """The body that names the case's latest assignment (start and complete ask which one)."""
    assignment = CaseAssignment.objects.filter(case_id=case_id).order_by("-assigned_at").first()
    return {"assignment_id": str(assignment.pk)} if assignment else {}


def act(client: APIClient, case_id: str, action: str, body: dict | None = None):
    """POST start or complete as the agent who holds the case."""
    return client.post(case_url(case_id, action), {**as_assignee(case_id), **(body or {})}, format="json")


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


def ledger() -> tuple:
    """Everything a routing request may write: row counts, each case/assignment/entry state, agent loads."""
    return (
        SupportCase.objects.count(),
        CaseAssignment.objects.count(),
        EscalationQueueEntry.objects.count(),
        RoutingDecision.objects.count(),
        RoutingEvent.objects.count(),
        sorted(SupportCase.objects.values_list("case_id", "status", "priority")),
        sorted(
            (str(pk), status, csat, str(started), str(completed))
            for pk, status, csat, started, completed in CaseAssignment.objects.values_list(
                "pk", "status", "csat_rating", "started_at", "completed_at"
            )
        ),
        sorted((str(pk), status) for pk, status in EscalationQueueEntry.objects.values_list("pk", "status")),
        sorted(AgentAvailability.objects.values_list("agent_id", "current_load", "status")),
    )


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
    assert decision["prerank"] == {
        "pool_limit": 50,
        "pool_size": decision["candidate_count"],
        "pool_full": False,
        "scored": decision["candidate_count"],
    }
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


def _request(**overrides: Any) -> CaseRequest:
    fields = payload(**overrides)
    fields.pop("case_id")
    return CaseRequest(case_id=overrides.get("case_id", "case_001"), **fields)


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
        case_route(request=_request(special_requirements=special))
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


# --- case ids: one pattern for the input, the service and the URLs -----------------------------------


@pytest.mark.parametrize(
    "case_id", ["a/b", "..", ".hidden", "-dash-first", "caf\u00e9", "a b", "a%2Fb", "a?b", "a#b"]
)
def test_a_case_id_that_cannot_be_a_url_segment_is_400(supervisor_client: APIClient, billing, case_id: str):
    response = route(supervisor_client, case_id=case_id)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_case_id"
    assert list(response.json()["fields"]) == ["case_id"]
    with pytest.raises(RoutingValidationError) as raised:
        case_route(request=_request(case_id=case_id))
    assert list(raised.value.fields) == ["case_id"]
    assert_nothing_routed()


@pytest.mark.parametrize(
    "case_id", ["a/b", "..", ".hidden", "-dash-first", "caf\u00e9", "a b", "a%2Fb", "a?b", "a#b", "A" * 51]
)
def test_the_case_model_rejects_what_the_api_rejects(case_id: str):
    case = SupportCase(case_id=case_id, priority="high", complexity="low")
    with pytest.raises(DjangoValidationError) as raised:
        case.full_clean()
    assert "case_id" in raised.value.message_dict


@pytest.mark.parametrize("case_id", ["INC-2026.04.01_7", "7", "case_20260401_001", "A" * 50])
def test_the_case_model_accepts_what_the_api_accepts(case_id: str):
    SupportCase(case_id=case_id, priority="high", complexity="low").full_clean(validate_unique=False)


@pytest.mark.parametrize("case_id", ["INC-2026.04.01_7", "7", "case_20260401_001", "A" * 50])
def test_every_accepted_case_id_is_reachable_at_its_urls(supervisor_client: APIClient, billing, case_id: str):
    on_shift_agent()
    assert route(supervisor_client, case_id=case_id).status_code == 201
    assert supervisor_client.get(case_url(case_id)).json()["case_id"] == case_id
    assert act(supervisor_client, case_id, "start").status_code == 200
    assert act(supervisor_client, case_id, "complete", {}).status_code == 200


def test_a_url_that_cannot_name_a_case_is_404(supervisor_client: APIClient):
    assert supervisor_client.get(f"{CASES}.hidden/").status_code == 404
    assert supervisor_client.get(case_url("x" * 60)).json()["code"] == "case_not_found"


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


def test_case_detail_keeps_archived_assignments_and_their_decision_reachable(
    supervisor_client: APIClient, billing
):
    # given a case completed long ago and archived by the daily maintenance
    from routing.maintenance import MaintenanceOptions, assignments_archive

    agent = on_shift_agent()
    route(supervisor_client)
    act(supervisor_client, "case_001", "complete", {"csat_rating": 5, "escalated": True})
    later = timezone.now() + dt.timedelta(days=120)
    assert assignments_archive(MaintenanceOptions(now=later)).rows == 1

    # when the case is read
    body = supervisor_client.get(case_url("case_001")).json()

    # then the archived assignment is listed with its agent, and the decision still names the winner
    assert body["assignments"] == []
    [archived] = body["archived_assignments"]
    assert archived["agent"]["code"] == agent.code
    assert (archived["status"], archived["csat_rating"], archived["escalated"]) == ("escalated", 5, True)
    assert archived["archived_at"]
    [decision] = body["decisions"]
    assert decision["assignment_id"] is None and decision["winner_id"] == archived["agent"]["id"]
    assert decision["candidates"][0]["agent_code"] == agent.code
    assert CaseAssignmentArchive.objects.get().case_id == "case_001"
    # and the decision and its archived assignment still name each other
    assert decision["archived_assignment_id"] == archived["id"]
    assert archived["decision_id"] == decision["id"]


def test_an_archived_assignment_without_a_linked_decision_has_no_decision_id(supervisor_client: APIClient):
    # e.g. archived before decisions kept the link: the case's decisions are still listed
    entry = waiting_entry("case_archived_early")
    row = CaseAssignmentArchive.objects.create(
        case_id="case_archived_early",
        agent=HumanAgentFactory(),
        status=AssignmentStatus.COMPLETED,
        priority="medium",
        complexity="low",
    )
    RoutingDecision.objects.create(
        case=entry.case, strategy="skill_based", outcome="assigned", winner=row.agent
    )

    body = supervisor_client.get(case_url("case_archived_early")).json()

    assert body["archived_assignments"][0]["decision_id"] is None
    assert body["decisions"][0]["archived_assignment_id"] is None


def test_case_detail_lists_routing_events_newest_first(supervisor_client: APIClient, billing):
    agent = on_shift_agent()
    route(supervisor_client)
    act(supervisor_client, "case_001", "start")
    act(supervisor_client, "case_001", "complete", {})

    body = supervisor_client.get(case_url("case_001")).json()

    assert [event["event_type"] for event in body["events"]] == ["completed", "started", "routed"]
    assert body["events"][0]["agent_id"] == agent.pk
    assert body["events_truncated"] is False


def test_case_detail_shows_the_newest_hundred_events_and_says_there_are_more(supervisor_client: APIClient):
    entry = waiting_entry("case_long_wait")
    start = timezone.now() - dt.timedelta(days=1)
    RoutingEvent.objects.bulk_create(
        RoutingEvent(case=entry.case, event_type="escalated", created_at=start + dt.timedelta(minutes=n))
        for n in range(130)
    )
    body = supervisor_client.get(case_url("case_long_wait")).json()
    assert len(body["events"]) == 100 and body["events_truncated"] is True
    times = [event["created_at"] for event in body["events"]]
    assert times == sorted(times, reverse=True)


def test_case_detail_query_count_does_not_grow_with_archive_or_events(
    supervisor_client: APIClient, django_assert_num_queries
):
    def case_with_past(case_id: str, rounds: int) -> None:
        entry = waiting_entry(case_id)
        for _ in range(rounds):
            archived = CaseAssignmentArchive.objects.create(
                case_id=case_id,
                agent=HumanAgentFactory(),
                status=AssignmentStatus.COMPLETED,
                priority="medium",
                complexity="low",
            )
            RoutingDecision.objects.create(
                case=entry.case,
                strategy="skill_based",
                outcome="assigned",
                winner=archived.agent,
                archived_assignment=archived,
            )
            RoutingEvent.objects.create(case=entry.case, event_type="escalated", agent=HumanAgentFactory())

    case_with_past("small", 1)
    case_with_past("large", 12)
    with CaptureQueriesContext(connection) as small:
        supervisor_client.get(case_url("small"))
    with django_assert_num_queries(len(small.captured_queries)):
        body = supervisor_client.get(case_url("large")).json()
    assert len(body["archived_assignments"]) == 12 and len(body["events"]) == 12
    assert all(row["decision_id"] is not None for row in body["archived_assignments"])


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


def test_every_routing_operation_documents_the_project_wide_answers(schema: dict[str, Any]):
    # 401/403 (permissions), 429 with Retry-After (throttling), 413 where a body is taken: config.openapi
    routing_paths = {path: ops for path, ops in schema["paths"].items() if path.startswith("/api/v1/routing")}
    assert len(routing_paths) == 5
    for path, operations in routing_paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            assert {"401", "403", "429"} <= set(responses), where
            assert "Retry-After" in responses["429"].get("headers", {}), where
            assert ("413" in responses) == ("requestBody" in operation), where
            for code in {"401", "403", "413", "429"} & set(responses):
                assert responses[code]["content"]["application/json"]["schema"]["$ref"].endswith("/ApiError")


def test_schema_is_valid_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


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
