"""Free appointment slots: the seed's location-aware scheduling query, made useful.

For each local date in the range, each opening interval is cut into candidate starts every `step`
(from the interval's opening), each lasting the service's duration and ending inside the interval.
A candidate is offered with the providers who have no non-cancelled appointment overlapping it
(half-open intervals: an appointment ending at 10:00 leaves 10:00 free). Candidates before
`not_before` (now, plus any lead time) are dropped; a candidate no provider can take is not a slot.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from voice.engine.hours import OpeningHours, Span


@dataclass(frozen=True)
class ProviderBusy:
    provider_id: int
    busy: Sequence[Span]  # existing appointments, any order


@dataclass(frozen=True)
class Slot:
    start: dt.datetime
    end: dt.datetime
    provider_ids: tuple[int, ...]


class _BusyIndex:
    """One provider's busy spans, sorted by start, answering "is [start, end) free?" in O(log n)."""

    def __init__(self, spans: Iterable[Span]) -> None:
        ordered = sorted(spans)
        self.starts = [span[0] for span in ordered]
        # The latest end among the spans up to each position: an earlier long span may still cover.
        self.max_ends: list[dt.datetime] = []
        for _, end in ordered:
            self.max_ends.append(max(end, self.max_ends[-1]) if self.max_ends else end)

    def free(self, start: dt.datetime, end: dt.datetime) -> bool:
        # Spans starting before `end` are the only candidates; the latest end among them must be <= start.
        position = bisect.bisect_left(self.starts, end)
        return position == 0 or self.max_ends[position - 1] <= start


def free_slots(
    *,
    hours: OpeningHours,
    days: Iterable[dt.date],
    duration: dt.timedelta,
    step: dt.timedelta,
    providers: Sequence[ProviderBusy],
    not_before: dt.datetime,
) -> list[Slot]:
    if duration <= dt.timedelta(0) or step <= dt.timedelta(0):
        raise ValueError("duration and step must be positive")
    indexes = [(provider.provider_id, _BusyIndex(provider.busy)) for provider in providers]
    slots: list[Slot] = []
    for day in days:
        for opens, closes in hours.spans_on(day):
            start = opens
            while start + duration <= closes:
                end = start + duration
                if start >= not_before:
                    free = tuple(pid for pid, index in indexes if index.free(start, end))
                    if free:
                        slots.append(Slot(start=start, end=end, provider_ids=free))
                start += step
    return slots
