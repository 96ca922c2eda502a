"""Apply the voice retention periods and sanitization (voice.services.retention); run it daily.

    manage.py retention_cleanup --dry-run   # what it would do, changing nothing
    manage.py retention_cleanup             # do it: batched, one transaction per batch, rerunnable

Schedule it at 2 AM as the seed asks, e.g. cron: `0 2 * * * cd /srv/switchboard && .venv/bin/python
manage.py retention_cleanup >> /var/log/switchboard/retention.log 2>&1` (README: Retention).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.management import format_table
from voice.services.retention import DEFAULT_BATCH_SIZE, retention_run


class Command(BaseCommand):
    help = "Delete and sanitize voice data past its retention period (calls, turns, events, appointments)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would change; change nothing.")
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="Rows per transaction."
        )

    def handle(self, *args: object, **options: object) -> None:
        batch_size = int(options["batch_size"])  # type: ignore[arg-type]
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        dry_run = bool(options["dry_run"])
        started = time.perf_counter()
        results = retention_run(dry_run=dry_run, batch_size=batch_size)
        seconds = time.perf_counter() - started
        headers = ["table", "action", "rule", "would change" if dry_run else "changed"]
        rows = [[r.table, r.action, r.rule, r.rows] for r in results]
        if not dry_run:
            headers.append("batches")
            for row, result in zip(rows, results, strict=True):
                row.append(result.batches)
        self.stdout.write(format_table(headers, rows))
        total = sum(r.rows for r in results)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"{'Dry run: ' if dry_run else ''}{total} rows {verb} in {seconds:.1f} s.")
