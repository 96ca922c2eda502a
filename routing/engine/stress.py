"""The stress score: how loaded an agent is right now, 0 (rested) to 1 (at the limit).

Three recent signals, each capped, worth a fixed number of points out of 100:

- load (50 points): cases assigned today against a day's capacity, where a day's capacity is
  `max_concurrent_work * CASES_PER_SLOT_PER_DAY` (each concurrent slot turns over about four cases in a
  shift); 50 points at or above capacity;
- difficult-case streak (30 points): the live `consecutive_difficult_cases` against the routing fatigue
  lockout (settings.ROUTING["DIFFICULT_CASE_LOCKOUT"]); 30 points once the agent is locked out;
- recent escalations (20 points): escalations in the last ESCALATION_WINDOW_DAYS days, 20 points at
  ESCALATIONS_AT_MAX or more.

The score is the sum rounded half up to whole points, divided by 100 (so it has two decimals and never
leaves 0..1 because every part is capped). The rounding is done in integer arithmetic, one common
denominator and one floor division, so that routing.metrics can state the same formula in SQL and get
exactly the same number on PostgreSQL and SQLite; tests/routing/test_recompute_metrics.py holds the two
to agreement.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

LOAD_POINTS = 50
STREAK_POINTS = 30
ESCALATION_POINTS = 20
CASES_PER_SLOT_PER_DAY = 4
ESCALATIONS_AT_MAX = 5
ESCALATION_WINDOW_DAYS = 7


@dataclass(frozen=True)
class StressInputs:
    cases_today: int
    max_concurrent_work: int
    consecutive_difficult_cases: int
    recent_escalations: int


def _capped(value: int, cap: int) -> int:
    return min(max(value, 0), cap)


def stress_points(inputs: StressInputs, *, lockout: int) -> int:
    """Whole points 0..100: round_half_up(50*load/T + 30*streak/L + 20*escalations/E)."""
    day_capacity = max(inputs.max_concurrent_work, 1) * CASES_PER_SLOT_PER_DAY
    streak_cap = max(lockout, 1)
    load = _capped(inputs.cases_today, day_capacity)
    streak = _capped(inputs.consecutive_difficult_cases, streak_cap)
    escalations = _capped(inputs.recent_escalations, ESCALATIONS_AT_MAX)
    denominator = day_capacity * streak_cap * ESCALATIONS_AT_MAX
    numerator = (
        LOAD_POINTS * load * streak_cap * ESCALATIONS_AT_MAX
        + STREAK_POINTS * streak * day_capacity * ESCALATIONS_AT_MAX
        + ESCALATION_POINTS * escalations * day_capacity * streak_cap
    )
    return (2 * numerator + denominator) // (2 * denominator)


def stress_score(inputs: StressInputs, *, lockout: int) -> Decimal:
    return Decimal(stress_points(inputs, lockout=lockout)) / 100
