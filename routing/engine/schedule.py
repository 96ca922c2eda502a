"""Whether an agent is inside a working window at an instant: the schedule rules, stated once.

Each schedule row is a weekly window in its own IANA zone, read on the local wall clock:
- a row applies on a local date whose weekday is its `day_of_week`, from `effective_from` to
  `effective_until` (inclusive; open-ended when empty);
- its window runs from `start` to `end` on that date; an `end` at or before `start` crosses midnight and
  ends on the next day (22:00-06:00 is a night shift, 09:00-00:00 runs until midnight, 00:00-00:00 is the
  whole day). The window belongs to the date it starts on;
- `regular` rows are the weekly pattern. `temporary` rows replace it: on a date where any temporary row
  of the agent applies, that date's regular rows do not count (a temporary Monday shift replaces the
  regular Monday; a Saturday it does not name keeps the regular Saturday);
- `exception` rows are time off: inside an exception window the agent is off whatever the other rows
  say (a day off is an exception 00:00-00:00). So an exception subtracts from the working windows of
  its dates, where a temporary row replaces them.
An agent is in schedule when some regular or temporary window that counts contains the instant and no
exception window does.

Wall-clock reading is what a supervisor means by "09:00-17:00 America/Los_Angeles" across a daylight
saving change: the window moves in UTC, its local hours stay. The candidate search states the same rule
in SQL (routing.selectors.agent_sql.AgentRules.in_schedule); tests/routing/test_schedule_rules.py proves
the two agree over random schedules and instants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
REGULAR, TEMPORARY, EXCEPTION = "regular", "temporary", "exception"


@dataclass(frozen=True)
class ScheduleRow:
    day_of_week: str
    start: dt.time
    end: dt.time
    timezone: str
    effective_from: dt.date
    effective_until: dt.date | None = None
    schedule_type: str = REGULAR

    @property
    def crosses_midnight(self) -> bool:
        return self.end <= self.start


def weekday_name(day: dt.date) -> str:
    return WEEKDAYS[day.weekday()]


def applies_on(row: ScheduleRow, day: dt.date) -> bool:
    return (
        row.day_of_week == weekday_name(day)
        and row.effective_from <= day
        and (row.effective_until is None or day <= row.effective_until)
    )


def local_clock(now: dt.datetime, zone: str) -> tuple[dt.date, dt.time] | None:
    """The local date and wall-clock time (naive) of `now` in `zone`; None for an unknown zone, which
    puts nobody in schedule (the doors validate zones)."""
    try:
        local = now.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return local.date(), local.time().replace(tzinfo=None)


def _window_dates_containing(row: ScheduleRow, now: dt.datetime) -> list[dt.date]:
    """The dates (0 or 1 of them) whose window of `row` contains `now`."""
    clock = local_clock(now, row.timezone)
    if clock is None:
        return []
    today, time = clock
    dates = []
    if applies_on(row, today) and row.start <= time and (row.crosses_midnight or time < row.end):
        dates.append(today)
    yesterday = today - dt.timedelta(days=1)
    if row.crosses_midnight and time < row.end and applies_on(row, yesterday):
        dates.append(yesterday)
    return dates


def in_schedule(rows: Sequence[ScheduleRow], now: dt.datetime) -> bool:
    """Inside a working window that counts, and in no exception window (see the module docstring)."""
    temporary = [row for row in rows if row.schedule_type == TEMPORARY]
    working = False
    for row in rows:
        dates = _window_dates_containing(row, now)
        if not dates:
            continue
        if row.schedule_type == EXCEPTION:
            return False
        if row.schedule_type == TEMPORARY or any(
            not any(applies_on(other, day) for other in temporary) for day in dates
        ):
            working = True
    return working


def off_shift_throughout(
    rows: Sequence[ScheduleRow], *, since: dt.datetime, until: dt.datetime, step: dt.timedelta
) -> bool:
    """Whether the agent was outside every working window at each `step` from `since` to `until`
    (both included): the off-shift rest of the fatigue rule, sampled at `step`."""
    moment = since
    while moment < until:
        if in_schedule(rows, moment):
            return False
        moment += step
    return not in_schedule(rows, until)


def zones_of(rows: Iterable[ScheduleRow]) -> list[str]:
    return sorted({row.timezone for row in rows})
