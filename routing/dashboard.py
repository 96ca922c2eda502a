"""The floor dashboard at the top of the admin index: the page, its fragment, and the chart geometry.

The index renders the dashboard once (the `floor_dashboard` tag), then htmx asks `admin/floor/` for the
same fragment every FLOOR_DASHBOARD_POLL_SECONDS and swaps it in, so the figures move without a reload.
Both read `routing.selectors.floor.floor_snapshot` (a constant number of queries). Anyone allowed to
view support cases or human agents sees it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone

from routing.selectors.floor import FloorSnapshot, HourPoint, floor_snapshot

FRAGMENT_TEMPLATE = "admin/routing/floor/_dashboard.html"
VIEW_PERMISSIONS = ("routing.view_supportcase", "agents.view_humanagent")


def may_view_floor(request: HttpRequest) -> bool:
    user = request.user
    return user.is_active and user.is_staff and any(user.has_perm(name) for name in VIEW_PERMISSIONS)


def poll_seconds() -> int:
    return int(getattr(settings, "FLOOR_DASHBOARD_POLL_SECONDS", 5))


@dataclass(frozen=True)
class ChartBar:
    x: float
    y: float
    width: float
    height: float
    color: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: int
    plot_top: int
    plot_bottom: int
    bars: list[ChartBar]
    ticks: list[dict[str, Any]]
    labels: list[dict[str, Any]]
    empty: bool


QUEUED_COLOR = "#417690"
BREACHED_COLOR = "#ba2121"


def floor_chart(hours: list[HourPoint], *, width: int = 640, height: int = 180) -> Chart:
    """Grouped bars per hour: queue length and SLA breaches (an SVG's geometry; the template draws it)."""
    left, right, top, bottom = 36, width - 8, 24, height - 22
    peak = max([point.queued for point in hours] + [1])
    step = max(1, -(-peak // 4))  # about four gridlines, whole numbers
    top_value = step * -(-peak // step)
    slot = (right - left) / max(1, len(hours))
    bar = max(1.0, slot * 0.38)

    def y_of(value: int) -> float:
        return bottom - (bottom - top) * value / top_value

    bars: list[ChartBar] = []
    labels: list[dict[str, Any]] = []
    for index, point in enumerate(hours):
        x = left + index * slot + slot * 0.1
        when = "now" if index == len(hours) - 1 else timezone.localtime(point.hour).strftime("%H:%M")
        for offset, value, color, what in (
            (0, point.queued, QUEUED_COLOR, "waiting"),
            (bar, point.breached, BREACHED_COLOR, "past SLA"),
        ):
            bars.append(
                ChartBar(
                    x=round(x + offset, 1),
                    y=round(y_of(value), 1),
                    width=round(bar, 1),
                    height=round(bottom - y_of(value), 1),
                    color=color,
                    title=f"{when}: {value} {what}",
                )
            )
        if index % 3 == 0 or index == len(hours) - 1:
            labels.append({"x": round(x + bar, 1), "text": when})
    ticks = [{"y": round(y_of(value), 1), "label": value} for value in range(0, top_value + 1, step)]
    return Chart(
        width=width,
        height=height,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
        bars=bars,
        ticks=ticks,
        labels=labels,
        empty=not any(point.queued or point.breached for point in hours),
    )


def floor_context(snapshot: FloorSnapshot) -> dict[str, Any]:
    return {
        "floor": snapshot,
        "chart": floor_chart(snapshot.hours),
        "queued_color": QUEUED_COLOR,
        "breached_color": BREACHED_COLOR,
        "poll_seconds": poll_seconds(),
    }


def floor_fragment_html(request: HttpRequest) -> str:
    return render_to_string(FRAGMENT_TEMPLATE, floor_context(floor_snapshot()), request=request)


def floor_fragment_view(request: HttpRequest) -> HttpResponse:
    """The dashboard fragment htmx polls (also readable on its own)."""
    if not may_view_floor(request):
        raise PermissionDenied
    response = HttpResponse(floor_fragment_html(request))
    response["Cache-Control"] = "no-store"
    return response


floor_fragment = admin.site.admin_view(floor_fragment_view)
