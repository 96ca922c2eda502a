"""Geometry of a grouped bar chart, drawn by the admin as inline SVG (no JavaScript, no build step).

`bar_chart` takes categories (e.g. configuration versions), series (e.g. the latency stages) and a value
per category and series (None: no data, no bar), and returns every rectangle, tick and label with its
coordinates; the template only writes them out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

PALETTE = ("#417690", "#79aec8", "#e0a458", "#c0504d", "#5b9b5b", "#8064a2")


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class CategoryLabel:
    x: float
    text: str


@dataclass(frozen=True)
class LegendItem:
    x: float
    color: str
    text: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    plot_left: int
    plot_top: int
    plot_bottom: float
    plot_right: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    categories: tuple[CategoryLabel, ...]
    legend: tuple[LegendItem, ...]
    unit: str
    empty: bool


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above `value` (axis maximum)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def _format(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def bar_chart(
    *,
    categories: Sequence[str],
    series: Sequence[str],
    values: Mapping[tuple[str, str], float | None],
    unit: str = "",
    width: int = 900,
    height: int = 280,
    ticks: int = 4,
    integers: bool = False,
) -> BarChart:
    """`integers`: the values are counts, so the axis ticks are whole numbers."""
    left, top, right_margin, bottom_margin = 60, 30, 10, 40
    plot_width, plot_height = width - left - right_margin, height - top - bottom_margin
    present = [v for v in values.values() if v is not None]
    maximum = _nice_ceiling(max(present, default=0))
    if integers:
        maximum = math.ceil(max(maximum, ticks) / ticks) * ticks
    group_width = plot_width / max(len(categories), 1)
    bar_width = group_width * 0.8 / max(len(series), 1)
    bars, labels = [], []
    for c_index, category in enumerate(categories):
        group_left = left + c_index * group_width + group_width * 0.1
        labels.append(CategoryLabel(x=left + (c_index + 0.5) * group_width, text=category))
        for s_index, name in enumerate(series):
            value = values.get((category, name))
            if value is None:
                continue
            bar_height = plot_height * value / maximum
            bars.append(
                Bar(
                    x=round(group_left + s_index * bar_width, 1),
                    y=round(top + plot_height - bar_height, 1),
                    width=round(bar_width * 0.9, 1),
                    height=round(bar_height, 1),
                    color=PALETTE[s_index % len(PALETTE)],
                    title=f"{category} {name}: {_format(value)}{(' ' + unit) if unit else ''}",
                )
            )
    axis = tuple(
        Tick(y=round(top + plot_height - plot_height * i / ticks, 1), label=_format(maximum * i / ticks))
        for i in range(ticks + 1)
    )
    legend = tuple(
        LegendItem(x=left + index * 150, color=PALETTE[index % len(PALETTE)], text=name)
        for index, name in enumerate(series)
    )
    return BarChart(
        width=width,
        height=height,
        plot_left=left,
        plot_top=top,
        plot_bottom=top + plot_height,
        plot_right=left + plot_width,
        bars=tuple(bars),
        ticks=axis,
        categories=tuple(labels),
        legend=legend,
        unit=unit,
        empty=not present,
    )
