"""The serving order is a guarantee: higher priority first and, within a priority, the oldest; an overdue
case before both. Any event that lets an agent take work serves the queue first, and a new case goes to
an agent directly only when no waiting case that agent can serve outranks it (issue 6, fault 5)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from agents.models import AgentSchedule, Weekday
from agents.services import agent_update
from routing.models import (
    CaseAssignment,
    EscalationQueueEntry,
    QueueStatus,
    RoutingEvent,
    RoutingEventType,
    SupportCase,
)
from routing.services import CaseRequest, case_route
from tests.factories import AgentScheduleFactory, SkillDomainFactory
from tests.factories.routing import retire_seed_roster, routable_agent

pytestmark = pytest.mark.django_db

MONDAY = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def floor() -> None:
    retire_seed_roster()
    SkillDomainFactory(code="billing")


def route(case_id: str, *, at: dt.datetime, priority: str = "medium", max_wait: int = 30):
    with time_machine.travel(at, tick=False):
        return case_route(
            request=CaseRequest(
                case_id=case_id,
                priority=priority,
                complexity="low",
                required_skills=["billing"],
                language="en",
                max_wait_minutes=max_wait,
            )
        )


def holder(case_id: str) -> int | None:
    return (
        CaseAssignment.objects.filter(case__case_id=case_id, status="assigned")
        .values_list("agent_id", flat=True)
        .first()
    )


def nine_to_five(agent, *, day: str = "monday") -> None:
    AgentScheduleFactory(
        agent=agent, day_of_week=day, start_time=dt.time(9), end_time=dt.time(17), timezone="UTC"
    )


def test_a_schedule_edit_that_makes_an_agent_eligible_serves_the_waiting_case_at_once():
    # given: a case waiting because its only agent has no schedule window now
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1, always_on=False)
    assert route("OLD", at=MONDAY + dt.timedelta(hours=10)).http_status == 202
    # when: the supervisor gives the agent a window that is open now
    with time_machine.travel(MONDAY + dt.timedelta(hours=10, minutes=5), tick=False):
        agent_update(
            agent=agent,
            schedules=[
                {
                    "day_of_week": "monday",
                    "start_time": dt.time(9),
                    "end_time": dt.time(17),
                    "timezone": "UTC",
                    "effective_from": dt.date(2026, 1, 1),
                }
            ],
        )
    # then: the waiting case goes to the agent in the same transaction, without a sweep
    assert holder("OLD") == agent.pk
    # and a newer case now waits its turn
    assert route("NEW", at=MONDAY + dt.timedelta(hours=10, minutes=6)).http_status == 202


def test_when_a_window_opens_a_new_case_does_not_overtake_the_case_waiting_for_it():
    # given: at 08:55 a high-priority case waits for the only agent, whose shift starts at 09:00 (a
    # window opening is an event nobody writes)
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1, always_on=False)
    nine_to_five(agent)
    assert route("OLD", at=MONDAY + dt.timedelta(hours=8, minutes=55), priority="high").http_status == 202
    # when: a newer case of the same priority arrives at 09:01, before any sweep ran
    new = route("NEW", at=MONDAY + dt.timedelta(hours=9, minutes=1), priority="high")
    # then: the case that waited is served first
    assert holder("OLD") == agent.pk
    assert new.http_status == 202  # the agent's one slot went to the case that waited
    served = RoutingEvent.objects.get(case__case_id="OLD", event_type=RoutingEventType.DISPATCHED)
    assert "served before new case NEW" in served.case.decisions.get(outcome="assigned").reason


def test_a_new_case_of_higher_priority_goes_first_when_nothing_outranks_it():
    # given: a low-priority case waiting (not overdue) for an agent who just came on shift
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1, always_on=False)
    nine_to_five(agent)
    route("LOW", at=MONDAY + dt.timedelta(hours=8, minutes=55), priority="low", max_wait=120)
    # when: a critical case arrives: the waiting low case does not outrank it
    critical = route("CRIT", at=MONDAY + dt.timedelta(hours=9, minutes=1), priority="critical")
    # then: the critical case takes the slot directly
    assert critical.assignment is not None and critical.assignment.agent_id == agent.pk
    assert EscalationQueueEntry.objects.get(case__case_id="LOW").status == QueueStatus.QUEUED


def test_shift_start_serves_a_queue_built_overnight_in_serving_order():
    # given: five cases queued overnight (all overdue by morning) for two agents who start at 09:00
    agents = [routable_agent(skills={"billing": "advanced"}, capacity=2, always_on=False) for _ in range(2)]
    for agent in agents:
        nine_to_five(agent, day="tuesday")
    night = MONDAY + dt.timedelta(hours=22)
    arrivals = [
        ("N1", "low", 0),
        ("N2", "critical", 30),
        ("N3", "medium", 60),
        ("N4", "critical", 90),
        ("N5", "low", 120),
    ]
    for case_id, priority, minutes in arrivals:
        assert route(case_id, at=night + dt.timedelta(minutes=minutes), priority=priority).http_status == 202
    # when: the first case of the morning arrives at 09:01, before any sweep
    morning = route("MORNING", at=MONDAY + dt.timedelta(days=1, hours=9, minutes=1), priority="high")
    # then: the four slots went to the four first entries in serving order (all overdue: by priority,
    # then by age), and the morning case waits behind the fifth
    served = {case_id for case_id, _, _ in arrivals if holder(case_id) is not None}
    assert served == {"N2", "N4", "N3", "N1"}
    assert morning.http_status == 202
    waiting = EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED).values_list("case_id", flat=True)
    assert set(waiting) == {"N5", "MORNING"}


def test_adding_a_skill_serves_the_waiting_cases_that_need_it():
    SkillDomainFactory(code="refunds")
    agent = routable_agent(skills={"billing": "advanced"}, capacity=2)
    with time_machine.travel(MONDAY + dt.timedelta(hours=10), tick=False):
        waiting = case_route(
            request=CaseRequest(
                case_id="REF-1", priority="low", complexity="low", required_skills=["refunds"]
            )
        )
    assert waiting.http_status == 202
    from agents.models import SkillDomain

    with time_machine.travel(MONDAY + dt.timedelta(hours=10, minutes=1), tick=False):
        agent_update(
            agent=agent,
            skills=[
                {"domain": SkillDomain.objects.get(code="billing"), "proficiency": "advanced"},
                {"domain": SkillDomain.objects.get(code="refunds"), "proficiency": "advanced"},
            ],
        )
    assert holder("REF-1") == agent.pk


def test_the_schedule_rows_of_the_fixture_cover_whole_days():
    # the routable_agent fixture's "always on" week is seven 00:00-00:00 rows (whole days)
    agent = routable_agent(skills={"billing": "advanced"})
    rows = AgentSchedule.objects.filter(agent=agent)
    assert {row.day_of_week for row in rows} == set(Weekday.values)
    assert {(row.start_time, row.end_time) for row in rows} == {(dt.time(0), dt.time(0))}


def test_the_guard_looks_a_bounded_way_into_a_backlog_the_agent_cannot_serve(monkeypatch):
    # given: three waiting cases in a language the agent does not speak, then one it could serve
    from routing.services import queue as queue_module

    agent = routable_agent(skills={"billing": "advanced"}, capacity=2, languages=("en",))
    start = MONDAY + dt.timedelta(hours=10)
    for n in range(3):
        with time_machine.travel(start + dt.timedelta(minutes=n), tick=False):
            case_route(
                request=CaseRequest(
                    case_id=f"FR-{n}",
                    priority="high",
                    complexity="low",
                    required_skills=["billing"],
                    language="fr",
                )
            )
    EscalationQueueEntry.objects.create(
        case=SupportCase.objects.create(
            case_id="EN-OLD", priority="high", complexity="low", required_skills=["billing"], language="en"
        ),
        priority="high",
        complexity="low",
        required_skills=["billing"],
        language="en",
        queued_at=start + dt.timedelta(minutes=5),
        wait_deadline=start + dt.timedelta(minutes=60),
        next_escalation_at=start + dt.timedelta(minutes=60),
    )
    # when the guard may look 2 entries deep, the servable one (4th) is beyond its reach
    monkeypatch.setattr(queue_module, "GUARD_EXAMINE", 2)
    shallow = route("NEW-1", at=start + dt.timedelta(minutes=10), priority="high")
    assert shallow.assignment is not None and holder("EN-OLD") is None
    # and with a deeper look it is served first
    monkeypatch.setattr(queue_module, "GUARD_EXAMINE", 10)
    route("NEW-2", at=start + dt.timedelta(minutes=11), priority="high")
    assert holder("EN-OLD") == agent.pk
