from __future__ import annotations

import datetime as dt
import io
import random
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from agents.models import HumanAgent
from routing.history import history_generate, history_rows
from routing.models import AssignmentStatus, CaseAssignment, CaseStatus, SupportCase
from tests.factories.agents import HumanAgentFactory

pytestmark = pytest.mark.django_db

UNTIL = dt.date(2026, 3, 17)
RESOLUTION = {"low": (10, 25), "medium": (20, 45), "high": (35, 90)}


def _generate(**overrides: object) -> str:
    out = io.StringIO()
    options = {"days": 3, "per_day": 4, "seed": 42, "until": UNTIL.isoformat(), "no_progress": True}
    options.update(overrides)
    args = [
        f"--{key.replace('_', '-')}" if value is True else f"--{key.replace('_', '-')}={value}"
        for key, value in options.items()
        if value is not False
    ]
    call_command("generate_history", *args, stdout=out)
    return out.getvalue()


def _snapshot() -> list[tuple]:
    return list(
        CaseAssignment.objects.order_by("case_id").values_list(
            "id",
            "case_id",
            "agent_id",
            "customer_id",
            "assigned_at",
            "started_at",
            "completed_at",
            "priority",
            "complexity",
            "required_skills",
            "customer_frustration",
            "resolution_minutes",
            "csat_rating",
            "escalated",
            "status",
            "routing_confidence",
            "match_score",
        )
    )


def test_generates_one_completed_case_and_assignment_per_slot_on_past_days() -> None:
    # when
    output = _generate()
    # then
    assert "12" in output
    assert SupportCase.objects.filter(status=CaseStatus.COMPLETED).count() == 12
    assignments = list(CaseAssignment.objects.select_related("case"))
    assert len(assignments) == 12
    assert {a.case_id for a in assignments} == {
        f"case_{day:%Y%m%d}_{n:03d}"
        for day in (dt.date(2026, 3, 15), dt.date(2026, 3, 16), UNTIL)
        for n in range(4)
    }
    for a in assignments:
        # an escalated case ends as routing.services ends one: status escalated, flag set
        assert a.status == (AssignmentStatus.ESCALATED if a.escalated else AssignmentStatus.COMPLETED)
        assert a.routing_strategy == "skill_based"
        assert 9 <= a.assigned_at.hour <= 16
        assert dt.timedelta(minutes=1) <= a.started_at - a.assigned_at <= dt.timedelta(minutes=15)
        low, high = RESOLUTION[a.complexity]
        assert low <= a.resolution_minutes <= high
        assert a.completed_at == a.started_at + dt.timedelta(minutes=a.resolution_minutes)
        assert 1 <= a.csat_rating <= 5
        assert 0.7 <= float(a.routing_confidence) <= 0.95 and 70 <= float(a.match_score) <= 95
        assert a.case.priority == a.priority and a.case.created_at == a.assigned_at


def test_same_seed_gives_identical_rows_uuids_included() -> None:
    _generate()
    first = _snapshot()
    CaseAssignment.objects.all().delete()
    SupportCase.objects.all().delete()
    # when
    _generate()
    # then
    assert _snapshot() == first


def test_other_seed_gives_other_rows() -> None:
    _generate()
    first = _snapshot()
    CaseAssignment.objects.all().delete()
    SupportCase.objects.all().delete()
    _generate(seed=7)
    assert [row[2:] for row in _snapshot()] != [row[2:] for row in first]


def test_second_run_continues_case_numbers_instead_of_colliding() -> None:
    _generate()
    # when
    _generate()
    # then
    assert CaseAssignment.objects.count() == 24
    day_ids = sorted(
        SupportCase.objects.filter(case_id__startswith="case_20260317_").values_list("case_id", flat=True)
    )
    assert day_ids == [f"case_20260317_{n:03d}" for n in range(8)]


def test_if_empty_does_nothing_when_assignments_exist() -> None:
    _generate()
    # when
    output = _generate(if_empty=True, seed=99)
    # then
    assert "already exist" in output
    assert CaseAssignment.objects.count() == 12


def test_if_empty_generates_on_an_empty_database() -> None:
    _generate(if_empty=True)
    assert CaseAssignment.objects.count() == 12


def test_without_agents_it_exits_non_zero_with_the_reason() -> None:
    HumanAgent.objects.all().delete()
    with pytest.raises(CommandError, match="no agents"):
        _generate()
    assert not SupportCase.objects.exists()


def test_agents_only_active_assigns_to_active_agents_and_fails_when_there_are_none() -> None:
    HumanAgent.objects.update(is_active=False)
    with pytest.raises(CommandError, match="no active agents"):
        _generate(agents_only_active=True)
    active = HumanAgentFactory()
    _generate(agents_only_active=True)
    assert set(CaseAssignment.objects.values_list("agent_id", flat=True)) == {active.pk}


def test_escalated_history_has_the_live_status_and_metrics_count_it_as_finished() -> None:
    from decimal import Decimal

    from agents.models import AgentPerformance
    from routing.metrics import performance_recompute

    # given a history with escalations
    history_generate(days=10, per_day=20, seed=7, until=UNTIL, use_copy=False)
    escalated = CaseAssignment.objects.filter(escalated=True)
    assert escalated.exists()
    # then escalated rows carry status escalated, and only they do
    assert set(escalated.values_list("status", flat=True)) == {AssignmentStatus.ESCALATED}
    assert not CaseAssignment.objects.filter(escalated=False, status=AssignmentStatus.ESCALATED).exists()
    # and the recomputed rates count every history row as finished
    performance_recompute(now=dt.datetime(2026, 3, 18, 12, tzinfo=dt.UTC))
    total, flagged = CaseAssignment.objects.count(), escalated.count()
    rates = AgentPerformance.objects.filter(agent__case_assignments__isnull=False).distinct()
    weighted = sum(
        p.escalation_rate * CaseAssignment.objects.filter(agent_id=p.agent_id).count() for p in rates
    )
    assert round(weighted / total, 3) == round(Decimal(flagged) / total, 3)
    fcr = sum(
        p.first_contact_resolution_rate * CaseAssignment.objects.filter(agent_id=p.agent_id).count()
        for p in rates
    )
    assert round(fcr / total, 3) == round(Decimal(total - flagged) / total, 3)


@pytest.mark.postgres
def test_copy_and_bulk_create_write_the_same_rows() -> None:
    history_generate(days=3, per_day=10, seed=5, until=UNTIL, use_copy=True)
    copied = _snapshot()
    CaseAssignment.objects.all().delete()
    SupportCase.objects.all().delete()
    history_generate(days=3, per_day=10, seed=5, until=UNTIL, use_copy=False)
    assert _snapshot() == copied
    assert CaseAssignment.objects.filter(status=AssignmentStatus.ESCALATED).exists()


def test_small_batches_commit_everything() -> None:
    result = history_generate(days=3, per_day=4, seed=1, until=UNTIL, batch_size=5, use_copy=False)
    assert result.cases == 12 and CaseAssignment.objects.count() == 12


def test_distributions_follow_the_seed() -> None:
    # given: the pure generator, many rows, no database
    rows = list(
        history_rows(
            rng=random.Random(42),
            seed=42,
            agent_ids=[1, 2, 3],
            dates=[UNTIL - dt.timedelta(days=n) for n in range(40)],
            per_day=250,
            first_number={},
        )
    )
    total = len(rows)
    share = lambda counter, key: counter[key] / total  # noqa: E731
    priorities = Counter(row.priority for row in rows)
    complexities = Counter(row.complexity for row in rows)
    frustrations = Counter(row.frustration for row in rows)
    # then
    for key, expected in {"low": 0.5, "medium": 0.3, "high": 0.15, "critical": 0.05}.items():
        assert share(priorities, key) == pytest.approx(expected, abs=0.02)
    for key, expected in {"low": 0.4, "medium": 0.4, "high": 0.2}.items():
        assert share(complexities, key) == pytest.approx(expected, abs=0.02)
    for key, expected in {"low": 0.6, "moderate": 0.25, "high": 0.1, "critical": 0.05}.items():
        assert share(frustrations, key) == pytest.approx(expected, abs=0.02)
    assert sum(row.escalated for row in rows) / total == pytest.approx(0.15, abs=0.02)
    assert {tuple(row.required_skills) for row in rows} == {
        ("technical",),
        ("billing",),
        ("account_management",),
        ("technical", "billing"),
        ("general",),
    }
    # the satisfaction model: long or angry cases never reach the top ratings
    assert all(row.csat_rating <= 4 for row in rows if row.resolution_minutes > 60)
    assert all(row.csat_rating <= 4 for row in rows if row.frustration in ("high", "critical"))
    assert {row.csat_rating for row in rows} <= {2, 3, 4, 5}  # 3.5 - 0.5 - 0.3 truncates to 2
