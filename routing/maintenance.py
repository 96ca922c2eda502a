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
monthly (the seed's "update agent skill assessments" and "archive old performance data"; the rules:
routing.engine.assessment)
  1. specialization assessments: each AgentSpecialization whose agent resolved cases that asked for it,
     as routing matches it (its name among the case's required skills or requested specializations),
     gets case_count, success_rate (resolved without escalation) and confidence from the live
     assignments, in one UPDATE;
  2. skill proficiencies: each AgentSkill with enough resolved cases requiring it in the last 30 days
     moves one level up or down; the change is written with its history row and reason;
  3. period metrics archive: AgentPeriodMetrics older than `retention_days` (400) move to
     AgentPeriodMetricsArchive in batches (copy and delete in one transaction per batch), queryable;
  4. database size: pg_database_size on PostgreSQL, page_count x page_size on SQLite.

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

from agents.models import (
    AgentPeriodMetrics,
    AgentPeriodMetricsArchive,
    AgentSkill,
    AgentSpecialization,
    SkillDomain,
)
from routing.engine.assessment import PRIOR_CASES as ASSESSMENT_PRIOR_CASES
from routing.engine.assessment import PRIOR_CONFIDENCE as ASSESSMENT_PRIOR_CONFIDENCE
from routing.engine.assessment import reassessed_proficiency
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
    SupportCase,
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


def _move_batch(live_model, archive_model, ids: list, *, archived_at: dt.datetime, relink=None) -> int:
    """Copy rows `ids` of `live_model` into `archive_model` (same columns plus archived_at), run
    `relink(ids)` (what points at the live rows follows them), then delete them from the live table:
    one statement each, in the caller's transaction. Raises (so the batch rolls back) if the copy and
    the delete disagree."""
    columns = [field.column for field in live_model._meta.concrete_fields]
    column_list = ", ".join(_q(column) for column in columns)
    pk = live_model._meta.pk
    id_params = [pk.get_db_prep_value(value, connection) for value in ids]
    placeholders = ", ".join(["%s"] * len(ids))
    live = _q(live_model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {_q(archive_model._meta.db_table)} ({column_list}, {_q('archived_at')}) "
            f"SELECT {column_list}, %s FROM {live} WHERE {_q(pk.column)} IN ({placeholders})",
            [connection.ops.adapt_datetimefield_value(archived_at), *id_params],
        )
        inserted = cursor.rowcount
        if relink is not None:
            relink(ids)
        cursor.execute(f"DELETE FROM {live} WHERE {_q(pk.column)} IN ({placeholders})", id_params)
        deleted = cursor.rowcount
    if inserted != deleted:
        raise RuntimeError(f"archive batch moved {inserted} rows but deleted {deleted}; rolled back")
    return deleted


def _relink_decisions(ids: list) -> None:
    # One UPDATE moves each decision's link to the archived row (same id); the right-hand sides are
    # read before any column is set, so archived_assignment_id gets the old assignment_id.
    RoutingDecision.objects.filter(assignment_id__in=ids).update(
        archived_assignment_id=F("assignment_id"), assignment=None
    )


def _archive_batch(ids: list, *, archived_at: dt.datetime) -> int:
    return _move_batch(
        CaseAssignment, CaseAssignmentArchive, ids, archived_at=archived_at, relink=_relink_decisions
    )


def _move_in_batches(
    queryset: QuerySet, move: Callable[[list], int], *, batch_size: int, order: tuple
) -> int:
    """Move the queryset's rows `batch_size` at a time, one transaction per batch (rows another
    transaction holds are left for the next run on PostgreSQL)."""
    moved = 0
    while True:
        with transaction.atomic():
            batch = queryset.order_by(*order)
            if connection.features.has_select_for_update_skip_locked:
                batch = batch.select_for_update(skip_locked=True)
            ids = list(batch.values_list("pk", flat=True)[:batch_size])
            if not ids:
                return moved
            moved += move(ids)


def assignments_archive(options: MaintenanceOptions) -> StepResult:
    now = options.moment
    candidates = archivable_assignments(older_than=now - dt.timedelta(days=options.archive_days))

    def work() -> tuple[int, str]:
        if options.dry_run:
            return candidates.count(), "would archive"
        moved = _move_in_batches(
            candidates,
            lambda ids: _archive_batch(ids, archived_at=now),
            batch_size=options.batch_size,
            order=("completed_at", "pk"),
        )
        return moved, "moved to archive"

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


def period_metrics_archive(options: MaintenanceOptions) -> StepResult:
    """The seed's "archive old performance data": period metrics older than the retention window move to
    AgentPeriodMetricsArchive (same columns, queryable, in the admin), in batches."""
    cutoff = options.moment.astimezone(dt.UTC).date() - dt.timedelta(days=options.retention_days)
    old = AgentPeriodMetrics.objects.filter(period_date__lt=cutoff)
    now = options.moment

    def work() -> tuple[int, str]:
        if options.dry_run:
            return old.count(), f"would archive before {cutoff}"
        moved = _move_in_batches(
            old,
            lambda ids: _move_batch(AgentPeriodMetrics, AgentPeriodMetricsArchive, ids, archived_at=now),
            batch_size=options.batch_size,
            order=("period_date", "pk"),
        )
        return moved, f"moved to archive, before {cutoff}"

    return _timed(f"archive period metrics (> {options.retention_days} d)", work)


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


def _json_has(column: str, value: str, *, path: str | None = None) -> str:
    """SQL: the JSON array in `column` (or at `path` inside it) holds the text `value` (an SQL expression)."""
    if connection.vendor == "postgresql":
        target = column if path is None else f"({column} -> '{path}')"
        return f"COALESCE({target}, '[]'::jsonb) @> jsonb_build_array({value})"
    each = f"json_each({column})" if path is None else f"json_each({column}, '$.{path}')"
    return f"EXISTS (SELECT 1 FROM {each} j WHERE j.value = {value})"


def _json_text(column: str, key: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def _resolved() -> tuple[str, list[str]]:
    statuses = [status.value for status in RESOLVED_ASSIGNMENT_STATUSES]
    return ", ".join(["%s"] * len(statuses)), statuses


def _assessment_sql() -> Sql:
    """Per specialization: the agent's resolved assignments in the live table whose case asked for it,
    as routing matches it (its name among the case's required skills or requested specializations),
    and how many of those were resolved without escalation."""
    sp, ca, case = (_q(model._meta.db_table) for model in (AgentSpecialization, CaseAssignment, SupportCase))
    marks, statuses = _resolved()
    asked = (
        f"({_json_has('a.required_skills', 's.specialization')} "
        f"OR {_json_has('c.special_requirements', 's.specialization', path='specializations')} "
        f"OR {_json_text('c.special_requirements', 'specialization')} = s.specialization)"
    )
    return Sql(
        f"SELECT s.id AS id, COUNT(*) AS cases, SUM(CASE WHEN a.escalated THEN 0 ELSE 1 END) AS successes "
        f"FROM {sp} s JOIN {ca} a ON a.agent_id = s.agent_id JOIN {case} c ON c.case_id = a.case_id "
        f"WHERE a.status IN ({marks}) AND {asked} GROUP BY s.id",
        statuses,
    )


def specialization_assess(options: MaintenanceOptions) -> StepResult:
    """Each specialization's case count, success rate and confidence (routing.engine.assessment) from
    the resolved cases that asked for it. One set-based UPDATE; a specialization no case asked for keeps
    its values (an imported or hand-set assessment stays)."""
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
                return cursor.rowcount, "from the resolved cases that asked for them"

    return _timed("specialization assessments", work)


ASSESSMENT_WINDOW_DAYS = 30


def _skill_evidence_sql(*, since: dt.datetime) -> Sql:
    """Per agent skill not reassessed since `since`: the agent's resolved assignments since then whose
    case required the skill, and the successes among them."""
    skill, domain, ca = (_q(model._meta.db_table) for model in (AgentSkill, SkillDomain, CaseAssignment))
    marks, statuses = _resolved()
    return Sql(
        f"SELECT k.id, k.proficiency, COUNT(*), SUM(CASE WHEN a.escalated THEN 0 ELSE 1 END) "
        f"FROM {skill} k JOIN {domain} d ON d.id = k.domain_id JOIN {ca} a ON a.agent_id = k.agent_id "
        f"WHERE a.status IN ({marks}) AND a.completed_at >= %s "
        f"AND (k.last_updated IS NULL OR k.last_updated < %s) AND {_json_has('a.required_skills', 'd.code')} "
        f"GROUP BY k.id, k.proficiency",
        [
            *statuses,
            connection.ops.adapt_datetimefield_value(since),
            connection.ops.adapt_datefield_value(since.astimezone(dt.UTC).date()),
        ],
    )


def skill_reassess(options: MaintenanceOptions) -> StepResult:
    """Skill proficiencies reassessed from the last ASSESSMENT_WINDOW_DAYS of resolved cases that
    required them (routing.engine.assessment.reassessed_proficiency: one level up or down at most).
    The evidence is one aggregate; the few skills that change are written with their history (the
    audit trail says "monthly assessment: 23 of 25 resolved without escalation"), and their
    last_updated date keeps a rerun in the same window from moving them again."""
    since = options.moment - dt.timedelta(days=ASSESSMENT_WINDOW_DAYS)
    evidence = _skill_evidence_sql(since=since)

    def work() -> tuple[int, str]:
        with connection.cursor() as cursor:
            cursor.execute(evidence.text, evidence.params)
            rows = cursor.fetchall()
        changes = {
            skill_id: (new, cases, successes)
            for skill_id, current, cases, successes in rows
            if (new := reassessed_proficiency(current=current, cases=cases, successes=int(successes)))
            != current
        }
        if options.dry_run or not changes:
            return len(changes), f"{'would change' if options.dry_run else 'changed'} of {len(rows)} assessed"
        today = options.moment.astimezone(dt.UTC).date()
        with transaction.atomic():
            skills = list(AgentSkill.objects.select_for_update(no_key=True).filter(pk__in=list(changes)))
            for skill in skills:
                new, cases, successes = changes[skill.pk]
                skill.proficiency, skill.last_updated = new, today
                skill._change_reason = (
                    f"monthly assessment: {successes} of {cases} resolved without escalation"
                )
            for skill in skills:  # one history row each, with its own reason
                skill.save(update_fields=["proficiency", "last_updated"])
        return len(skills), f"changed of {len(rows)} assessed"

    return _timed("skill proficiencies", work)


def maintenance_monthly(options: MaintenanceOptions) -> list[Callable[[], StepResult]]:
    return [
        lambda: specialization_assess(options),
        lambda: skill_reassess(options),
        lambda: period_metrics_archive(options),
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
