"""Starting and completing: the assignment named, capacity freed, statuses that hold."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agents.models import AgentAvailability, AvailabilityStatus
from agents.selectors import AgentNotFound
from agents.services import agent_set_status
from routing.errors import (
    AssignmentNotIdentified,
    CaseNotFound,
    InvalidCaseTransition,
    RoutingValidationError,
    StaleAssignment,
)
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    RoutingEvent,
    SupportCase,
)
from routing.services import (
    case_complete,
    case_route,
    case_start,
    queue_sweep,
)
from routing.services import cases as cases_module
from tests.factories.routing import routable_agent
from tests.routing.actions import complete_as_assignee, load_of, request_for, start_as_assignee

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_floor")]


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


# --- the performance snapshot stays current (issue 11) ------------------------------------------------


def test_assignments_and_completions_keep_the_agents_snapshot_current(supervisor_client):
    agent = routable_agent(skills={"billing": "advanced"}, capacity=3)
    for case_id, csat in (("C-1", 5), ("C-2", 3)):
        case_route(request=request_for(case_id))
        complete_as_assignee(case_id=case_id, csat_rating=csat, resolution_minutes=20)
    case_route(request=request_for("C-3"))  # assigned, not completed: counted today too
    performance = supervisor_client.get(f"/api/v1/agents/{agent.code}/").json()["performance"]
    assert (performance["cases_today"], performance["cases_this_week"]) == (3, 3)
    assert performance["csat_score"] == "4.00" and performance["avg_resolution_minutes"] == 20


def test_a_counter_from_an_earlier_day_reads_zero_until_the_agent_works_again():
    from agents.models import AgentPerformance

    agent = routable_agent(skills={"billing": "advanced"})
    yesterday = timezone.now() - dt.timedelta(days=1)
    AgentPerformance.objects.filter(agent=agent).update(
        cases_today=7, cases_this_week=9, cases_this_month=30, last_updated=yesterday
    )
    today, week, month = AgentPerformance.objects.get(agent=agent).cases_in_periods()
    assert today == 0
    case_route(request=request_for("C-1"))
    assert AgentPerformance.objects.get(agent=agent).cases_in_periods()[0] == 1
