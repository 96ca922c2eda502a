from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agents.models import AgentAvailability, AgentPerformance, AvailabilityStatus, HumanAgent
from routing.engine.stress import StressInputs, stress_points, stress_score
from routing.integrity import integrity_run
from routing.metrics import availability_loads_reconcile, performance_recompute
from routing.models import AssignmentStatus, CaseAssignment
from tests.factories.agents import HumanAgentFactory
from tests.factories.routing import CaseAssignmentFactory

NOW = dt.datetime(2026, 3, 18, 12, 0, tzinfo=dt.UTC)  # a Wednesday
FINISHED = {AssignmentStatus.COMPLETED, AssignmentStatus.ESCALATED, AssignmentStatus.TRANSFERRED}


def _at(day: int, hour: int, month: int = 3, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def _assignment(
    agent: HumanAgent, assigned_at: dt.datetime, status: str = AssignmentStatus.COMPLETED, **fields
):
    if status in FINISHED:
        fields.setdefault("completed_at", assigned_at + dt.timedelta(minutes=30))
    return CaseAssignmentFactory(agent=agent, assigned_at=assigned_at, status=status, **fields)


def _performance(agent: HumanAgent) -> AgentPerformance:
    return AgentPerformance.objects.get(agent=agent)


# --- the pure formula ------------------------------------------------------------------------------------


def test_stress_is_zero_for_a_rested_agent() -> None:
    assert stress_score(StressInputs(0, 5, 0, 0), lockout=3) == Decimal("0")


def test_stress_is_one_at_every_limit_and_never_above() -> None:
    assert stress_score(StressInputs(20, 5, 3, 5), lockout=3) == Decimal("1")
    assert stress_score(StressInputs(500, 5, 40, 90), lockout=3) == Decimal("1")


def test_stress_weighs_load_streak_and_escalations_50_30_20() -> None:
    assert stress_points(StressInputs(20, 5, 0, 0), lockout=3) == 50
    assert stress_points(StressInputs(0, 5, 3, 0), lockout=3) == 30
    assert stress_points(StressInputs(0, 5, 0, 5), lockout=3) == 20
    assert stress_points(StressInputs(2, 5, 2, 1), lockout=3) == 29  # 5 + 20 + 4


def test_stress_rounds_half_points_up() -> None:
    # 1 case of a 20-case day is 2.5 load points
    assert stress_score(StressInputs(1, 5, 0, 0), lockout=3) == Decimal("0.03")


def test_stress_survives_a_zero_lockout() -> None:
    assert stress_points(StressInputs(0, 5, 1, 0), lockout=0) == 30


# --- the set-based recompute -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_recompute_builds_counts_rates_csat_and_stress_from_assignments() -> None:
    # given
    agent = HumanAgentFactory(max_concurrent_work=5)
    AgentPerformance.objects.filter(agent=agent).update(consecutive_difficult_cases=2)
    _assignment(agent, _at(18, 10), csat_rating=5, resolution_minutes=20)
    _assignment(agent, _at(18, 9), AssignmentStatus.IN_PROGRESS, csat_rating=None)
    _assignment(agent, _at(16, 9), csat_rating=4, resolution_minutes=30, escalated=True)
    _assignment(agent, _at(3, 9), AssignmentStatus.TRANSFERRED, csat_rating=None)
    _assignment(agent, _at(20, 9, month=2), AssignmentStatus.ESCALATED, csat_rating=2)
    _assignment(agent, _at(1, 9, month=11, year=2025), csat_rating=1, resolution_minutes=90)  # > 90 days
    # when
    performance_recompute(now=NOW)
    # then
    snapshot = _performance(agent)
    assert (snapshot.cases_today, snapshot.cases_this_week, snapshot.cases_this_month) == (2, 3, 4)
    assert snapshot.avg_resolution_minutes == 25
    assert snapshot.csat_score == Decimal("3.67")
    assert snapshot.escalation_rate == Decimal("0.5")  # Monday's flag and February's status, of 4 finished
    assert snapshot.first_contact_resolution_rate == Decimal("0.25")  # only today's clean completion
    assert snapshot.stress_score == Decimal("0.29")


@pytest.mark.django_db
def test_agent_without_assignments_gets_zero_counts_and_empty_rates() -> None:
    agent = HumanAgentFactory()
    AgentPerformance.objects.filter(agent=agent).update(
        cases_today=9,
        cases_this_week=9,
        cases_this_month=9,
        avg_resolution_minutes=40,
        stress_score=Decimal("0.8"),
    )
    performance_recompute(now=NOW)
    snapshot = _performance(agent)
    assert (snapshot.cases_today, snapshot.cases_this_week, snapshot.cases_this_month) == (0, 0, 0)
    assert snapshot.avg_resolution_minutes is None
    assert snapshot.csat_score is None
    assert snapshot.escalation_rate is None and snapshot.first_contact_resolution_rate is None
    assert snapshot.stress_score == Decimal("0")


@pytest.mark.django_db
def test_recompute_creates_missing_snapshots() -> None:
    agent = HumanAgentFactory()
    AgentPerformance.objects.filter(agent=agent).delete()
    _assignment(agent, _at(18, 9))
    result = performance_recompute(now=NOW)
    assert result.created == 1
    assert _performance(agent).cases_today == 1


@pytest.mark.django_db
def test_recompute_leaves_live_fields_alone() -> None:
    agent = HumanAgentFactory()
    difficult_at, break_at = _at(18, 8), _at(17, 15)
    AgentPerformance.objects.filter(agent=agent).update(
        consecutive_difficult_cases=4, last_difficult_case_at=difficult_at, last_break_at=break_at
    )
    AgentAvailability.objects.filter(agent=agent).update(current_load=3)
    _assignment(agent, _at(18, 9))
    performance_recompute(now=NOW)
    snapshot = _performance(agent)
    assert snapshot.consecutive_difficult_cases == 4
    assert snapshot.last_difficult_case_at == difficult_at and snapshot.last_break_at == break_at
    assert AgentAvailability.objects.get(agent=agent).current_load == 3


@pytest.mark.django_db
def test_recompute_is_idempotent() -> None:
    agent = HumanAgentFactory()
    _assignment(agent, _at(18, 9), csat_rating=3, resolution_minutes=17, escalated=True)
    fields = [f.name for f in AgentPerformance._meta.fields if f.name != "last_updated"]
    performance_recompute(now=NOW)
    first = list(AgentPerformance.objects.order_by("pk").values_list(*fields))
    performance_recompute(now=NOW)
    assert list(AgentPerformance.objects.order_by("pk").values_list(*fields)) == first


@pytest.mark.django_db
def test_small_agent_batches_give_the_same_snapshot() -> None:
    agents = HumanAgentFactory.create_batch(5)
    for index, agent in enumerate(agents):
        for hour in range(index + 1):
            _assignment(agent, _at(18, 8 + hour), csat_rating=1 + hour % 5)
    fields = [f.name for f in AgentPerformance._meta.fields if f.name != "last_updated"]
    performance_recompute(now=NOW)
    whole = list(AgentPerformance.objects.order_by("pk").values_list(*fields))
    AgentPerformance.objects.update(cases_today=0, csat_score=None)
    result = performance_recompute(now=NOW, batch_size=2)
    assert result.batches == 4  # 3 roster agents + 5
    assert list(AgentPerformance.objects.order_by("pk").values_list(*fields)) == whole


# (capacity, cases today, streak, escalations in the last week): includes half-point roundings
STRESS_SAMPLES = [
    (5, 1, 0, 0),
    (5, 3, 1, 1),
    (1, 9, 2, 3),
    (3, 5, 4, 0),
    (7, 2, 0, 6),
    (2, 0, 1, 2),
    (4, 7, 3, 1),
]


@pytest.mark.django_db
def test_sql_stress_agrees_with_the_pure_formula() -> None:
    # given
    expected = {}
    for capacity, today, streak, escalations in STRESS_SAMPLES:
        agent = HumanAgentFactory(max_concurrent_work=capacity)
        AgentPerformance.objects.filter(agent=agent).update(consecutive_difficult_cases=streak)
        for hour in range(today):
            _assignment(agent, _at(18, hour))
        for day in range(escalations):
            _assignment(agent, _at(16 - day % 5, 9 + day), escalated=True)
        expected[agent.pk] = stress_score(StressInputs(today, capacity, streak, escalations), lockout=3)
    # when
    performance_recompute(now=NOW)
    # then
    stored = dict(
        AgentPerformance.objects.filter(agent_id__in=expected).values_list("agent_id", "stress_score")
    )
    assert stored == expected


@pytest.mark.django_db
def test_recompute_query_count_does_not_grow_with_rows() -> None:
    agent = HumanAgentFactory()
    _assignment(agent, _at(18, 9))
    with CaptureQueriesContext(connection) as few:
        performance_recompute(now=NOW)
    for agent in HumanAgentFactory.create_batch(10):
        for hour in range(5):
            _assignment(agent, _at(17, 9 + hour))
    with CaptureQueriesContext(connection) as many:
        performance_recompute(now=NOW)
    assert len(many) == len(few)


@pytest.mark.django_db
def test_command_prints_what_it_did() -> None:
    HumanAgentFactory()
    out = io.StringIO()
    call_command("recompute_metrics", stdout=out)
    assert "snapshots updated" in out.getvalue()
    assert str(HumanAgent.objects.count()) in out.getvalue()
    assert CaseAssignment.objects.count() == 0


@pytest.mark.django_db
def test_escalated_completions_count_as_finished_and_resolved() -> None:
    # given one clean completion and one escalated completion, as routing.services writes them
    agent = HumanAgentFactory()
    _assignment(agent, _at(18, 9), resolution_minutes=20, csat_rating=5)
    _assignment(agent, _at(18, 10), AssignmentStatus.ESCALATED, escalated=True, resolution_minutes=40)
    # when
    performance_recompute(now=NOW)
    # then both are finished, both resolution times count, only the clean one is first-contact
    snapshot = _performance(agent)
    assert snapshot.escalation_rate == Decimal("0.5")
    assert snapshot.first_contact_resolution_rate == Decimal("0.5")
    assert snapshot.avg_resolution_minutes == 30


# --- loads -----------------------------------------------------------------------------------------------


def _availability(agent: HumanAgent) -> tuple[int, str]:
    row = AgentAvailability.objects.get(agent=agent)
    return row.current_load, row.status


@pytest.fixture
def floor() -> dict[str, HumanAgent]:
    """Agents whose stored load disagrees with their open assignments, in every status kind."""
    HumanAgent.objects.all().delete()
    agents = {
        "seeded": HumanAgentFactory(max_concurrent_work=2),  # load 2, nothing open (the roster seed)
        "undercounted": HumanAgentFactory(max_concurrent_work=2),  # load 0, two open
        "partly": HumanAgentFactory(max_concurrent_work=5),  # load 4, one open
        "override": HumanAgentFactory(max_concurrent_work=2),  # busy by a supervisor, load 2, none open
        "on_break": HumanAgentFactory(max_concurrent_work=2),  # on break, load 1, none open
        "fine": HumanAgentFactory(max_concurrent_work=3),  # load 1, one open: untouched
    }
    for name in ("undercounted", "undercounted", "partly", "fine"):
        _assignment(agents[name], _at(18, 9), AssignmentStatus.ASSIGNED)
    updates = {
        "seeded": {"current_load": 2, "status": AvailabilityStatus.BUSY},
        "undercounted": {"current_load": 0, "status": AvailabilityStatus.AVAILABLE},
        "partly": {"current_load": 4, "status": AvailabilityStatus.AVAILABLE},
        "override": {
            "current_load": 2,
            "status": AvailabilityStatus.BUSY,
            "manual_override": True,
            "override_reason": "coaching",
        },
        "on_break": {"current_load": 1, "status": AvailabilityStatus.BREAK},
        "fine": {"current_load": 1, "status": AvailabilityStatus.AVAILABLE},
    }
    for name, fields in updates.items():
        AgentAvailability.objects.filter(agent=agents[name]).update(status_since=NOW, **fields)
    return agents


@pytest.mark.django_db
def test_reconcile_sets_loads_to_open_assignments_and_status_to_match(floor: dict[str, HumanAgent]) -> None:
    # when
    later = NOW + dt.timedelta(hours=1)
    result = availability_loads_reconcile(now=later)
    # then every load equals the open assignments; busy/available follow the load unless overridden
    assert _availability(floor["seeded"]) == (0, AvailabilityStatus.AVAILABLE)
    assert _availability(floor["undercounted"]) == (2, AvailabilityStatus.BUSY)
    assert _availability(floor["partly"]) == (1, AvailabilityStatus.AVAILABLE)
    assert _availability(floor["override"]) == (0, AvailabilityStatus.BUSY)
    assert _availability(floor["on_break"]) == (0, AvailabilityStatus.BREAK)
    assert _availability(floor["fine"]) == (1, AvailabilityStatus.AVAILABLE)
    assert (result.corrected, result.statuses) == (5, 2)
    changed = AgentAvailability.objects.get(agent=floor["seeded"])
    assert changed.status_since == later  # its status changed now
    unchanged = AgentAvailability.objects.get(agent=floor["partly"])
    assert unchanged.status_since == NOW
    assert {r.name for r in integrity_run() if not r.ok} <= {"active_agents_without_schedule"}


@pytest.mark.django_db
def test_reconcile_is_idempotent(floor: dict[str, HumanAgent]) -> None:
    availability_loads_reconcile()
    before = list(AgentAvailability.objects.order_by("pk").values_list("pk", "current_load", "status"))
    again = availability_loads_reconcile()
    assert (again.corrected, again.statuses) == (0, 0)
    assert (
        list(AgentAvailability.objects.order_by("pk").values_list("pk", "current_load", "status")) == before
    )


@pytest.mark.django_db
def test_reconcile_query_count_does_not_grow_with_mismatches() -> None:
    HumanAgent.objects.all().delete()
    AgentAvailability.objects.filter(agent=HumanAgentFactory()).update(current_load=3)
    with CaptureQueriesContext(connection) as few:
        availability_loads_reconcile()
    for agent in HumanAgentFactory.create_batch(20):
        AgentAvailability.objects.filter(agent=agent).update(current_load=2)
    with CaptureQueriesContext(connection) as many:
        assert availability_loads_reconcile().corrected == 20
    assert len(many) == len(few)


@pytest.mark.django_db
def test_a_fresh_database_keeps_the_seeds_workload_as_history_and_passes_its_own_check() -> None:
    # the seed's roster said current_workload 2 with no open work behind it (issue 6, fault 13)
    assert not AgentAvailability.objects.exclude(current_load=0).exists()
    assert set(AgentPerformance.objects.values_list("legacy_workload", flat=True)) == {2}
    out = io.StringIO()
    call_command("check_integrity", stdout=out)  # exits 0: raises SystemExit otherwise
    assert "availability_load_mismatch" not in {r.name for r in integrity_run() if not r.ok}


@pytest.mark.django_db
def test_command_reconciles_drifted_loads_and_prints_how_many() -> None:
    # given three agents whose stored load drifted from their (no) open work
    AgentAvailability.objects.update(current_load=2)
    out = io.StringIO()
    # when
    call_command("recompute_metrics", stdout=out)
    # then
    assert not AgentAvailability.objects.exclude(current_load=0).exists()
    lines = out.getvalue().splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("loads corrected"))
    assert lines[header + 2].split()[0] == "3"
    assert "availability_load_mismatch" not in {r.name for r in integrity_run() if not r.ok}
