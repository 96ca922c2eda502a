"""The pure engines: opening hours, free slots, configuration diffs, percentiles, chart geometry."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from voice.engine.availability import ProviderBusy, free_slots
from voice.engine.chart import bar_chart
from voice.engine.diff import document_diff
from voice.engine.hours import DayException, OpeningHours, booking_refusal, intervals_overlap
from voice.engine.stats import nearest_rank

NY = ZoneInfo("America/New_York")
T = dt.time


def hours(**kwargs) -> OpeningHours:
    weekly = {"monday": ((T(9), T(12)), (T(13), T(17))), "saturday": ((T(9), T(13)),)}
    return OpeningHours(location_name="Downtown", time_zone="America/New_York", weekly=weekly, **kwargs)


def at(day: str, hour: int, minute: int = 0, zone: ZoneInfo = NY) -> dt.datetime:
    return dt.datetime.combine(dt.date.fromisoformat(day), T(hour, minute), tzinfo=zone)


# --- opening hours -----------------------------------------------------------------------------------

MONDAY = "2030-01-07"


def test_a_booking_inside_one_interval_fits() -> None:
    assert booking_refusal(hours(), at(MONDAY, 9), at(MONDAY, 9, 45)) is None
    assert booking_refusal(hours(), at(MONDAY, 16, 30), at(MONDAY, 17)) is None  # ends at closing


def test_a_booking_across_the_lunch_break_is_refused_with_the_hours() -> None:
    reason = booking_refusal(hours(), at(MONDAY, 11, 45), at(MONDAY, 12, 15))
    assert reason == (
        "11:45-12:15 on Monday 2030-01-07 is outside Downtown's hours: 09:00-12:00, 13:00-17:00 "
        "(America/New_York)."
    )


def test_a_closed_weekday_is_named() -> None:
    assert booking_refusal(hours(), at("2030-01-08", 10), at("2030-01-08", 10, 30)) == (
        "Downtown is closed on Tuesdays (America/New_York)."
    )


def test_the_hours_are_read_in_the_location_zone_not_utc() -> None:
    # 14:00 UTC is 09:00 in New York (winter): open. 13:30 UTC is 08:30 there: closed.
    utc = ZoneInfo("UTC")
    assert booking_refusal(hours(), at(MONDAY, 14, 0, utc), at(MONDAY, 14, 30, utc)) is None
    assert "08:30-09:00" in booking_refusal(hours(), at(MONDAY, 13, 30, utc), at(MONDAY, 14, 0, utc))


def test_the_hours_follow_daylight_saving_time() -> None:
    # 2030-03-11 is the Monday after the US change: 09:00 New York is 13:00 UTC now, not 14:00.
    utc = ZoneInfo("UTC")
    assert booking_refusal(hours(), at("2030-03-11", 13, 0, utc), at("2030-03-11", 13, 30, utc)) is None


def test_a_closed_exception_overrides_the_weekday() -> None:
    closed = hours(exceptions={dt.date(2030, 1, 7): DayException(closed=True, reason="Staff training")})
    assert booking_refusal(closed, at(MONDAY, 10), at(MONDAY, 10, 30)) == (
        "Downtown is closed on Monday 2030-01-07 (Staff training)."
    )


def test_special_hours_replace_the_weekday_hours() -> None:
    special = hours(exceptions={dt.date(2030, 1, 7): DayException(closed=False, intervals=((T(10), T(14)),))})
    assert booking_refusal(special, at(MONDAY, 12), at(MONDAY, 12, 30)) is None  # lunch is open that day
    assert "(special hours): 10:00-14:00" in booking_refusal(special, at(MONDAY, 9), at(MONDAY, 9, 30))


def test_a_booking_past_midnight_is_outside_the_hours() -> None:
    late = OpeningHours("Bar", "UTC", weekly={"monday": ((T(18), T(23, 59)),)})
    utc = ZoneInfo("UTC")
    assert booking_refusal(late, at(MONDAY, 23, 30, utc), at("2030-01-08", 0, 30, utc)) is not None


def test_intervals_overlap_finds_the_overlapping_pair_but_not_touching_ones() -> None:
    assert intervals_overlap([(T(9), T(12)), (T(12), T(17))]) is None
    assert intervals_overlap([(T(13), T(17)), (T(9), T(13, 30))]) == ((T(9), T(13, 30)), (T(13), T(17)))


# --- free slots ------------------------------------------------------------------------------------------


def test_free_slots_cut_each_interval_by_the_step_and_skip_busy_providers() -> None:
    busy = [(at(MONDAY, 9, 30), at(MONDAY, 10))]
    slots = free_slots(
        hours=hours(),
        days=[dt.date(2030, 1, 7)],
        duration=dt.timedelta(minutes=30),
        step=dt.timedelta(minutes=30),
        providers=[ProviderBusy(1, busy), ProviderBusy(2, [])],
        not_before=at("2030-01-01", 0),
    )
    morning = [(s.start.strftime("%H:%M"), s.provider_ids) for s in slots if s.start.hour < 12]
    assert morning == [
        ("09:00", (1, 2)),
        ("09:30", (2,)),
        ("10:00", (1, 2)),
        ("10:30", (1, 2)),
        ("11:00", (1, 2)),
        ("11:30", (1, 2)),
    ]
    assert [s.start.strftime("%H:%M") for s in slots][6] == "13:00"  # nothing over lunch
    assert slots[-1].end == at(MONDAY, 17)


def test_a_slot_nobody_can_take_is_not_offered_and_nothing_before_not_before() -> None:
    busy_all_morning = [(at(MONDAY, 9), at(MONDAY, 12))]
    slots = free_slots(
        hours=hours(),
        days=[dt.date(2030, 1, 7)],
        duration=dt.timedelta(minutes=60),
        step=dt.timedelta(minutes=60),
        providers=[ProviderBusy(1, busy_all_morning)],
        not_before=at(MONDAY, 14),
    )
    assert [s.start.strftime("%H:%M") for s in slots] == ["14:00", "15:00", "16:00"]


def test_a_long_earlier_appointment_still_blocks_later_slots() -> None:
    # A span starting before another but ending after it must still count (max end so far).
    busy = [(at(MONDAY, 9), at(MONDAY, 11)), (at(MONDAY, 9, 15), at(MONDAY, 9, 30))]
    slots = free_slots(
        hours=hours(),
        days=[dt.date(2030, 1, 7)],
        duration=dt.timedelta(minutes=30),
        step=dt.timedelta(minutes=30),
        providers=[ProviderBusy(1, busy)],
        not_before=at("2030-01-01", 0),
    )
    assert slots[0].start == at(MONDAY, 11)


def test_free_slots_refuse_a_zero_step() -> None:
    with pytest.raises(ValueError):
        free_slots(
            hours=hours(),
            days=[],
            duration=dt.timedelta(0),
            step=dt.timedelta(minutes=5),
            providers=[],
            not_before=at(MONDAY, 0),
        )


# --- diff --------------------------------------------------------------------------------------------------


def test_the_diff_names_each_path_that_changed() -> None:
    old = {
        "policies": {"escalation_policy": {"max_failed_attempts": 3, "keywords": ["a", "b"]}},
        "notes": "x",
    }
    new = {
        "policies": {
            "escalation_policy": {"max_failed_attempts": 2, "keywords": ["a"]},
            "behavior": {"voice": "v"},
        },
        "notes": "x",
    }
    changes = document_diff(old, new)
    assert [(c.path, c.kind, c.old, c.new) for c in changes] == [
        ("policies.behavior", "added", None, {"voice": "v"}),
        ("policies.escalation_policy.keywords[1]", "removed", "b", None),
        ("policies.escalation_policy.max_failed_attempts", "changed", 3, 2),
    ]
    assert changes[2].describe() == "policies.escalation_policy.max_failed_attempts: 3 -> 2"


def test_the_diff_of_equal_documents_is_empty_and_a_type_change_is_one_change() -> None:
    assert document_diff({"a": {"b": 1}}, {"a": {"b": 1}}) == []
    assert [(c.path, c.kind) for c in document_diff({"a": 1}, {"a": {"b": 1}})] == [("a", "changed")]
    assert [(c.path, c.kind) for c in document_diff({"a": True}, {"a": 1})] == [("a", "changed")]


# --- percentiles and chart --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.95, None),
        ([7], 0.95, 7),
        (list(range(1, 21)), 0.95, 19),
        (list(range(1, 101)), 0.95, 95),
        ([5, 1, 3], 0.5, 3),
        ([1, 2], 0.0, 1),
    ],
)
def test_nearest_rank(values, fraction, expected) -> None:
    assert nearest_rank(values, fraction) == expected


def test_the_chart_scales_bars_to_a_round_maximum_and_skips_missing_values() -> None:
    chart = bar_chart(
        categories=["v1", "v2"],
        series=["p95 ASR", "p95 LLM"],
        values={("v1", "p95 ASR"): 180.0, ("v1", "p95 LLM"): 900.0, ("v2", "p95 ASR"): None},
    )
    assert len(chart.bars) == 2 and not chart.empty
    assert chart.ticks[-1].label == "1,000"  # 900 rounds up to 1,000
    tallest = max(chart.bars, key=lambda bar: bar.height)
    assert tallest.height == pytest.approx((chart.plot_bottom - chart.plot_top) * 0.9, abs=0.2)
    assert tallest.title == "v1 p95 LLM: 900"
    assert bar_chart(categories=[], series=["x"], values={}).empty
    counts = bar_chart(categories=["a"], series=["calls"], values={("a", "calls"): 1.0}, integers=True)
    assert [tick.label for tick in counts.ticks] == ["0", "1", "2", "3", "4"]
