"""The pure scoring engine: score factors, calling windows across zones and DST, call policy, callbacks."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.engine import (
    FACTOR_NAMES,
    CallingWindow,
    CallPolicy,
    Exclusion,
    PersonState,
    ScoreWeights,
    callback_state,
    exclusions,
    is_valid_zone,
    open_zones,
    score_compute,
    window_is_open,
)

UTC = dt.UTC
NOW = dt.datetime(2026, 1, 15, 15, 0, tzinfo=UTC)
WEIGHTS = ScoreWeights()


def _state(**overrides) -> PersonState:
    values = {"queue_type": "unsigned_users", "created_at": NOW - dt.timedelta(days=3)}
    return PersonState(**{**values, **overrides})


def test_score_breakdown_names_every_factor_and_sums_to_the_raw_total() -> None:
    result = score_compute(_state(call_attempts=2, outstanding_documents=1), WEIGHTS, now=NOW)
    assert [factor.name for factor in result.factors] == list(FACTOR_NAMES)
    assert result.raw == pytest.approx(sum(factor.points for factor in result.factors))
    assert result.breakdown()["score"] == result.score


def test_score_of_a_new_never_called_unsigned_person() -> None:
    # 40 (queue) + 15 * (1 - 3/30) + 15 (never called) = 68.5 -> 69 (half up)
    assert score_compute(_state(), WEIGHTS, now=NOW).score == 69


def test_attempts_lower_the_score_and_saturate() -> None:
    scores = [score_compute(_state(call_attempts=n), WEIGHTS, now=NOW).score for n in range(9)]
    assert scores == sorted(scores, reverse=True)
    assert scores[6] == scores[8]  # full penalty at attempts_full_at


def test_a_due_callback_raises_the_score_and_the_total_is_clamped() -> None:
    plain = score_compute(_state(), WEIGHTS, now=NOW).score
    due = score_compute(
        _state(callback_due=True, outstanding_documents=9, signature_obtained=True), WEIGHTS, now=NOW
    )
    assert due.score > plain
    assert due.score == 100  # 69 + 30 + 10 + 10 clamped


def test_recent_call_scores_less_than_an_old_one() -> None:
    recent = score_compute(_state(last_call_at=NOW - dt.timedelta(hours=1)), WEIGHTS, now=NOW).score
    old = score_compute(_state(last_call_at=NOW - dt.timedelta(days=10)), WEIGHTS, now=NOW).score
    assert recent < old


def test_weights_come_from_a_mapping_ignoring_unknown_names() -> None:
    weights = ScoreWeights.from_mapping({"callback_due": 5.0, "unknown": 1})
    assert weights.callback_due == 5.0


@given(
    attempts=st.integers(0, 50),
    docs=st.integers(0, 50),
    age_hours=st.integers(0, 24 * 400),
    signed=st.booleans(),
    due=st.booleans(),
    queue=st.sampled_from(["unsigned_users", "outstanding_requests", None]),
)
def test_score_is_always_an_integer_between_0_and_100(attempts, docs, age_hours, signed, due, queue) -> None:
    state = _state(
        queue_type=queue,
        created_at=NOW - dt.timedelta(hours=age_hours),
        call_attempts=attempts,
        outstanding_documents=docs,
        signature_obtained=signed,
        callback_due=due,
    )
    score = score_compute(state, WEIGHTS, now=NOW).score
    assert isinstance(score, int) and 0 <= score <= 100


# --- calling windows ---------------------------------------------------------------------------------
WINDOW = CallingWindow()


@pytest.mark.parametrize(
    ("utc_hour", "zone", "open_"),
    [
        (14, "America/New_York", True),  # 09:00 EST
        (13, "America/New_York", False),  # 08:00 EST
        (2, "America/New_York", False),  # 21:00 EST: the end is exclusive
        (1, "America/New_York", True),  # 20:00 EST
        (0, "Asia/Tokyo", True),  # 09:00 JST
        (23, "Asia/Tokyo", False),  # 08:00 JST
        (12, "Asia/Kolkata", True),  # 17:30 IST, a half-hour zone
        (16, "Asia/Kolkata", False),  # 21:30 IST
    ],
)
def test_window_is_evaluated_in_the_persons_zone(utc_hour: int, zone: str, open_: bool) -> None:
    now = dt.datetime(2026, 1, 15, utc_hour, 0, tzinfo=UTC)
    assert window_is_open(now, zone, WINDOW) is open_


def test_window_follows_the_daylight_saving_change() -> None:
    # New York moves from EST (UTC-5) to EDT (UTC-4) on 2026-03-08: 13:30 UTC is 08:30 before, 09:30 after.
    before = dt.datetime(2026, 3, 7, 13, 30, tzinfo=UTC)
    after = dt.datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
    assert window_is_open(before, "America/New_York", WINDOW) is False
    assert window_is_open(after, "America/New_York", WINDOW) is True
    # and the evening edge moves too: 01:30 UTC is 20:30 EST (open) but 21:30 EDT (closed)
    assert window_is_open(dt.datetime(2026, 3, 7, 1, 30, tzinfo=UTC), "America/New_York", WINDOW) is True
    assert window_is_open(dt.datetime(2026, 3, 10, 1, 30, tzinfo=UTC), "America/New_York", WINDOW) is False


def test_window_crossing_midnight() -> None:
    night = CallingWindow.parse("22:00", "02:00")
    assert window_is_open(dt.datetime(2026, 1, 15, 23, 0, tzinfo=UTC), "UTC", night)
    assert window_is_open(dt.datetime(2026, 1, 15, 1, 59, tzinfo=UTC), "UTC", night)
    assert not window_is_open(dt.datetime(2026, 1, 15, 2, 0, tzinfo=UTC), "UTC", night)


def test_unknown_zone_is_never_open_and_does_not_raise() -> None:
    assert is_valid_zone("PST") is False  # an abbreviation, not an IANA zone
    assert window_is_open(NOW, "Mars/Olympus", WINDOW) is False
    assert is_valid_zone("Europe/Paris")


def test_window_parse_names_the_bad_edge() -> None:
    with pytest.raises(ValueError, match="end"):
        CallingWindow.parse("09:00", "9pm")
    with pytest.raises(ValueError):
        CallingWindow.parse("09:00", "09:00")


@given(minute=st.integers(0, 60 * 24 * 366), second=st.integers(0, 59))
def test_open_zones_agrees_with_the_per_person_check(minute: int, second: int) -> None:
    zones = ["America/New_York", "Europe/London", "Asia/Tokyo", "Australia/Sydney", "Asia/Kathmandu", "UTC"]
    now = dt.datetime(2026, 1, 1, tzinfo=UTC) + dt.timedelta(minutes=minute, seconds=second)
    assert open_zones(now, WINDOW, zones) == {zone for zone in zones if window_is_open(now, zone, WINDOW)}


# --- policy and callbacks -----------------------------------------------------------------------------
POLICY = CallPolicy(
    max_attempts=3, min_recall_gap=dt.timedelta(hours=4), handover_delay=dt.timedelta(minutes=30)
)


def test_exclusions_name_each_broken_rule() -> None:
    # 15:00 UTC is 10:00 in New York, 00:00 in Tokyo
    assert (
        exclusions(time_zone="America/New_York", call_attempts=0, last_call_at=None, now=NOW, policy=POLICY)
        == []
    )
    assert exclusions(time_zone="Asia/Tokyo", call_attempts=3, last_call_at=NOW, now=NOW, policy=POLICY) == [
        Exclusion.OUTSIDE_WINDOW,
        Exclusion.MAX_ATTEMPTS,
        Exclusion.RECALL_GAP,
    ]
    assert exclusions(time_zone="PST", call_attempts=0, last_call_at=None, now=NOW, policy=POLICY) == [
        Exclusion.INVALID_TIME_ZONE
    ]


def test_recall_gap_boundary_is_inclusive_of_exactly_the_gap() -> None:
    exactly = NOW - dt.timedelta(hours=4)
    assert exclusions(time_zone="UTC", call_attempts=0, last_call_at=exactly, now=NOW, policy=POLICY) == []
    just_inside = exactly + dt.timedelta(seconds=1)
    assert exclusions(time_zone="UTC", call_attempts=0, last_call_at=just_inside, now=NOW, policy=POLICY) == [
        Exclusion.RECALL_GAP
    ]


@settings(deadline=None)  # the first call loads every zone file once
@given(
    attempts=st.integers(0, 6),
    gap_minutes=st.one_of(st.none(), st.integers(0, 600)),
    zone=st.sampled_from(["UTC", "America/New_York", "Asia/Tokyo", "Europe/Berlin", "Nowhere/Void"]),
    minute=st.integers(0, 60 * 24 * 7),
)
def test_sql_cutoffs_say_what_the_exclusions_say(attempts, gap_minutes, zone, minute) -> None:
    now = NOW + dt.timedelta(minutes=minute)
    last_call = None if gap_minutes is None else now - dt.timedelta(minutes=gap_minutes)
    cutoffs = POLICY.cutoffs(now)
    by_sql = (
        zone in cutoffs.open_zones
        and attempts < cutoffs.max_attempts
        and (last_call is None or last_call <= cutoffs.last_call_before)
    )
    by_engine = not exclusions(
        time_zone=zone, call_attempts=attempts, last_call_at=last_call, now=now, policy=POLICY
    )
    assert by_sql == by_engine


def test_callback_for_one_agent_is_handed_over_after_the_delay() -> None:
    scheduled = NOW - dt.timedelta(minutes=10)
    state = callback_state(scheduled_for=scheduled, callback_agent_id=7, now=NOW, policy=POLICY)
    assert state.due and not state.handed_over and not state.overdue
    assert state.visible_to(callback_agent_id=7, agent_id=7)
    assert not state.visible_to(callback_agent_id=7, agent_id=8)
    later = callback_state(
        scheduled_for=scheduled, callback_agent_id=7, now=NOW + dt.timedelta(minutes=20), policy=POLICY
    )
    assert later.handed_over and later.overdue
    assert later.visible_to(callback_agent_id=7, agent_id=8)


def test_callback_not_yet_due_is_visible_to_nobody() -> None:
    state = callback_state(
        scheduled_for=NOW + dt.timedelta(hours=1), callback_agent_id=None, now=NOW, policy=POLICY
    )
    assert not state.due and not state.visible_to(callback_agent_id=None, agent_id=1)


def test_legacy_callback_without_a_time_is_due_for_anyone() -> None:
    state = callback_state(scheduled_for=None, callback_agent_id=None, now=NOW, policy=POLICY)
    assert state.due and state.visible_to(callback_agent_id=None, agent_id=3)
