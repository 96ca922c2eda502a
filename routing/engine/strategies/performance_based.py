from __future__ import annotations

from dataclasses import replace

from routing.engine.strategies.base import Strategy
from routing.engine.strategies.registry import register
from routing.engine.types import Weights


@register
class PerformanceBased(Strategy):
    """The weighted sum with performance weighing as much as all other factors together, so the
    best-performing eligible agent wins unless the others differ a lot."""

    name = "performance_based"
    prerank = ("score", "spare_capacity", "idle")

    def weights(self, weights: Weights) -> Weights:
        others = weights.skill + weights.frustration_fit + weights.fatigue + weights.load_balance
        return replace(weights, performance=max(others, weights.performance))
