"""The floor dashboard at the top of the admin index: the page, its fragment, and the chart geometry.

The index renders the dashboard once (the `floor_dashboard` tag), then htmx asks `admin/floor/` for the
same fragment every FLOOR_DASHBOARD_POLL_SECONDS and swaps it in, so the figures move without a reload.
Both read the floor selectors (routing.selectors.floor, scoring.floor), a constant number of queries.

Each section is shown to a staff user who may view what it counts: agents (human agents), cases (support
cases or the escalation queue), leads (leads or the assignment queue), outbound (call queue entries).
A staff user who may view none of them gets a 403 from the fragment and no dashboard on the index.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache

from routing.selectors.floor import (
    AgentFloor,
    CaseFloor,
    HourPoint,
    LeadFloor,
    floor_agent_states,
    floor_cases,
    floor_leads,
)
from scoring.floor import OutboundFloor, outbound_floor

FRAGMENT_TEMPLATE = "admin/routing/floor/_dashboard.html"
# section -> the view permissions any one of which shows it
SECTION_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "agents": ("agents.view_humanagent",),
    "cases": ("routing.view_supportcase", "routing.view_escalationqueueentry"),
    "leads": ("routing.view_lead", "routing.view_assignmentqueue"),
    "outbound": ("scoring.view_callqueueentry",),
}


def floor_sections(request: HttpRequest) -> frozenset[str]:
    """The dashboard sections the request's user may see (none unless an active staff user)."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return frozenset()
    return frozenset(
        section
        for section, permissions in SECTION_PERMISSIONS.items()
        if any(user.has_perm(name) for name in permissions)
    )


def may_view_floor(request: HttpRequest) -> bool:
    return bool(floor_sections(request))


@dataclass(frozen=True)
class FloorSnapshot:
    """What the dashboard shows; a section the user may not see is None (and not queried)."""

    now: dt.datetime
    agents: AgentFloor | None
    cases: CaseFloor | None
    leads: LeadFloor | None
    outbound: OutboundFloor | None


def floor_snapshot(*, sections: frozenset[str], now: dt.datetime | None = None) -> FloorSnapshot:
    now = now or timezone.now()
    return FloorSnapshot(
        now=now,
        agents=floor_agent_states() if "agents" in sections else None,
        cases=floor_cases(now=now) if "cases" in sections else None,
        leads=floor_leads(now=now) if "leads" in sections else None,
        outbound=outbound_floor(now=now) if "outbound" in sections else None,
    )


def poll_seconds() -> int:
    return settings.FLOOR_DASHBOARD_POLL_SECONDS


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
        local = point.hour.astimezone(timezone.get_default_timezone())
        when = "now" if index == len(hours) - 1 else local.strftime("%H:%M")
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
        "chart": floor_chart(snapshot.cases.hours) if snapshot.cases else None,
        "queued_color": QUEUED_COLOR,
        "breached_color": BREACHED_COLOR,
        "poll_seconds": poll_seconds(),
    }


def floor_fragment_html(request: HttpRequest, *, sections: frozenset[str]) -> str:
    snapshot = floor_snapshot(sections=sections)
    return render_to_string(FRAGMENT_TEMPLATE, floor_context(snapshot), request=request)


@never_cache
def floor_fragment(request: HttpRequest) -> HttpResponse:
    """The dashboard fragment htmx polls (also readable on its own).

    Not wrapped in `admin_view`, whose answer to a signed-out user is a redirect to the login page:
    htmx would follow it and swap the login form into the index. A 403 instead is left unswapped, so
    a page whose session expired keeps its last figures."""
    sections = floor_sections(request)
    if not sections:
        raise PermissionDenied
    return HttpResponse(floor_fragment_html(request, sections=sections))
