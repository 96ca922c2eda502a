"""The periodic sweep: acceptance timeouts, escalation, widening, in batches."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from agents.models import AgentAvailability
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
    RoutingEvent,
    RoutingEventType,
    SupportCase,
)
from routing.services import (
    case_route,
    queue_dispatch_for_agent,
    queue_sweep,
)
from tests.factories.routing import routable_agent
from tests.routing.actions import load_of, request_for, start_as_assignee

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("routing_floor")]


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
    # one batch: select, update, case updates, bulk insert; then constant steps (the automation sweep,
    # the lead sweep: SLA breaches and waiting lead types, the outbound callback hand-over), none per entry
    with django_assert_max_num_queries(29):
        assert queue_sweep(now=later).escalated == 30


def test_one_item_that_fails_is_skipped_and_counted_and_the_sweep_goes_on(settings):
    # given: two timed-out assignments; one agent's stored load drifted to 0 (a raw write), so taking
    # its case back would push the load below zero
    settings.ROUTING = {**settings.ROUTING, "ACCEPT_TIMEOUT_SECONDS": 60}
    drifted = routable_agent(skills={"billing": "expert"}, capacity=1)
    case_route(request=request_for("C-1"))
    sound = routable_agent(skills={"billing": "expert"}, capacity=1)
    case_route(request=request_for("C-2"))
    AgentAvailability.objects.filter(agent=drifted).update(current_load=0)
    # when
    report = queue_sweep(now=timezone.now() + dt.timedelta(seconds=61))
    # then: the bad one failed alone; the other was taken back
    assert report.failed == 1 and report.timed_out == 1
    first_of_c2 = CaseAssignment.objects.filter(case__case_id="C-2").order_by("assigned_at").first()
    assert first_of_c2.agent_id == sound.pk and first_of_c2.status == AssignmentStatus.TRANSFERRED
    assert CaseAssignment.objects.get(case__case_id="C-1").status == AssignmentStatus.ASSIGNED
