"""Routing a case through the API: 201 assigned, 202 queued, 409 for the same case twice."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
)
from tests.routing.api.client import (
    route,
)
from tests.routing.floor import on_shift_agent, waiting_entry

pytestmark = pytest.mark.django_db


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


def test_routing_the_same_case_twice_is_409(supervisor_client: APIClient, billing):
    on_shift_agent()
    assert route(supervisor_client).status_code == 201
    response = route(supervisor_client)
    assert response.status_code == 409
    assert response.json()["code"] == "case_already_routed"
    assert CaseAssignment.objects.count() == 1
    assert RoutingDecision.objects.count() == 1
