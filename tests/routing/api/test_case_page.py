"""A case page: assignments (archived too), queue entries, decisions and events, with counted queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseAssignmentArchive,
    CaseStatus,
    QueueStatus,
    RoutingDecision,
    RoutingEvent,
)
from tests.factories.agents import (
    HumanAgentFactory,
)
from tests.routing.api.client import (
    act,
    case_url,
    route,
)
from tests.routing.floor import on_shift_agent, waiting_entry

pytestmark = pytest.mark.django_db


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
