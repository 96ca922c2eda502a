"""Each score factor on its own, without a database."""

from __future__ import annotations

import datetime as dt

import pytest

from agents.models import FrustrationTolerance, Proficiency
from routing.engine.rules import ring_for
from routing.engine.types import FRUSTRATION_ORDER, PRIORITY_ORDER, PROFICIENCY_ORDER, TOLERANCE_ORDER
from routing.models import Frustration, Priority
from tests.routing.engine_builders import agent, case, factor_value

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


def test_engine_orders_mirror_the_model_choices():
    assert tuple(Proficiency.values) == PROFICIENCY_ORDER
    assert tuple(Priority.values) == PRIORITY_ORDER
    assert tuple(Frustration.values) == FRUSTRATION_ORDER
    assert tuple(FrustrationTolerance.values) == TOLERANCE_ORDER


def test_skill_factor_rises_with_proficiency():
    the_case = case(required_skills=("billing",))
    ring = ring_for(the_case, 0)
    basic, _ = factor_value("skill", agent=agent(skills={"billing": "basic"}), work=the_case, ring=ring)
    expert, details = factor_value(
        "skill", agent=agent(skills={"billing": "expert"}), work=the_case, ring=ring
    )
    assert basic < expert
    assert details["proficiency"] == 1.0
    assert expert == pytest.approx(0.8)


def test_skill_factor_counts_a_missing_skill_as_zero():
    the_case = case(required_skills=("billing", "refunds"))
    value, details = factor_value(
        "skill", agent=agent(skills={"billing": "expert"}), work=the_case, ring=ring_for(the_case, 2)
    )
    assert details["proficiency"] == pytest.approx(0.5)


def test_skill_factor_adds_specialization_confidence_for_a_required_skill_or_requested_specialization():
    the_case = case(required_skills=("billing",), specializations=("enterprise_accounts",))
    ring = ring_for(the_case, 0)
    plain = agent(skills={"billing": "advanced"})
    matching = agent(skills={"billing": "advanced"}, specializations={"enterprise_accounts": 0.9})
    unrelated = agent(skills={"billing": "advanced"}, specializations={"gardening": 1.0})
    by_skill = agent(skills={"billing": "advanced"}, specializations={"billing": 0.5})
    value_plain, _ = factor_value("skill", agent=plain, work=the_case, ring=ring)
    value_matching, details = factor_value("skill", agent=matching, work=the_case, ring=ring)
    value_unrelated, _ = factor_value("skill", agent=unrelated, work=the_case, ring=ring)
    value_by_skill, _ = factor_value("skill", agent=by_skill, work=the_case, ring=ring)
    assert details["specialization"] == 0.9
    assert value_matching == pytest.approx(value_plain + 0.2 * 0.9)
    assert value_unrelated == value_plain
    assert value_by_skill == pytest.approx(value_plain + 0.2 * 0.5)


def test_performance_factor_combines_csat_escalation_and_fcr():
    best, _ = factor_value("performance", agent=agent(csat=5.0, escalation_rate=0.0, fcr=1.0))
    worst, _ = factor_value("performance", agent=agent(csat=1.0, escalation_rate=1.0, fcr=0.0))
    unknown, _ = factor_value("performance", agent=agent(csat=None, escalation_rate=None, fcr=None))
    assert best == 1.0
    assert worst == 0.0
    assert unknown == 0.5


@pytest.mark.parametrize(
    ("frustration", "tolerance", "expected"),
    [
        ("low", "low", 1.0),
        ("high", "high", 1.0),
        ("high", "medium", 0.7),
        ("high", "low", 0.3),
        ("critical", "medium", 0.5),
    ],
)
def test_frustration_fit_prefers_tolerant_agents_for_frustrated_customers(frustration, tolerance, expected):
    value, _ = factor_value(
        "frustration_fit", agent=agent(tolerance=tolerance), work=case(frustration=frustration)
    )
    assert value == expected


def test_fatigue_factor_falls_with_stress_and_with_the_difficult_streak():
    rested, _ = factor_value("fatigue", agent=agent(stress=0.0, consecutive_difficult=0), lockout=3)
    stressed, _ = factor_value("fatigue", agent=agent(stress=0.5, consecutive_difficult=0), lockout=3)
    streaky, _ = factor_value("fatigue", agent=agent(stress=0.0, consecutive_difficult=2), lockout=3)
    spent, _ = factor_value("fatigue", agent=agent(stress=1.0, consecutive_difficult=3), lockout=3)
    assert rested == 1.0
    assert stressed == pytest.approx(0.7)
    assert streaky == pytest.approx(1 - 0.4 * 2 / 3)
    assert spent == 0.0
    open_ones, _ = factor_value("fatigue", agent=agent(consecutive_difficult=1, open_difficult=1), lockout=3)
    assert open_ones == pytest.approx(streaky)  # open difficult cases weigh like completed ones


def test_load_balance_prefers_spare_capacity_then_longest_idle():
    empty, _ = factor_value("load_balance", agent=agent(capacity=4, load=0, last_assigned_at=None), now=NOW)
    half, _ = factor_value("load_balance", agent=agent(capacity=4, load=2, last_assigned_at=None), now=NOW)
    recent, _ = factor_value(
        "load_balance",
        agent=agent(capacity=4, load=0, last_assigned_at=NOW - dt.timedelta(minutes=1)),
        now=NOW,
    )
    assert empty == 1.0
    assert half == pytest.approx(0.7 * 0.5 + 0.3)
    assert recent < empty
