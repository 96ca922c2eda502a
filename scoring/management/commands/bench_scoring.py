"""Benchmarks of the outbound queue on PostgreSQL, at 1,000,000 rows by default.

Next person to call (the default). Loads once (set-based INSERT ... SELECT from generate_series; later
runs reuse the rows): N leads, one score row each (scores 0..100, UTC calling profile, a tenth already
called some time ago) and one pending entry each carrying the serving copy of its score row: 70 % in
unsigned_users (a hundredth of them callbacks due), 30 % in outstanding_requests (no callback). Each run
first releases what earlier runs claimed. Then `queue_claim_next` is timed interleaved with its raw-SQL
floor (the same claim written by hand with psycopg on the same columns and indexes: the due-callback
walk, the highest-score walk with FOR NO KEY UPDATE ... SKIP LOCKED on the entry and the person's score
row, the two updates, one transaction), once in unsigned_users (the due callbacks are served) and once in
outstanding_requests (the regular walk), and the report prints both p95s and their ratio. The clock is
pinned at 12:00 UTC so the calling window is open whenever the benchmark runs; DEBUG is off while timing
(Django's query log would otherwise format every statement, which the raw floor never pays).

The upgrade (`--upgrade`). Creates a scratch database beside the default one (its name + "_upgrade"),
migrates it to scoring 0001, loads N leads, N scores and N call-queue rows at the 0001 schema with raw SQL
(a tenth legacy `callback` entries, every status), then runs each later scoring migration forward, timed
one by one, prints the table (data steps marked), checks the seed's indicators that the data steps must
meet (counts kept, no `callback` left, new fields filled, the serving copy equal to the score rows) and
drops the scratch database (`--keep` keeps it).
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.operations import RunPython, RunSQL
from django.test.utils import override_settings
from django.utils import timezone

from agents.models import HumanAgent
from config.benchmark import Measure, interleaved, report
from routing.models import Lead
from scoring.models import CallQueueEntry, QueueStatus, QueueType, UserCallScore
from scoring.selectors import queue_cutoffs
from scoring.services.queue import queue_claim_next

PREFIX = "bsc-"
TARGET_MS = 10.0
UPGRADE_TARGET_S = 60.0
UPGRADE_ALIAS = "bench_scoring_upgrade"


def _noon() -> dt.datetime:
    return timezone.now().astimezone(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)


class Command(BaseCommand):
    help = "PostgreSQL benchmark: next person to call with --people queue rows, against a raw-SQL floor."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=1_000_000, help="people, scores and queue rows")
        parser.add_argument("--iterations", type=int, default=500)
        parser.add_argument("--reuse", action="store_true", help="skip the load step")
        parser.add_argument(
            "--upgrade",
            action="store_true",
            help="time the upgrade's migrations on a scratch database instead",
        )
        parser.add_argument("--keep", action="store_true", help="with --upgrade: keep the scratch database")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_scoring needs PostgreSQL (SKIP LOCKED and a psycopg floor).")
        if options["people"] < 1 or options["iterations"] < 1:
            raise CommandError("--people and --iterations must be positive.")
        if options["upgrade"]:
            _Upgrade(self.stdout, options["people"]).run(keep=options["keep"])
            return
        if not options["reuse"]:
            self.load(options["people"])
        released = self.release()
        if not connection.in_atomic_block:  # the released claims' dead row versions, as autovacuum would
            with connection.cursor() as cursor:
                cursor.execute(
                    f"VACUUM (ANALYZE) {CallQueueEntry._meta.db_table}, {UserCallScore._meta.db_table}"
                )
        agents = list(HumanAgent.objects.order_by("pk")[:2])
        if len(agents) < 2:
            raise CommandError("Two human agents are needed: run `manage.py migrate` (it seeds the roster).")
        ours_agent, floor_agent = agents
        now = _noon()
        cutoffs = queue_cutoffs(now)
        rows = CallQueueEntry.objects.filter(person__external_id__startswith=PREFIX).count()
        self.stdout.write(
            f"scale: {rows:,} queue rows ({released:,} claims released first); clock {now:%H:%M} UTC"
        )
        floor = _Floor(cutoffs, floor_agent.pk)
        warmup = min(20, max(2, options["iterations"] // 10))
        note = (
            "one transaction by hand on the same columns and indexes: the due-callback walk (a callback "
            "without a time first, then the scheduled ones up to now), then the highest-score walk over the callable "
            "entries (active, open zone, under the attempt limit, past the re-call gap; the person unclaimed) "
            "with FOR NO KEY UPDATE OF entry, score SKIP LOCKED, then the score row and the entry marked claimed"
        )
        with override_settings(DEBUG=False):  # no query log: production's cost, as the raw floor pays
            measures = self.measure(ours_agent, floor, now, rows, options["iterations"], warmup, note)
        self.stdout.write(report(measures))

    def measure(
        self,
        ours_agent: HumanAgent,
        floor: _Floor,
        now: dt.datetime,
        rows: int,
        iterations: int,
        warmup: int,
        note: str,
    ) -> list[Measure]:
        return [
            interleaved(
                f"next person to call, {label} ({rows:,} queue rows)",
                lambda i, queue_type=queue_type: queue_claim_next(
                    agent=ours_agent, queue_type=queue_type, now=now
                ),
                lambda i, queue_type=queue_type: floor.claim(queue_type, now),
                iterations,
                warmup=warmup,
                target_ms=TARGET_MS,
                note=note,
            )
            for label, queue_type in (
                ("callbacks due", QueueType.UNSIGNED_USERS),
                ("no callback", QueueType.OUTSTANDING_REQUESTS),
            )
        ]

    def load(self, people: int) -> None:
        present = Lead.objects.filter(external_id__startswith=PREFIX).count()
        missing = people - present
        if missing <= 0:
            return
        started = time.perf_counter()
        leads, scores, queue = (
            Lead._meta.db_table,
            UserCallScore._meta.db_table,
            CallQueueEntry._meta.db_table,
        )
        with transaction.atomic(), connection.cursor() as cursor:
            insert_leads(cursor, present, people)
            cursor.execute(
                f"""
                INSERT INTO {scores} (person_id, current_score, created_at, updated_at, is_active,
                    current_queue_type, last_reset_date, last_queue_check, score_breakdown, scored_at,
                    time_zone, call_attempts, last_call_at, outstanding_documents, signature_obtained,
                    claimed_by_id, claimed_at)
                SELECT l.id, (hashtext(l.external_id) & 2147483647) %% 101, now(), now(), true, %s, now(), now(),
                    '{{}}', now(), 'UTC', CASE WHEN right(l.external_id, 1) = '7' THEN 2 ELSE 0 END,
                    CASE WHEN right(l.external_id, 1) = '7' THEN now() - interval '2 days' END, 0, false, NULL, NULL
                FROM {leads} l LEFT JOIN {scores} s ON s.person_id = l.id
                WHERE l.external_id LIKE %s AND s.id IS NULL
                """,
                [QueueType.UNSIGNED_USERS, PREFIX + "%"],
            )
            cursor.execute(
                f"""
                INSERT INTO {queue} (person_id, queue_type, status, priority, created_at, callback_id,
                    callback_scheduled_for, callback_reason, callback_agent_id, callback_handed_over_at,
                    claimed_by_id, claimed_at, completed_at, serving_score, serving_active, serving_time_zone,
                    serving_call_attempts, serving_last_call_at)
                SELECT l.id, CASE WHEN right(l.external_id, 1) IN ('1', '3', '5') THEN %s ELSE %s END, %s, 0,
                    now() - (random() * interval '30 days'),
                    CASE WHEN right(l.external_id, 2) = '42' THEN 'bench-cb-' || l.external_id END,
                    CASE WHEN right(l.external_id, 2) = '42' THEN %s::timestamptz END,
                    NULL, NULL, NULL, NULL, NULL, NULL, s.current_score, s.is_active, s.time_zone,
                    s.call_attempts, s.last_call_at
                FROM {leads} l JOIN {scores} s ON s.person_id = l.id LEFT JOIN {queue} q ON q.person_id = l.id
                WHERE l.external_id LIKE %s AND q.id IS NULL
                """,
                [
                    QueueType.OUTSTANDING_REQUESTS,
                    QueueType.UNSIGNED_USERS,
                    QueueStatus.PENDING,
                    # due before the benchmark's pinned clock, on the day of the load and any later day
                    _noon() - dt.timedelta(minutes=10),
                    PREFIX + "%",
                ],
            )
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {leads}; ANALYZE {scores}; ANALYZE {queue}")
        self.stdout.write(
            f"loaded {missing:,} people, scores and queue rows in {time.perf_counter() - started:.1f}s"
        )

    def release(self) -> int:
        """Undo earlier runs' claims so every run starts from the same queue."""
        with transaction.atomic():
            released = CallQueueEntry.objects.filter(
                person__external_id__startswith=PREFIX, status=QueueStatus.IN_PROGRESS
            ).update(status=QueueStatus.PENDING, claimed_by=None, claimed_at=None)
            UserCallScore.objects.filter(
                person__external_id__startswith=PREFIX, claimed_at__isnull=False
            ).update(claimed_by=None, claimed_at=None)
        return released


def insert_leads(cursor: Any, first: int, people: int) -> None:
    """Leads PREFIX<first> .. PREFIX<people - 1>, set-based."""
    cursor.execute(
        f"""
        INSERT INTO {Lead._meta.db_table} (id, external_id, name, phone, email, insurance_line,
            customer_segment, language, territory, source, website_visits, email_opens, quote_requested,
            callback_requested, estimated_premium, score, tier, score_breakdown, scored_at, status, agent_id,
            assigned_at, last_contacted_at, created_at, updated_at)
        SELECT gen_random_uuid(), %s || n, 'Person ' || n, '', '', 'auto', 'retail', 'en', '', 'web_form', 0, 0,
            false, false, NULL, 50, 'warm', '{{}}', now(), 'new', NULL, NULL, NULL, now(), now()
        FROM generate_series(%s, %s) AS n
        """,
        [PREFIX, first, people - 1],
    )


class _Floor:
    """The claim by hand on the raw psycopg connection (Django's transaction only brackets it)."""

    def __init__(self, cutoffs: Any, agent_id: int) -> None:
        self.cutoffs, self.agent_id = cutoffs, agent_id
        scores, queue = UserCallScore._meta.db_table, CallQueueEntry._meta.db_table
        callable_ = (
            "e.serving_active AND s.is_active AND s.claimed_at IS NULL AND e.serving_time_zone = ANY(%(zones)s) "
            "AND e.serving_call_attempts < %(max_attempts)s "
            "AND (e.serving_last_call_at IS NULL OR e.serving_last_call_at <= %(gap)s)"
        )
        walk = (
            f"SELECT e.id, s.id FROM {queue} e JOIN {scores} s ON s.person_id = e.person_id "
            f"WHERE e.queue_type = %(queue_type)s AND e.status = 'pending' AND {callable_}"
        )
        callbacks = walk + (
            " AND e.callback_id IS NOT NULL AND (e.callback_agent_id IS NULL OR e.callback_agent_id = %(agent)s "
            "OR e.callback_scheduled_for <= %(handover)s)"
        )
        lock = " LIMIT 1 FOR NO KEY UPDATE OF e, s SKIP LOCKED"
        due_at = "COALESCE(e.callback_scheduled_for, '1970-01-01 00:00:00+00:00'::timestamptz)"
        self.walks = [
            callbacks + f" AND {due_at} <= %(now)s ORDER BY {due_at}, e.serving_score DESC, e.id" + lock,
            walk + " AND e.callback_id IS NULL ORDER BY e.serving_score DESC, e.created_at, e.id" + lock,
        ]
        self.mark_score = f"UPDATE {scores} SET claimed_by_id = %s, claimed_at = %s WHERE id = %s"
        self.mark_entry = (
            f"UPDATE {queue} SET status = 'in_progress', claimed_by_id = %s, claimed_at = %s WHERE id = %s"
        )

    def claim(self, queue_type: str, now: dt.datetime) -> None:
        params = {
            "queue_type": queue_type,
            "zones": sorted(self.cutoffs.open_zones),
            "max_attempts": self.cutoffs.max_attempts,
            "gap": self.cutoffs.last_call_before,
            "now": now,
            "agent": self.agent_id,
            "handover": self.cutoffs.handover_scheduled_before,
        }
        with transaction.atomic():
            connection.ensure_connection()
            with connection.connection.cursor() as cursor:
                row = None
                for walk in self.walks:
                    cursor.execute(walk, params)
                    row = cursor.fetchone()
                    if row is not None:
                        break
                if row is None:
                    raise CommandError("The floor found nobody to call: rerun without --reuse.")
                entry_id, score_id = row
                cursor.execute(self.mark_score, [self.agent_id, now, score_id])
                cursor.execute(self.mark_entry, [self.agent_id, now, entry_id])


class _Upgrade:
    """The upgrade's migrations timed one by one on a scratch database loaded at scoring 0001."""

    def __init__(self, stdout: Any, people: int) -> None:
        self.stdout, self.people = stdout, people
        default = connections.databases["default"]
        self.name = f"{default['NAME']}_upgrade"
        self.settings = {**default, "NAME": self.name}

    def run(self, *, keep: bool) -> None:
        self._create()
        try:
            started = time.perf_counter()
            self._migrate_to_initial()
            self._load()
            self.stdout.write(
                f"scratch database {self.name}: scoring at 0001 with {self.people:,} scores and "
                f"{self.people:,} call-queue rows ({time.perf_counter() - started:.1f}s to prepare)"
            )
            steps = self._forward()
            self.stdout.write(self._table(steps))
            failures = self._check()
            for line in failures:
                self.stdout.write(f"FAILED: {line}")
            if failures:
                raise CommandError(f"{len(failures)} upgrade indicator(s) failed")
            self.stdout.write(
                "indicators: counts kept, no 'callback' left, new fields filled, serving copy equal"
            )
        finally:
            connections[UPGRADE_ALIAS].close()
            del connections.databases[UPGRADE_ALIAS]
            if not keep:
                self._drop()

    def _admin(self, sql: str) -> None:
        with connection.cursor() as cursor:  # CREATE/DROP DATABASE cannot run in a transaction
            cursor.execute(sql)

    def _create(self) -> None:
        self._drop()
        self._admin(f'CREATE DATABASE "{self.name}"')
        connections.databases[UPGRADE_ALIAS] = self.settings

    def _drop(self) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def _executor(self) -> MigrationExecutor:
        return MigrationExecutor(connections[UPGRADE_ALIAS])

    def _migrate_to_initial(self) -> None:
        executor = self._executor()
        executor.migrate(executor.loader.graph.leaf_nodes())
        self._executor().migrate([("scoring", "0001_initial")])

    def _load(self) -> None:
        scores, queue = UserCallScore._meta.db_table, CallQueueEntry._meta.db_table
        with transaction.atomic(using=UPGRADE_ALIAS), connections[UPGRADE_ALIAS].cursor() as cursor:
            insert_leads(cursor, 0, self.people)
            cursor.execute(
                f"""
                INSERT INTO {scores} (person_id, current_score, created_at, updated_at)
                SELECT id, (hashtext(external_id) & 2147483647) % 101,
                    now() - (random() * interval '90 days'), now()
                FROM {Lead._meta.db_table}
                """
            )
            # One entry per person: a tenth legacy callbacks, the rest in the two queues; every status.
            cursor.execute(
                f"""
                INSERT INTO {queue} (person_id, queue_type, status, priority, created_at)
                SELECT id,
                    CASE right(external_id, 1) WHEN '0' THEN 'callback'
                        WHEN '1' THEN 'outstanding_requests' WHEN '2' THEN 'outstanding_requests'
                        ELSE 'unsigned_users' END,
                    CASE right(external_id, 2) WHEN '07' THEN 'completed' WHEN '13' THEN 'in_progress'
                        ELSE 'pending' END,
                    (hashtext(external_id) & 7), now() - (random() * interval '60 days')
                FROM {Lead._meta.db_table}
                """
            )
            cursor.execute(f"ANALYZE {Lead._meta.db_table}; ANALYZE {scores}; ANALYZE {queue}")

    def _forward(self) -> list[tuple[str, bool, float]]:
        executor = self._executor()
        leaf = next(node for node in executor.loader.graph.leaf_nodes() if node[0] == "scoring")
        plan = [migration for migration, backwards in executor.migration_plan([leaf]) if not backwards]
        steps = []
        for migration in plan:
            data = any(isinstance(op, (RunPython, RunSQL)) for op in migration.operations)
            executor = self._executor()
            started = time.perf_counter()
            executor.migrate([(migration.app_label, migration.name)])
            steps.append((f"{migration.app_label}.{migration.name}", data, time.perf_counter() - started))
        return steps

    def _table(self, steps: list[tuple[str, bool, float]]) -> str:
        width = max(len(name) for name, _, _ in steps)
        lines = [f"{'migration':<{width}}  {'kind':<6}  {'seconds':>8}", f"{'-' * width}  ------  --------"]
        lines += [
            f"{name:<{width}}  {'data' if data else 'schema':<6}  {sec:>8.2f}" for name, data, sec in steps
        ]
        data_total = sum(sec for _, data, sec in steps if data)
        total = sum(sec for _, _, sec in steps)
        verdict = "met" if data_total <= UPGRADE_TARGET_S else "missed"
        lines += [
            "",
            f"data steps: {data_total:.1f}s (target <= {UPGRADE_TARGET_S:g}s: {verdict}); all steps: {total:.1f}s",
        ]
        return "\n".join(lines)

    def _check(self) -> list[str]:
        scores, queue = UserCallScore._meta.db_table, CallQueueEntry._meta.db_table
        checks = {
            "score rows kept": (f"SELECT count(*) FROM {scores}", self.people),
            "call-queue rows kept": (f"SELECT count(*) FROM {queue}", self.people),
            "no 'callback' entry left": (f"SELECT count(*) FROM {queue} WHERE queue_type = 'callback'", 0),
            "every converted callback marked": (
                f"SELECT count(*) FROM {queue} WHERE callback_id LIKE 'legacy-%%'",
                self.people // 10,
            ),
            "last_reset_date filled": (f"SELECT count(*) FROM {scores} WHERE last_reset_date IS NULL", 0),
            "last_queue_check filled": (f"SELECT count(*) FROM {scores} WHERE last_queue_check IS NULL", 0),
            "serving copy equal to the score rows": (
                f"SELECT count(*) FROM {queue} e JOIN {scores} s ON s.person_id = e.person_id "
                "WHERE (e.serving_score, e.serving_active, e.serving_time_zone, e.serving_call_attempts) "
                "IS DISTINCT FROM (s.current_score, s.is_active, s.time_zone, s.call_attempts) "
                "OR e.serving_last_call_at IS DISTINCT FROM s.last_call_at",
                0,
            ),
        }
        failures = []
        with connections[UPGRADE_ALIAS].cursor() as cursor:
            for label, (sql, expected) in checks.items():
                cursor.execute(sql)
                found = cursor.fetchone()[0]
                if found != expected:
                    failures.append(f"{label}: {found:,} (expected {expected:,})")
        return failures
