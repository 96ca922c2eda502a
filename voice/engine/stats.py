"""Percentiles as the analytics compute them: nearest rank (PostgreSQL's percentile_disc).

The p95 of a set is its smallest value with at least 95 % of the values at or below it, always one of
the values (never an interpolation). PostgreSQL computes it with `percentile_disc`; SQLite with the
aggregate registered on its connections (voice.apps), which calls `nearest_rank`, so both databases
give the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def nearest_rank(values: Sequence[float], fraction: float) -> float | None:
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be within 0..1")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class NearestRankAggregate:
    """sqlite3 aggregate: PERCENTILE_DISC_VOICE(value, fraction), NULL values ignored."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        self.fraction = fraction
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return nearest_rank(self.values, self.fraction)
