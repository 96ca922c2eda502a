from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from agents.models import (
    AgentAvailability,
    AgentPerformance,
    AgentPeriodMetrics,
    AvailabilityStatus,
    HumanAgent,
)
from routing.integrity import CHECKS, integrity_run
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseAssignmentArchive,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
)
from tests.factories.agents import AgentPeriodMetricsFactory, AgentScheduleFactory, HumanAgentFactory
from tests.factories.routing import (
    CaseAssignmentFactory,
    EscalationQueueEntryFactory,
    SupportCaseFactory,
)
from tests.routing.actions import complete_as_assignee, start_as_assignee

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent() -> HumanAgent:
    """A consistent world: the roster removed, one active agent with a schedule, no load, no cases."""
    HumanAgent.objects.all().delete()
    agent = HumanAgentFactory(max_concurrent_work=5)
    AgentScheduleFactory(agent=agent)
    return agent


def _failing() -> set[str]:
    return {result.name for result in integrity_run() if not result.ok}


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("check_integrity", *args, stdout=out)
    return out.getvalue()


@contextmanager
def _check_constraint_off(table: str, constraint: str) -> Iterator[None]:
    """Let a row the CHECK constraint forbids in, as a raw import could (the test transaction rolls back)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # ALTER TABLE refuses while deferred foreign-key checks are pending: run them now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{constraint}"')
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            yield
        else:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
            try:
                yield
            finally:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")


def _drop_index(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP INDEX "{name}"')


def _open_assignment(agent: HumanAgent, **case_fields) -> CaseAssignment:
    case = SupportCaseFactory(**{"status": CaseStatus.ASSIGNED, **case_fields})
    return CaseAssignmentFactory(case=case, agent=agent, status=AssignmentStatus.ASSIGNED)


def _raw_assignment(model: type, *, case_id: str, agent_id: int) -> None:
    # Foreign keys are deferred to commit, which a test never reaches: a raw import's orphan.
    model.objects.create(
        case_id=case_id,
        agent_id=agent_id,
        status=AssignmentStatus.COMPLETED,
        priority="low",
        complexity="low",
        completed_at=timezone.now(),
    )


# --- the command -----------------------------------------------------------------------------------------


def test_consistent_data_passes_every_check(agent: HumanAgent) -> None:
    output = _run()
    assert f"All {len(CHECKS)} checks passed" in output
    assert "FAIL" not in output


def test_command_fails_naming_the_check_with_count_and_sample(agent: HumanAgent) -> None:
    AgentAvailability.objects.filter(agent=agent).update(current_load=2)
    out = io.StringIO()
    with pytest.raises(CommandError, match=r"availability_load_mismatch \(1\)"):
        call_command("check_integrity", stdout=out)
    line = next(line for line in out.getvalue().splitlines() if line.startswith("availability_load_mismatch"))
    assert "FAIL" in line and agent.code in line


def test_check_option_runs_only_the_named_checks(agent: HumanAgent) -> None:
    AgentAvailability.objects.filter(agent=agent).update(current_load=2)
    output = _run("--check", "agents_without_performance")
    assert "availability_load_mismatch" not in output


def test_unknown_check_is_an_error(agent: HumanAgent) -> None:
    with pytest.raises(CommandError, match="unknown check"):
        _run("--check", "nonsense")


def test_list_names_every_check() -> None:
    output = _run("--list")
    assert all(name in output for name in CHECKS)


# --- one inconsistency each ------------------------------------------------------------------------------


def test_agent_without_availability_is_found(agent: HumanAgent) -> None:
    AgentAvailability.objects.filter(agent=agent).delete()
    assert _failing() == {"agents_without_availability"}


def test_agent_without_performance_is_found(agent: HumanAgent) -> None:
    AgentPerformance.objects.filter(agent=agent).delete()
    assert _failing() == {"agents_without_performance"}


def test_active_agent_without_schedule_is_found(agent: HumanAgent) -> None:
    HumanAgentFactory(is_active=False)  # inactive: no schedule needed
    unscheduled = HumanAgentFactory()
    results = {r.name: r for r in integrity_run()}
    assert _failing() == {"active_agents_without_schedule"}
    assert results["active_agents_without_schedule"].sample == [unscheduled.code]


def test_assignment_pointing_at_a_missing_case_is_found(agent: HumanAgent) -> None:
    _raw_assignment(CaseAssignment, case_id="ghost_case", agent_id=agent.pk)
    try:
        assert _failing() == {"assignments_without_case"}
    finally:
        CaseAssignment.objects.filter(case_id="ghost_case").delete()


def test_assignment_pointing_at_a_missing_agent_is_found(agent: HumanAgent) -> None:
    case = SupportCaseFactory(status=CaseStatus.COMPLETED)
    _raw_assignment(CaseAssignment, case_id=case.case_id, agent_id=987654)
    try:
        assert _failing() == {"assignments_without_agent"}
    finally:
        CaseAssignment.objects.filter(agent_id=987654).delete()


def test_archived_assignment_pointing_at_a_missing_case_is_found(agent: HumanAgent) -> None:
    _raw_assignment(CaseAssignmentArchive, case_id="ghost_case", agent_id=agent.pk)
    try:
        assert _failing() == {"archived_assignments_without_case"}
    finally:
        CaseAssignmentArchive.objects.filter(case_id="ghost_case").delete()


def test_queue_entry_pointing_at_a_missing_case_is_found(agent: HumanAgent) -> None:
    now = timezone.now()
    EscalationQueueEntry.objects.create(
        case_id="ghost_case",
        priority="low",
        complexity="low",
        status=QueueStatus.CANCELLED,
        wait_deadline=now,
    )
    try:
        assert _failing() == {"queue_entries_without_case"}
    finally:
        EscalationQueueEntry.objects.filter(case_id="ghost_case").delete()


def test_performance_metric_out_of_range_is_found(agent: HumanAgent) -> None:
    with _check_constraint_off("agents_agentperformance", "performance_csat_range"):
        AgentPerformance.objects.filter(agent=agent).update(csat_score=7)
    assert _failing() == {"performance_metrics_out_of_range"}


def test_period_metric_out_of_range_is_found(agent: HumanAgent) -> None:
    row = AgentPeriodMetricsFactory(agent=agent)
    with _check_constraint_off("agents_agentperiodmetrics", "period_cross_sell_rate_range"):
        AgentPeriodMetrics.objects.filter(pk=row.pk).update(cross_sell_rate=1.5)
    assert _failing() == {"period_metrics_out_of_range"}


def test_assignment_rating_out_of_range_is_found(agent: HumanAgent) -> None:
    done = CaseAssignmentFactory(
        agent=agent, case__status=CaseStatus.COMPLETED, status=AssignmentStatus.COMPLETED
    )
    with _check_constraint_off("routing_caseassignment", "assignment_csat_range"):
        CaseAssignment.objects.filter(pk=done.pk).update(csat_rating=9)
    assert _failing() == {"assignment_ratings_out_of_range"}


def test_waiting_entry_whose_case_has_an_open_assignment_is_found(agent: HumanAgent) -> None:
    assignment = _open_assignment(agent, status=CaseStatus.QUEUED)
    AgentAvailability.objects.filter(agent=agent).update(current_load=1)
    EscalationQueueEntryFactory(case=assignment.case)
    assert _failing() == {"queue_waiting_with_open_assignment"}


def test_case_waiting_twice_is_found(agent: HumanAgent) -> None:
    _drop_index("one_waiting_entry_per_case")
    case = SupportCaseFactory(status=CaseStatus.QUEUED)
    EscalationQueueEntryFactory.create_batch(2, case=case)
    assert _failing() == {"queue_duplicate_waiting"}
    assert integrity_run(["queue_duplicate_waiting"])[0].sample == [case.case_id]


def test_waiting_entry_whose_case_is_not_queued_is_found(agent: HumanAgent) -> None:
    EscalationQueueEntryFactory(case=SupportCaseFactory(status=CaseStatus.COMPLETED))
    assert _failing() == {"queue_waiting_case_not_queued"}


def test_waiting_entry_whose_deadline_is_not_queued_at_plus_max_wait_is_found(agent: HumanAgent) -> None:
    # given a consistent waiting entry (microseconds included) and one whose deadline drifted a second
    EscalationQueueEntryFactory(queued_at=timezone.now().replace(microsecond=123456), max_wait_minutes=45)
    drifted = EscalationQueueEntryFactory(max_wait_minutes=30)
    assert _failing() == set()
    EscalationQueueEntry.objects.filter(pk=drifted.pk).update(
        wait_deadline=drifted.queued_at + dt.timedelta(minutes=30, seconds=1)
    )
    # then only the drifted one is reported
    assert _failing() == {"queue_deadline_mismatch"}
    assert integrity_run(["queue_deadline_mismatch"])[0].sample == [drifted.case_id]


def test_a_deadline_off_only_for_a_finished_entry_is_not_a_queue_problem(agent: HumanAgent) -> None:
    gone = EscalationQueueEntryFactory(status=QueueStatus.CANCELLED, case__status=CaseStatus.CANCELLED)
    EscalationQueueEntry.objects.filter(pk=gone.pk).update(wait_deadline=gone.queued_at)
    assert _failing() == set()


def test_waiting_entry_whose_priority_rank_does_not_match_its_priority_is_found(agent: HumanAgent) -> None:
    # given a row with a priority the generated rank does not know (as a raw import could write)
    entry = EscalationQueueEntryFactory()
    with _check_constraint_off("routing_escalationqueueentry", "queue_priority_valid"):
        EscalationQueueEntry.objects.filter(pk=entry.pk).update(priority="urgent")
    # then
    assert _failing() == {"queue_priority_rank_mismatch"}
    assert integrity_run(["queue_priority_rank_mismatch"])[0].sample == [entry.case_id]


def test_waiting_entry_that_still_names_an_agent_is_found(agent: HumanAgent) -> None:
    entry = EscalationQueueEntryFactory()
    EscalationQueueEntry.objects.filter(pk=entry.pk).update(assigned_agent=agent)
    assert _failing() == {"queue_waiting_with_agent"}


def test_assigned_entry_whose_agent_holds_no_open_assignment_is_found(agent: HumanAgent) -> None:
    # given a case dispatched from the queue: its entry is assigned and the agent holds the case
    assignment = _open_assignment(agent)
    AgentAvailability.objects.filter(agent=agent).update(current_load=1)
    entry = EscalationQueueEntryFactory(
        case=assignment.case, status=QueueStatus.ASSIGNED, assigned_agent=agent, assigned_at=timezone.now()
    )
    assert _failing() == set()
    # when the assignment ends but the entry is left assigned
    CaseAssignment.objects.filter(pk=assignment.pk).update(
        status=AssignmentStatus.COMPLETED, completed_at=timezone.now()
    )
    AgentAvailability.objects.filter(agent=agent).update(current_load=0)
    SupportCaseFactory._meta.model.objects.filter(pk=assignment.case.pk).update(status=CaseStatus.COMPLETED)
    # then
    assert _failing() == {"queue_assigned_without_open_assignment"}
    assert integrity_run(["queue_assigned_without_open_assignment"])[0].sample == [entry.case_id]


def test_queued_case_without_a_waiting_entry_is_found(agent: HumanAgent) -> None:
    lost = SupportCaseFactory(status=CaseStatus.QUEUED)
    EscalationQueueEntryFactory(case=lost, status=QueueStatus.CANCELLED)
    assert _failing() == {"cases_queued_without_entry"}
    assert integrity_run(["cases_queued_without_entry"])[0].sample == [lost.case_id]


def test_queue_checks_run_a_fixed_number_of_queries(agent: HumanAgent, django_assert_num_queries) -> None:
    names = [
        "queue_deadline_mismatch",
        "queue_priority_rank_mismatch",
        "queue_waiting_with_agent",
        "queue_assigned_without_open_assignment",
        "cases_queued_without_entry",
    ]
    for _ in range(30):
        entry = EscalationQueueEntryFactory()
        EscalationQueueEntry.objects.filter(pk=entry.pk).update(assigned_agent=agent)
    with django_assert_num_queries(len(names) + 1):  # one per check, plus the count of the failing one
        integrity_run(names)


def test_a_floor_worked_through_the_services_passes_every_check(settings) -> None:
    # given a day's work done the only way the system does it: through routing.services
    from routing.services import CaseRequest, case_route, queue_sweep
    from tests.factories.agents import SkillDomainFactory
    from tests.factories.routing import routable_agent

    settings.ROUTING = {**settings.ROUTING, "ACCEPT_TIMEOUT_SECONDS": 60}
    HumanAgent.objects.all().delete()
    SkillDomainFactory(code="billing")
    first = routable_agent(skills={"billing": "expert"}, capacity=1)

    def route(case_id: str, priority: str = "medium") -> None:
        request = CaseRequest(
            case_id=case_id, priority=priority, complexity="low", required_skills=["billing"], language="en"
        )
        case_route(request=request)

    route("C-1")  # assigned to the only agent
    route("C-2", "high")  # queued: the agent is at capacity
    route("C-3")  # queued behind it
    start_as_assignee(case_id="C-1")
    complete_as_assignee(case_id="C-1", csat_rating=5)  # frees the agent: C-2 is dispatched to them
    queue_sweep(now=timezone.now() + dt.timedelta(seconds=61))  # C-2 not accepted in time: back in line
    routable_agent(skills={"billing": "basic"}, capacity=2)
    queue_sweep()  # the new agent takes the waiting cases
    # then
    assert CaseAssignment.objects.filter(status=AssignmentStatus.TRANSFERRED).count() == 1
    assert EscalationQueueEntry.objects.filter(status=QueueStatus.ASSIGNED).exists()
    assert first.pk in EscalationQueueEntry.objects.get(case_id="C-2").excluded_agents
    assert [r.name for r in integrity_run() if not r.ok] == []


def test_load_that_differs_from_open_assignments_is_found(agent: HumanAgent) -> None:
    _open_assignment(agent)
    _open_assignment(agent)
    AgentAvailability.objects.filter(agent=agent).update(current_load=1)
    assert _failing() == {"availability_load_mismatch"}


def test_available_agent_at_capacity_is_found(agent: HumanAgent) -> None:
    HumanAgent.objects.filter(pk=agent.pk).update(max_concurrent_work=1)
    _open_assignment(agent)
    AgentAvailability.objects.filter(agent=agent).update(current_load=1, status=AvailabilityStatus.AVAILABLE)
    assert _failing() == {"available_at_capacity"}
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.BUSY)
    assert _failing() == set()


def test_agent_over_capacity_is_found(agent: HumanAgent) -> None:
    HumanAgent.objects.filter(pk=agent.pk).update(max_concurrent_work=1)
    _open_assignment(agent)
    _open_assignment(agent)
    AgentAvailability.objects.filter(agent=agent).update(current_load=2, status=AvailabilityStatus.BUSY)
    assert _failing() == {"agents_over_capacity"}
