"""The queue endpoint: serving order, positions across pages, pinned query counts."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from routing.models import (
    EscalationQueueEntry,
    QueueStatus,
)
from tests.routing.api.client import (
    QUEUE,
)
from tests.routing.floor import waiting_entry

pytestmark = pytest.mark.django_db


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
