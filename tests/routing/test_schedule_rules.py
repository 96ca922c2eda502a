"""The schedule rules (routing.engine.schedule): windows that cross midnight, temporary rows replacing the
regular ones on their dates, exceptions as time off, local wall-clock hours across daylight saving; and
the candidate search's SQL stating the same rules, proved over random schedules and instants."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.models import AgentSchedule
from routing.engine.schedule import EXCEPTION, REGULAR, TEMPORARY, WEEKDAYS, ScheduleRow, in_schedule
from routing.engine.types import WorkProfile
from routing.selectors.agent_sql import AVAILABILITY, AgentRules
from routing.selectors.schedules import schedule_zones_read
from tests.factories.routing import routable_agent

LA = "America/Los_Angeles"


def row(
    day: str, start: str, end: str, *, zone: str = "UTC", kind: str = REGULAR, since=None, until=None
) -> ScheduleRow:
    return ScheduleRow(
        day_of_week=day,
        start=dt.time.fromisoformat(start),
        end=dt.time.fromisoformat(end),
        timezone=zone,
        effective_from=since or dt.date(2026, 1, 1),
        effective_until=until,
        schedule_type=kind,
    )


def at(text: str, zone: str = "UTC") -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone))


# --- the pure rules ---------------------------------------------------------------------------------


def test_a_night_shift_is_one_row_crossing_midnight():
    night = [row("friday", "22:00", "06:00")]
    assert in_schedule(night, at("2026-03-06 23:30"))  # Friday night
    assert in_schedule(night, at("2026-03-07 05:59"))  # Saturday morning, still Friday's shift
    assert not in_schedule(night, at("2026-03-07 06:00"))  # the end is exclusive
    assert not in_schedule(night, at("2026-03-07 23:30"))  # Saturday night: no shift starts then
    assert not in_schedule(night, at("2026-03-06 05:00"))  # Friday early: Thursday had no shift


def test_until_midnight_and_a_whole_day_need_no_end_of_day_tricks():
    assert in_schedule([row("monday", "09:00", "00:00")], at("2026-03-02 23:59:59"))
    assert not in_schedule([row("monday", "09:00", "00:00")], at("2026-03-03 00:00"))
    whole = [row("monday", "00:00", "00:00")]
    assert in_schedule(whole, at("2026-03-02 00:00")) and in_schedule(whole, at("2026-03-02 23:59:59"))
    assert not in_schedule(whole, at("2026-03-03 00:00"))


def test_a_temporary_row_replaces_the_regular_rows_of_its_dates_only():
    regular = [row("monday", "09:00", "17:00"), row("saturday", "10:00", "14:00")]
    cover = row(
        "monday", "06:00", "12:00", kind=TEMPORARY, since=dt.date(2026, 3, 2), until=dt.date(2026, 3, 9)
    )
    rows = [*regular, cover]
    assert in_schedule(rows, at("2026-03-02 07:00"))  # the temporary Monday
    assert not in_schedule(rows, at("2026-03-02 15:00"))  # the regular Monday is replaced on that date
    assert in_schedule(rows, at("2026-03-07 11:00"))  # a Saturday it does not name keeps the regular row
    assert in_schedule(rows, at("2026-03-16 15:00"))  # after its dates the regular Monday is back


def test_an_exception_is_time_off_inside_its_window_only():
    rows = [
        row("monday", "09:00", "17:00"),
        row("monday", "12:00", "13:00", kind=EXCEPTION, since=dt.date(2026, 3, 2), until=dt.date(2026, 3, 2)),
    ]
    assert in_schedule(rows, at("2026-03-02 11:59"))
    assert not in_schedule(rows, at("2026-03-02 12:30"))
    assert in_schedule(rows, at("2026-03-02 13:00"))
    assert in_schedule(rows, at("2026-03-09 12:30"))  # only on its date
    day_off = [
        row("monday", "09:00", "17:00"),
        row("monday", "00:00", "00:00", kind=EXCEPTION, since=dt.date(2026, 3, 9), until=dt.date(2026, 3, 9)),
    ]
    assert not in_schedule(day_off, at("2026-03-09 10:00"))
    assert in_schedule(day_off, at("2026-03-02 10:00"))


def test_local_hours_hold_across_a_daylight_saving_change():
    # Los Angeles moves to daylight time on Sunday 2026-03-08: 09:00 local is 17:00 UTC before, 16:00 after
    rows = [row("monday", "09:00", "17:00", zone=LA)]
    assert not in_schedule(rows, at("2026-03-02 16:30"))  # 08:30 PST
    assert in_schedule(rows, at("2026-03-09 16:30"))  # 09:30 PDT
    assert in_schedule(rows, at("2026-03-03 00:59"))  # Monday 16:59 PST is Tuesday 00:59 UTC
    # a night shift over the change is 7 hours long and ends at 06:00 local
    night = [row("saturday", "22:00", "06:00", zone=LA)]
    assert in_schedule(night, at("2026-03-08 12:59"))  # 05:59 PDT
    assert not in_schedule(night, at("2026-03-08 13:00"))  # 06:00 PDT
    assert in_schedule(night, at("2026-03-08 09:30"))  # 01:30 PST, before the jump
    # and in autumn (2026-11-01) the repeated hour is inside the shift both times
    autumn = [row("saturday", "22:00", "06:00", zone=LA)]
    assert in_schedule(autumn, at("2026-11-01 08:30"))  # 01:30 PDT
    assert in_schedule(autumn, at("2026-11-01 09:30"))  # 01:30 PST
    assert not in_schedule(autumn, at("2026-11-01 14:00"))  # 06:00 PST


# --- the SQL states the same rules ----------------------------------------------------------------------

ZONES = ["UTC", LA, "Europe/Berlin", "Asia/Kolkata", "Pacific/Auckland", "America/St_Johns"]
# Instants near the daylight saving changes of those zones in 2026, and anywhere in the year.
TURNS = [
    at("2026-03-08 10:00"),
    at("2026-03-29 01:00"),
    at("2026-04-05 14:00"),
    at("2026-09-27 14:00"),
    at("2026-10-25 01:00"),
    at("2026-11-01 09:00"),
]
times = st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))
instants = st.one_of(
    st.builds(
        lambda turn, minutes: turn + dt.timedelta(minutes=minutes),
        st.sampled_from(TURNS),
        st.integers(-2880, 2880),
    ),
    st.datetimes(
        min_value=dt.datetime(2026, 1, 5), max_value=dt.datetime(2026, 12, 20), timezones=st.just(dt.UTC)
    ),
)


@st.composite
def schedules(draw, now: dt.datetime) -> list[ScheduleRow]:
    rows = []
    for _ in range(draw(st.integers(1, 5))):
        since = now.date() + dt.timedelta(days=draw(st.integers(-9, 2)))
        until = draw(
            st.one_of(
                st.none(), st.builds(lambda d, start=since: start + dt.timedelta(days=d), st.integers(0, 9))
            )
        )
        rows.append(
            ScheduleRow(
                day_of_week=draw(st.sampled_from(WEEKDAYS)),
                start=draw(times),
                end=draw(times),
                timezone=draw(st.sampled_from(ZONES)),
                effective_from=since,
                effective_until=until,
                schedule_type=draw(st.sampled_from([REGULAR, REGULAR, TEMPORARY, EXCEPTION])),
            )
        )
    return rows


@pytest.fixture
def agent(db):
    return routable_agent(always_on=False)


def _sql_in_schedule(agent_id: int, now: dt.datetime) -> bool:
    from django.db import connection

    rules = AgentRules(
        work=WorkProfile(work_id="", priority="low"),
        ring=None,  # the schedule rule reads neither
        now=now,
        zones=schedule_zones_read(now=now),
        lockout=0,
    )
    rule = rules.in_schedule()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT CASE WHEN {rule.text} THEN 1 ELSE 0 END FROM {AVAILABILITY} a WHERE a.agent_id = %s",
            [*rule.params, agent_id],
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.django_db
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_the_candidate_searchs_schedule_sql_agrees_with_the_rule(agent, data):
    now = data.draw(instants)
    rows = data.draw(schedules(now))
    AgentSchedule.objects.filter(agent=agent).delete()
    AgentSchedule.objects.bulk_create(
        AgentSchedule(
            agent=agent,
            day_of_week=r.day_of_week,
            start_time=r.start,
            end_time=r.end,
            timezone=r.timezone,
            effective_from=r.effective_from,
            effective_until=r.effective_until,
            schedule_type=r.schedule_type,
        )
        for r in rows
    )
    assert _sql_in_schedule(agent.pk, now) == in_schedule(rows, now), (rows, now)
