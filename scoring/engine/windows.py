"""Calling windows in the person's own time zone.

A window is a start and an end wall-clock time (09:00-21:00 by default, whole minutes; an end before the
start crosses midnight). It is evaluated in the person's IANA zone with zoneinfo, so a daylight-saving
change moves the window in UTC with the person's clock: 09:00 in New York is 14:00 UTC in winter and
13:00 UTC in summer. The end is exclusive (21:00 itself is closed).

The queue does not convert every row's time: `open_zones` says which zones are inside the window at a
given minute, and the selector filters `time_zone IN (...)`. Because windows are whole minutes and every
zone's current offset is a whole number of minutes, the answer is the same for every second of a minute,
which is what makes the per-minute memo in `open_zones` exact.

Parsing is total: a zone name zoneinfo does not know is never open (and `is_valid_zone` says so), rather
than an exception on the hot path.
"""

from __future__ import annotations

import datetime as dt
import functools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class CallingWindow:
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(21, 0)

    def __post_init__(self) -> None:
        for edge in (self.start, self.end):
            if edge.second or edge.microsecond or edge.tzinfo is not None:
                raise ValueError("calling window edges are whole minutes of local wall-clock time")
        if self.start == self.end:
            raise ValueError("a calling window needs a start and a different end")

    @classmethod
    def parse(cls, start: str, end: str) -> CallingWindow:
        """From "HH:MM" strings (the settings' form); ValueError names the bad one."""
        edges = []
        for label, text in (("start", start), ("end", end)):
            try:
                edges.append(dt.time.fromisoformat(text))
            except ValueError as exc:
                raise ValueError(f"calling window {label} {text!r} is not HH:MM") from exc
        return cls(start=edges[0], end=edges[1])

    def contains(self, local_time: dt.time) -> bool:
        if self.start < self.end:
            return self.start <= local_time < self.end
        return local_time >= self.start or local_time < self.end  # crosses midnight


@functools.lru_cache(maxsize=4096)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return None


def is_valid_zone(name: str) -> bool:
    return bool(name) and _zone(name) is not None


def local_time(now: dt.datetime, zone_name: str) -> dt.datetime | None:
    zone = _zone(zone_name)
    return None if zone is None else now.astimezone(zone)


def window_is_open(now: dt.datetime, zone_name: str, window: CallingWindow) -> bool:
    """Is `now` (aware) inside the window on the wall clock of `zone_name`?"""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    local = local_time(now, zone_name)
    return local is not None and window.contains(local.time().replace(second=0, microsecond=0))


@functools.lru_cache(maxsize=64)
def _open_zones_at_minute(
    minute: dt.datetime, window: CallingWindow, zones: frozenset[str]
) -> frozenset[str]:
    return frozenset(zone for zone in zones if window_is_open(minute, zone, window))


def open_zones(now: dt.datetime, window: CallingWindow, zones: Iterable[str]) -> frozenset[str]:
    """The zones among `zones` whose local time is inside `window` at `now` (memoised per minute)."""
    minute = now.astimezone(dt.UTC).replace(second=0, microsecond=0)
    return _open_zones_at_minute(minute, window, frozenset(zones))


@functools.lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    """Every IANA zone this Python knows (tzdata), the universe the queue filters against."""
    return frozenset(zoneinfo.available_timezones() | {"UTC"})
