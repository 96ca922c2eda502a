"""manage.py move_database --to postgres://... [--replace] [--verify-only] [--batch-size N] [--from URL]

Moves the current database (DATABASE_URL, or --from) into an empty PostgreSQL database (dbmove.move),
with a progress bar, then prints per table the row counts and content checksums of both sides and the
DATABASE_URL to switch to. Exits non-zero when the move is refused or fails, and on any difference.
Interrupted, it leaves the target marked incomplete: run it again to finish.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from config.errors import DomainError
from dbmove.move import DEFAULT_BATCH_SIZE, MoveReport, database_move, masked


class Command(BaseCommand):
    help = (
        "Copy every table of every installed app from the current database into an empty PostgreSQL "
        "database (schema by migrate, primary keys kept, sequences reset), verify counts and checksums "
        "per table, and print the DATABASE_URL to switch to. Resumable; the source is only read."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--to", required=True, metavar="URL", help="The target, postgres://user@host:5432/name."
        )
        parser.add_argument(
            "--from",
            dest="source",
            metavar="URL",
            help="The source database (default: the current DATABASE_URL).",
        )
        parser.add_argument("--replace", action="store_true", help="Drop every table the target has first.")
        parser.add_argument(
            "--verify-only", action="store_true", help="Only compare source and target (nothing is written)."
        )
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per transaction."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar (e.g. in logs).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        bars: dict[str, tqdm] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if options["no_progress"]:
                return
            bar = bars.get(phase)
            if bar is None:
                for finished in bars.values():  # one bar at a time: the previous phase is over
                    finished.close()
                bar = bars[phase] = tqdm(
                    total=total, desc=phase, unit="rows", unit_scale=True, file=sys.stderr
                )
            bar.total = total
            bar.update(done - bar.n)

        try:
            report = database_move(
                target_url=options["to"],
                source_url=options["source"],
                replace=options["replace"],
                verify_only=options["verify_only"],
                batch_size=options["batch_size"],
                progress=progress,
            )
        except KeyboardInterrupt:
            raise CommandError(
                "interrupted: the target is marked incomplete; run the same command again to finish."
            ) from None
        except DomainError as error:
            raise CommandError(error.detail) from error
        finally:
            for bar in bars.values():
                bar.close()
        self._print(report)
        if not report.ok:
            differing = [table.table for table in report.tables if not table.ok]
            raise CommandError(
                f"{len(differing)} table(s) differ ({', '.join(differing[:5])}); the target is marked "
                "verification_failed. Keep using the source; rerun with --replace to move again."
            )
        if options["verify_only"]:
            self.stdout.write(self.style.SUCCESS("source and target are the same."))
            return
        self.stdout.write(self.style.SUCCESS("moved and verified. Switch the application to:"))
        self.stdout.write(f"DATABASE_URL={masked(options['to'])}")

    def _print(self, report: MoveReport) -> None:
        out = self.stdout.write
        out(f"source: {report.source}\ntarget: {report.target}")
        if report.resumed:
            out(f"resumed an unfinished move ({report.skipped_tables} table(s) were already done)")
        out(
            f"\n{'table':<40} {'source rows':>12} {'target rows':>12}  {'source checksum':<16}  {'target checksum':<16}  result"
        )
        for table in report.tables:
            out(
                f"{table.table:<40} {table.source_count:>12} {table.target_count:>12}  "
                f"{table.source_checksum[:16]:<16}  {table.target_checksum[:16]:<16}  {'ok' if table.ok else 'DIFFERENT'}"
            )
        how = (
            "read again"
            if report.source_reread
            else "from the rows as they were copied, with its live row count"
        )
        out(f"source checksums: {how}; target checksums: every row read back")
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.phases.items())
        out(
            f"\n{report.total_rows} rows in {len(report.tables) - 1} tables; copied now {report.copied_rows}; {phases}"
        )
