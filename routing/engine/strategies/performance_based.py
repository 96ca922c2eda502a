from __future__ import annotations

from typing import Any

from routing.engine.strategies.base import Parameter, Strategy
from routing.engine.strategies.registry import register


def _share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError("a number between 0 and 1 (exclusive)")
    return float(value)


@register
class PerformanceBased(Strategy):
    """The weighted sum with performance weighing as much as all other factors together (a share of
    0.5 of the total weight, or the configured share if larger), so the best-performing eligible agent
    wins unless the others differ a lot."""

    name = "performance_based"
    parameters = (
        Parameter(
            "performance_share",
            "Share of the total weight given to performance, 0..1 (default: at least half).",
            _share,
        ),
    )

    def adjust_weights(self, weights: dict[str, float]) -> dict[str, float]:
        others = sum(weight for name, weight in weights.items() if name != "performance")
        share = self.values.get("performance_share")
        if share is None:
            performance = max(others, weights.get("performance", 0.0))
        else:
            performance = others * share / (1 - share)
        return {**weights, "performance": performance}
