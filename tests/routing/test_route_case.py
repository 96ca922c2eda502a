"""Routing a new case through routing.services: who gets it and why (the seed rules, schedules, strategies)."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import AgentAvailability, AgentPerformance, AvailabilityStatus, Weekday
from agents.services import agent_set_status
from routing.errors import (
    CaseAlreadyRouted,
    RoutingValidationError,
    UnknownSkillDomain,
    UnknownStrategy,
)
from routing.models import (
    CaseAssignment,
    CaseStatus,
    RoutingEvent,
    RoutingEventType,
    SupportCase,
)
from routing.services import (
    case_route,
)
from tests.factories import AgentScheduleFactory
from tests.factories.routing import routable_agent
from tests.routing.actions import load_of, request_for

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_floor")]


# --- assignment ----------------------------------------------------------------------------------


def test_route_assigns_to_the_best_agent_and_records_everything():
    # given
    weak = routable_agent(skills={"billing": "intermediate"})
    strong = routable_agent(skills={"billing": "expert"})
    # when
    outcome = case_route(request=request_for())
    # then
    assert outcome.http_status == 201
    assert outcome.assignment.agent_id == strong.pk
    assert outcome.case.status == CaseStatus.ASSIGNED
    assert load_of(strong) == 1 and load_of(weak) == 0
    assert AgentAvailability.objects.get(agent=strong).last_assigned_at is not None
    assert 0 <= outcome.assignment.routing_confidence <= 1
    assert 0 <= outcome.assignment.match_score <= 100
    assert outcome.assignment.routing_strategy == "skill_based"
    decision = outcome.decision
    assert decision.outcome == "assigned" and decision.winner_id == strong.pk
    assert decision.candidate_count == 2
    assert set(decision.candidates[0]["factors"]) == {
        "skill",
        "performance",
        "frustration_fit",
        "fatigue",
        "load_balance",
    }
    assert decision.widen_level == 0 and decision.duration_ms > 0
    assert RoutingEvent.objects.filter(case=outcome.case, event_type=RoutingEventType.ROUTED).exists()


def test_agent_becomes_busy_at_capacity_and_is_never_given_more():
    agent = routable_agent(skills={"billing": "advanced"}, capacity=2)
    outcomes = [case_route(request=request_for(f"C-{n}")) for n in range(3)]
    assert [o.http_status for o in outcomes] == [201, 201, 202]
    availability = AgentAvailability.objects.get(agent=agent)
    assert availability.current_load == 2
    assert availability.status == AvailabilityStatus.BUSY
    assert "capacity" in outcomes[2].decision.reason


def test_routing_the_same_case_twice_is_a_conflict():
    routable_agent(skills={"billing": "advanced"})
    case_route(request=request_for("C-1"))
    with pytest.raises(CaseAlreadyRouted) as error:
        case_route(request=request_for("C-1"))
    assert error.value.http_status == 409
    assert CaseAssignment.objects.count() == 1


@pytest.mark.parametrize("strategy", ["skill_based", "round_robin", "least_busy", "performance_based"])
def test_each_strategy_routes(strategy):
    routable_agent(skills={"billing": "advanced"})
    outcome = case_route(request=request_for(strategy=strategy))
    assert outcome.assignment.routing_strategy == strategy
    assert outcome.decision.strategy == strategy


def test_round_robin_takes_turns():
    first = routable_agent(skills={"billing": "advanced"})
    second = routable_agent(skills={"billing": "advanced"})
    agents = [
        case_route(request=request_for(f"C-{n}", strategy="round_robin")).assignment.agent_id
        for n in range(4)
    ]
    assert sorted(agents[:2]) == sorted([first.pk, second.pk])
    assert agents[2:] == agents[:2]


# --- validation ----------------------------------------------------------------------------------


def test_unknown_skill_domain_is_named():
    with pytest.raises(UnknownSkillDomain) as error:
        case_route(request=request_for(required_skills=["billing", "astrology", "alchemy"]))
    assert error.value.http_status == 400
    assert error.value.code == "unknown_skill_domain"
    assert "astrology" in error.value.detail and "alchemy" in error.value.detail
    assert len(error.value.fields["required_skills"]) == 2
    assert not SupportCase.objects.exists()


def test_unknown_strategy_and_bad_values_are_400():
    with pytest.raises(UnknownStrategy) as error:
        case_route(request=request_for(strategy="coin_flip"))
    assert error.value.http_status == 400 and "strategy" in error.value.fields
    with pytest.raises(RoutingValidationError) as error:
        case_route(request=request_for(priority="urgent", customer_frustration="livid", max_wait_minutes=0))
    assert error.value.http_status == 400
    assert {"priority", "customer_frustration", "max_wait_minutes"} <= set(error.value.fields)


# --- seed rules ----------------------------------------------------------------------------------


def test_critical_frustration_never_goes_to_a_low_tolerance_agent():
    routable_agent(skills={"billing": "expert"}, frustration_tolerance="low")
    outcome = case_route(request=request_for(customer_frustration="critical"))
    assert outcome.http_status == 202
    assert "low-tolerance" in outcome.decision.reason
    tolerant = routable_agent(skills={"billing": "basic"}, frustration_tolerance="high")
    outcome = case_route(
        request=request_for(
            "C-2", customer_frustration="critical", special_requirements={"min_proficiency": "basic"}
        )
    )
    assert outcome.assignment.agent_id == tolerant.pk


def test_high_frustration_goes_to_the_high_tolerance_agent_first():
    routable_agent(skills={"billing": "expert"}, frustration_tolerance="medium")
    tolerant = routable_agent(skills={"billing": "intermediate"}, frustration_tolerance="high")
    outcome = case_route(request=request_for(customer_frustration="high"))
    assert outcome.assignment.agent_id == tolerant.pk


def test_open_difficult_cases_count_toward_the_lockout(settings):
    # given: lockout after 2 difficult cases, an agent with room for 5 and a clean streak
    settings.ROUTING = {**settings.ROUTING, "DIFFICULT_CASE_LOCKOUT": 2}
    agent = routable_agent(skills={"billing": "advanced"}, capacity=5)
    # when: three difficult cases arrive while the first two are still open
    outcomes = [case_route(request=request_for(f"D-{n}", complexity="high")) for n in range(3)]
    # then: the third waits; an easy case still goes to the agent
    assert [o.http_status for o in outcomes] == [201, 201, 202]
    assert "consecutive difficult" in outcomes[2].decision.reason
    assert case_route(request=request_for("E-1", complexity="low")).assignment.agent_id == agent.pk


def test_the_lock_rechecks_fatigue_and_schedule_that_changed_after_the_search(settings):
    from routing.engine.rules import ring_for
    from routing.selectors import schedule_zones_in_use
    from routing.services.assignment import lock_if_eligible
    from routing.services.requests import case_work_profile

    settings.ROUTING = {**settings.ROUTING, "DIFFICULT_CASE_LOCKOUT": 2}
    tired = routable_agent(skills={"billing": "advanced"})
    AgentPerformance.objects.filter(agent=tired).update(consecutive_difficult_cases=2)
    asleep = routable_agent(skills={"billing": "advanced"}, always_on=False)
    now = timezone.now()
    zones = schedule_zones_in_use(now=now)

    def locked(agent, complexity: str):
        work = case_work_profile(
            case_id="X",
            priority="low",
            complexity=complexity,
            frustration="low",
            required_skills=["billing"],
            language="en",
            special_requirements={},
        )
        return lock_if_eligible(agent.pk, work=work, ring=ring_for(work, 0), now=now, zones=zones)

    assert locked(tired, "high") is None
    assert locked(tired, "low") is not None
    assert locked(asleep, "low") is None


def test_language_must_be_spoken():
    routable_agent(skills={"billing": "expert"}, languages=("en",))
    outcome = case_route(request=request_for(language="es"))
    assert outcome.http_status == 202
    assert "speaks es" in outcome.decision.reason
    speaker = routable_agent(skills={"billing": "intermediate"}, languages=("en", "es"))
    assert case_route(request=request_for("C-2", language="es")).assignment.agent_id == speaker.pk


def _fixed_now(value: dt.datetime):
    return mock.patch("django.utils.timezone.now", return_value=value)


def test_schedule_is_read_in_the_agents_own_time_zone():
    # Monday 2026-03-02 17:00 UTC is 09:00 in Los Angeles and 02:00 (Tuesday) in Tokyo.
    now = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)
    los_angeles = routable_agent(skills={"billing": "advanced"}, always_on=False)
    AgentScheduleFactory(
        agent=los_angeles,
        day_of_week=Weekday.MONDAY,
        start_time=dt.time(8),
        end_time=dt.time(16),
        timezone="America/Los_Angeles",
    )
    tokyo = routable_agent(skills={"billing": "expert"}, always_on=False)
    AgentScheduleFactory(
        agent=tokyo,
        day_of_week=Weekday.MONDAY,
        start_time=dt.time(8),
        end_time=dt.time(16),
        timezone="Asia/Tokyo",
    )
    with _fixed_now(now):
        outcome = case_route(request=request_for())
    assert outcome.assignment.agent_id == los_angeles.pk  # the expert in Tokyo is asleep


def test_an_agent_outside_its_window_or_its_effective_dates_is_not_routed():
    now = dt.datetime(2026, 3, 2, 17, 0, tzinfo=dt.UTC)  # Monday 09:00 in Los Angeles
    agent = routable_agent(skills={"billing": "advanced"}, always_on=False)
    AgentScheduleFactory(
        agent=agent,
        day_of_week=Weekday.MONDAY,
        start_time=dt.time(10),
        end_time=dt.time(18),
        timezone="America/Los_Angeles",
    )
    AgentScheduleFactory(
        agent=agent,
        day_of_week=Weekday.MONDAY,
        start_time=dt.time(8),
        end_time=dt.time(12),
        timezone="America/Los_Angeles",
        effective_from=dt.date(2026, 4, 1),
    )
    with _fixed_now(now):
        outcome = case_route(request=request_for())
    assert outcome.http_status == 202
    assert "schedule window" in outcome.decision.reason


def test_an_exception_window_takes_an_agent_off_the_queue():
    agent = routable_agent(skills={"billing": "advanced"})
    AgentScheduleFactory(
        agent=agent,
        day_of_week=Weekday.from_iso(timezone.now().isoweekday()),
        start_time=dt.time(0),
        end_time=dt.time(23, 59, 59, 999999),
        timezone="UTC",
        schedule_type="exception",
        effective_from=dt.date(2020, 1, 1),
    )
    assert case_route(request=request_for()).http_status == 202


def test_agents_on_break_or_busy_by_override_are_not_routed():
    on_break = routable_agent(skills={"billing": "advanced"})
    agent_set_status(agent=on_break, status=AvailabilityStatus.BREAK)
    overridden = routable_agent(skills={"billing": "advanced"})
    agent_set_status(agent=overridden, status=AvailabilityStatus.BUSY, override_reason="coaching")
    outcome = case_route(request=request_for())
    assert outcome.http_status == 202
    assert "available" in outcome.decision.reason


# --- queries -------------------------------------------------------------------------------------


def _count_route_queries(n_agents: int, case_id: str) -> int:
    for _ in range(n_agents):
        routable_agent(skills={"billing": "advanced", "refunds": "expert"}, languages=("en", "fr"))
    with CaptureQueriesContext(connection) as queries:
        outcome = case_route(request=request_for(case_id, required_skills=["billing", "refunds"]))
    assert outcome.http_status == 201
    return len(queries)


def test_route_query_count_does_not_grow_with_the_number_of_agents():
    small = _count_route_queries(5, "C-small")
    large = _count_route_queries(45, "C-large")  # 50 agents in all now
    assert large == small
    assert small <= 20


def test_queued_route_query_count_does_not_grow_with_the_number_of_agents(django_assert_max_num_queries):
    for _ in range(50):
        routable_agent(skills={"billing": "advanced"})
    with django_assert_max_num_queries(20):
        assert case_route(request=request_for(required_skills=["refunds"])).http_status == 202
