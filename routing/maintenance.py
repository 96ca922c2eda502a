"""Routine database maintenance (seed 000, section 4.1): daily, weekly and monthly step lists.

daily
  1. recompute metrics: routing.metrics.performance_recompute, the same function recompute_metrics
     calls. It also refreshes the stress scores (the seed's separate "update agent stress scores" step is
     part of the same UPDATE), so there is no second pass for them.
  2. clean finished queue entries: completed/cancelled EscalationQueueEntry rows queued more than
     `queue_days` ago are deleted, `batch_size` at a time.
  3. archive finished assignments: CaseAssignment rows in a finished status (completed, escalated or
     transferred: routing.models.FINISHED_ASSIGNMENT_STATUSES) that ended more than `archive_days` (90) ago move
     to CaseAssignmentArchive, which has the same columns and stays queryable. Per batch of `batch_size`
     (10,000) ids, in one transaction: lock the batch (PostgreSQL; skip rows another transaction holds),
     INSERT ... SELECT the same columns, move the routing decisions' link from the live assignment
     to the archived row (RoutingDecision.assignment -> archived_assignment, one UPDATE), then DELETE the
     same ids. A crash loses at most one uncommitted batch, never a row: the insert, the relink and the
     delete commit together. The archived row keeps the case id and the agent, its decision points at it,
     and both the archive admin and GET /api/v1/routing/cases/{case_id}/ show each archived assignment
     with its decision.
  4. reconcile loads: routing.metrics.availability_loads_reconcile sets each agent's current_load to its
     open assignments (and busy/available to match), printing how many it corrected.
weekly
  1. period metrics: one AgentPeriodMetrics row per agent with resolved assignments (completed or
     escalated: the agent handled the case to its end either way) in the last full ISO week (Monday to
     Sunday, UTC; period_date is that Monday): average handling seconds (resolution minutes x 60) and
     CSAT. Conversion, cross-sell and upsell rates stay NULL: they are sales-floor
     measures (seed 001) and support cases have no conversions. Upserted, so a rerun rewrites the rows.
  2. integrity: every check in routing.integrity; problems are reported and make the command fail.
  3. ANALYZE: refreshes the planner's statistics after a week of inserts and archive deletes (SQLite
     fills sqlite_stat1). The seed's "rebuild indexes" is not done routinely: PostgreSQL B-tree indexes
     reuse space freed by (auto)vacuum and do not degrade from ordinary churn; REINDEX CONCURRENTLY is a
     remedy for measured bloat or corruption, run by hand, not every week (and it cannot run inside a
     transaction).
monthly
  1. specialization assessments (the seed's "update agent skill assessments"): each AgentSpecialization
     whose agent resolved cases requiring it (its name is the skill domain code, as routing matches it)
     gets case_count, success_rate (resolved without escalation) and confidence (that rate shrunk
     towards 0.5 by ASSESSMENT_PRIOR_CASES cases of prior) from the live assignments, in one UPDATE;
  2. period metrics retention: AgentPeriodMetrics older than `retention_days` (400) deleted in batches.
     They are weekly aggregates of assignments that stay queryable in the archive, so the seed's
     "archive old performance data" is this retention: the cases behind them are kept;
  3. database size: pg_database_size on PostgreSQL, page_count x page_size on SQLite.

Every step is idempotent: a second run finds nothing left to move or delete and recomputes the same
values. `dry_run` counts what each step would touch and writes nothing (ANALYZE is skipped).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from agents.models import AgentPeriodMetrics, AgentSpecialization
from routing.integrity import integrity_run
from routing.metrics import (
    availability_loads_mismatched,
    availability_loads_reconcile,
    performance_recompute,
    performance_recompute_preview,
)
from routing.models import (
    FINISHED_ASSIGNMENT_STATUSES,
    RESOLVED_ASSIGNMENT_STATUSES,
    CaseAssignment,
    CaseAssignmentArchive,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
)
from routing.selectors.agent_sql import Sql

DEFAULT_BATCH_SIZE = 10_000
DEFAULT_ARCHIVE_DAYS = 90
DEFAULT_QUEUE_DAYS = 30
DEFAULT_RETENTION_DAYS = 400


@dataclass(frozen=True)
class StepResult:
    step: str
    rows: int
    seconds: float
    detail: str = ""
    failed: bool = False


@dataclass(frozen=True)
class MaintenanceOptions:
    dry_run: bool = False
    now: dt.datetime | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    archive_days: int = DEFAULT_ARCHIVE_DAYS
    queue_days: int = DEFAULT_QUEUE_DAYS
    retention_days: int = DEFAULT_RETENTION_DAYS

    @property
    def moment(self) -> dt.datetime:
        return self.now or timezone.now()


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _delete_in_batches(queryset: QuerySet, *, batch_size: int) -> int:
    """Delete the queryset's rows `batch_size` primary keys at a time, one transaction per batch."""
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(queryset.order_by("pk").values_list("pk", flat=True)[:batch_size])
            if not ids:
                return deleted
            deleted += queryset.model.objects.filter(pk__in=ids).delete()[0]


def _timed(step: str, work: Callable[[], tuple[int, str]]) -> StepResult:
    started = time.perf_counter()
    rows, detail = work()
    return StepResult(step=step, rows=rows, seconds=time.perf_counter() - started, detail=detail)


# --- daily -----------------------------------------------------------------------------------------------


def metrics_recompute_step(options: MaintenanceOptions) -> StepResult:
    if options.dry_run:
        preview = performance_recompute_preview()
        return StepResult(
            "recompute metrics + stress", preview.updated, preview.seconds, f"{preview.created} to create"
        )
    result = performance_recompute(now=options.now)
    return StepResult(
        "recompute metrics + stress", result.updated, result.seconds, f"{result.created} snapshots created"
    )


def finished_queue_entries(*, older_than: dt.datetime) -> QuerySet[EscalationQueueEntry]:
    return EscalationQueueEntry.objects.filter(
        status__in=[QueueStatus.COMPLETED, QueueStatus.CANCELLED], queued_at__lt=older_than
    )


def queue_entries_purge(options: MaintenanceOptions) -> StepResult:
    cutoff = options.moment - dt.timedelta(days=options.queue_days)
    entries = finished_queue_entries(older_than=cutoff)

    def work() -> tuple[int, str]:
        if options.dry_run:
            return entries.count(), "would delete"
        return _delete_in_batches(entries, batch_size=options.batch_size), "deleted"

    return _timed(f"clean queue (> {options.queue_days} d)", work)


def archivable_assignments(*, older_than: dt.datetime) -> QuerySet[CaseAssignment]:
    """Finished assignments (whatever the way they ended) that ended before `older_than`."""
    return CaseAssignment.objects.filter(status__in=FINISHED_ASSIGNMENT_STATUSES, completed_at__lt=older_than)


def _archive_batch(ids: list, *, archived_at: dt.datetime) -> int:
    columns = [field.column for field in CaseAssignment._meta.concrete_fields]
    column_list = ", ".join(_q(column) for column in columns)
    pk = CaseAssignment._meta.pk
    id_params = [pk.get_db_prep_value(value, connection) for value in ids]
    placeholders = ", ".join(["%s"] * len(ids))
    live = _q(CaseAssignment._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_q(CaseAssignmentArchive._meta.db_table)} ({column_list}, {_q('archived_at')}) "
            f"SELECT {column_list}, %s FROM {live} WHERE {_q(pk.column)} IN ({placeholders})",
            [connection.ops.adapt_datetimefield_value(archived_at), *id_params],
        )
        inserted = cursor.rowcount
        # One UPDATE moves each decision's link to the archived row (same id); the right-hand sides are
        # read before any column is set, so archived_assignment_id gets the old assignment_id.
        RoutingDecision.objects.filter(assignment_id__in=ids).update(
            archived_assignment_id=F("assignment_id"), assignment=None
        )
        cursor.execute(f"DELETE FROM {live} WHERE {_q(pk.column)} IN ({placeholders})", id_params)
        deleted = cursor.rowcount
    if inserted != deleted:
        raise RuntimeError(f"archive batch moved {inserted} rows but deleted {deleted}; rolled back")
    return deleted


def assignments_archive(options: MaintenanceOptions) -> StepResult:
    now = options.moment
    candidates = archivable_assignments(older_than=now - dt.timedelta(days=options.archive_days))

    def work() -> tuple[int, str]:
        if options.dry_run:
            return candidates.count(), "would archive"
        moved = 0
        while True:
            with transaction.atomic():
                batch = candidates.order_by("completed_at", "pk")
                if connection.features.has_select_for_update_skip_locked:
                    batch = batch.select_for_update(skip_locked=True)
                ids = list(batch.values_list("pk", flat=True)[: options.batch_size])
                if not ids:
                    return moved, "moved to archive"
                moved += _archive_batch(ids, archived_at=now)

    return _timed(f"archive assignments (> {options.archive_days} d)", work)


def loads_reconcile_step(options: MaintenanceOptions) -> StepResult:
    def work() -> tuple[int, str]:
        if options.dry_run:
            return availability_loads_mismatched().count(), "would correct"
        result = availability_loads_reconcile(now=options.now)
        return result.corrected, f"loads corrected ({result.statuses} statuses busy/available)"

    return _timed("reconcile agent loads", work)


def maintenance_daily(options: MaintenanceOptions) -> list[Callable[[], StepResult]]:
    return [
        lambda: metrics_recompute_step(options),
        lambda: queue_entries_purge(options),
        lambda: assignments_archive(options),
        lambda: loads_reconcile_step(options),
    ]


# --- weekly ----------------------------------------------------------------------------------------------


def last_full_week(now: dt.datetime) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """(period_date, start, end) of the last complete ISO week before `now`, in UTC."""
    today = now.astimezone(dt.UTC).date()
    monday = today - dt.timedelta(days=today.weekday() + 7)
    start = dt.datetime(monday.year, monday.month, monday.day, tzinfo=dt.UTC)
    return monday, start, start + dt.timedelta(days=7)


def period_metrics_build(options: MaintenanceOptions) -> StepResult:
    period_date, start, end = last_full_week(options.moment)
    weekly = CaseAssignment.objects.filter(
        status__in=RESOLVED_ASSIGNMENT_STATUSES, completed_at__gte=start, completed_at__lt=end
    )

    def work() -> tuple[int, str]:
        if options.dry_run:
            return weekly.values("agent_id").distinct().count(), f"would write week of {period_date}"
        adapt = connection.ops.adapt_datetimefield_value
        stamp = adapt(options.moment)
        resolved = ", ".join(["%s"] * len(RESOLVED_ASSIGNMENT_STATUSES))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {_q(AgentPeriodMetrics._meta.db_table)}
                       (agent_id, period_date, avg_handling_seconds, csat_score, created_at, updated_at)
                SELECT a.agent_id, %s, CAST(ROUND(AVG(a.resolution_minutes) * 60) AS INTEGER),
                       ROUND(AVG(a.csat_rating), 2), %s, %s
                  FROM {_q(CaseAssignment._meta.db_table)} a
                 WHERE a.status IN ({resolved}) AND a.completed_at >= %s AND a.completed_at < %s
                 GROUP BY a.agent_id
                ON CONFLICT (agent_id, period_date) DO UPDATE
                   SET avg_handling_seconds = excluded.avg_handling_seconds,
                       csat_score = excluded.csat_score,
                       updated_at = excluded.updated_at
                """,
                [
                    connection.ops.adapt_datefield_value(period_date),
                    stamp,
                    stamp,
                    *(status.value for status in RESOLVED_ASSIGNMENT_STATUSES),
                    adapt(start),
                    adapt(end),
                ],
            )
            return max(cursor.rowcount, 0), f"week of {period_date}"

    return _timed("period metrics (last week)", work)


def integrity_step(options: MaintenanceOptions) -> StepResult:
    started = time.perf_counter()
    results = integrity_run()
    failing = [result for result in results if not result.ok]
    detail = ", ".join(f"{r.name} ({r.count})" for r in failing) or f"{len(results)} checks OK"
    return StepResult(
        step="check integrity",
        rows=sum(result.count for result in failing),
        seconds=time.perf_counter() - started,
        detail=detail,
        failed=bool(failing),
    )


def database_analyze(options: MaintenanceOptions) -> StepResult:
    def work() -> tuple[int, str]:
        if options.dry_run:
            return 0, "skipped (dry run)"
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        return 0, f"statistics refreshed ({connection.vendor})"

    return _timed("analyze", work)


def maintenance_weekly(options: MaintenanceOptions) -> list[Callable[[], StepResult]]:
    return [
        lambda: period_metrics_build(options),
        lambda: integrity_step(options),
        lambda: database_analyze(options),
    ]


# --- monthly ---------------------------------------------------------------------------------------------


def period_metrics_purge(options: MaintenanceOptions) -> StepResult:
    cutoff = options.moment.astimezone(dt.UTC).date() - dt.timedelta(days=options.retention_days)
    old = AgentPeriodMetrics.objects.filter(period_date__lt=cutoff)

    def work() -> tuple[int, str]:
        if options.dry_run:
            return old.count(), f"would delete before {cutoff}"
        return _delete_in_batches(old, batch_size=options.batch_size), f"deleted before {cutoff}"

    return _timed(f"period metrics retention ({options.retention_days} d)", work)


def database_size_bytes() -> int:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            return int(pages * cursor.fetchone()[0])
    raise NotImplementedError(f"database size on {connection.vendor}")


def database_size(options: MaintenanceOptions) -> StepResult:
    def work() -> tuple[int, str]:
        size = database_size_bytes()
        return 0, f"{size / 1024 / 1024:.1f} MiB ({size} bytes)"

    return _timed("database size", work)


# Confidence in a specialization is its success rate shrunk towards 0.5 (the model's default, "no
# evidence") by this many cases' worth of prior: 3 successes out of 4 give 0.57, 46 of 50 give 0.85.
ASSESSMENT_PRIOR_CASES = 10
ASSESSMENT_PRIOR_CONFIDENCE = 0.5


def _assessment_sql() -> Sql:
    """Per specialization (its name is the skill domain code cases require, as routing matches it): the
    agent's resolved assignments still in the live table (the last `archive_days`) that required it,
    and how many of those were resolved without escalation."""
    sp, ca = _q(AgentSpecialization._meta.db_table), _q(CaseAssignment._meta.db_table)
    statuses = list(RESOLVED_ASSIGNMENT_STATUSES)
    marks = ", ".join(["%s"] * len(statuses))
    if connection.vendor == "postgresql":
        requires = "a.required_skills @> jsonb_build_array(s.specialization)"
    else:  # SQLite keeps JSON as text
        requires = "EXISTS (SELECT 1 FROM json_each(a.required_skills) j WHERE j.value = s.specialization)"
    return Sql(
        f"SELECT s.id AS id, COUNT(*) AS cases, SUM(CASE WHEN a.escalated THEN 0 ELSE 1 END) AS successes "
        f"FROM {sp} s JOIN {ca} a ON a.agent_id = s.agent_id "
        f"WHERE a.status IN ({marks}) AND {requires} GROUP BY s.id",
        statuses,
    )


def specialization_assess(options: MaintenanceOptions) -> StepResult:
    """The seed's "update agent skill assessments": each specialization's case count, success rate
    and confidence from the cases the agent resolved that required it. One set-based UPDATE; a
    specialization with no such case keeps its values (an imported or hand-set assessment stays)."""
    evidence = _assessment_sql()
    sp = _q(AgentSpecialization._meta.db_table)
    prior_cases, prior = ASSESSMENT_PRIOR_CASES, ASSESSMENT_PRIOR_CONFIDENCE
    rate = "e.successes * 1.0 / e.cases"
    confidence = f"(e.successes + {prior * prior_cases}) / (e.cases + {prior_cases}.0)"

    def work() -> tuple[int, str]:
        with connection.cursor() as cursor:
            if options.dry_run:
                cursor.execute(f"SELECT COUNT(*) FROM ({evidence.text}) e", evidence.params)
                return cursor.fetchone()[0], "would reassess (dry run)"
            with transaction.atomic():
                cursor.execute(
                    f"UPDATE {sp} SET case_count = e.cases, success_rate = ROUND({rate}, 4), "
                    f"confidence = ROUND({confidence}, 2) FROM ({evidence.text}) e WHERE {sp}.id = e.id",
                    evidence.params,
                )
                return cursor.rowcount, "from resolved assignments in the live table"

    return _timed("specialization assessments", work)


def maintenance_monthly(options: MaintenanceOptions) -> list[Callable[[], StepResult]]:
    return [
        lambda: specialization_assess(options),
        lambda: period_metrics_purge(options),
        lambda: database_size(options),
    ]


SCHEDULES: dict[str, Callable[[MaintenanceOptions], list[Callable[[], StepResult]]]] = {
    "daily": maintenance_daily,
    "weekly": maintenance_weekly,
    "monthly": maintenance_monthly,
}


def maintenance_run(
    schedule: str, options: MaintenanceOptions, *, on_step: Callable[[StepResult], None] | None = None
) -> list[StepResult]:
    """Run one schedule's steps in order; `on_step` hears each result as it completes."""
    results = []
    for step in SCHEDULES[schedule](options):
        result = step()
        results.append(result)
        if on_step:
            on_step(result)
    return results
