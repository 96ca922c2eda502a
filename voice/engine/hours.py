"""Opening hours in a location's own time zone.

Hours are wall-clock intervals per weekday; a dated exception replaces the weekday's intervals for that
date (closed, or its own intervals). An interval [opens, closes) lies within one local date. Converting
to instants uses the location's zone on that date, so a location keeps "09:00" across a DST change.
A booking fits when it starts and ends inside one interval of its local start date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

TimeInterval = tuple[dt.time, dt.time]
Span = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class DayException:
    closed: bool
    intervals: tuple[TimeInterval, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class OpeningHours:
    location_name: str
    time_zone: str
    weekly: Mapping[str, tuple[TimeInterval, ...]] = field(default_factory=dict)  # weekday -> intervals
    exceptions: Mapping[dt.date, DayException] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    def intervals_on(self, day: dt.date) -> tuple[TimeInterval, ...]:
        exception = self.exceptions.get(day)
        if exception is not None:
            return () if exception.closed else tuple(sorted(exception.intervals))
        return tuple(sorted(self.weekly.get(WEEKDAYS[day.weekday()], ())))

    def spans_on(self, day: dt.date) -> list[Span]:
        """The day's opening intervals as aware datetimes in the location's zone."""
        zone = self.zone
        return [
            (dt.datetime.combine(day, opens, tzinfo=zone), dt.datetime.combine(day, closes, tzinfo=zone))
            for opens, closes in self.intervals_on(day)
        ]


def _clock(value: dt.time) -> str:
    return value.strftime("%H:%M")


def _describe(intervals: Sequence[TimeInterval]) -> str:
    return ", ".join(f"{_clock(opens)}-{_clock(closes)}" for opens, closes in intervals)


def booking_refusal(hours: OpeningHours, start: dt.datetime, end: dt.datetime) -> str | None:
    """None when [start, end) lies inside one opening interval of its local date; else the reason."""
    zone = hours.zone
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day = local_start.date()
    name = hours.location_name
    exception = hours.exceptions.get(day)
    if exception is not None and exception.closed:
        because = f" ({exception.reason})" if exception.reason else ""
        return f"{name} is closed on {day:%A} {day.isoformat()}{because}."
    intervals = hours.intervals_on(day)
    if not intervals:
        return f"{name} is closed on {day:%A}s ({hours.time_zone})."
    for span_start, span_end in hours.spans_on(day):
        if span_start <= local_start and local_end <= span_end:
            return None
    special = " (special hours)" if exception is not None else ""
    return (
        f"{_clock(local_start.time())}-{_clock(local_end.time())} on {day:%A} {day.isoformat()} is outside "
        f"{name}'s hours{special}: {_describe(intervals)} ({hours.time_zone})."
    )


def intervals_overlap(intervals: Sequence[TimeInterval]) -> tuple[TimeInterval, TimeInterval] | None:
    """The first two intervals of one day that overlap (or touch nothing: [9,12) and [12,17) are fine)."""
    ordered = sorted(intervals)
    for previous, current in zip(ordered, ordered[1:], strict=False):
        if current[0] < previous[1]:
            return previous, current
    return None
