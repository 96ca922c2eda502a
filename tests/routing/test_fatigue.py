"""Fatigue: consecutive difficult cases, the lockout, and rest that ends it (routing.engine.rules)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from agents.models import AgentPerformance, AvailabilityStatus
from agents.services import agent_set_status
from routing.models import (
    CaseAssignment,
)
from routing.services import (
    case_route,
    queue_sweep,
)
from tests.factories import AgentScheduleFactory
from tests.factories.routing import routable_agent
from tests.routing.actions import complete_as_assignee, request_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_floor")]


def test_fatigue_lockout_keeps_difficult_cases_from_a_tired_agent_until_a_long_enough_break(settings):
    settings.ROUTING = {**settings.ROUTING, "DIFFICULT_CASE_LOCKOUT": 2, "FATIGUE_REST_MINUTES": 15}
    agent = routable_agent(skills={"billing": "advanced"}, capacity=10)
    for n in range(2):
        case_route(request=request_for(f"D-{n}", complexity="high"))
        complete_as_assignee(case_id=f"D-{n}")
    assert AgentPerformance.objects.get(agent=agent).consecutive_difficult_cases == 2
    locked_out = case_route(request=request_for("D-2", complexity="high"))
    assert locked_out.http_status == 202
    assert "consecutive difficult" in locked_out.decision.reason
    easy = case_route(request=request_for("E-1", complexity="low"))
    assert easy.assignment.agent_id == agent.pk
    # a break of the rest period ends the streak, and the waiting difficult case goes to the agent at once
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        agent_set_status(agent=agent, status=AvailabilityStatus.BREAK)
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE)
    assert AgentPerformance.objects.get(agent=agent).consecutive_difficult_cases == 0
    assert CaseAssignment.objects.get(case__case_id="D-2").agent_id == agent.pk


def test_an_easy_case_between_difficult_ones_resets_the_streak_while_no_lockout_is_in_force(settings):
    settings.ROUTING = {**settings.ROUTING, "DIFFICULT_CASE_LOCKOUT": 2}
    agent = routable_agent(skills={"billing": "advanced"})
    for case_id, complexity in (("D-1", "high"), ("E-1", "low"), ("D-2", "high")):
        case_route(request=request_for(case_id, complexity=complexity))
        complete_as_assignee(case_id=case_id)
    # consecutive: D-1 was followed by an easy case, so only D-2 counts
    performance = AgentPerformance.objects.get(agent=agent)
    assert performance.consecutive_difficult_cases == 1
    assert performance.last_difficult_case_at is not None
    assert case_route(request=request_for("D-3", complexity="high")).assignment.agent_id == agent.pk


def test_once_locked_out_only_rest_lifts_it_not_easy_cases_nor_a_short_break(settings):
    settings.ROUTING = {**settings.ROUTING, "DIFFICULT_CASE_LOCKOUT": 2, "FATIGUE_REST_MINUTES": 15}
    agent = routable_agent(skills={"billing": "advanced"})
    for case_id, complexity in (("D-1", "high"), ("D-2", "high"), ("E-1", "low")):
        case_route(request=request_for(case_id, complexity=complexity))
        complete_as_assignee(case_id=case_id)
    assert (
        AgentPerformance.objects.get(agent=agent).consecutive_difficult_cases == 2
    )  # the easy one did not lift it
    assert case_route(request=request_for("D-3", complexity="high")).http_status == 202
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        agent_set_status(agent=agent, status=AvailabilityStatus.BREAK)
    with time_machine.travel(start + dt.timedelta(minutes=5), tick=False):
        agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE)
    assert AgentPerformance.objects.get(agent=agent).consecutive_difficult_cases == 2  # 5 minutes is no rest


def test_a_streak_does_not_survive_a_night_offline_or_off_shift(settings):
    settings.ROUTING = {**settings.ROUTING, "DIFFICULT_CASE_LOCKOUT": 2, "FATIGUE_REST_MINUTES": 15}
    # given two agents locked out at the end of the day: one goes offline, one stays "available" but off shift
    evening = dt.datetime(2026, 3, 2, 17, 30, tzinfo=dt.UTC)  # a Monday
    offline = routable_agent(skills={"billing": "advanced"}, always_on=False)
    off_shift = routable_agent(skills={"billing": "advanced"}, always_on=False)
    for agent in (offline, off_shift):
        AgentScheduleFactory(
            agent=agent, day_of_week="monday", start_time=dt.time(9), end_time=dt.time(17), timezone="UTC"
        )
        AgentScheduleFactory(
            agent=agent, day_of_week="tuesday", start_time=dt.time(9), end_time=dt.time(17), timezone="UTC"
        )
        AgentPerformance.objects.filter(agent=agent).update(
            consecutive_difficult_cases=2, last_difficult_case_at=evening - dt.timedelta(minutes=40)
        )
    with time_machine.travel(evening, tick=False):
        agent_set_status(agent=offline, status=AvailabilityStatus.OFFLINE)
    # when the sweep runs overnight
    report = queue_sweep(now=dt.datetime(2026, 3, 3, 3, 0, tzinfo=dt.UTC))
    # then both are rested by the morning
    assert report.rested == 2
    assert set(
        AgentPerformance.objects.filter(agent__in=[offline, off_shift]).values_list(
            "consecutive_difficult_cases", flat=True
        )
    ) == {0}


def test_the_sweep_does_not_rest_an_agent_still_on_shift_or_who_just_left(settings):
    settings.ROUTING = {**settings.ROUTING, "DIFFICULT_CASE_LOCKOUT": 2, "FATIGUE_REST_MINUTES": 15}
    agent = routable_agent(skills={"billing": "advanced"}, always_on=False)
    AgentScheduleFactory(
        agent=agent, day_of_week="monday", start_time=dt.time(9), end_time=dt.time(17), timezone="UTC"
    )
    AgentPerformance.objects.filter(agent=agent).update(
        consecutive_difficult_cases=2, last_difficult_case_at=dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)
    )
    assert queue_sweep(now=dt.datetime(2026, 3, 2, 16, 50, tzinfo=dt.UTC)).rested == 0  # on shift
    assert queue_sweep(now=dt.datetime(2026, 3, 2, 17, 10, tzinfo=dt.UTC)).rested == 0  # left 10 minutes ago
    assert queue_sweep(now=dt.datetime(2026, 3, 2, 17, 16, tzinfo=dt.UTC)).rested == 1
