"""manage.py import_legacy_platform PATH/TO/agents.db [--dry-run] [--skip-invalid]

Reads a Phase 1 SQLite file into the automated agents' Phase 2 tables (agents.automation.legacy.importer)
and prints what it read, the bad rows, the remapped values, what it wrote and the validation table.
Exits non-zero when the file is not a Phase 1 database, when bad rows stopped an all-or-nothing import,
and on any validation difference (then nothing is written either).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agents.automation.legacy.importer import ImportReport, legacy_import
from agents.automation.legacy.phase1 import Phase1FileError

SHOWN_ID = 48


def _shown(value: Any) -> str:
    text = "(NULL)" if value is None else str(value)
    return text if len(text) <= SHOWN_ID else text[: SHOWN_ID - 1] + "…"


class Command(BaseCommand):
    help = (
        "Import a Phase 1 agent-platform SQLite file (its agents and tasks tables) into the automated "
        "agents' tables, keeping every task's agent; verifies per table with counts and checksums."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", help="The Phase 1 SQLite file (e.g. agents.db); opened read-only.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Do everything, validation included, then roll it back."
        )
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="Import the good rows and list the bad ones (default: any bad row stops the import).",
        )

    def handle(self, *args: Any, path: str, dry_run: bool, skip_invalid: bool, **options: Any) -> None:
        try:
            report = legacy_import(path=path, dry_run=dry_run, skip_invalid=skip_invalid)
        except Phase1FileError as error:
            raise CommandError(str(error)) from error
        self._print(report)
        if report.refused:
            raise CommandError(
                f"{len(report.bad_rows)} bad row(s); nothing was imported. Fix them, or pass --skip-invalid "
                "to import the good rows and leave these out."
            )
        if not report.verified:
            differing = [table.table for table in report.verification if not table.ok]
            raise CommandError(
                f"validation found differences in {', '.join(differing)}; nothing was written."
            )
        if dry_run:
            self.stdout.write("dry run: validated, then rolled back; nothing was written.")
        else:
            self.stdout.write(self.style.SUCCESS("imported and verified."))

    def _print(self, report: ImportReport) -> None:
        out = self.stdout.write
        out(f"read {report.read['agents']} agents and {report.read['tasks']} tasks from {report.path}")
        for table, columns in report.extra_columns.items():
            out(f"note: {table} has column(s) not in Phase 1, not imported: {', '.join(columns)}")
        if report.bad_rows:
            out(f"\nbad rows ({len(report.bad_rows)}{', skipped' if report.skip_invalid else ''}):")
            out(f"  {'table':<8} {'legacy id':<{SHOWN_ID}}  reason")
            for row in report.bad_rows:
                out(f"  {row.table:<8} {_shown(row.legacy_id):<{SHOWN_ID}}  {row.reason}")
        if report.remaps:
            out(f"\nremapped values ({len(report.remaps)}):")
            out(f"  {'table':<8} {'legacy id':<{SHOWN_ID}}  {'column':<10} found -> stored")
            for remap in report.remaps:
                out(
                    f"  {remap.table:<8} {_shown(remap.legacy_id):<{SHOWN_ID}}  {remap.column:<10} {remap.found!r} -> {remap.stored}"
                )
        if report.refused:
            return
        out("")
        for table, count in report.created.items():
            already = report.already_imported.get(table)
            out(
                f"{'would write' if report.dry_run else 'wrote'} {count} {table}"
                + (f" ({already} already imported)" if already else "")
            )
        out(f"\nvalidation ({report.seconds:.2f} s in all):")
        out(
            f"  {'table':<20} {'source':>8} {'target':>8}  {'source checksum':<16}  {'target checksum':<16}  result"
        )
        for table in report.verification:
            result = (
                "ok"
                if table.ok
                else "DIFFERENT"
                + (f" (e.g. {', '.join(map(_shown, table.differing))})" if table.differing else "")
            )
            out(
                f"  {table.table:<20} {table.source_count:>8} {table.target_count:>8}  "
                f"{table.source_checksum[:16]:<16}  {table.target_checksum[:16]:<16}  {result}"
            )
