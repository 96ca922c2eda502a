from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from agents.models import (
    AgentAvailability,
    AgentPerformance,
    AgentPeriodMetrics,
    AgentPeriodMetricsArchive,
    HumanAgent,
)
from routing.maintenance import (
    MaintenanceOptions,
    assignments_archive,
    database_size_bytes,
    last_full_week,
    period_metrics_archive,
    period_metrics_build,
    queue_entries_purge,
    specialization_assess,
)
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseAssignmentArchive,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
)
from tests.factories.agents import (
    AgentPeriodMetricsFactory,
    AgentScheduleFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
)
from tests.factories.routing import CaseAssignmentFactory, EscalationQueueEntryFactory, SupportCaseFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.UTC)  # a Wednesday


@pytest.fixture
def agent() -> HumanAgent:
    """A consistent world: the roster removed, one active agent with a schedule."""
    HumanAgent.objects.all().delete()
    agent = HumanAgentFactory()
    AgentScheduleFactory(agent=agent)
    return agent


def _finished(
    agent: HumanAgent, completed_at: dt.datetime, status: str = AssignmentStatus.COMPLETED, **fields
):
    return CaseAssignmentFactory(
        agent=agent,
        case=SupportCaseFactory(status=CaseStatus.COMPLETED),
        status=status,
        assigned_at=completed_at - dt.timedelta(minutes=40),
        completed_at=completed_at,
        **fields,
    )


def _ledger() -> tuple[int, str]:
    """Row count and checksum over (id, case_id, agent_id, status, csat_rating) of live + archive."""
    rows = sorted(
        (str(pk), case_id, agent_id, status, csat)
        for model in (CaseAssignment, CaseAssignmentArchive)
        for pk, case_id, agent_id, status, csat in model.objects.values_list(
            "id", "case_id", "agent_id", "status", "csat_rating"
        )
    )
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def _maintenance(*args: str) -> str:
    out = io.StringIO()
    call_command("run_maintenance", *args, stdout=out)
    return out.getvalue()


# --- archive ---------------------------------------------------------------------------------------------


def test_archive_moves_old_finished_assignments_and_loses_nothing(agent: HumanAgent) -> None:
    # given old assignments that ended every way an assignment ends, a recent one and an old open one
    old = [_finished(agent, NOW - dt.timedelta(days=100 + n), csat_rating=1 + n % 5) for n in range(5)]
    recent = _finished(agent, NOW - dt.timedelta(days=10), csat_rating=5)
    old_escalated = _finished(agent, NOW - dt.timedelta(days=200), AssignmentStatus.ESCALATED, escalated=True)
    old_transferred = _finished(agent, NOW - dt.timedelta(days=150), AssignmentStatus.TRANSFERRED)
    recent_escalated = _finished(agent, NOW - dt.timedelta(days=5), AssignmentStatus.ESCALATED)
    old_open = CaseAssignmentFactory(agent=agent, assigned_at=NOW - dt.timedelta(days=120))
    decision = RoutingDecision.objects.create(
        case=old[0].case, strategy="skill_based", outcome="assigned", winner=agent, assignment=old[0]
    )
    before = _ledger()
    # when
    result = assignments_archive(MaintenanceOptions(now=NOW, batch_size=2))
    # then every finished status older than 90 days moved; nothing open or recent did
    assert result.rows == 7
    assert _ledger() == before
    assert set(CaseAssignmentArchive.objects.values_list("id", flat=True)) == {
        *(a.pk for a in old),
        old_escalated.pk,
        old_transferred.pk,
    }
    assert set(CaseAssignment.objects.values_list("id", flat=True)) == {
        recent.pk,
        recent_escalated.pk,
        old_open.pk,
    }
    assert CaseAssignmentArchive.objects.get(pk=old_escalated.pk).status == AssignmentStatus.ESCALATED
    archived = CaseAssignmentArchive.objects.get(pk=old[1].pk)
    assert (archived.case_id, archived.csat_rating, archived.completed_at) == (
        old[1].case_id,
        old[1].csat_rating,
        old[1].completed_at,
    )
    assert archived.archived_at == NOW
    decision.refresh_from_db()
    assert decision.assignment_id is None and decision.case_id == old[0].case.pk


def test_archive_moves_each_decisions_link_to_its_archived_assignment(agent: HumanAgent) -> None:
    # given old finished assignments, each with the decision that made it, and a decision on a live one
    old = [_finished(agent, NOW - dt.timedelta(days=100 + n)) for n in range(5)]
    live = _finished(agent, NOW - dt.timedelta(days=10))
    decisions = {
        assignment.pk: RoutingDecision.objects.create(
            case=assignment.case,
            strategy="skill_based",
            outcome="assigned",
            winner=agent,
            assignment=assignment,
        )
        for assignment in [*old, live]
    }
    # when the batch is archived
    with CaptureQueriesContext(connection) as queries:
        assert assignments_archive(MaintenanceOptions(now=NOW, batch_size=10)).rows == 5
    # the decisions are relinked by one UPDATE, whatever their number
    decision_table = RoutingDecision._meta.db_table
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(writes) == 1 and decision_table in writes[0]
    # then each archived assignment's decision points at its archived row, and the live one is untouched
    for assignment in old:
        decision = RoutingDecision.objects.get(pk=decisions[assignment.pk].pk)
        assert (decision.assignment_id, decision.archived_assignment_id) == (None, assignment.pk)
        assert CaseAssignmentArchive.objects.get(pk=assignment.pk).decisions.get() == decision
    untouched = RoutingDecision.objects.get(pk=decisions[live.pk].pk)
    assert (untouched.assignment_id, untouched.archived_assignment_id) == (live.pk, None)


def test_archive_is_idempotent(agent: HumanAgent) -> None:
    _finished(agent, NOW - dt.timedelta(days=95))
    assignments_archive(MaintenanceOptions(now=NOW))
    before = _ledger()
    assert assignments_archive(MaintenanceOptions(now=NOW)).rows == 0
    assert _ledger() == before


def test_archive_days_option_moves_the_horizon(agent: HumanAgent) -> None:
    _finished(agent, NOW - dt.timedelta(days=20))
    assert assignments_archive(MaintenanceOptions(now=NOW)).rows == 0
    assert assignments_archive(MaintenanceOptions(now=NOW, archive_days=15)).rows == 1


def test_dry_run_counts_but_moves_nothing(agent: HumanAgent) -> None:
    _finished(agent, NOW - dt.timedelta(days=100))
    EscalationQueueEntryFactory(status=QueueStatus.CANCELLED, queued_at=NOW - dt.timedelta(days=60))
    before = _ledger()
    options = MaintenanceOptions(now=NOW, dry_run=True)
    assert assignments_archive(options).rows == 1
    assert queue_entries_purge(options).rows == 1
    assert _ledger() == before
    assert EscalationQueueEntry.objects.count() == 1


# --- queue -----------------------------------------------------------------------------------------------


def test_queue_cleanup_deletes_only_old_finished_entries() -> None:
    long_ago = NOW - dt.timedelta(days=45)
    EscalationQueueEntryFactory(status=QueueStatus.COMPLETED, queued_at=long_ago)
    EscalationQueueEntryFactory(status=QueueStatus.CANCELLED, queued_at=long_ago)
    recent = EscalationQueueEntryFactory(status=QueueStatus.COMPLETED, queued_at=NOW - dt.timedelta(days=3))
    waiting = EscalationQueueEntryFactory(status=QueueStatus.QUEUED, queued_at=long_ago)
    result = queue_entries_purge(MaintenanceOptions(now=NOW, batch_size=1))
    assert result.rows == 2
    assert set(EscalationQueueEntry.objects.values_list("pk", flat=True)) == {recent.pk, waiting.pk}
    assert queue_entries_purge(MaintenanceOptions(now=NOW)).rows == 0


# --- weekly period metrics -------------------------------------------------------------------------------


def test_last_full_week_is_the_previous_monday_to_sunday() -> None:
    period, start, end = last_full_week(NOW)
    assert period == dt.date(2026, 3, 9)
    assert (start, end) == (dt.datetime(2026, 3, 9, tzinfo=dt.UTC), dt.datetime(2026, 3, 16, tzinfo=dt.UTC))


def test_period_metrics_summarise_last_week_per_agent_and_rerun_rewrites(agent: HumanAgent) -> None:
    # given
    _finished(agent, dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC), resolution_minutes=10, csat_rating=4)
    _finished(agent, dt.datetime(2026, 3, 15, 23, tzinfo=dt.UTC), resolution_minutes=20, csat_rating=5)
    _finished(agent, dt.datetime(2026, 3, 16, 9, tzinfo=dt.UTC), resolution_minutes=90, csat_rating=1)
    # when
    assert period_metrics_build(MaintenanceOptions(now=NOW)).rows == 1
    assert period_metrics_build(MaintenanceOptions(now=NOW)).rows == 1
    # then
    row = AgentPeriodMetrics.objects.get()
    assert (row.agent_id, row.period_date) == (agent.pk, dt.date(2026, 3, 9))
    assert row.avg_handling_seconds == 900
    assert str(row.csat_score) == "4.50"
    assert row.conversion_rate_hot is None and row.cross_sell_rate is None and row.upsell_rate is None


def test_period_metrics_count_escalated_completions_as_handled(agent: HumanAgent) -> None:
    _finished(agent, dt.datetime(2026, 3, 10, 10, tzinfo=dt.UTC), resolution_minutes=10, csat_rating=4)
    _finished(
        agent,
        dt.datetime(2026, 3, 11, 10, tzinfo=dt.UTC),
        AssignmentStatus.ESCALATED,
        escalated=True,
        resolution_minutes=30,
        csat_rating=2,
    )
    _finished(agent, dt.datetime(2026, 3, 12, 10, tzinfo=dt.UTC), AssignmentStatus.TRANSFERRED)
    period_metrics_build(MaintenanceOptions(now=NOW))
    row = AgentPeriodMetrics.objects.get()
    assert row.avg_handling_seconds == 1200 and str(row.csat_score) == "3.00"


def test_old_period_metrics_are_archived_with_every_column_and_stay_queryable(agent: HumanAgent) -> None:
    old = AgentPeriodMetricsFactory(
        agent=agent, period_date=dt.date(2024, 10, 1), csat_score=Decimal("4.25"), avg_handling_seconds=600
    )
    kept = AgentPeriodMetricsFactory(agent=agent, period_date=dt.date(2026, 3, 9))
    columns = [field.attname for field in AgentPeriodMetrics._meta.concrete_fields]
    before = AgentPeriodMetrics.objects.filter(pk=old.pk).values(*columns).get()
    # dry run counts and moves nothing
    assert period_metrics_archive(MaintenanceOptions(now=NOW, retention_days=400, dry_run=True)).rows == 1
    assert AgentPeriodMetrics.objects.count() == 2
    # when
    assert period_metrics_archive(MaintenanceOptions(now=NOW, retention_days=400)).rows == 1
    # then: the live table keeps the recent row, the archive holds the old one column for column
    assert list(AgentPeriodMetrics.objects.values_list("pk", flat=True)) == [kept.pk]
    archived = AgentPeriodMetricsArchive.objects.filter(pk=old.pk).values(*columns).get()
    assert archived == before
    assert AgentPeriodMetricsArchive.objects.get(pk=old.pk).archived_at == NOW
    # and a second run moves nothing
    assert period_metrics_archive(MaintenanceOptions(now=NOW, retention_days=400)).rows == 0


def test_database_size_is_reported() -> None:
    assert database_size_bytes() > 0


# --- the command -----------------------------------------------------------------------------------------


def test_daily_recomputes_cleans_archives_and_is_idempotent(agent: HumanAgent) -> None:
    now = timezone.now()
    _finished(agent, now - dt.timedelta(days=120))
    EscalationQueueEntryFactory(status=QueueStatus.CANCELLED, queued_at=now - dt.timedelta(days=60))
    CaseAssignmentFactory(agent=agent, assigned_at=now)
    AgentAvailability.objects.filter(agent=agent).update(current_load=1)
    before = _ledger()
    # when
    output = _maintenance("daily")
    # then
    assert "recompute metrics + stress" in output and "archive assignments" in output
    assert AgentPerformance.objects.get(agent=agent).cases_today == 1
    assert CaseAssignmentArchive.objects.count() == 1 and not EscalationQueueEntry.objects.exists()
    assert _ledger() == before
    second = _maintenance("daily")
    archive_line = next(line for line in second.splitlines() if line.startswith("archive"))
    assert re.search(r"\)\s+0\s+\d+\.\d\d\s+moved to archive", archive_line)


def test_daily_reconciles_agent_loads_with_open_assignments(agent: HumanAgent) -> None:
    # given an agent whose stored load (2, as the roster migration seeds it) has no open assignments
    AgentAvailability.objects.filter(agent=agent).update(current_load=2)
    # when
    output = _maintenance("daily")
    # then the load is corrected, and the step says how many
    assert AgentAvailability.objects.get(agent=agent).current_load == 0
    line = next(line for line in output.splitlines() if line.startswith("reconcile agent loads"))
    assert re.search(r"\s1\s+\d+\.\d\d\s+loads corrected", line)
    assert "check_integrity" not in output
    second = _maintenance("daily")
    line = next(line for line in second.splitlines() if line.startswith("reconcile agent loads"))
    assert re.search(r"\s0\s+\d+\.\d\d\s+loads corrected", line)


def test_daily_dry_run_counts_loads_it_would_correct(agent: HumanAgent) -> None:
    AgentAvailability.objects.filter(agent=agent).update(current_load=2)
    output = _maintenance("daily", "--dry-run")
    line = next(line for line in output.splitlines() if line.startswith("reconcile agent loads"))
    assert "would correct" in line and re.search(r"\s1\s+\d+\.\d\d", line)
    assert AgentAvailability.objects.get(agent=agent).current_load == 2


def test_weekly_passes_on_consistent_data(agent: HumanAgent) -> None:
    output = _maintenance("weekly")
    assert "period metrics" in output and "checks OK" in output and "analyze" in output


def test_weekly_fails_when_integrity_finds_problems(agent: HumanAgent) -> None:
    AgentAvailability.objects.filter(agent=agent).update(current_load=3)
    with pytest.raises(CommandError, match="availability_load_mismatch"):
        _maintenance("weekly")


def test_monthly_prints_retention_and_database_size(agent: HumanAgent) -> None:
    output = _maintenance("monthly", "--retention-days", "30")
    assert (
        "archive period metrics (> 30 d)" in output and "skill proficiencies" in output and "bytes" in output
    )


def test_dry_run_command_writes_nothing(agent: HumanAgent) -> None:
    _finished(agent, timezone.now() - dt.timedelta(days=120))
    before = _ledger()
    output = _maintenance("daily", "--dry-run")
    assert "dry run" in output and "would archive" in output
    assert _ledger() == before and not CaseAssignmentArchive.objects.exists()


# --- monthly: specialization assessments ---------------------------------------------------------------


def test_monthly_reassesses_specializations_from_the_cases_that_required_them(agent: HumanAgent) -> None:
    # given a billing specialist with four resolved billing cases (one escalated) and a technical one
    billing = AgentSpecializationFactory(
        agent=agent, specialization="billing", case_count=50, confidence="0.85"
    )
    untouched = AgentSpecializationFactory(agent=agent, specialization="vip", case_count=7, confidence="0.90")
    finished = timezone.now() - dt.timedelta(days=3)
    for _ in range(3):
        _finished(agent, finished, required_skills=["billing"])
    _finished(
        agent,
        finished,
        status=AssignmentStatus.ESCALATED,
        escalated=True,
        required_skills=["billing", "refunds"],
    )
    _finished(agent, finished, required_skills=["technical"])
    CaseAssignmentFactory(agent=agent, required_skills=["billing"])  # still open: not evidence yet
    # when
    result = specialization_assess(MaintenanceOptions())
    # then
    assert result.rows == 1
    billing.refresh_from_db()
    assert (billing.case_count, billing.success_rate, billing.confidence) == (
        4,
        Decimal("0.75"),
        Decimal("0.57"),
    )
    untouched.refresh_from_db()
    assert (untouched.case_count, untouched.confidence) == (7, Decimal("0.90"))  # no evidence: kept


def test_specialization_assessment_dry_run_counts_and_writes_nothing(agent: HumanAgent) -> None:
    row = AgentSpecializationFactory(agent=agent, specialization="billing", case_count=50)
    _finished(agent, timezone.now() - dt.timedelta(days=1), required_skills=["billing"])
    assert specialization_assess(MaintenanceOptions(dry_run=True)).rows == 1
    row.refresh_from_db()
    assert row.case_count == 50
