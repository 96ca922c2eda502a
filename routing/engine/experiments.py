"""Experiments of routing strategies: sticky assignment and the statistics of the results. Pure: no ORM,
no Django, no scipy (tests/routing/leads/test_experiment_stats.py checks every figure against scipy).

Assignment. A lead's bucket is the first 8 bytes of SHA-256("<experiment id>:<lead id>") read as an
integer over 2**64, a number in [0, 1) that is the same in every process and on every machine. The
variants, in their stored order (position, then name), divide [0, 1) by their cumulative allocations
(percent, summing to exactly 100, computed in Decimal so no float drift moves a boundary); the bucket
falls in exactly one. The chosen variant is also stored (LeadExperimentAssignment), and a running or
paused experiment refuses edits that would move the boundaries (allocations, order, the set of variants).

Statistics, per variant against the control, on the success metric "conversion" (a proportion):
- rate p = conversions / units, with a 95 % Wilson interval (for the chart: it stays inside [0, 1]);
- absolute lift d = p_variant - p_control with a 95 % Wald interval, d +- z * sqrt(p_v(1-p_v)/n_v +
  p_c(1-p_c)/n_c) (the unpooled standard error: the interval of a difference);
- relative lift d / p_control, its interval the absolute one divided by p_control (p_control taken as
  known: a first-order approximation, stated so);
- the two-proportion z-test: z = d / sqrt(p(1-p)(1/n_v + 1/n_c)) with the pooled p (the standard error
  under the null hypothesis of no difference), two-sided p-value erfc(|z| / sqrt 2).
Sample ratio mismatch: Pearson's chi-square of the units per variant against the allocation (expected
= total x allocation), k - 1 degrees of freedom, p-value the chi-square survival function (regularised
upper incomplete gamma Q(df/2, x/2)); flagged when p < SRM_ALPHA (0.001), judged only when every variant
has at least SRM_MIN_UNITS (8) units (with fewer the chi-square approximation is not trustworthy).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

Z_95 = 1.959963984540054  # the standard normal's 0.975 quantile
SRM_ALPHA = 0.001
SRM_MIN_UNITS = 8
HUNDRED = Decimal(100)


# --- assignment -------------------------------------------------------------------------------------


def bucket(experiment_id: object, lead_id: object) -> float:
    """The lead's sticky position in [0, 1) for the experiment."""
    digest = hashlib.sha256(f"{experiment_id}:{lead_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class Arm:
    """A variant as the engine sees it: its id and allocation in percent, in the stored order."""

    variant_id: str
    allocation: Decimal
    is_control: bool = False


class AllocationError(ValueError):
    """The variants cannot run: `problems` lists why (e.g. allocations total 90, not 100)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def allocation_problems(arms: Sequence[Arm], *, require_control: bool = True) -> list[str]:
    """Why the variants cannot run, or [] if they can: at least two, allocations 0-100 totalling exactly
    100, exactly one control."""
    problems = []
    if len(arms) < 2:
        problems.append(f"An experiment needs at least two variants (it has {len(arms)}).")
    for arm in arms:
        if not Decimal(0) <= Decimal(arm.allocation) <= HUNDRED:
            problems.append(f"Allocation {arm.allocation} is outside 0-100.")
    total = sum((Decimal(arm.allocation) for arm in arms), Decimal(0))
    if arms and total != HUNDRED:
        problems.append(f"Allocations total {total.normalize():f} %, not 100 %.")
    controls = sum(1 for arm in arms if arm.is_control)
    if require_control and controls != 1:
        problems.append(f"Exactly one variant must be the control (there are {controls}).")
    return problems


def choose_arm(arms: Sequence[Arm], position: float) -> Arm:
    """The arm whose cumulative allocation range holds `position` (in [0, 1)). Arms with allocation 0
    are never chosen; the last arm with a share takes what rounding might leave."""
    funded = [arm for arm in arms if Decimal(arm.allocation) > 0]
    if not funded:
        raise AllocationError(["No variant has any allocation."])
    point = Decimal(repr(position)) * HUNDRED
    cumulative = Decimal(0)
    for arm in funded:
        cumulative += Decimal(arm.allocation)
        if point < cumulative:
            return arm
    return funded[-1]


def reshuffles(before: Sequence[Arm], after: Sequence[Arm]) -> bool:
    """Whether changing the variants from `before` to `after` would move any lead to another variant:
    any change of the set, order or allocations."""
    return [(a.variant_id, Decimal(a.allocation)) for a in before] != [
        (a.variant_id, Decimal(a.allocation)) for a in after
    ]


# --- statistics ------------------------------------------------------------------------------------


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2))


def _gamma_series(a: float, x: float) -> float:
    """The regularised lower incomplete gamma P(a, x) by its series (x < a + 1)."""
    term = total = 1.0 / a
    n = a
    for _ in range(1000):
        n += 1
        term *= x / n
        total += term
        if abs(term) < abs(total) * 1e-15:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _gamma_continued_fraction(a: float, x: float) -> float:
    """The regularised upper incomplete gamma Q(a, x) by Lentz's continued fraction (x >= a + 1)."""
    tiny = 1e-300
    b = x + 1 - a
    c = 1 / tiny
    d = 1 / b
    h = d
    for i in range(1, 1000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def chi2_sf(statistic: float, df: int) -> float:
    """P(X > statistic) for X chi-square with `df` degrees of freedom."""
    if statistic <= 0:
        return 1.0
    a, x = df / 2, statistic / 2
    if x < a + 1:
        return max(0.0, 1.0 - _gamma_series(a, x))
    return _gamma_continued_fraction(a, x)


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Comparison:
    absolute_lift: float
    absolute_ci: tuple[float, float]
    relative_lift: float | None
    relative_ci: tuple[float, float] | None
    z: float | None
    p_value: float | None


def compare_proportions(
    *, conversions: int, units: int, control_conversions: int, control_units: int, z_crit: float = Z_95
) -> Comparison | None:
    """The variant against the control (see the module docstring); None when either has no units."""
    if units == 0 or control_units == 0:
        return None
    p_v, p_c = conversions / units, control_conversions / control_units
    lift = p_v - p_c
    se = math.sqrt(p_v * (1 - p_v) / units + p_c * (1 - p_c) / control_units)
    ci = (lift - z_crit * se, lift + z_crit * se)
    pooled = (conversions + control_conversions) / (units + control_units)
    se_null = math.sqrt(pooled * (1 - pooled) * (1 / units + 1 / control_units))
    if se_null > 0:
        z = lift / se_null
        p_value = math.erfc(abs(z) / math.sqrt(2))
    else:  # both rates 0 or both 1: no evidence of a difference
        z, p_value = 0.0, 1.0
    relative = lift / p_c if p_c > 0 else None
    relative_ci = (ci[0] / p_c, ci[1] / p_c) if p_c > 0 else None
    return Comparison(lift, ci, relative, relative_ci, z, p_value)


@dataclass(frozen=True)
class SrmCheck:
    statistic: float | None
    p_value: float | None
    judged: bool  # every variant had at least SRM_MIN_UNITS units
    mismatch: bool


def sample_ratio_check(
    units: Sequence[int], allocations: Sequence[Decimal | float], *, alpha: float = SRM_ALPHA
) -> SrmCheck:
    """Pearson's chi-square of `units` per variant against the `allocations` (percent)."""
    pairs = [(n, float(share)) for n, share in zip(units, allocations, strict=True) if float(share) > 0]
    total = sum(n for n, _ in pairs)
    share_total = sum(share for _, share in pairs)
    if len(pairs) < 2 or total == 0 or share_total <= 0:
        return SrmCheck(None, None, judged=False, mismatch=False)
    statistic = 0.0
    for n, share in pairs:
        expected = total * share / share_total
        statistic += (n - expected) ** 2 / expected
    p_value = chi2_sf(statistic, len(pairs) - 1)
    judged = all(n >= SRM_MIN_UNITS for n, _ in pairs)
    return SrmCheck(statistic, p_value, judged=judged, mismatch=judged and p_value < alpha)


@dataclass(frozen=True)
class VariantTotals:
    variant_id: str
    name: str
    allocation: Decimal
    is_control: bool
    units: int
    conversions: int
    guardrails: dict[str, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class VariantResult:
    totals: VariantTotals
    rate: float | None
    rate_ci: tuple[float, float] | None
    comparison: Comparison | None


@dataclass(frozen=True)
class ExperimentResults:
    variants: list[VariantResult]
    srm: SrmCheck
    total_units: int


def experiment_results(variants: Sequence[VariantTotals]) -> ExperimentResults:
    """Every variant's rate and interval, its comparison with the control, and the SRM check."""
    control = next((v for v in variants if v.is_control), None)
    results = []
    for totals in variants:
        rate = totals.conversions / totals.units if totals.units else None
        comparison = None
        if control is not None and totals is not control:
            comparison = compare_proportions(
                conversions=totals.conversions,
                units=totals.units,
                control_conversions=control.conversions,
                control_units=control.units,
            )
        results.append(
            VariantResult(
                totals=totals,
                rate=rate,
                rate_ci=wilson_interval(totals.conversions, totals.units) if totals.units else None,
                comparison=comparison,
            )
        )
    srm = sample_ratio_check([v.units for v in variants], [v.allocation for v in variants])
    return ExperimentResults(variants=results, srm=srm, total_units=sum(v.units for v in variants))
