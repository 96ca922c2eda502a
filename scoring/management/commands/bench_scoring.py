"""Benchmark of the outbound queue on PostgreSQL: take the next person to call with 1,000,000 queue rows.

Loads once (set-based INSERT ... SELECT from generate_series; later runs reuse the rows): N leads, one score
row each (scores 0..100, UTC calling profile, a tenth already called some time ago) and one pending
unsigned-users entry each, a hundredth of them callbacks due. Each run first releases what earlier runs
claimed. Then `queue_claim_next` is timed interleaved with its raw-SQL floor (the same claim written by hand
with psycopg: the due-callback probe, the highest-score walk with FOR NO KEY UPDATE ... SKIP LOCKED on the
entry and the person's score row, the two updates, one transaction), and the report prints both p95s and
their ratio. The clock is pinned at 12:00 UTC so the calling window is open whenever the benchmark runs.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from agents.models import HumanAgent
from config.benchmark import Measure, interleaved, report
from routing.models import Lead
from scoring.models import CallQueueEntry, QueueStatus, QueueType, UserCallScore
from scoring.selectors import queue_cutoffs
from scoring.services.queue import queue_claim_next

PREFIX = "bsc-"
TARGET_MS = 10.0


def _noon() -> dt.datetime:
    return timezone.now().astimezone(dt.UTC).replace(hour=12, minute=0, second=0, microsecond=0)


class Command(BaseCommand):
    help = "PostgreSQL benchmark: next person to call with --people queue rows, against a raw-SQL floor."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--people", type=int, default=1_000_000, help="people, scores and queue rows")
        parser.add_argument("--iterations", type=int, default=500)
        parser.add_argument("--reuse", action="store_true", help="skip the load step")

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError("bench_scoring needs PostgreSQL (SKIP LOCKED and a psycopg floor).")
        if options["people"] < 1 or options["iterations"] < 1:
            raise CommandError("--people and --iterations must be positive.")
        if not options["reuse"]:
            self.load(options["people"])
        released = self.release()
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
        measures: list[Measure] = [
            interleaved(
                f"next person to call ({rows:,} queue rows)",
                lambda i: queue_claim_next(agent=ours_agent, queue_type=QueueType.UNSIGNED_USERS, now=now),
                lambda i: floor.claim(QueueType.UNSIGNED_USERS, now),
                options["iterations"],
                warmup=min(20, max(2, options["iterations"] // 10)),
                target_ms=TARGET_MS,
                note="one transaction by hand: the due-callback probe, then the highest-score walk over the "
                "callable people (active, unclaimed, open zone, under the attempt limit, past the re-call gap) "
                "with FOR NO KEY UPDATE OF entry, score SKIP LOCKED, then the score row and the entry marked "
                "claimed",
            )
        ]
        self.stdout.write(report(measures))

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
            cursor.execute(
                f"""
                INSERT INTO {leads} (id, external_id, name, phone, email, insurance_line, customer_segment,
                    language, territory, source, website_visits, email_opens, quote_requested,
                    callback_requested, estimated_premium, score, tier, score_breakdown, scored_at, status,
                    agent_id, assigned_at, last_contacted_at, created_at, updated_at)
                SELECT gen_random_uuid(), %s || n, 'Person ' || n, '', '', 'auto', 'retail', 'en', '',
                    'web_form', 0, 0, false, false, NULL, 50, 'warm', '{{}}', now(), 'new', NULL, NULL, NULL,
                    now(), now()
                FROM generate_series(%s, %s) AS n
                """,
                [PREFIX, present, people - 1],
            )
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
                    claimed_by_id, claimed_at, completed_at)
                SELECT l.id, %s, %s, 0, now() - (random() * interval '30 days'),
                    CASE WHEN right(l.external_id, 2) = '42' THEN 'bench-cb-' || l.external_id END,
                    CASE WHEN right(l.external_id, 2) = '42' THEN now() - interval '10 minutes' END,
                    NULL, NULL, NULL, NULL, NULL, NULL
                FROM {leads} l LEFT JOIN {queue} q ON q.person_id = l.id
                WHERE l.external_id LIKE %s AND q.id IS NULL
                """,
                [QueueType.UNSIGNED_USERS, QueueStatus.PENDING, PREFIX + "%"],
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


class _Floor:
    """The claim by hand on the raw psycopg connection (Django's transaction only brackets it)."""

    def __init__(self, cutoffs: Any, agent_id: int) -> None:
        self.cutoffs, self.agent_id = cutoffs, agent_id
        scores, queue = UserCallScore._meta.db_table, CallQueueEntry._meta.db_table
        callable_ = (
            "s.is_active AND s.claimed_at IS NULL AND s.time_zone = ANY(%(zones)s) "
            "AND s.call_attempts < %(max_attempts)s AND (s.last_call_at IS NULL OR s.last_call_at <= %(gap)s)"
        )
        walk = (
            f"SELECT e.id, s.id FROM {queue} e JOIN {scores} s ON s.person_id = e.person_id "
            f"WHERE e.queue_type = %(queue_type)s AND e.status = 'pending' AND {callable_}"
        )
        self.callbacks = (
            walk + " AND e.callback_id IS NOT NULL AND (e.callback_scheduled_for IS NULL "
            "OR e.callback_scheduled_for <= %(now)s) AND (e.callback_agent_id IS NULL OR e.callback_agent_id = "
            "%(agent)s OR e.callback_scheduled_for <= %(handover)s) "
            "ORDER BY e.callback_scheduled_for ASC NULLS FIRST, s.current_score DESC, e.id "
            "LIMIT 1 FOR NO KEY UPDATE OF e, s SKIP LOCKED"
        )
        self.regular = (
            walk + " AND e.callback_id IS NULL ORDER BY s.current_score DESC, e.created_at, e.id "
            "LIMIT 1 FOR NO KEY UPDATE OF e, s SKIP LOCKED"
        )
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
                cursor.execute(self.callbacks, params)
                row = cursor.fetchone()
                if row is None:
                    cursor.execute(self.regular, params)
                    row = cursor.fetchone()
                if row is None:
                    raise CommandError("The floor found nobody to call: rerun without --reuse.")
                entry_id, score_id = row
                cursor.execute(self.mark_score, [self.agent_id, now, score_id])
                cursor.execute(self.mark_entry, [self.agent_id, now, entry_id])
