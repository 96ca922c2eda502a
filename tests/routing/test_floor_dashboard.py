"""The admin's floor dashboard: its figures on small floors, "today" in the server's zone, the hourly
queue curve, who may see it, and a query count that does not grow with the floor."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from agents.models import AgentAvailability, AvailabilityStatus
from routing.dashboard import floor_chart, floor_snapshot
from routing.models import (
    AssignmentQueueStatus,
    AssignmentStatus,
    CaseStatus,
    QueueStatus,
    SupportCase,
)
from routing.selectors.floor import (
    HourPoint,
    floor_agent_states,
    floor_cases,
    floor_day_start,
    floor_hours,
    floor_hours_of_day,
    floor_leads,
    floor_today,
)
from scoring.floor import outbound_floor
from scoring.models import QueueStatus as CallQueueStatus
from scoring.models import QueueType as CallQueueType
from tests.factories.agents import HumanAgentFactory
from tests.factories.leads import AssignmentQueueFactory
from tests.factories.routing import (
    CaseAssignmentFactory,
    EscalationQueueEntryFactory,
    SupportCaseFactory,
    retire_seed_roster,
)
from tests.factories.scoring import CallQueueEntryFactory

pytestmark = pytest.mark.django_db

FLOOR = reverse("admin-floor")
INDEX = reverse("admin:index")
UTC = dt.UTC
# A fixed instant: 12:20 UTC on a Tuesday.
NOW = dt.datetime(2026, 3, 10, 12, 20, tzinfo=UTC)
ALL_SECTIONS = frozenset({"agents", "cases", "leads", "outbound"})


def at(hour: int, minute: int = 0, *, day: int = 10) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def entry(*, queued: dt.datetime, max_wait: int = 30, **attributes):
    case = SupportCaseFactory(
        created_at=queued, max_wait_minutes=max_wait, priority=attributes.pop("priority", "medium")
    )
    return EscalationQueueEntryFactory(case=case, queued_at=queued, **attributes)


@pytest.fixture
def empty_floor(db) -> None:
    retire_seed_roster()


# --- agents ------------------------------------------------------------------------------------------


def test_agents_are_counted_by_state_with_load_against_capacity(empty_floor):
    # given two available agents (load 1 of 5, 2 of 3), one busy, one on break, one inactive
    for load, capacity, status in ((1, 5, "available"), (2, 3, "available"), (4, 4, "busy"), (0, 5, "break")):
        agent = HumanAgentFactory(max_concurrent_work=capacity)
        AgentAvailability.objects.filter(agent=agent).update(status=status, current_load=load)
    HumanAgentFactory(is_active=False)

    # when
    floor = floor_agent_states()

    # then
    by_status = {row.status: row for row in floor.states}
    assert (by_status["available"].agents, by_status["available"].load, by_status["available"].capacity) == (
        2,
        3,
        8,
    )
    assert (by_status["busy"].agents, by_status["busy"].load, by_status["busy"].capacity) == (1, 4, 4)
    assert by_status["break"].agents == 1
    assert by_status["offline"].agents == 0
    # at work: available and busy, not the break
    assert (floor.working, floor.load, floor.capacity) == (3, 7, 12)


# --- cases waiting and breached ----------------------------------------------------------------------


def test_waiting_cases_by_priority_with_the_longest_wait_and_the_breaches(empty_floor):
    # given: a critical case waiting 50 min (30 allowed: 20 over), a high one 10 min (within), a medium
    # one 45 min with 60 allowed (within), and an assigned and a cancelled entry, which do not wait
    entry(queued=NOW - dt.timedelta(minutes=50), priority="critical")
    entry(queued=NOW - dt.timedelta(minutes=10), priority="high")
    entry(queued=NOW - dt.timedelta(minutes=45), priority="medium", max_wait=60)
    entry(
        queued=NOW - dt.timedelta(hours=3),
        status=QueueStatus.ASSIGNED,
        assigned_agent=HumanAgentFactory(),
        assigned_at=NOW - dt.timedelta(hours=2),
    )
    entry(queued=NOW - dt.timedelta(hours=3), status=QueueStatus.CANCELLED)

    # when
    cases = floor_cases(now=NOW)

    # then: highest priority first, each with its count and longest wait
    assert [(row.priority, row.waiting, row.breached, row.longest_wait_minutes) for row in cases.waiting] == [
        ("critical", 1, 1, 50),
        ("high", 1, 0, 10),
        ("medium", 1, 0, 45),
        ("low", 0, 0, None),
    ]
    assert (cases.waiting_total, cases.longest_wait_minutes, cases.breach_count) == (3, 50, 1)
    assert [(row.priority_label, row.waiting_minutes, row.overdue_minutes) for row in cases.breaches] == [
        ("Critical", 50, 20)
    ]


def test_breaches_list_longest_overdue_first(empty_floor):
    first = entry(queued=NOW - dt.timedelta(minutes=40))  # 10 over
    second = entry(queued=NOW - dt.timedelta(minutes=90))  # 60 over
    assert [row.case_id for row in floor_cases(now=NOW).breaches] == [second.case_id, first.case_id]


# --- today --------------------------------------------------------------------------------------------


def test_today_counts_received_routed_and_completed_cases_and_their_csat(empty_floor):
    agent = HumanAgentFactory()
    yesterday = at(23, day=9)
    # received today: three cases (the others below were received yesterday)
    for hour in (0, 8, 12):
        SupportCaseFactory(created_at=at(hour))
    # routed today: two cases, one of them twice (requeued, then given to another agent)
    twice = SupportCaseFactory(created_at=yesterday)
    CaseAssignmentFactory(
        case=twice,
        agent=agent,
        assigned_at=at(9),
        status=AssignmentStatus.TRANSFERRED,
        completed_at=at(9, 30),
    )
    CaseAssignmentFactory(
        case=twice,
        agent=agent,
        assigned_at=at(10),
        status=AssignmentStatus.COMPLETED,
        completed_at=at(11),
        csat_rating=5,
    )
    CaseAssignmentFactory(
        case=SupportCaseFactory(created_at=yesterday),
        agent=agent,
        assigned_at=at(11),
        status=AssignmentStatus.COMPLETED,
        completed_at=at(12),
        csat_rating=2,
    )
    # completed today, routed yesterday, not rated
    CaseAssignmentFactory(
        case=SupportCaseFactory(created_at=yesterday),
        agent=agent,
        assigned_at=at(22, day=9),
        status=AssignmentStatus.COMPLETED,
        completed_at=at(8),
    )
    # completed yesterday: not today's
    CaseAssignmentFactory(
        case=SupportCaseFactory(created_at=at(19, day=9)),
        agent=agent,
        assigned_at=at(20, day=9),
        status=AssignmentStatus.COMPLETED,
        completed_at=at(21, day=9),
        csat_rating=1,
    )

    today = floor_today(now=NOW)

    assert today.received == 3
    assert today.routed == 2  # distinct cases; the transferred hand-off is not a second case
    assert today.completed == 3  # completions only: the transfer's completed_at is not one
    assert (today.csat, today.rated) == (3.5, 2)


@override_settings(TIME_ZONE="America/Los_Angeles")
def test_today_is_the_server_time_zones_day_whatever_zone_is_active(empty_floor):
    # given 12:20 UTC = 05:20 in Los Angeles (PDT from 8 March 2026): its day began at 07:00 UTC
    SupportCaseFactory(created_at=at(6, 59))  # 23:59 the day before, Los Angeles time
    SupportCaseFactory(created_at=at(7, 1))  # 00:01 today, Los Angeles time

    # when a request has activated another zone (Tokyo, where it is already 21:20)
    with timezone.override("Asia/Tokyo"):
        start = floor_day_start(NOW)
        today = floor_today(now=NOW)

    # then
    assert start == at(7)
    assert today.received == 1


@override_settings(TIME_ZONE="America/Los_Angeles")
def test_the_day_of_a_clock_change_has_its_real_hours():
    # 8 March 2026: Los Angeles springs forward at 02:00, a 23-hour day
    late = dt.datetime(2026, 3, 9, 6, 30, tzinfo=UTC)  # 23:30 PDT on the 8th
    moments = floor_hours_of_day(late)
    labels = [moment.strftime("%H:%M") for moment in moments[:-1]]
    assert len(labels) == 23
    assert labels[:3] == ["00:00", "01:00", "03:00"]
    assert labels[-1] == "23:00"
    assert moments[-1] == late


# --- the hourly queue curve --------------------------------------------------------------------------


def test_hourly_queue_length_counts_entries_until_they_left(empty_floor):
    agent = HumanAgentFactory()
    # still waiting since 09:30, due at 10:00
    entry(queued=at(9, 30))
    # queued 08:30, assigned 10:15, then completed (the entry keeps its assigned_at)
    entry(
        queued=at(8, 30),
        max_wait=120,
        status=QueueStatus.COMPLETED,
        assigned_agent=agent,
        assigned_at=at(10, 15),
    )
    # queued 10:30, assigned 11:10
    entry(
        queued=at(10, 30),
        max_wait=120,
        status=QueueStatus.ASSIGNED,
        assigned_agent=agent,
        assigned_at=at(11, 10),
    )
    # queued 09:10 and cancelled 11:05 (the case's last write)
    cancelled = entry(queued=at(9, 10), max_wait=60, status=QueueStatus.CANCELLED)
    SupportCase.objects.filter(pk=cancelled.case.pk).update(status=CaseStatus.CANCELLED, updated_at=at(11, 5))
    # yesterday's, assigned yesterday: never waiting today
    entry(queued=at(20, day=9), status=QueueStatus.ASSIGNED, assigned_agent=agent, assigned_at=at(21, day=9))
    # waiting since yesterday 23:00 (due 23:30): waiting and breached all day
    entry(queued=at(23, day=9))

    hours = floor_hours(now=NOW)

    assert [point.hour for point in hours] == [at(hour) for hour in range(13)] + [NOW]
    by_hour = {point.hour.hour: (point.queued, point.breached) for point in hours[:-1]}
    assert by_hour[8] == (1, 1)  # yesterday's
    assert by_hour[9] == (2, 1)  # + the 08:30 one
    assert by_hour[10] == (4, 2)  # + 09:30 (due 10:00: breached) + 09:10 (due 10:10: not yet)
    assert by_hour[11] == (4, 3)  # 08:30 left at 10:15; + 10:30; 09:10 now breached, still waiting
    assert by_hour[12] == (2, 2)  # 10:30 left at 11:10, 09:10 cancelled at 11:05
    assert (hours[-1].queued, hours[-1].breached) == (2, 2)


def test_the_chart_draws_a_bar_pair_per_hour_scaled_to_the_peak():
    hours = [
        HourPoint(hour=at(hour), queued=queued, breached=breached)
        for hour, queued, breached in ((0, 0, 0), (1, 8, 2), (2, 4, 4))
    ]
    chart = floor_chart(hours)
    assert len(chart.bars) == 6
    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest.title == "01:00: 8 waiting"
    assert tallest.height == chart.plot_bottom - chart.plot_top  # the peak fills the plot
    assert [bar.height for bar in chart.bars[:2]] == [0, 0]
    assert chart.bars[-1].title == "now: 4 past SLA"
    assert not chart.empty
    assert floor_chart([HourPoint(hour=at(0), queued=0, breached=0)]).empty


# --- leads and outbound -------------------------------------------------------------------------------


def test_leads_waiting_by_queue_type_with_expired_slas(empty_floor):
    AssignmentQueueFactory(
        queue_type="hot", queued_at=NOW - dt.timedelta(minutes=12), sla_expiry=NOW - dt.timedelta(minutes=7)
    )
    AssignmentQueueFactory(
        queue_type="hot", queued_at=NOW - dt.timedelta(minutes=2), sla_expiry=NOW + dt.timedelta(minutes=3)
    )
    AssignmentQueueFactory(
        queue_type="active",
        queued_at=NOW - dt.timedelta(minutes=20),
        sla_expiry=NOW + dt.timedelta(minutes=10),
    )
    # escalated by the sweep this morning: breached today, no longer waiting
    AssignmentQueueFactory(
        queue_type="active",
        queued_at=at(8),
        sla_expiry=at(8, 30),
        status=AssignmentQueueStatus.ESCALATED,
        sla_breached=True,
        left_at=at(8, 31),
    )
    # assigned in time: not a breach
    AssignmentQueueFactory(
        queue_type="active",
        queued_at=at(9),
        sla_expiry=at(9, 30),
        status=AssignmentQueueStatus.ASSIGNED,
        left_at=at(9, 10),
    )
    # breached yesterday
    AssignmentQueueFactory(
        queue_type="hot",
        queued_at=at(22, day=9),
        sla_expiry=at(22, 5, day=9),
        status=AssignmentQueueStatus.ESCALATED,
        sla_breached=True,
        left_at=at(22, 6, day=9),
    )

    leads = floor_leads(now=NOW)

    by_type = {
        row.queue_type: (row.waiting, row.sla_expired, row.longest_wait_minutes) for row in leads.queues
    }
    assert by_type["hot"] == (2, 1, 12)
    assert by_type["active"] == (1, 0, 20)
    assert by_type["nurture"] == (0, 0, None)
    assert (leads.waiting_total, leads.sla_expired_total) == (3, 1)
    assert leads.breached_today == 2  # the expired hot lead still waiting, and the escalated one


def test_outbound_pending_per_queue_type_with_callbacks_due_and_overdue(db):
    now = timezone.now()
    CallQueueEntryFactory.create_batch(2, queue_type=CallQueueType.UNSIGNED_USERS)
    # callbacks: due 5 minutes ago (due), 2 hours ago (overdue: past the 30-minute hand-over), tomorrow
    for minutes in (5, 120, -24 * 60):
        CallQueueEntryFactory(
            queue_type=CallQueueType.OUTSTANDING_REQUESTS,
            callback_id=f"cb-{minutes}",
            callback_scheduled_for=now - dt.timedelta(minutes=minutes),
        )
    CallQueueEntryFactory(queue_type=CallQueueType.UNSIGNED_USERS, status=CallQueueStatus.COMPLETED)

    outbound = outbound_floor(now=now)

    by_type = {
        row.queue_type: (row.pending, row.callbacks_due, row.callbacks_overdue) for row in outbound.queues
    }
    assert by_type == {"unsigned_users": (2, 0, 0), "outstanding_requests": (3, 2, 1)}
    assert (outbound.pending_total, outbound.callbacks_due_total, outbound.callbacks_overdue_total) == (
        5,
        2,
        1,
    )


# --- who sees it ---------------------------------------------------------------------------------------


def staff_with(*codenames: str) -> User:
    user = User.objects.create_user("staff-floor", "staff-floor@example.com", "pw", is_staff=True)
    for dotted in codenames:
        app_label, codename = dotted.split(".")
        user.user_permissions.add(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return user


def test_a_staff_user_without_a_view_permission_gets_a_403_and_no_dashboard(client: Client, db):
    client.force_login(staff_with())
    assert client.get(FLOOR).status_code == 403
    index = client.get(INDEX)
    assert index.status_code == 200
    assert b'id="floor-dashboard"' not in index.content


def test_a_signed_out_visitor_gets_a_403_not_a_login_page_to_swap_in(client: Client, db):
    assert client.get(FLOOR).status_code == 403


def test_a_supervisor_sees_every_section_on_the_index_and_in_the_fragment(client: Client, supervisor_user):
    client.force_login(supervisor_user)
    response = client.get(FLOOR)
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"]
    for section in (
        b"floor-agents",
        b"floor-waiting",
        b"floor-breaches",
        b"floor-today",
        b"floor-chart",
        b"floor-leads",
        b"floor-outbound",
    ):
        assert section in response.content
    index = client.get(INDEX)
    assert b'id="floor-dashboard"' in index.content
    assert b'hx-trigger="every 5s"' in index.content
    assert b"htmx" in index.content  # the script django-htmx ships


def test_an_analyst_sees_it_too(client: Client, analyst_user):
    client.force_login(analyst_user)
    assert client.get(FLOOR).status_code == 200


def test_one_view_permission_shows_its_own_section_only(client: Client, db):
    client.force_login(staff_with("scoring.view_callqueueentry"))
    response = client.get(FLOOR)
    assert response.status_code == 200
    assert b"floor-outbound" in response.content
    assert b"floor-agents" not in response.content
    assert b"floor-waiting" not in response.content
    assert b"floor-leads" not in response.content


@override_settings(FLOOR_DASHBOARD_POLL_SECONDS=2)
def test_the_poll_interval_comes_from_settings(client: Client, supervisor_user):
    client.force_login(supervisor_user)
    assert b'hx-trigger="every 2s"' in client.get(FLOOR).content


def test_the_fragment_shows_a_breached_case_and_the_agents(client: Client, supervisor_user, empty_floor):
    HumanAgentFactory(name="Ada Lovelace")
    late = entry(queued=timezone.now() - dt.timedelta(minutes=45), priority="high")
    client.force_login(supervisor_user)
    content = client.get(FLOOR).content.decode()
    assert f'data-case="{late.case_id}"' in content
    assert 'data-figure="cases-breached">1 ' in content
    assert 'data-figure="agents-working">1 ' in content


# --- cost ----------------------------------------------------------------------------------------------


def a_floor(size: int) -> None:
    """`size` of everything the dashboard counts, in every state it distinguishes."""
    now = timezone.now()
    for index in range(size):
        agent = HumanAgentFactory()
        AgentAvailability.objects.filter(agent=agent).update(
            status=[AvailabilityStatus.AVAILABLE, AvailabilityStatus.BUSY, AvailabilityStatus.BREAK][
                index % 3
            ],
            current_load=index % 3,
        )
        entry(
            queued=now - dt.timedelta(minutes=10 + 20 * index),
            priority=["low", "high", "critical"][index % 3],
        )
        entry(
            queued=now - dt.timedelta(minutes=90),
            status=QueueStatus.ASSIGNED,
            assigned_agent=agent,
            assigned_at=now - dt.timedelta(minutes=5),
        )
        CaseAssignmentFactory(agent=agent, status=AssignmentStatus.COMPLETED, completed_at=now, csat_rating=4)
        AssignmentQueueFactory(queue_type=["hot", "active"][index % 2], lead_score=Decimal(index % 90))
        CallQueueEntryFactory(callback_id=f"cb-{size}-{index}", callback_scheduled_for=now)


def fragment_queries(size: int, client: Client, supervisor_user: User, django_assert_num_queries) -> None:
    a_floor(size)
    client.force_login(supervisor_user)
    # session, user, the user's and the groups' permissions, then the floor: agents (1), cases (5:
    # waiting, breaches, received, routed/completed/CSAT, the hourly curve), leads (1), outbound (1)
    with django_assert_num_queries(4 + 1 + 5 + 1 + 1):
        response = client.get(FLOOR)
    assert response.status_code == 200


def test_the_fragment_costs_the_same_queries_for_a_small_floor(
    client, supervisor_user, empty_floor, django_assert_num_queries
):
    fragment_queries(4, client, supervisor_user, django_assert_num_queries)


def test_the_fragment_costs_the_same_queries_for_a_floor_three_times_larger(
    client, supervisor_user, empty_floor, django_assert_num_queries
):
    fragment_queries(12, client, supervisor_user, django_assert_num_queries)


def test_the_snapshot_queries_do_not_grow_with_the_floor(empty_floor, django_assert_num_queries):
    a_floor(3)
    with django_assert_num_queries(8):
        floor_snapshot(sections=ALL_SECTIONS)
    a_floor(6)  # 9 of each now: three times the floor
    with django_assert_num_queries(8):
        floor_snapshot(sections=ALL_SECTIONS)


def test_the_admin_index_costs_the_same_queries_for_a_floor_three_times_larger(
    client, supervisor_user, empty_floor, django_assert_num_queries
):
    client.force_login(supervisor_user)
    a_floor(3)
    with CaptureQueriesContext(connection) as small:
        assert client.get(INDEX).status_code == 200
    a_floor(6)  # 9 of each now
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(INDEX)
    assert b'id="floor-dashboard"' in response.content


def test_an_app_index_does_not_show_the_dashboard(client: Client, supervisor_user):
    client.force_login(supervisor_user)
    response = client.get(reverse("admin:app_list", args=["routing"]))
    assert response.status_code == 200
    assert b'id="floor-dashboard"' not in response.content
