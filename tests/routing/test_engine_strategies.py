"""Each strategy's order, and the ranking rules applied on top of every strategy (no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from routing.engine import strategies
from routing.engine.rules import ring_for
from routing.engine.scoring import rank_candidates
from routing.engine.strategies.base import Strategy
from routing.engine.types import DEFAULT_WEIGHTS
from tests.routing.engine_builders import agent, case

NOW = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)
WEIGHTS = DEFAULT_WEIGHTS


def rank(strategy: str, agents, the_case=None):
    the_case = the_case or case()
    return rank_candidates(
        work=the_case,
        ring=ring_for(the_case, 0),
        agents=agents,
        strategy=strategies.get(strategy),
        weights=WEIGHTS,
        now=NOW,
        lockout=3,
    )


def winner_id(strategy: str, agents, the_case=None) -> int:
    return rank(strategy, agents, the_case).winner.agent.agent_id


def test_registry_names_the_strategies():
    assert strategies.names() == ["lead_fit", "least_busy", "performance_based", "round_robin", "skill_based"]
    with pytest.raises(KeyError):
        strategies.get("coin_flip")


def test_every_strategy_implements_the_interface():
    for name in strategies.names():
        strategy = strategies.get(name)
        assert isinstance(strategy, Strategy)
        assert strategy.name == name


def test_skill_based_prefers_the_more_proficient_agent():
    assert (
        winner_id(
            "skill_based",
            [
                agent(agent_id=1, skills={"billing": "intermediate"}),
                agent(agent_id=2, skills={"billing": "expert"}),
            ],
        )
        == 2
    )


def test_performance_based_prefers_the_better_performer_over_a_better_skill():
    strong_skill = agent(agent_id=1, skills={"billing": "expert"}, csat=4.0, escalation_rate=0.1, fcr=0.7)
    strong_perf = agent(agent_id=2, skills={"billing": "advanced"}, csat=5.0, escalation_rate=0.0, fcr=0.95)
    assert winner_id("skill_based", [strong_skill, strong_perf]) == 1
    assert winner_id("performance_based", [strong_skill, strong_perf]) == 2


def test_least_busy_prefers_the_smallest_share_of_capacity_in_use():
    busy_expert = agent(agent_id=1, skills={"billing": "expert"}, capacity=4, load=2)
    idle_intermediate = agent(agent_id=2, skills={"billing": "intermediate"}, capacity=5, load=1)
    assert winner_id("least_busy", [busy_expert, idle_intermediate]) == 2


def test_round_robin_prefers_the_agent_whose_turn_is_oldest():
    recent = agent(agent_id=1, last_assigned_at=NOW - dt.timedelta(minutes=1), skills={"billing": "expert"})
    older = agent(agent_id=2, last_assigned_at=NOW - dt.timedelta(hours=1))
    never = agent(agent_id=3, last_assigned_at=None)
    assert winner_id("round_robin", [recent, older, never]) == 3
    assert winner_id("round_robin", [recent, older]) == 2


def test_every_candidate_carries_every_factor_and_a_total_in_range():
    ranking = rank("skill_based", [agent(), agent(stress=0.9)])
    for candidate in ranking.candidates:
        record = candidate.as_record()
        assert set(record["factors"]) == {
            "skill",
            "performance",
            "frustration_fit",
            "fatigue",
            "load_balance",
        }
        assert 0 <= record["total"] <= 1


def test_excluded_agents_are_reported_with_their_reason():
    ranking = rank("skill_based", [agent(agent_id=1), agent(agent_id=2, in_schedule=False)])
    assert [c.agent.agent_id for c in ranking.candidates] == [1]
    assert ranking.excluded == {2: "in_schedule"}


@pytest.mark.parametrize("strategy", ["skill_based", "round_robin", "least_busy", "performance_based"])
def test_high_frustration_goes_to_high_tolerance_first_whatever_the_strategy(strategy):
    medium_star = agent(
        agent_id=1, tolerance="medium", skills={"billing": "expert"}, csat=5.0, last_assigned_at=None
    )
    high_plain = agent(
        agent_id=2,
        tolerance="high",
        skills={"billing": "intermediate"},
        csat=3.0,
        last_assigned_at=NOW,
        load=3,
    )
    assert winner_id(strategy, [medium_star, high_plain], case(frustration="high")) == 2
    assert winner_id(strategy, [medium_star, high_plain], case(frustration="low")) == 1


def test_fatigue_lowers_the_score_of_an_otherwise_equal_agent():
    ranking = rank("skill_based", [agent(agent_id=1, stress=0.8), agent(agent_id=2, stress=0.0)])
    assert ranking.winner.agent.agent_id == 2
