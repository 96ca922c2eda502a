"""Score and rank candidates for one piece of work at one ring.

Order: hard exclusions first (rules.exclusion_reason), then the seed's frustration tier (high/critical
frustration to high-tolerance agents first), then the strategy's own order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from routing.engine.factors import FactorInput, factor_scores
from routing.engine.rules import exclusion_reason, tolerance_tier
from routing.engine.strategies.base import Strategy
from routing.engine.types import (
    AgentProfile,
    FactorScores,
    Ranking,
    Ring,
    ScoredCandidate,
    Weights,
    WorkProfile,
)


def score_agent(
    *, agent: AgentProfile, work: WorkProfile, ring: Ring, now: dt.datetime, lockout: int, weights: Weights
) -> FactorScores:
    """The factors `weights` names (a strategy's weights) for one agent."""
    return factor_scores(weights, FactorInput(agent=agent, work=work, ring=ring, now=now, lockout=lockout))


def score_candidate(
    *,
    agent: AgentProfile,
    work: WorkProfile,
    ring: Ring,
    strategy: Strategy,
    configured: Weights,
    now: dt.datetime,
    lockout: int,
) -> ScoredCandidate:
    weights = strategy.weights(configured)
    scores = score_agent(agent=agent, work=work, ring=ring, now=now, lockout=lockout, weights=weights)
    return ScoredCandidate(agent=agent, factors=scores, total=strategy.total(scores, weights))


def rank_candidates(
    *,
    work: WorkProfile,
    ring: Ring,
    agents: Iterable[AgentProfile],
    strategy: Strategy,
    weights: Weights,
    now: dt.datetime,
    lockout: int,
) -> Ranking:
    """Rank `agents` for the work; `weights` are the configured ones (the strategy adjusts them)."""
    strategy_weights = strategy.weights(weights)
    scored: list[ScoredCandidate] = []
    excluded: dict[int, str] = {}
    for agent in agents:
        reason = exclusion_reason(agent=agent, work=work, ring=ring, lockout=lockout)
        if reason is not None:
            excluded[agent.agent_id] = reason
            continue
        scores = score_agent(
            agent=agent, work=work, ring=ring, now=now, lockout=lockout, weights=strategy_weights
        )
        scored.append(
            ScoredCandidate(agent=agent, factors=scores, total=strategy.total(scores, strategy_weights))
        )
    scored.sort(
        key=lambda candidate: (
            tolerance_tier(frustration=work.frustration, tolerance=candidate.agent.frustration_tolerance),
            strategy.sort_key(candidate),
        )
    )
    return Ranking(ring=ring, strategy=strategy.name, candidates=tuple(scored), excluded=excluded)
