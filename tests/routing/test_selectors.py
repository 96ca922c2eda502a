"""routing.selectors: serving order, queue position, case detail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from routing.errors import CaseNotFound
from routing.models import QueueStatus
from routing.selectors import case_detail, queue_position, queue_serving_order
from tests.factories.routing import (
    CaseAssignmentFactory,
    EscalationQueueEntryFactory,
    RoutingDecisionFactory,
    SupportCaseFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def entry(
    name: str, *, priority: str, waited_minutes: int, max_wait: int = 30, status: str = QueueStatus.QUEUED
):
    queued_at = NOW - dt.timedelta(minutes=waited_minutes)
    return EscalationQueueEntryFactory(
        case=SupportCaseFactory(case_id=name, priority=priority, max_wait_minutes=max_wait),
        queued_at=queued_at,
        status=status,
    )


@pytest.fixture
def mixed_queue():
    return {
        "old_low_overdue": entry("old_low_overdue", priority="low", waited_minutes=40),
        "older_low_overdue": entry("older_low_overdue", priority="low", waited_minutes=50),
        "high_overdue": entry("high_overdue", priority="high", waited_minutes=31),
        "critical_new": entry("critical_new", priority="critical", waited_minutes=1),
        "high_new": entry("high_new", priority="high", waited_minutes=5),
        "high_newer": entry("high_newer", priority="high", waited_minutes=2),
        "medium": entry("medium", priority="medium", waited_minutes=20),
        "cancelled": entry("cancelled", priority="critical", waited_minutes=60, status=QueueStatus.CANCELLED),
    }


EXPECTED = [
    "high_overdue",
    "older_low_overdue",
    "old_low_overdue",
    "critical_new",
    "high_new",
    "high_newer",
    "medium",
]


def test_serving_order_is_overdue_then_priority_then_age(mixed_queue):
    ordered = list(queue_serving_order(now=NOW))
    assert [e.case_id for e in ordered] == EXPECTED
    assert [e.is_overdue for e in ordered] == [True, True, True, False, False, False, False]


def test_queue_position_counts_the_entries_ahead(mixed_queue, django_assert_num_queries):
    for expected_position, name in enumerate(EXPECTED, 1):
        with django_assert_num_queries(1):
            assert queue_position(entry=mixed_queue[name], now=NOW) == expected_position, name
    assert queue_position(entry=mixed_queue["cancelled"], now=NOW) == 0


def test_queue_position_moves_when_an_entry_becomes_overdue(mixed_queue):
    medium = mixed_queue["medium"]  # waited 20 of 30 minutes
    assert queue_position(entry=medium, now=NOW) == 7
    # overdue now: behind the overdue high entry, ahead of the overdue low ones
    assert queue_position(entry=medium, now=NOW + dt.timedelta(minutes=11)) == 2


def test_serving_order_query_count_does_not_grow(django_assert_num_queries):
    for n in range(3):
        entry(f"a{n}", priority="low", waited_minutes=n)
    with django_assert_num_queries(1):
        [e.case.language for e in queue_serving_order(now=NOW)]
    for n in range(30):
        entry(f"b{n}", priority="high", waited_minutes=n)
    with django_assert_num_queries(1):
        [e.case.language for e in queue_serving_order(now=NOW)]


def test_case_detail_prefetches_and_raises_not_found(django_assert_num_queries):
    case = SupportCaseFactory(case_id="C-1", created_at=timezone.now())
    assignment = CaseAssignmentFactory(case=case)
    EscalationQueueEntryFactory(case=case, status=QueueStatus.ASSIGNED, assigned_agent=assignment.agent)
    RoutingDecisionFactory(case=case)
    with django_assert_num_queries(4):
        detail = case_detail(case_id="C-1")
        assert [a.agent.code for a in detail.assignments.all()]
        assert len(detail.queue_entries.all()) == 1
        assert len(detail.decisions.all()) == 1
    with pytest.raises(CaseNotFound) as error:
        case_detail(case_id="missing")
    assert error.value.http_status == 404
