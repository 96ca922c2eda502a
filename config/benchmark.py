"""How the benchmark commands measure: ours against a raw-SQL floor, interleaved, in one process.

A contended machine moves absolute times by 30-60 % from run to run; the ratio of two measures taken
side by side moves far less. So every hot path is timed next to its floor (the same essential work
written by hand with psycopg on the same database), alternating which goes first in each iteration,
and the report prints both and the ratio of their p95, with the machine's load average.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.test import override_settings


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


@dataclass
class Measure:
    label: str
    ours: list[float]
    floor: list[float]
    target_ms: float | None = None  # the absolute p95 target, printed beside the ratio
    note: str = ""

    @property
    def ratio(self) -> float:
        floor = percentile(self.floor, 0.95)
        return percentile(self.ours, 0.95) / floor if self.floor and floor > 0 else math.nan


@override_settings(DEBUG=False)  # as in production: DEBUG's query log copies every statement's text
def interleaved(
    label: str,
    ours: Callable[[int], Any],
    floor: Callable[[int], Any] | None,
    iterations: int,
    *,
    warmup: int = 20,
    target_ms: float | None = None,
    note: str = "",
) -> Measure:
    """Time `ours(i)` and `floor(i)` for i in range(iterations), alternating which runs first; each is
    warmed up first (connections, caches, plans). Milliseconds; with DEBUG off."""
    for index in range(warmup):
        ours(-1 - index)
        if floor is not None:
            floor(-1 - index)
    mine: list[float] = []
    theirs: list[float] = []
    for index in range(iterations):
        runs = [(ours, mine), (floor, theirs)] if index % 2 == 0 else [(floor, theirs), (ours, mine)]
        for call, samples in runs:
            if call is None:
                continue
            started = time.perf_counter()
            call(index)
            samples.append((time.perf_counter() - started) * 1000)
    return Measure(label=label, ours=mine, floor=theirs, target_ms=target_ms, note=note)


def machine_load() -> str:
    load = os.getloadavg() if hasattr(os, "getloadavg") else (math.nan,) * 3
    return f"load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} on {os.cpu_count()} CPUs"


def report(measures: Sequence[Measure]) -> str:
    """The table: ours p50/p95, the floor's p50/p95, the ratio of the p95s, the absolute target."""
    headers = ["path", "n", "ours p50", "ours p95", "floor p50", "floor p95", "ratio p95", "target p95", ""]
    rows = []
    for measure in measures:
        p95 = percentile(measure.ours, 0.95)
        target = "" if measure.target_ms is None else f"<= {measure.target_ms:g}"
        verdict = "" if measure.target_ms is None else ("met" if p95 <= measure.target_ms else "missed")
        rows.append(
            [
                measure.label,
                len(measure.ours),
                f"{percentile(measure.ours, 0.50):.2f}",
                f"{p95:.2f}",
                f"{percentile(measure.floor, 0.50):.2f}" if measure.floor else "-",
                f"{percentile(measure.floor, 0.95):.2f}" if measure.floor else "-",
                f"{measure.ratio:.1f}x" if measure.floor else "-",
                target,
                verdict,
            ]
        )
    widths = [max(len(str(header)), *(len(str(row[i])) for row in rows)) for i, header in enumerate(headers)]
    lines = ["  ".join(str(value).ljust(width) for value, width in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * width for width in widths))
    lines += [
        "  ".join(str(value).ljust(width) for value, width in zip(row, widths, strict=True)) for row in rows
    ]
    notes = [f"- {measure.label}: {measure.note}" for measure in measures if measure.note]
    return "\n".join([*lines, *(["", "floors:", *notes] if notes else []), "", machine_load()])
