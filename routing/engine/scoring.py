"""Score and rank candidates for one case at one ring.

Order: hard exclusions first (rules.exclusion_reason), then the seed's frustration tier (high/critical
frustration to high-tolerance agents first), then the strategy's own order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from routing.engine import factors
from routing.engine.rules import exclusion_reason, tolerance_tier
from routing.engine.strategies.base import Strategy
from routing.engine.types import (
    AgentProfile,
    CaseProfile,
    FactorScores,
    Ranking,
    Ring,
    ScoredCandidate,
    Weights,
)


def score_agent(
    *, agent: AgentProfile, case: CaseProfile, ring: Ring, now: dt.datetime, lockout: int
) -> FactorScores:
    skill, skill_details = factors.skill_factor(agent=agent, case=case, ring=ring)
    performance, performance_details = factors.performance_factor(agent=agent)
    fit, _ = factors.frustration_fit_factor(agent=agent, case=case)
    fatigue, fatigue_details = factors.fatigue_factor(agent=agent, lockout=lockout)
    balance, balance_details = factors.load_balance_factor(agent=agent, now=now)
    return FactorScores(
        skill=skill,
        performance=performance,
        frustration_fit=fit,
        fatigue=fatigue,
        load_balance=balance,
        details={**skill_details, **performance_details, **fatigue_details, **balance_details},
    )


def rank_candidates(
    *,
    case: CaseProfile,
    ring: Ring,
    agents: Iterable[AgentProfile],
    strategy: Strategy,
    weights: Weights,
    now: dt.datetime,
    lockout: int,
) -> Ranking:
    scored: list[ScoredCandidate] = []
    excluded: dict[int, str] = {}
    for agent in agents:
        reason = exclusion_reason(agent=agent, case=case, ring=ring, lockout=lockout)
        if reason is not None:
            excluded[agent.agent_id] = reason
            continue
        factor_scores = score_agent(agent=agent, case=case, ring=ring, now=now, lockout=lockout)
        scored.append(
            ScoredCandidate(agent=agent, factors=factor_scores, total=strategy.total(factor_scores, weights))
        )
    scored.sort(
        key=lambda candidate: (
            tolerance_tier(frustration=case.frustration, tolerance=candidate.agent.frustration_tolerance),
            strategy.sort_key(candidate),
        )
    )
    return Ranking(ring=ring, strategy=strategy.name, candidates=tuple(scored), excluded=excluded)
