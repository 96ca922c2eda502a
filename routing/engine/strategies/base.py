"""The interface every strategy implements.

A strategy decides two things: the total of a candidate (0..1, stored as the match score) and the
order of candidates. It also names the SQL pre-rank keys the selector uses to keep the top K of the
candidate pool, so the database pre-ranks by what the strategy ranks by. Keys: `score` (this
strategy's weighted total of all five factors, computed in SQL by the same formulas as `factors`),
`skill` (sum of proficiency over the required skills, high first), `spare_capacity` (high first),
`load_ratio` (low first), `idle` (longest since last assignment first, never assigned first),
`performance` (CSAT high first). routing.selectors.candidates explains the pool.

The seed rule that high/critical frustration goes to high-tolerance agents first is applied by the
scorer on top of every strategy, not by each strategy.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC
from typing import ClassVar

from routing.engine.types import FactorScores, ScoredCandidate, Weights

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class Strategy(ABC):
    name: ClassVar[str]
    prerank: ClassVar[tuple[str, ...]] = ("score", "spare_capacity", "idle")

    def weights(self, weights: Weights) -> Weights:
        """The weights this strategy totals with; the configured ones unless it overrides this."""
        return weights

    def total(self, factors: FactorScores, weights: Weights) -> float:
        weights = self.weights(weights)
        weight_sum = sum(weights.as_dict().values()) or 1.0
        return (
            factors.skill * weights.skill
            + factors.performance * weights.performance
            + factors.frustration_fit * weights.frustration_fit
            + factors.fatigue * weights.fatigue
            + factors.load_balance * weights.load_balance
        ) / weight_sum

    def sort_key(self, candidate: ScoredCandidate) -> tuple:
        """Smaller sorts first. Default: best total, then spare capacity, then longest idle."""
        return (-candidate.total, *self.tie_break(candidate))

    @staticmethod
    def tie_break(candidate: ScoredCandidate) -> tuple:
        agent = candidate.agent
        return (-agent.spare_capacity, agent.last_assigned_at or _EPOCH, agent.agent_id)
