"""The experiment statistics against scipy (an independent implementation), the sticky assignment and the
SRM check."""

from __future__ import annotations

import math
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest

from routing.engine.experiments import (
    Arm,
    allocation_problems,
    bucket,
    chi2_sf,
    choose_arm,
    compare_proportions,
    reshuffles,
    sample_ratio_check,
    wilson_interval,
)

stats = pytest.importorskip("scipy.stats")


@pytest.mark.parametrize(
    ("c_v", "n_v", "c_c", "n_c"),
    [(120, 1000, 100, 1000), (5, 40, 9, 41), (480, 5000, 530, 5100), (0, 10, 3, 12)],
)
def test_z_test_and_interval_match_scipy(c_v, n_v, c_c, n_c):
    result = compare_proportions(conversions=c_v, units=n_v, control_conversions=c_c, control_units=n_c)
    p_v, p_c = c_v / n_v, c_c / n_c
    pooled = (c_v + c_c) / (n_v + n_c)
    z = (p_v - p_c) / math.sqrt(pooled * (1 - pooled) * (1 / n_v + 1 / n_c))
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    se = math.sqrt(p_v * (1 - p_v) / n_v + p_c * (1 - p_c) / n_c)
    q = stats.norm.ppf(0.975)
    assert result.absolute_ci == pytest.approx((p_v - p_c - q * se, p_v - p_c + q * se), rel=1e-9)
    assert result.relative_lift == pytest.approx((p_v - p_c) / p_c)


@pytest.mark.parametrize(
    ("statistic", "df"), [(0.5, 1), (3.84, 1), (10.83, 1), (25.0, 2), (7.3, 4), (60.0, 3)]
)
def test_chi_square_survival_matches_scipy(statistic, df):
    assert chi2_sf(statistic, df) == pytest.approx(stats.chi2.sf(statistic, df), rel=1e-9, abs=1e-15)


def test_srm_statistic_matches_scipy_chisquare():
    units, allocation = [5200, 4800], [Decimal(50), Decimal(50)]
    check = sample_ratio_check(units, allocation)
    expected = stats.chisquare(units, [5000, 5000])
    assert check.statistic == pytest.approx(expected.statistic)
    assert check.p_value == pytest.approx(expected.pvalue, rel=1e-9)


def test_wilson_interval_matches_statsmodels_formula():
    low, high = wilson_interval(30, 100)
    z = stats.norm.ppf(0.975)
    centre = (0.3 + z * z / 200) / (1 + z * z / 100)
    assert (low + high) / 2 == pytest.approx(centre)


def test_the_bucket_is_stable_across_processes():
    experiment, lead = uuid.UUID(int=7), uuid.UUID(int=11)
    code = "from routing.engine.experiments import bucket; import uuid; print(repr(bucket(uuid.UUID(int=7), uuid.UUID(int=11))))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert float(other) == bucket(experiment, lead)
    assert 0 <= bucket(experiment, lead) < 1


def test_assignment_matches_the_allocation_over_100000_leads_and_srm_stays_quiet():
    arms = [Arm("a", Decimal("50"), True), Arm("b", Decimal("30")), Arm("c", Decimal("20"))]
    experiment = uuid.UUID(int=3)
    counts = {"a": 0, "b": 0, "c": 0}
    for n in range(100_000):
        counts[choose_arm(arms, bucket(experiment, uuid.UUID(int=n))).variant_id] += 1
    for arm in arms:
        assert counts[arm.variant_id] / 100_000 == pytest.approx(float(arm.allocation) / 100, abs=0.006)
    check = sample_ratio_check(list(counts.values()), [arm.allocation for arm in arms])
    assert check.judged and not check.mismatch


def test_srm_fires_on_a_skewed_split_and_waits_for_eight_units():
    assert sample_ratio_check([5600, 4400], [50, 50]).mismatch
    assert not sample_ratio_check([7, 1], [50, 50]).judged


def test_allocations_must_total_100_with_one_control():
    assert allocation_problems([Arm("a", Decimal(50), True), Arm("b", Decimal(50))]) == []
    assert any(
        "total 90" in p for p in allocation_problems([Arm("a", Decimal(50), True), Arm("b", Decimal(40))])
    )
    assert any("control" in p for p in allocation_problems([Arm("a", Decimal(50)), Arm("b", Decimal(50))]))


def test_a_change_of_allocation_or_order_reshuffles():
    before = [Arm("a", Decimal(50)), Arm("b", Decimal(50))]
    assert not reshuffles(before, list(before))
    assert reshuffles(before, [Arm("a", Decimal(60)), Arm("b", Decimal(40))])
    assert reshuffles(before, [Arm("b", Decimal(50)), Arm("a", Decimal(50))])
