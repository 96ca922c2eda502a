"""routing.services against the database (SQLite in the fast run, PostgreSQL in CI)."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import AgentAvailability, AgentPerformance, AvailabilityStatus, Weekday
from agents.selectors import AgentNotFound
from agents.services import agent_set_status, agent_update
from routing.errors import (
    AgentAtCapacity,
    AssignmentNotIdentified,
    CaseAlreadyRouted,
    CaseNotFound,
    InvalidCaseTransition,
    QueueEntryNotWaiting,
    RoutingValidationError,
    StaleAssignment,
    UnknownSkillDomain,
    UnknownStrategy,
)
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
    RoutingEvent,
    RoutingEventType,
    SupportCase,
)
from routing.services import (
    CaseRequest,
    case_complete,
    case_route,
    case_start,
    queue_dispatch_for_agent,
    queue_entry_assign,
    queue_entry_cancel,
    queue_entry_requeue,
    queue_sweep,
)
from routing.services import cases as cases_module
from tests.factories import AgentScheduleFactory, SkillDomainFactory
from tests.factories.routing import retire_seed_roster, routable_agent
from tests.routing.actions import complete_as_assignee, start_as_assignee

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _only_our_agents(db):
    retire_seed_roster()
    for code in ("billing", "refunds", "technical"):
        SkillDomainFactory(code=code)


def request_for(case_id: str = "C-1", **overrides) -> CaseRequest:
    values = {
        "case_id": case_id,
        "priority": "medium",
        "complexity": "medium",
        "required_skills": ["billing"],
        "language": "en",
    }
    values.update(overrides)
    return CaseRequest(**values)


def load_of(agent) -> int:
    return AgentAvailability.objects.get(agent=agent).current_load


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


# --- queueing and dispatch -----------------------------------------------------------------------


def test_no_eligible_agent_queues_the_case_and_says_why():
    routable_agent(skills={"refunds": "expert"})
    outcome = case_route(request=request_for(max_wait_minutes=10))
    assert outcome.http_status == 202
    entry = outcome.queue_entry
    assert entry.status == QueueStatus.QUEUED
    assert entry.wait_deadline == entry.queued_at + dt.timedelta(minutes=10)
    assert outcome.case.status == CaseStatus.QUEUED
    assert outcome.decision.outcome == "queued"
    assert "skill billing" in outcome.decision.reason
    assert "in_schedule=1" in outcome.decision.reason


def test_completion_dispatches_the_highest_waiting_case_in_the_same_transaction():
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    case_route(request=request_for("C-1"))
    case_route(request=request_for("LOW", priority="low"))
    case_route(request=request_for("HIGH", priority="high"))
    assignment = complete_as_assignee(case_id="C-1", csat_rating=5, resolution_minutes=12)
    assert assignment.status == AssignmentStatus.COMPLETED
    assert assignment.csat_rating == 5 and assignment.resolution_minutes == 12
    dispatched = CaseAssignment.objects.get(case__case_id="HIGH")
    assert dispatched.agent_id == agent.pk and dispatched.status == AssignmentStatus.ASSIGNED
    assert EscalationQueueEntry.objects.get(case__case_id="HIGH").status == QueueStatus.ASSIGNED
    assert EscalationQueueEntry.objects.get(case__case_id="LOW").status == QueueStatus.QUEUED
    assert load_of(agent) == 1
    assert RoutingEvent.objects.filter(case__case_id="HIGH", event_type=RoutingEventType.DISPATCHED).exists()


def test_a_queued_case_is_dispatched_with_the_strategy_it_was_routed_with(settings):
    # given a case routed with a named strategy (not the default) that had to wait
    settings.ROUTING = {**settings.ROUTING, "DEFAULT_STRATEGY": "skill_based"}
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    case_route(request=request_for("C-1"))
    case_route(request=request_for("WAITS", strategy="least_busy"))
    assert EscalationQueueEntry.objects.get(case__case_id="WAITS").routing_strategy == "least_busy"
    # when the agent frees up and the queue is served to them
    complete_as_assignee(case_id="C-1")
    # then the dispatch kept the case's strategy
    dispatched = CaseAssignment.objects.get(case__case_id="WAITS")
    assert (dispatched.agent_id, dispatched.routing_strategy) == (agent.pk, "least_busy")
    assert RoutingDecision.objects.filter(case__case_id="WAITS").latest("created_at").strategy == "least_busy"


def test_the_sweep_dispatches_a_waiting_case_with_its_own_strategy():
    # given a case that waited with a named strategy while nobody was free
    agent = routable_agent(skills={"billing": "advanced"})
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.OFFLINE)
    case_route(request=request_for("SWEPT", strategy="performance_based"))
    # when the agent is free again without a service noticing (so only the sweep can serve the case)
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.AVAILABLE)
    assert queue_sweep().dispatched == 1
    # then
    assert CaseAssignment.objects.get(case__case_id="SWEPT").routing_strategy == "performance_based"


def test_a_freed_agent_reaches_a_case_it_can_serve_behind_a_long_head_it_cannot(monkeypatch):
    # given more waiting billing cases than a freed agent's scan reads, and a technical case behind them
    from routing.services import queue as queue_module

    monkeypatch.setattr(queue_module, "DISPATCH_SCAN_LIMIT", 3)
    agent = routable_agent(skills={"technical": "advanced"}, capacity=1)
    case_route(request=request_for("MINE", required_skills=["technical"]))
    for n in range(6):
        case_route(request=request_for(f"BILLING-{n}", priority="high"))  # nobody holds billing
    case_route(request=request_for("BEHIND", priority="low", required_skills=["technical"]))
    # when the agent frees up
    complete_as_assignee(case_id="MINE")
    # then the scan skipped the cases asking a skill the agent lacks, in SQL, and found the one it can serve
    assert CaseAssignment.objects.get(case__case_id="BEHIND").agent_id == agent.pk


def test_the_sweep_serves_an_idle_agent_a_case_behind_a_head_nobody_can_take(monkeypatch):
    # given a head of waiting billing cases longer than the sweep offers, and a technical case behind
    from routing.services import sweep as sweep_module

    monkeypatch.setattr(sweep_module, "SWEEP_DISPATCH_LIMIT", 2)
    agent = routable_agent(skills={"technical": "advanced"})
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.OFFLINE)
    for n in range(4):
        case_route(request=request_for(f"BILLING-{n}", priority="high"))
    case_route(request=request_for("BEHIND", priority="low", required_skills=["technical"]))
    # when the agent is free again without any service noticing, and completes nothing
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.AVAILABLE)
    report = queue_sweep()
    # then the sweep offered the queue to the idle agent too
    assert report.dispatched == 1
    assert CaseAssignment.objects.get(case__case_id="BEHIND").agent_id == agent.pk


def test_a_completion_dispatches_one_entry_for_the_one_slot_it_frees():
    # given: an agent with two slots, both taken, and three cases waiting
    agent = routable_agent(skills={"billing": "advanced"}, capacity=2)
    for n in range(5):
        case_route(request=request_for(f"C-{n}"))
    assert load_of(agent) == 2
    # when: one case completes
    complete_as_assignee(case_id="C-0")
    # then: one waiting case (the oldest of equal priority) takes the freed slot
    assert load_of(agent) == 2
    assert list(
        EscalationQueueEntry.objects.filter(status=QueueStatus.ASSIGNED).values_list(
            "case__case_id", flat=True
        )
    ) == ["C-2"]


def test_dispatch_skips_entries_the_agent_cannot_serve():
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    case_route(request=request_for("C-1"))
    case_route(request=request_for("REFUND", priority="critical", required_skills=["refunds"]))
    case_route(request=request_for("BILL", priority="low"))
    complete_as_assignee(case_id="C-1")
    assert CaseAssignment.objects.get(case__case_id="BILL").agent_id == agent.pk
    assert not CaseAssignment.objects.filter(case__case_id="REFUND").exists()


def test_an_agent_coming_back_from_break_is_served_the_queue():
    agent = routable_agent(skills={"billing": "advanced"})
    agent_set_status(agent=agent, status=AvailabilityStatus.BREAK)
    case_route(request=request_for("C-1"))
    assignments = queue_dispatch_for_agent(agent_id=agent.pk)  # break -> offline: nothing yet
    assert assignments == []
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.AVAILABLE)
    assignments = queue_dispatch_for_agent(agent_id=agent.pk)
    assert [a.case_id for a in assignments] == ["C-1"]


def test_becoming_available_dispatches_in_the_same_transaction():
    agent = routable_agent(skills={"billing": "advanced"})
    agent_set_status(agent=agent, status=AvailabilityStatus.BREAK)
    case_route(request=request_for("C-1"))
    # a rolled-back status change dispatches nothing: the dispatch is part of it
    with pytest.raises(RuntimeError), transaction.atomic():
        agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE)
        assert CaseAssignment.objects.get(case__case_id="C-1").agent_id == agent.pk
        raise RuntimeError("roll back")
    assert not CaseAssignment.objects.filter(case__case_id="C-1").exists()
    assert EscalationQueueEntry.objects.get(case__case_id="C-1").status == QueueStatus.QUEUED
    # when it commits, no on_commit callback is needed
    agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE)
    assert CaseAssignment.objects.get(case__case_id="C-1").agent_id == agent.pk
    assert load_of(agent) == 1


def test_lifting_a_supervisors_busy_dispatches_the_queue_in_the_same_transaction():
    # given an agent a supervisor set busy (a manual override) while a case waits
    agent = routable_agent(skills={"billing": "advanced"})
    agent_set_status(agent=agent, status=AvailabilityStatus.BUSY, override_reason="coaching")
    case_route(request=request_for("C-1"))
    assert EscalationQueueEntry.objects.get(case__case_id="C-1").status == QueueStatus.QUEUED
    # when the supervisor makes the agent available again (busy -> available: both "working" statuses)
    agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE)
    # then the waiting case is theirs at once
    assert CaseAssignment.objects.get(case__case_id="C-1").agent_id == agent.pk
    assert load_of(agent) == 1


def test_an_agent_made_available_by_override_returns_to_available_after_filling_up():
    # given an agent a supervisor forced available (with a reason), with room for one case
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE, override_reason="covering the queue")
    # when routing fills the agent up, the busy is routing's own: the override ends there
    case_route(request=request_for("C-1"))
    availability = AgentAvailability.objects.get(agent=agent)
    assert (availability.status, availability.manual_override) == (AvailabilityStatus.BUSY, False)
    # then completing the case frees the agent, who takes the next case
    complete_as_assignee(case_id="C-1")
    availability.refresh_from_db()
    assert (availability.status, availability.current_load) == (AvailabilityStatus.AVAILABLE, 0)
    assert case_route(request=request_for("C-2")).assignment.agent_id == agent.pk


def test_raising_capacity_dispatches_the_queue():
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    case_route(request=request_for("C-1"))
    case_route(request=request_for("C-2"))
    case_route(request=request_for("C-3"))
    assert load_of(agent) == 1
    agent_update(agent=agent, max_concurrent_work=3)
    assert load_of(agent) == 3
    assert set(CaseAssignment.objects.filter(agent=agent).values_list("case__case_id", flat=True)) == {
        "C-1",
        "C-2",
        "C-3",
    }
    agent_update(agent=agent, max_concurrent_work=2)  # lowering dispatches nothing (and takes nothing back)
    assert load_of(agent) == 3


def test_a_queued_case_gets_an_estimated_assignment_time():
    # given: one agent who could serve billing, busy with one case; its recent average is 20 minutes
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    AgentPerformance.objects.filter(agent=agent).update(avg_resolution_minutes=20)
    case_route(request=request_for("C-1"))
    # when: two more cases wait
    first = case_route(request=request_for("C-2")).queue_entry
    second = case_route(request=request_for("C-3")).queue_entry
    # then: one slot turns over every ~20 minutes
    assert first.estimated_assignment_at == first.queued_at + dt.timedelta(minutes=20)
    assert second.estimated_assignment_at == second.queued_at + dt.timedelta(minutes=40)
    # and nobody could serve refunds: no estimate rather than a made-up one
    assert (
        case_route(
            request=request_for("R-1", required_skills=["refunds"])
        ).queue_entry.estimated_assignment_at
        is None
    )


# --- start and complete --------------------------------------------------------------------------


def test_start_then_complete_frees_capacity_and_returns_busy_agent_to_available():
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    case_route(request=request_for("C-1"))
    assert AgentAvailability.objects.get(agent=agent).status == AvailabilityStatus.BUSY
    started = start_as_assignee(case_id="C-1")
    assert started.status == AssignmentStatus.IN_PROGRESS and started.started_at
    completed = complete_as_assignee(case_id="C-1", escalated=True)
    assert completed.status == AssignmentStatus.ESCALATED and completed.escalated
    assert completed.resolution_minutes is not None
    availability = AgentAvailability.objects.get(agent=agent)
    assert availability.current_load == 0 and availability.status == AvailabilityStatus.AVAILABLE
    assert SupportCase.objects.get(case_id="C-1").status == CaseStatus.COMPLETED


def test_completing_twice_is_a_conflict_and_changes_nothing():
    agent = routable_agent(skills={"billing": "advanced"})
    case_route(request=request_for("C-1"))
    complete_as_assignee(case_id="C-1", csat_rating=4)
    events = RoutingEvent.objects.count()
    with pytest.raises(InvalidCaseTransition) as error:
        complete_as_assignee(case_id="C-1", csat_rating=1)
    assert error.value.http_status == 409 and error.value.code == "invalid_transition"
    assert CaseAssignment.objects.get(case__case_id="C-1").csat_rating == 4
    assert load_of(agent) == 0
    assert RoutingEvent.objects.count() == events
    with pytest.raises(InvalidCaseTransition):
        start_as_assignee(case_id="C-1")


def test_a_late_start_or_complete_after_a_timeout_reroute_is_409_and_leaves_the_new_assignment_alone(
    settings,
):
    # given: C-1 assigned to `first`, who does not accept it in time; the sweep gives it to `second`
    settings.ROUTING = {**settings.ROUTING, "ACCEPT_TIMEOUT_SECONDS": 60}
    first = routable_agent(skills={"billing": "expert"})
    stale = case_route(request=request_for("C-1")).assignment
    second = routable_agent(skills={"billing": "intermediate"})
    queue_sweep(now=timezone.now() + dt.timedelta(seconds=61))
    current = CaseAssignment.objects.get(case__case_id="C-1", status=AssignmentStatus.ASSIGNED)
    assert current.agent_id == second.pk
    events = RoutingEvent.objects.count()
    # when: first's late actions arrive, by assignment and by agent
    for late in (
        lambda: case_start(case_id="C-1", assignment_id=stale.pk),
        lambda: case_complete(case_id="C-1", assignment_id=stale.pk, csat_rating=1),
        lambda: case_complete(case_id="C-1", agent=first.code, csat_rating=1),
    ):
        with pytest.raises(StaleAssignment) as error:
            late()
        # then: a 409 that says what happened, and nothing changed
        assert error.value.http_status == 409 and error.value.code == "stale_assignment"
        assert second.code in error.value.detail and "no longer open" in error.value.detail
    current.refresh_from_db()
    assert (current.status, current.csat_rating) == (AssignmentStatus.ASSIGNED, None)
    assert RoutingEvent.objects.count() == events
    # and second's own completion works, by agent code
    assert case_complete(case_id="C-1", agent=second.code, csat_rating=5).pk == current.pk


def test_a_completion_whose_assignment_moved_while_it_waited_for_the_lock_is_409(settings, monkeypatch):
    # given: C-1 assigned to `first`; `second` is free
    settings.ROUTING = {**settings.ROUTING, "ACCEPT_TIMEOUT_SECONDS": 60}
    first = routable_agent(skills={"billing": "expert"})
    assignment = case_route(request=request_for("C-1")).assignment
    second = routable_agent(skills={"billing": "intermediate"})
    original_lock = cases_module.lock_agent
    swept = []

    def lock_after_a_reroute(agent_id, **kwargs):
        # when: while the completion waits for first's lock, the sweep takes C-1 back and reroutes it
        # (here inside the completion's transaction, standing in for a concurrent one)
        if not swept:
            swept.append(queue_sweep(now=timezone.now() + dt.timedelta(seconds=61)))
        return original_lock(agent_id, **kwargs)

    monkeypatch.setattr(cases_module, "lock_agent", lock_after_a_reroute)
    # then: the completion does not follow the case to the other agent: 409, naming who has it now
    with pytest.raises(StaleAssignment) as error:
        case_complete(case_id="C-1", assignment_id=assignment.pk, csat_rating=5)
    assert swept[0].timed_out == 1 and second.code in error.value.detail
    assert first.pk != second.pk


def test_start_and_complete_must_name_the_assignment():
    routable_agent(skills={"billing": "advanced"})
    case_route(request=request_for("C-1"))
    with pytest.raises(AssignmentNotIdentified) as error:
        case_start(case_id="C-1")
    assert error.value.http_status == 400 and "assignment_id" in error.value.fields
    with pytest.raises(AgentNotFound):
        case_complete(case_id="C-1", agent="agent_nobody")


def test_csat_out_of_range_is_400_and_changes_nothing():
    routable_agent(skills={"billing": "advanced"})
    case_route(request=request_for("C-1"))
    with pytest.raises(RoutingValidationError) as error:
        complete_as_assignee(case_id="C-1", csat_rating=7)
    assert error.value.http_status == 400 and "csat_rating" in error.value.fields
    assert CaseAssignment.objects.get(case__case_id="C-1").status == AssignmentStatus.ASSIGNED


def test_unknown_case_is_404():
    with pytest.raises(CaseNotFound) as error:
        complete_as_assignee(case_id="nope")
    assert error.value.http_status == 404
    with pytest.raises(CaseNotFound):
        start_as_assignee(case_id="nope")


# --- the sweep -----------------------------------------------------------------------------------


def test_acceptance_timeout_takes_the_case_back_and_never_offers_it_to_the_same_agent(settings):
    settings.ROUTING = {**settings.ROUTING, "ACCEPT_TIMEOUT_SECONDS": 60}
    first = routable_agent(skills={"billing": "expert"})
    outcome = case_route(request=request_for("C-1"))
    assert outcome.assignment.agent_id == first.pk
    later = timezone.now() + dt.timedelta(seconds=61)
    # only the same agent exists: the case waits rather than going back to them
    report = queue_sweep(now=later)
    assert report.timed_out == 1 and report.dispatched == 0
    assert CaseAssignment.objects.get(pk=outcome.assignment.pk).status == AssignmentStatus.TRANSFERRED
    assert load_of(first) == 0
    entry = EscalationQueueEntry.objects.get(case__case_id="C-1", status=QueueStatus.QUEUED)
    assert entry.excluded_agents == [first.pk]
    assert queue_sweep(now=later).dispatched == 0
    assert queue_dispatch_for_agent(agent_id=first.pk) == []
    # another agent appears and gets it
    second = routable_agent(skills={"billing": "intermediate"})
    report = queue_sweep(now=later)
    assert report.dispatched == 1
    assert (
        CaseAssignment.objects.get(case__case_id="C-1", status=AssignmentStatus.ASSIGNED).agent_id
        == second.pk
    )
    assert (
        RoutingEvent.objects.filter(case__case_id="C-1", event_type=RoutingEventType.ACCEPT_TIMEOUT).count()
        == 1
    )


def test_acceptance_timeout_reroutes_at_once_when_another_agent_is_free(settings):
    settings.ROUTING = {**settings.ROUTING, "ACCEPT_TIMEOUT_SECONDS": 60}
    first = routable_agent(skills={"billing": "expert"})
    second = routable_agent(skills={"billing": "intermediate"})
    case_route(request=request_for("C-1"))
    report = queue_sweep(now=timezone.now() + dt.timedelta(seconds=61))
    assert (report.timed_out, report.dispatched) == (1, 1)
    open_assignment = CaseAssignment.objects.get(case__case_id="C-1", status=AssignmentStatus.ASSIGNED)
    assert open_assignment.agent_id == second.pk != first.pk


def test_started_cases_do_not_time_out(settings):
    settings.ROUTING = {**settings.ROUTING, "ACCEPT_TIMEOUT_SECONDS": 60}
    routable_agent(skills={"billing": "expert"})
    case_route(request=request_for("C-1"))
    start_as_assignee(case_id="C-1")
    assert queue_sweep(now=timezone.now() + dt.timedelta(hours=1)).timed_out == 0


def test_overdue_entries_are_escalated_once_per_lapsed_wait():
    outcome = case_route(request=request_for("C-1", priority="low", max_wait_minutes=10))
    queued_at = outcome.queue_entry.queued_at
    assert queue_sweep(now=queued_at + dt.timedelta(minutes=9)).escalated == 0
    assert queue_sweep(now=queued_at + dt.timedelta(minutes=11)).escalated == 1
    assert queue_sweep(now=queued_at + dt.timedelta(minutes=12)).escalated == 0
    entry = EscalationQueueEntry.objects.get(pk=outcome.queue_entry.pk)
    assert (entry.priority, entry.escalation_count) == ("medium", 1)
    assert SupportCase.objects.get(case_id="C-1").priority == "medium"
    assert queue_sweep(now=queued_at + dt.timedelta(minutes=21)).escalated == 1
    entry.refresh_from_db()
    assert (entry.priority, entry.escalation_count) == ("high", 2)
    assert (
        RoutingEvent.objects.filter(case__case_id="C-1", event_type=RoutingEventType.ESCALATED).count() == 2
    )


def test_widening_relaxes_requirements_ring_by_ring_and_the_decision_names_the_ring(settings):
    settings.ROUTING = {**settings.ROUTING, "WIDEN_STEP_SECONDS": 60}
    routable_agent(skills={"billing": "intermediate"})  # lacks refunds and is below advanced
    outcome = case_route(
        request=request_for(
            "C-1",
            required_skills=["billing", "refunds"],
            special_requirements={"min_proficiency": "advanced", "optional_skills": ["refunds"]},
        )
    )
    queued_at = outcome.queue_entry.queued_at
    report = queue_sweep(now=queued_at + dt.timedelta(seconds=61))
    assert (report.widened, report.dispatched) == (1, 0)  # ring 1: intermediate, still needs refunds
    report = queue_sweep(now=queued_at + dt.timedelta(seconds=121))
    assert (report.widened, report.dispatched) == (1, 1)  # ring 2: billing only
    decision = RoutingDecision.objects.filter(case__case_id="C-1", outcome="assigned").get()
    assert decision.widen_level == 2
    assert RoutingEvent.objects.filter(case__case_id="C-1", event_type=RoutingEventType.WIDENED).count() == 2


def test_widening_never_drops_a_skill_not_marked_optional(settings):
    # given an agent lacking one of two required skills, neither marked optional
    settings.ROUTING = {**settings.ROUTING, "WIDEN_STEP_SECONDS": 60}
    routable_agent(skills={"billing": "expert"})
    outcome = case_route(request=request_for("C-1", required_skills=["billing", "refunds"]))
    # when the case waits through every ring
    queue_sweep(now=outcome.queue_entry.queued_at + dt.timedelta(hours=1))
    # then it is still waiting: nobody holds refunds
    assert EscalationQueueEntry.objects.get(case__case_id="C-1").status == QueueStatus.QUEUED
    assert not CaseAssignment.objects.filter(case__case_id="C-1").exists()


def test_escalation_and_widening_work_in_batches_over_many_entries(settings, monkeypatch):
    from routing.services import sweep as sweep_module

    monkeypatch.setattr(sweep_module, "SWEEP_BATCH", 3)
    settings.ROUTING = {**settings.ROUTING, "WIDEN_STEP_SECONDS": 60}
    outcomes = [
        case_route(
            request=request_for(f"C-{n}", priority="low", required_skills=["refunds"], max_wait_minutes=10)
        )
        for n in range(7)
    ]
    queued_at = max(o.queue_entry.queued_at for o in outcomes)
    report = queue_sweep(now=queued_at + dt.timedelta(minutes=11))
    assert (report.escalated, report.widened) == (7, 7)
    entries = EscalationQueueEntry.objects.filter(case__case_id__startswith="C-")
    assert {(e.priority, e.escalation_count, e.widen_level) for e in entries} == {("medium", 1, 2)}
    assert set(SupportCase.objects.filter(case_id__startswith="C-").values_list("priority", flat=True)) == {
        "medium"
    }
    assert RoutingEvent.objects.filter(event_type=RoutingEventType.ESCALATED).count() == 7
    assert RoutingEvent.objects.filter(event_type=RoutingEventType.WIDENED).count() == 7
    # the next escalation is one max wait later; a second sweep now does nothing
    assert queue_sweep(now=queued_at + dt.timedelta(minutes=11)).escalated == 0
    assert queue_sweep(now=queued_at + dt.timedelta(minutes=22)).escalated == 7


def test_sweep_query_count_does_not_grow_with_the_entries(settings, django_assert_max_num_queries):
    settings.ROUTING = {**settings.ROUTING, "WIDEN_STEP_SECONDS": 0}
    for n in range(30):
        case_route(
            request=request_for(f"C-{n}", priority="low", required_skills=["refunds"], max_wait_minutes=10)
        )
    later = timezone.now() + dt.timedelta(minutes=11)
    with django_assert_max_num_queries(20):  # one batch: select, update, case updates, bulk insert
        assert queue_sweep(now=later).escalated == 30


# --- supervisor actions --------------------------------------------------------------------------


def test_supervisor_assigns_a_waiting_entry_with_capacity_enforced():
    outcome = case_route(request=request_for("C-1", required_skills=["refunds"]))
    agent = routable_agent(skills={}, capacity=1)
    assignment = queue_entry_assign(entry_id=outcome.queue_entry.pk, agent_id=agent.pk)
    assert assignment.agent_id == agent.pk and assignment.routing_strategy == "manual"
    assert load_of(agent) == 1
    with pytest.raises(QueueEntryNotWaiting):
        queue_entry_assign(entry_id=outcome.queue_entry.pk, agent_id=agent.pk)
    other = case_route(request=request_for("C-2", required_skills=["refunds"]))
    with pytest.raises(AgentAtCapacity) as error:
        queue_entry_assign(entry_id=other.queue_entry.pk, agent_id=agent.pk)
    assert error.value.http_status == 409
    assert load_of(agent) == 1


def test_cancel_and_requeue():
    outcome = case_route(request=request_for("C-1", required_skills=["refunds"]))
    cancelled = queue_entry_cancel(entry_id=outcome.queue_entry.pk)
    assert cancelled.status == QueueStatus.CANCELLED
    assert SupportCase.objects.get(case_id="C-1").status == CaseStatus.CANCELLED
    with pytest.raises(QueueEntryNotWaiting):
        queue_entry_cancel(entry_id=outcome.queue_entry.pk)
    requeued = queue_entry_requeue(entry_id=outcome.queue_entry.pk)
    assert requeued.status == QueueStatus.QUEUED
    assert requeued.queued_at == outcome.queue_entry.queued_at
    with pytest.raises(InvalidCaseTransition):
        queue_entry_requeue(entry_id=outcome.queue_entry.pk)


def test_requeue_takes_back_an_unstarted_assignment_but_not_a_started_one():
    outcome = case_route(request=request_for("C-1", required_skills=["refunds"]))
    agent = routable_agent(skills={})
    queue_entry_assign(entry_id=outcome.queue_entry.pk, agent_id=agent.pk)
    requeued = queue_entry_requeue(entry_id=outcome.queue_entry.pk)
    assert requeued.status == QueueStatus.QUEUED and requeued.assigned_agent_id is None
    assert load_of(agent) == 0
    assert CaseAssignment.objects.get(case__case_id="C-1").status == AssignmentStatus.TRANSFERRED
    queue_entry_assign(entry_id=outcome.queue_entry.pk, agent_id=agent.pk)
    start_as_assignee(case_id="C-1")
    with pytest.raises(InvalidCaseTransition):
        queue_entry_requeue(entry_id=outcome.queue_entry.pk)
    assert load_of(agent) == 1


def test_a_requeue_offers_the_freed_slot_to_the_next_case_not_the_requeued_one():
    # given an agent (one slot) a supervisor gave C-1 while C-2 waits behind it
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.OFFLINE)
    first = case_route(request=request_for("C-1", priority="high"))
    case_route(request=request_for("C-2", priority="low"))
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.AVAILABLE)
    queue_entry_assign(entry_id=first.queue_entry.pk, agent_id=agent.pk)
    # when the supervisor takes C-1 back before the agent starts it
    requeued = queue_entry_requeue(entry_id=first.queue_entry.pk)
    # then C-1 waits again and the freed slot went to C-2 in the same transaction
    assert requeued.status == QueueStatus.QUEUED
    assert (
        CaseAssignment.objects.get(case__case_id="C-2", status=AssignmentStatus.ASSIGNED).agent_id == agent.pk
    )
    assert load_of(agent) == 1


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


# --- a person's status holds (issue 6, fault 2) -----------------------------------------------------------


def test_a_persons_busy_without_a_reason_survives_completions_and_the_reconcile():
    # given: an agent holding two cases whom a supervisor set busy, without a reason
    agent = routable_agent(skills={"billing": "advanced"}, capacity=3)
    case_route(request=request_for("C-1"))
    case_route(request=request_for("C-2"))
    agent_set_status(agent=agent, status=AvailabilityStatus.BUSY)
    # when: a case completes, the nightly reconcile runs and a new case arrives
    complete_as_assignee(case_id="C-1")
    from routing.metrics import availability_loads_reconcile

    availability_loads_reconcile()
    newcomer = case_route(request=request_for("C-3"))
    # then: the agent is still busy, as the supervisor set them, and received nothing new
    availability = AgentAvailability.objects.get(agent=agent)
    assert (availability.status, availability.manual_override, availability.current_load) == ("busy", True, 1)
    assert newcomer.http_status == 202
    # until the supervisor hands them back to routing
    agent_set_status(agent=agent, status=AvailabilityStatus.AVAILABLE)
    assert CaseAssignment.objects.get(case__case_id="C-3").agent_id == agent.pk


def test_routings_own_busy_at_capacity_returns_to_available_when_a_slot_frees():
    agent = routable_agent(skills={"billing": "advanced"}, capacity=1)
    case_route(request=request_for("C-1"))
    availability = AgentAvailability.objects.get(agent=agent)
    assert (availability.status, availability.manual_override) == ("busy", False)
    complete_as_assignee(case_id="C-1")
    assert AgentAvailability.objects.get(agent=agent).status == "available"
