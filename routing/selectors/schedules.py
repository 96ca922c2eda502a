"""Who is inside a working window now, in their own time zone.

Schedules are stored in local time per IANA zone (the rules: routing.engine.schedule). For each
distinct zone in use the candidate search computes that zone's current weekday, time and date in
Python (zoneinfo knows DST; SQLite knows no zones) and ORs one condition per zone over the agent's
schedule rows (routing.selectors.agent_sql.AgentRules.in_schedule). This module finds the zones.

The zones in use are read exactly and cheaply: a loose index scan (a recursive CTE that
jumps from one zone to the next through the (day_of_week, timezone) index) costs a few index probes per
zone for the three weekdays that are "today" somewhere, where SELECT DISTINCT read every schedule row
(about 10 ms at 70,000 rows). Being exact, it needs no cache to invalidate when the agents app writes
schedules in bulk.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from collections.abc import Iterable

from django.db import connection
from django.db.models.signals import post_delete, post_save

from agents.models import AgentSchedule, Weekday
from routing.engine.schedule import ScheduleRow

ZONES_MEMO_SECONDS = 5.0
_zones_memo: dict[tuple[str, tuple[str, ...]], tuple[float, list[str]]] = {}


def schedule_zones_forget(**kwargs) -> None:
    """post_save/post_delete receiver for AgentSchedule (connected below): forget the memo at once."""
    _zones_memo.clear()


def schedule_zones_in_use(*, now: dt.datetime | None = None) -> list[str]:
    """The zones schedule rows name (schedule_zones_read), remembered for ZONES_MEMO_SECONDS per
    process: a route asks two or three times. A schedule saved through the ORM in this process clears
    the memo at once; bulk writes and other processes are seen within ZONES_MEMO_SECONDS. (A zone only
    matters when it is new: an agent with the first schedule in a new zone waits that long to be
    routed.)"""
    key = (connection.alias, _weekdays(now))
    cached = _zones_memo.get(key)
    clock = time.monotonic()
    if cached is not None and clock - cached[0] < ZONES_MEMO_SECONDS:
        return cached[1]
    zones = schedule_zones_read(now=now)
    _zones_memo[key] = (clock, zones)
    return zones


def _weekdays(now: dt.datetime | None) -> tuple[str, ...]:
    if now is None:
        return tuple(Weekday.values)
    # Local dates run from UTC yesterday to UTC tomorrow; a window that crosses midnight started the
    # local day before, so one more day back.
    utc_day = now.astimezone(dt.UTC).date()
    return tuple(
        Weekday.from_iso((utc_day + dt.timedelta(days=shift)).isoweekday()).value for shift in (-2, -1, 0, 1)
    )


def schedule_zones_read(*, now: dt.datetime | None = None) -> list[str]:
    """The time zones schedule rows name (sorted). With `now`, only zones with a row on a weekday that
    is today or yesterday somewhere on Earth: no other row can contain `now`."""
    days = list(_weekdays(now))
    table = connection.ops.quote_name(AgentSchedule._meta.db_table)
    day = connection.ops.quote_name(AgentSchedule._meta.get_field("day_of_week").column)
    zone = connection.ops.quote_name(AgentSchedule._meta.get_field("timezone").column)
    seeds = " UNION ALL ".join(f"SELECT %s, (SELECT MIN({zone}) FROM {table} WHERE {day} = %s)" for _ in days)
    sql = f"""
        WITH RECURSIVE zones(day_name, zone_name) AS (
            {seeds}
            UNION ALL
            SELECT day_name,
                   (SELECT MIN({zone}) FROM {table} WHERE {day} = day_name AND {zone} > zone_name)
            FROM zones WHERE zone_name IS NOT NULL
        )
        SELECT DISTINCT zone_name FROM zones WHERE zone_name IS NOT NULL
    """
    params = [value for name in days for value in (name, name)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


def schedule_rows_of(agent_ids: Iterable[int]) -> dict[int, list[ScheduleRow]]:
    """The agents' schedule rows as the pure schedule rule reads them, by agent id (one query)."""
    rows: dict[int, list[ScheduleRow]] = defaultdict(list)
    for schedule in AgentSchedule.objects.filter(agent_id__in=list(agent_ids)).order_by("agent_id", "pk"):
        rows[schedule.agent_id].append(
            ScheduleRow(
                day_of_week=schedule.day_of_week,
                start=schedule.start_time,
                end=schedule.end_time,
                timezone=schedule.timezone,
                effective_from=schedule.effective_from,
                effective_until=schedule.effective_until,
                schedule_type=schedule.schedule_type,
            )
        )
    return rows


# Connected here rather than in routing.apps: this module is imported when routing's app is ready
# (routing.apps imports routing.services, which imports the selectors).
for _signal in (post_save, post_delete):
    _signal.connect(
        schedule_zones_forget, sender=AgentSchedule, dispatch_uid=f"routing.schedule_zones_{id(_signal)}"
    )
