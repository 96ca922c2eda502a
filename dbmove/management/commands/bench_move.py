"""manage.py bench_move --to postgres://.../switchboard_bench_move [--rows 1000000] [--repeat 3]

The issue's target: 1,000,000 rows across the apps move from SQLite to PostgreSQL in at most 5 minutes
(the seed's downtime budget). Builds (or reuses) a SQLite file migrated and filled by dbmove.sample at
that scale, then times, interleaved, `--repeat` full moves (dbmove.move with replace: migrate, copy,
sequences, verification) and as many runs of a floor: the same rows copied by hand, sqlite3 rows
straight into psycopg COPY with no field conversion, then row counts compared (no content checksum).
Prints each run and p50/p95 of ours, of the floor and their ratio, per phase and in total.
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import environ
import psycopg
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from dbmove.move import database_move, masked
from dbmove.sample import bulk_rows_write, sample_rows_write
from dbmove.tables import ordered_tables

BUILD_ALIAS = "bench_move_source"


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(fraction * 100) - 1]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source_rows(path: Path) -> int:
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as source:
        return sum(
            source.execute(f'SELECT count(*) FROM "{spec.table}"').fetchone()[0] for spec in ordered_tables()
        )


class Command(BaseCommand):
    help = "Benchmark move_database at scale against a hand-written sqlite3 -> COPY floor (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to", required=True, metavar="URL", help="The target database (replaced each run)."
        )
        parser.add_argument(
            "--sqlite",
            default=str(Path(settings.BASE_DIR) / "bench_move_source.sqlite3"),
            help="The source file to build or reuse.",
        )
        parser.add_argument("--rows", type=int, default=1_000_000, help="Rows across the apps in the source.")
        parser.add_argument(
            "--repeat", type=int, default=3, help="Runs of ours and of the floor, interleaved."
        )
        parser.add_argument("--rebuild", action="store_true", help="Build the source file again.")

    def handle(self, *args: Any, **options: Any) -> None:
        target_url = options["to"]
        if not environ.Env.db_url_config(target_url)["ENGINE"].endswith("postgresql"):
            raise CommandError("--to must be a PostgreSQL database.")
        path = Path(options["sqlite"])
        self._build(path, options["rows"], rebuild=options["rebuild"])
        rows = _source_rows(path)
        source_url = f"sqlite:///{path.resolve()}"
        self.stdout.write(
            f"source {path}: {rows} rows in {len(ordered_tables())} tables -> {masked(target_url)}"
        )
        ours: dict[str, list[float]] = {}
        floor: dict[str, list[float]] = {}
        for run in range(1, options["repeat"] + 1):
            report = database_move(target_url=target_url, source_url=source_url, replace=True)
            if not report.ok:
                raise CommandError("the move did not verify; see move_database --verify-only")
            phases = {
                "schema": report.phases.get("checks", 0) + report.phases.get("migrate", 0),
                "copy": report.phases["copy"] + report.phases["sequences"],
                "verify": report.phases["verify"],
                "total": report.phases["total"],
            }
            for name, seconds in phases.items():
                ours.setdefault(name, []).append(seconds)
            self.stdout.write(
                f"run {run} ours : " + "  ".join(f"{name} {s:7.1f} s" for name, s in phases.items())
            )
            hand = self._floor(path, target_url)
            for name, seconds in hand.items():
                floor.setdefault(name, []).append(seconds)
            self.stdout.write(
                f"run {run} floor: " + "  ".join(f"{name} {s:7.1f} s" for name, s in hand.items())
            )
        self.stdout.write(f"\n{rows} rows, {options['repeat']} runs each (seconds)")
        self.stdout.write(
            f"{'phase':<8} {'ours p50':>9} {'ours p95':>9} {'floor p50':>10} {'floor p95':>10} {'ratio p50':>10}"
        )
        for name in ("schema", "copy", "verify", "total"):
            ours_p50, ours_p95 = _percentile(ours[name], 0.5), _percentile(ours[name], 0.95)
            floor_p50, floor_p95 = _percentile(floor[name], 0.5), _percentile(floor[name], 0.95)
            ratio = ours_p50 / floor_p50 if floor_p50 else float("inf")
            self.stdout.write(
                f"{name:<8} {ours_p50:>9.1f} {ours_p95:>9.1f} {floor_p50:>10.1f} {floor_p95:>10.1f} {ratio:>9.2f}x"
            )
        verdict = "within" if _percentile(ours["total"], 0.95) <= 300 else "OVER"
        self.stdout.write(
            f"target: the whole move in <= 300 s; p95 {_percentile(ours['total'], 0.95):.1f} s: {verdict}"
        )

    def _build(self, path: Path, rows: int, *, rebuild: bool) -> None:
        if path.exists() and not rebuild:
            return
        path.unlink(missing_ok=True)
        started = time.perf_counter()
        url = f"sqlite:///{path.resolve()}"
        migrated = subprocess.run(
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "migrate", "--noinput", "-v", "0"],
            env={**os.environ, "DATABASE_URL": url, "DATABASE_REPLICA_URLS": ""},
            capture_output=True,
            text=True,
            check=False,
        )
        if migrated.returncode:
            raise CommandError(migrated.stderr)
        connections.settings[BUILD_ALIAS] = connections.configure_settings(
            {"default": environ.Env.db_url_config(url)}
        )["default"]
        try:
            sample_rows_write(BUILD_ALIAS)
            existing = _source_rows(path)
            bulk_rows_write(
                BUILD_ALIAS,
                max(rows - existing, 0),
                on_batch=lambda done: self.stderr.write(f"\rbuilding the source: {done} rows", ending=""),
            )
        finally:
            connections[BUILD_ALIAS].close()
            del connections.settings[BUILD_ALIAS]
        self.stderr.write(f"\nbuilt {path} in {time.perf_counter() - started:.1f} s")

    def _floor(self, path: Path, target_url: str) -> dict[str, float]:
        """The same rows by hand: empty the tables our move filled, COPY every table's raw SQLite rows
        into them (SQLite's texts, 0/1 and REALs are valid PostgreSQL input), reset the sequences, then
        compare row counts."""
        specs = ordered_tables()
        with psycopg.connect(target_url, autocommit=True) as target:
            quote = _quote
            target.execute(f"TRUNCATE {', '.join(quote(spec.table) for spec in specs)}")
            started = time.perf_counter()
            source = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
            with target.transaction():
                target.execute("SET LOCAL TIME ZONE 'UTC'")
                for spec in specs:
                    columns = ", ".join(quote(column) for column in spec.columns)
                    with target.cursor().copy(f"COPY {quote(spec.table)} ({columns}) FROM STDIN") as copy:
                        for row in source.execute(f"SELECT {columns} FROM {quote(spec.table)}"):
                            copy.write_row(row)
                for spec in specs:
                    if spec.pk and spec.model._meta.pk.get_internal_type() in ("AutoField", "BigAutoField"):
                        target.execute(
                            f"SELECT setval(pg_get_serial_sequence('{spec.table}', '{spec.pk}'), "
                            f"coalesce(max({quote(spec.pk)}), 1), max({quote(spec.pk)}) IS NOT NULL) FROM {quote(spec.table)}"
                        )
            copied = time.perf_counter() - started
            started = time.perf_counter()
            for spec in specs:
                mine = source.execute(f"SELECT count(*) FROM {quote(spec.table)}").fetchone()[0]
                theirs = target.execute(f"SELECT count(*) FROM {quote(spec.table)}").fetchone()[0]
                if mine != theirs:
                    raise CommandError(f"floor: {spec.table} has {theirs} rows, not {mine}")
            counted = time.perf_counter() - started
            source.close()
        return {"schema": 0.0, "copy": copied, "verify": counted, "total": copied + counted}
