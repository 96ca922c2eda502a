"""Benchmark recompute_metrics at a stated scale (default 10,000 agents, 1,000,000 assignments).

Tops the database up to the scale first (agents through routing.history.bench_agents_ensure, assignments
through the generate_history path, COPY on PostgreSQL), refreshes statistics, then times
routing.metrics.performance_recompute `--runs` times and prints each run, p50 and p95 over the runs and
whether the target holds. (The queue sweep is timed by bench_routing, which loads the queue.)
Data already there counts toward the scale, so a second run only measures. Run it on a scratch database:

    createdb -h 127.0.0.1 -U postgres sb_metrics
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sb_metrics python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/sb_metrics python manage.py bench_metrics
"""

from __future__ import annotations

import math
import sys
import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from tqdm import tqdm

from agents.models import HumanAgent
from routing.history import bench_agents_ensure, history_generate
from routing.management import format_table
from routing.metrics import performance_recompute
from routing.models import CaseAssignment


class Command(BaseCommand):
    help = "Time recompute_metrics at 10,000 agents / 1,000,000 assignments (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agents", type=int, default=10_000)
        parser.add_argument("--assignments", type=int, default=1_000_000)
        parser.add_argument("--days", type=int, default=60, help="Past days the assignments spread over.")
        parser.add_argument("--runs", type=int, default=5)
        parser.add_argument("--target-seconds", type=float, default=15.0)
        parser.add_argument("--seed", type=int, default=42)
        parser.add_argument("--any-database", action="store_true", help="Allow a non-PostgreSQL database.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args: object, **options: object) -> None:
        if connection.vendor != "postgresql" and not options["any_database"]:
            raise CommandError(
                f"bench_metrics measures PostgreSQL; this database is {connection.vendor} (--any-database to insist)"
            )
        started = time.perf_counter()
        created_agents = bench_agents_ensure(count=int(options["agents"]))
        self.stdout.write(
            f"agents: {HumanAgent.objects.count()} ({created_agents} created) "
            f"in {time.perf_counter() - started:.1f} s"
        )
        missing = int(options["assignments"]) - CaseAssignment.objects.count()
        if missing > 0:
            per_day = math.ceil(missing / int(options["days"]))
            days = math.ceil(missing / per_day)
            progress = tqdm(
                total=days * per_day,
                unit="case",
                file=sys.stderr,
                disable=bool(options["no_progress"]) or not sys.stderr.isatty(),
            )
            try:
                result = history_generate(
                    days=days, per_day=per_day, seed=int(options["seed"]), on_batch=progress.update
                )
            finally:
                progress.close()
            self.stdout.write(
                f"assignments: generated {result.cases} ({days} days x {per_day}, {result.method}) "
                f"in {result.seconds:.1f} s"
            )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        total = CaseAssignment.objects.count()
        agents = HumanAgent.objects.count()
        rows = []
        timings = []
        for run in range(1, int(options["runs"]) + 1):
            result = performance_recompute()
            timings.append(result.seconds)
            rows.append([run, agents, total, result.updated, round(result.seconds, 3)])
        self.stdout.write(
            format_table(["run", "agents", "assignments", "snapshots updated", "seconds"], rows)
        )
        target = float(options["target_seconds"])
        ordered = sorted(timings)
        best, worst = ordered[0], ordered[-1]
        p50, p95 = _percentile(ordered, 0.50), _percentile(ordered, 0.95)
        verdict = "MET" if worst <= target else "NOT MET"
        self.stdout.write(
            f"recompute_metrics at {agents} agents / {total} assignments over {len(ordered)} runs: "
            f"p50 {p50:.2f} s, p95 {p95:.2f} s, best {best:.2f} s, worst {worst:.2f} s; "
            f"target <= {target:g} s: {verdict}"
        )


def _percentile(ordered: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list (as bench_routing prints them)."""
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]
