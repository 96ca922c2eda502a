"""routing.selectors: serving order, queue position, case detail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import F, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import AgentAvailability
from routing.errors import CaseNotFound
from routing.models import EscalationQueueEntry, QueueStatus
from routing.selectors import (
    agent_candidates,
    case_detail,
    queue_position,
    queue_scan,
    queue_serving_order,
    queue_waiting,
    schedule_zones_in_use,
)
from routing.selectors import queue as queue_selectors
from routing.selectors.cases import CASE_EVENTS_SHOWN
from tests.factories import SkillDomainFactory
from tests.factories.routing import (
    CaseAssignmentArchiveFactory,
    CaseAssignmentFactory,
    EscalationQueueEntryFactory,
    RoutingDecisionFactory,
    RoutingEventFactory,
    SupportCaseFactory,
    retire_seed_roster,
    routable_agent,
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


def test_queue_position_counts_the_entries_ahead(mixed_queue, django_assert_max_num_queries):
    # one counting statement (on PostgreSQL in a rolled-back savepoint with its planner settings: 5)
    for expected_position, name in enumerate(EXPECTED, 1):
        with django_assert_max_num_queries(5):
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
    # the case page's archived assignments and newest events are prefetched by the selector too
    with django_assert_num_queries(6):
        detail = case_detail(case_id="C-1")
        assert [a.agent.code for a in detail.assignments.all()]
        assert len(detail.queue_entries.all()) == 1
        assert len(detail.decisions.all()) == 1
        assert list(detail.archived_assignments.all()) == []
        assert detail.recent_events == []
    with pytest.raises(CaseNotFound) as error:
        case_detail(case_id="missing")
    assert error.value.http_status == 404


def test_case_detail_prefetches_archived_assignments_with_their_decisions_and_the_newest_events(
    django_assert_num_queries,
):
    # given a case with archived assignments, each with the decision that made it, and many events
    case = SupportCaseFactory(case_id="C-2", created_at=timezone.now())
    archived = CaseAssignmentArchiveFactory.create_batch(3, case=case)
    for row in archived:
        RoutingDecisionFactory(case=case, outcome="assigned", winner=row.agent, archived_assignment=row)
    start = timezone.now() - dt.timedelta(hours=1)
    for minute in range(CASE_EVENTS_SHOWN + 5):
        RoutingEventFactory(case=case, created_at=start + dt.timedelta(minutes=minute))

    # when the case is read, then one more query (the archived rows' decisions) covers any number of them
    with django_assert_num_queries(7):
        detail = case_detail(case_id="C-2")
        rows = {row.pk: row for row in detail.archived_assignments.all()}
        assert {pk: [d.archived_assignment_id for d in row.decisions.all()] for pk, row in rows.items()} == {
            row.pk: [row.pk] for row in archived
        }
        assert all(row.agent.code for row in rows.values())
        assert len(detail.recent_events) == CASE_EVENTS_SHOWN + 1
        assert detail.recent_events[0].created_at > detail.recent_events[-1].created_at


# --- the queue read as index ranges --------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1, 2, 3, 100])
def test_queue_scan_reads_the_serving_order_band_by_band(mixed_queue, chunk):
    scanned = [e.case_id for e in queue_scan(now=NOW, chunk=chunk)]
    assert scanned == EXPECTED == [e.case_id for e in queue_serving_order(now=NOW)]
    assert [e.case_id for e in queue_scan(now=NOW, chunk=chunk, limit=4)] == EXPECTED[:4]


def test_queue_waiting_is_at_most_two_queries_and_never_joins_cases(
    mixed_queue, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as queries:
        entries = queue_waiting(now=NOW, limit=5)
    assert [e.case_id for e in entries] == EXPECTED[:5]
    assert len(queries) == 2  # the overdue band (3), then the punctual band for the missing 2
    assert all("routing_supportcase" not in query["sql"] for query in queries.captured_queries)
    with django_assert_max_num_queries(1):
        assert len(queue_waiting(now=NOW, limit=2)) == 2


def test_queue_scan_narrows_by_entry_columns(mixed_queue):
    only_high = [e.case_id for e in queue_scan(now=NOW, chunk=2, where=Q(priority="high"))]
    assert only_high == ["high_overdue", "high_new", "high_newer"]


def test_queue_position_splits_ties_on_the_same_second():
    same = NOW - dt.timedelta(minutes=5)
    first = EscalationQueueEntryFactory(case=SupportCaseFactory(case_id="t1"), queued_at=same)
    second = EscalationQueueEntryFactory(case=SupportCaseFactory(case_id="t2"), queued_at=same)
    earlier, later = sorted([first, second], key=lambda e: e.pk)
    assert queue_position(entry=earlier, now=NOW) == 1
    assert queue_position(entry=later, now=NOW) == 2


@pytest.mark.postgres
def test_queue_position_one_count_form_equals_the_index_range_form(mixed_queue, monkeypatch):
    # given: the mixed queue, a tie on the same second, and dead row versions left by an update
    same = NOW - dt.timedelta(minutes=5)
    for case_id in ("tie-1", "tie-2"):
        mixed_queue[case_id] = EscalationQueueEntryFactory(
            case=SupportCaseFactory(case_id=case_id), queued_at=same
        )
    EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED).update(
        escalation_count=F("escalation_count")
    )
    waiting = [e for e in mixed_queue.values() if e.status == QueueStatus.QUEUED]
    moments = (NOW, NOW + dt.timedelta(minutes=11), NOW + dt.timedelta(hours=3))

    def positions(*, share: float, slack: int) -> dict:
        # the dead-row statistics lag inside the test's transaction: the thresholds choose the form
        monkeypatch.setattr(queue_selectors, "DEAD_ROW_SHARE", share)
        monkeypatch.setattr(queue_selectors, "DEAD_ROW_SLACK", slack)
        return {(e.case_id, at): queue_position(entry=e, now=at) for e in waiting for at in moments}

    one_count_calls = []
    real_one_count = queue_selectors._position_one_count
    monkeypatch.setattr(
        queue_selectors,
        "_position_one_count",
        lambda *a, **k: one_count_calls.append(1) or real_one_count(*a, **k),
    )
    # when
    index_ranges = positions(share=1.0, slack=10**9)  # always "few dead rows": the index ranges
    assert not one_count_calls
    one_count = positions(share=-1.0, slack=-1)  # always "many": the one count of the whole predicate
    # then
    assert len(one_count_calls) == len(index_ranges)
    assert one_count == index_ranges
    assert index_ranges[("high_overdue", NOW)] == 1 and index_ranges[("medium", NOW)] == 7
    assert {index_ranges[("tie-1", NOW)], index_ranges[("tie-2", NOW)]} == {8, 9}


# --- candidates ----------------------------------------------------------------------------------


def _profile(**overrides):
    from routing.services.requests import case_work_profile

    values = {
        "case_id": "X",
        "priority": "medium",
        "complexity": "medium",
        "frustration": "low",
        "required_skills": ["billing"],
        "language": "en",
        "special_requirements": {},
    }
    values.update(overrides)
    return case_work_profile(**values)


def _search(work, *, pool=None, now=None):
    from routing.engine.rules import ring_for

    return agent_candidates(
        work=work, ring=ring_for(work, 0), now=now or timezone.now(), lockout=3, pool=pool
    )


def test_the_pool_keeps_the_least_loaded_eligible_agents_and_says_when_it_is_full():
    retire_seed_roster()
    SkillDomainFactory(code="billing")
    agents = []
    for load in (3, 0, 2, 1):
        agent = routable_agent(skills={"billing": "advanced"}, capacity=5)
        AgentAvailability.objects.filter(agent=agent).update(current_load=load)
        agents.append((load, agent.pk))
    least_loaded = {pk for load, pk in sorted(agents)[:2]}
    search = _search(_profile(), pool=2)
    assert {profile.agent_id for profile in search.agents} == least_loaded
    assert search.as_record() == {"pool_limit": 2, "pool_size": 2, "pool_full": True, "scored": 2}
    everyone = _search(_profile(), pool=0)
    assert len(everyone.agents) == 4 and not everyone.pool_full
    assert everyone.as_record()["pool_size"] == 4


def test_candidate_search_query_count_does_not_grow(django_assert_num_queries):
    retire_seed_roster()
    SkillDomainFactory(code="billing")
    for _ in range(3):
        routable_agent(skills={"billing": "advanced"})
    with CaptureQueriesContext(connection) as few:
        _search(_profile())
    for _ in range(20):
        routable_agent(skills={"billing": "advanced"}, languages=("en", "fr"))
    with django_assert_num_queries(len(few.captured_queries)):
        assert len(_search(_profile()).agents) == 23


def test_schedule_zones_in_use_lists_each_zone_once():
    retire_seed_roster()
    routable_agent(zone="Asia/Tokyo")
    routable_agent(zone="UTC")
    routable_agent(zone="UTC")
    assert {"Asia/Tokyo", "UTC"} <= set(schedule_zones_in_use())
    assert schedule_zones_in_use() == sorted(set(schedule_zones_in_use()))
