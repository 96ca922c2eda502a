"""Rebuild every agent's performance snapshot (agents.AgentPerformance) from case assignments, in SQL.

One aggregate over routing_caseassignment (conditional aggregation, grouped by agent, LEFT JOINed from
the agents so an agent without assignments gets zero counts and empty averages) feeds one
`UPDATE ... FROM` per batch of agents. PostgreSQL and SQLite (3.33+) both run the same statement. No row
is read into Python. Running it twice gives the same snapshot: it is a pure function of the assignments
and the clock.

What each column means (all boundaries in UTC, see below):
- cases_today / cases_this_week / cases_this_month: assignments whose `assigned_at` falls in the current
  UTC calendar day / ISO week (from Monday 00:00) / calendar month (from the 1st), whatever their status;
- avg_resolution_minutes: mean `resolution_minutes` of resolved assignments (status completed or
  escalated: routing.services ends an escalated completion with status `escalated`, and the agent worked
  it to that end either way) in the quality window, rounded to whole minutes;
- csat_score: mean `csat_rating` of rated assignments in the quality window, two decimals, NULL if none;
- escalation_rate: escalated / finished, where escalated means the `escalated` flag or status
  `escalated`, and finished means status completed, escalated or transferred (the assignment ended);
- first_contact_resolution_rate: (status completed and not flagged escalated) / finished: the share of
  finished assignments the agent resolved without escalating or transferring it. Both rates are NULL
  when the agent finished nothing in the window;
- stress_score: routing.engine.stress, stated here in SQL (see `stress_points_sql`).
The quality window is the last QUALITY_WINDOW_DAYS (90) days by `assigned_at`, which is also the
archive horizon of run_maintenance: archiving a completed assignment older than 90 days never changes
a snapshot.

Why UTC: agents work across time zones and one snapshot is computed for all of them in one statement;
an agent-local "today" would need one boundary per time zone (and an agent may have schedules in
several). UTC days make the counts comparable between agents and reproducible on any server.

Live fields are not touched: consecutive_difficult_cases, last_difficult_case_at and last_break_at
belong to routing (updated as cases are assigned and breaks taken), and AgentAvailability.current_load
belongs to the assignment services. The recompute reads consecutive_difficult_cases for the stress
score and never writes it.

Loads are repaired separately, by `availability_loads_reconcile` (recompute_metrics and the daily
maintenance run it): an agent's current_load is by definition its open work of every kind (assigned
or in progress; routing.work), and for an agent whose status follows its load (available or busy set
by routing, no manual override) busy means "at capacity". A status a person set is never changed.
Rows that disagree (a raw import; a crash outside a transaction) are corrected in SQL. Routers change a load under the agent's AgentAvailability row lock,
so the repair locks the disagreeing rows (agent_id order, as routing.services does) and re-checks them in
a fresh statement before writing: a case routed meanwhile is counted, never overwritten.

Agents are processed in ascending id ranges of `batch_size` agents, one transaction per batch, so a
huge roster never holds every snapshot row locked at once; at 10,000 agents the default is one batch.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from agents.models import (
    AgentAvailability,
    AgentPerformance,
    AvailabilityStatus,
    HumanAgent,
    snapshot_period_starts,
)
from routing.engine.stress import (
    CASES_PER_SLOT_PER_DAY,
    ESCALATION_POINTS,
    ESCALATION_WINDOW_DAYS,
    ESCALATIONS_AT_MAX,
    LOAD_POINTS,
    STREAK_POINTS,
)
from routing.models import (
    FINISHED_ASSIGNMENT_STATUSES,
    RESOLVED_ASSIGNMENT_STATUSES,
    AssignmentStatus,
    CaseAssignment,
)
from routing.work import open_work_count

QUALITY_WINDOW_DAYS = 90
DEFAULT_AGENT_BATCH = 10_000


@dataclass(frozen=True)
class MetricsBoundaries:
    now: dt.datetime
    today_start: dt.datetime
    week_start: dt.datetime
    month_start: dt.datetime
    quality_start: dt.datetime
    escalation_start: dt.datetime

    @property
    def earliest(self) -> dt.datetime:
        return min(self.month_start, self.quality_start, self.escalation_start)


def metrics_boundaries(
    *, now: dt.datetime, quality_window_days: int = QUALITY_WINDOW_DAYS
) -> MetricsBoundaries:
    now = now.astimezone(dt.UTC)
    today_start, week_start, month_start = snapshot_period_starts(now)
    return MetricsBoundaries(
        now=now,
        today_start=today_start,
        week_start=week_start,
        month_start=month_start,
        quality_start=now - dt.timedelta(days=quality_window_days),
        escalation_start=now - dt.timedelta(days=ESCALATION_WINDOW_DAYS),
    )


def _least(a: str, b: str) -> str:
    # LEAST() is PostgreSQL, MIN(a, b) is SQLite; CASE is both.
    return f"(CASE WHEN {a} < {b} THEN {a} ELSE {b} END)"


def stress_points_sql(*, cases_today: str, capacity: str, streak: str, escalations: str, lockout: int) -> str:
    """routing.engine.stress.stress_points as an integer SQL expression over the given column expressions.

    Every operand is an integer, so `/` is integer (floor) division on both PostgreSQL and SQLite and the
    result equals the Python function exactly.
    """
    streak_cap = max(lockout, 1)
    day_capacity = f"({capacity} * {CASES_PER_SLOT_PER_DAY})"
    load = _least(cases_today, day_capacity)
    capped_streak = _least(streak, str(streak_cap))
    capped_escalations = _least(escalations, str(ESCALATIONS_AT_MAX))
    denominator = f"({day_capacity} * {streak_cap * ESCALATIONS_AT_MAX})"
    numerator = (
        f"({LOAD_POINTS * streak_cap * ESCALATIONS_AT_MAX} * {load}"
        f" + {STREAK_POINTS * ESCALATIONS_AT_MAX} * {capped_streak} * {day_capacity}"
        f" + {ESCALATION_POINTS * streak_cap} * {capped_escalations} * {day_capacity})"
    )
    return f"((2 * {numerator} + {denominator}) / (2 * {denominator}))"


def _lockout() -> int:
    return int(settings.ROUTING.get("DIFFICULT_CASE_LOCKOUT", 3))


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _status_in(statuses: list[AssignmentStatus]) -> str:
    """`a.status IN (...)` over named parameters, each status passed as the parameter of its own name."""
    return f"a.status IN ({', '.join(f'%({status.value})s' for status in statuses)})"


def _aggregate_sql() -> str:
    """Per-agent aggregates for agents with lo <= id <= hi (one row per agent, zeros when no assignments)."""
    agent = _q(HumanAgent._meta.db_table)
    assignment = _q(CaseAssignment._meta.db_table)
    escalated = "(a.escalated OR a.status = %(escalated)s)"
    finished = _status_in(FINISHED_ASSIGNMENT_STATUSES)
    resolved = _status_in(RESOLVED_ASSIGNMENT_STATUSES)
    in_quality = "a.assigned_at >= %(quality_start)s"
    return f"""
        SELECT h.id AS agent_id,
               h.max_concurrent_work AS capacity,
               SUM(CASE WHEN a.assigned_at >= %(today_start)s THEN 1 ELSE 0 END) AS cases_today,
               SUM(CASE WHEN a.assigned_at >= %(week_start)s THEN 1 ELSE 0 END) AS cases_this_week,
               SUM(CASE WHEN a.assigned_at >= %(month_start)s THEN 1 ELSE 0 END) AS cases_this_month,
               CAST(ROUND(AVG(CASE WHEN {in_quality} AND {resolved}
                                   THEN a.resolution_minutes END)) AS INTEGER) AS avg_resolution_minutes,
               ROUND(AVG(CASE WHEN {in_quality} THEN a.csat_rating END), 2) AS csat_score,
               SUM(CASE WHEN {in_quality} AND {finished} THEN 1 ELSE 0 END) AS finished,
               SUM(CASE WHEN {in_quality} AND {finished} AND {escalated} THEN 1 ELSE 0 END) AS escalated,
               SUM(CASE WHEN {in_quality} AND a.status = %(completed)s AND NOT a.escalated
                        THEN 1 ELSE 0 END) AS first_contact,
               SUM(CASE WHEN a.assigned_at >= %(escalation_start)s AND {escalated}
                        THEN 1 ELSE 0 END) AS recent_escalations
          FROM {agent} h
          LEFT JOIN {assignment} a ON a.agent_id = h.id AND a.assigned_at >= %(earliest)s
         WHERE h.id BETWEEN %(lo)s AND %(hi)s
         GROUP BY h.id, h.max_concurrent_work
    """


def _update_sql(*, lockout: int) -> str:
    performance = _q(AgentPerformance._meta.db_table)
    stress = stress_points_sql(
        cases_today="s.cases_today",
        capacity="s.capacity",
        streak="p.consecutive_difficult_cases",
        escalations="s.recent_escalations",
        lockout=lockout,
    )
    return f"""
        UPDATE {performance} AS p
           SET cases_today = s.cases_today,
               cases_this_week = s.cases_this_week,
               cases_this_month = s.cases_this_month,
               avg_resolution_minutes = s.avg_resolution_minutes,
               csat_score = s.csat_score,
               escalation_rate = CASE WHEN s.finished > 0 THEN ROUND(1.0 * s.escalated / s.finished, 4) END,
               first_contact_resolution_rate =
                   CASE WHEN s.finished > 0 THEN ROUND(1.0 * s.first_contact / s.finished, 4) END,
               stress_score = {stress} / 100.0,
               last_updated = %(now)s
          FROM ({_aggregate_sql()}) AS s
         WHERE p.agent_id = s.agent_id
    """


def _params(bounds: MetricsBoundaries) -> dict[str, object]:
    adapt = connection.ops.adapt_datetimefield_value
    return {
        "now": adapt(bounds.now),
        "today_start": adapt(bounds.today_start),
        "week_start": adapt(bounds.week_start),
        "month_start": adapt(bounds.month_start),
        "quality_start": adapt(bounds.quality_start),
        "escalation_start": adapt(bounds.escalation_start),
        "earliest": adapt(bounds.earliest),
        **{status.value: status.value for status in FINISHED_ASSIGNMENT_STATUSES},
    }


def performance_rows_create_missing(*, now: dt.datetime | None = None) -> int:
    """Give every agent without a performance snapshot an empty one (INSERT ... SELECT)."""
    performance = _q(AgentPerformance._meta.db_table)
    agent = _q(HumanAgent._meta.db_table)
    stamp = connection.ops.adapt_datetimefield_value(now or timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {performance}
                   (agent_id, cases_today, cases_this_week, cases_this_month,
                    consecutive_difficult_cases, stress_score, last_updated)
            SELECT h.id, 0, 0, 0, 0, 0, %s
              FROM {agent} h
             WHERE NOT EXISTS (SELECT 1 FROM {performance} p WHERE p.agent_id = h.id)
            """,
            [stamp],
        )
        return max(cursor.rowcount, 0)


@dataclass(frozen=True)
class RecomputeResult:
    created: int
    updated: int
    batches: int
    seconds: float


def performance_recompute(
    *,
    now: dt.datetime | None = None,
    quality_window_days: int = QUALITY_WINDOW_DAYS,
    batch_size: int = DEFAULT_AGENT_BATCH,
) -> RecomputeResult:
    """Rebuild every agent's snapshot; creates the missing ones first. Idempotent."""
    started = time.perf_counter()
    bounds = metrics_boundaries(now=now or timezone.now(), quality_window_days=quality_window_days)
    created = performance_rows_create_missing(now=bounds.now)
    sql = _update_sql(lockout=_lockout())
    params = _params(bounds)
    agent_ids = HumanAgent.objects.order_by("pk").values_list("pk", flat=True)
    updated = batches = 0
    low = agent_ids.first()
    while low is not None:
        # The batch's upper bound is the id of its last agent: one indexed lookup, no id list in Python.
        high = agent_ids.filter(pk__gte=low)[batch_size - 1 : batch_size].first()
        if high is None:
            high = agent_ids.last()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, {**params, "lo": low, "hi": high})
            updated += max(cursor.rowcount, 0)
        batches += 1
        low = agent_ids.filter(pk__gt=high).first()
    return RecomputeResult(
        created=created, updated=updated, batches=batches, seconds=time.perf_counter() - started
    )


def performance_refresh_agent(*, agent_id: int, now: dt.datetime) -> None:
    """Rebuild one agent's snapshot with the same statement as the full rebuild, in the caller's
    transaction (a completion's): the admin and the API show the agent's figures as of their last
    completion, never as of the last nightly recompute."""
    bounds = metrics_boundaries(now=now)
    with connection.cursor() as cursor:
        cursor.execute(_update_sql(lockout=_lockout()), {**_params(bounds), "lo": agent_id, "hi": agent_id})


def performance_count_assignment(*, agent_id: int, now: dt.datetime) -> None:
    """One more case assigned to the agent: its cases today, this week and this month, each starting
    again from 1 when the snapshot was last updated in an earlier day, week or month (UTC, as the
    rebuild counts them). One UPDATE in the caller's transaction."""
    bounds = metrics_boundaries(now=now)

    def counted(field: str, start: dt.datetime) -> Case:
        return Case(When(last_updated__gte=start, then=F(field) + 1), default=Value(1))

    AgentPerformance.objects.filter(agent_id=agent_id).update(
        cases_today=counted("cases_today", bounds.today_start),
        cases_this_week=counted("cases_this_week", bounds.week_start),
        cases_this_month=counted("cases_this_month", bounds.month_start),
        last_updated=now,
    )


def performance_recompute_preview(*, now: dt.datetime | None = None) -> RecomputeResult:
    """What performance_recompute would do, without writing (for --dry-run)."""
    started = time.perf_counter()
    missing = HumanAgent.objects.filter(performance__isnull=True).count()
    return RecomputeResult(
        created=missing,
        updated=HumanAgent.objects.count(),
        batches=0,
        seconds=time.perf_counter() - started,
    )


# --- loads ------------------------------------------------------------------------------------------------


def _open_work() -> Any:
    """For a queryset over AgentAvailability: the agent's open work of every kind (routing.work)."""
    return open_work_count("agent_id")


def _capacity() -> Subquery:
    agent = HumanAgent.objects.filter(pk=OuterRef("agent_id")).values("max_concurrent_work")[:1]
    return Subquery(agent, output_field=IntegerField())


def _status_follows_load() -> Q:
    """available/busy set by routing, not by a person (manual_override): busy exactly when at capacity.
    A person's status is theirs; the reconcile never changes it."""
    return Q(manual_override=False, status__in=[AvailabilityStatus.AVAILABLE, AvailabilityStatus.BUSY])


def _status_for_load() -> Case:
    return Case(
        When(GreaterThanOrEqual(_open_work(), _capacity()), then=Value(AvailabilityStatus.BUSY)),
        default=Value(AvailabilityStatus.AVAILABLE),
    )


def _status_disagrees() -> Q:
    return _status_follows_load() & ~Q(status=_status_for_load())


def availability_loads_mismatched() -> QuerySet[AgentAvailability]:
    """Availability rows whose load or (load-driven) status disagrees with the open assignments."""
    return AgentAvailability.objects.filter(~Q(current_load=_open_work()) | _status_disagrees())


@dataclass(frozen=True)
class LoadReconcileResult:
    corrected: int  # loads set to the open assignment count
    statuses: int  # busy/available switched to match the corrected load
    seconds: float


def availability_loads_reconcile(
    *, now: dt.datetime | None = None, batch_size: int = DEFAULT_AGENT_BATCH
) -> LoadReconcileResult:
    """Set every disagreeing agent's current_load to its open assignments and busy/available to match.

    Idempotent; a consistent database costs one query. Only the ids of disagreeing rows are read (the
    repair is rare and small); each batch is locked, re-checked and updated in one transaction.
    """
    started = time.perf_counter()
    now = now or timezone.now()
    ids = list(availability_loads_mismatched().order_by("agent_id").values_list("agent_id", flat=True))
    corrected = statuses = 0
    for offset in range(0, len(ids), batch_size):
        with transaction.atomic():
            locked = list(
                AgentAvailability.objects.select_for_update(no_key=True, of=("self",))
                .filter(agent_id__in=ids[offset : offset + batch_size])
                .order_by("agent_id")
                .values_list("agent_id", flat=True)
            )
            # New statements, new snapshot: what committed before the locks were granted is counted.
            statuses += (
                AgentAvailability.objects.filter(agent_id__in=locked)
                .filter(_status_disagrees())
                .update(status=_status_for_load(), status_since=now)
            )
            corrected += (
                AgentAvailability.objects.filter(agent_id__in=locked)
                .exclude(current_load=_open_work())
                .update(current_load=_open_work())
            )
    return LoadReconcileResult(corrected=corrected, statuses=statuses, seconds=time.perf_counter() - started)
