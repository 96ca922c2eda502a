"""Generate historical cases and completed assignments (seed 000, section 2.2); see routing.history."""

from __future__ import annotations

import datetime as dt
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from config.errors import DomainError
from routing.history import DEFAULT_BATCH_SIZE, history_generate
from routing.management import format_table


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = "Generate reproducible historical support cases with completed assignments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=_positive, default=30, help="Past days to fill (default 30).")
        parser.add_argument("--per-day", type=_positive, default=25, help="Cases per day (default 25).")
        parser.add_argument("--seed", type=int, default=42, help="Random seed (same seed, same rows).")
        parser.add_argument(
            "--until",
            type=dt.date.fromisoformat,
            default=None,
            help="Last day to fill, YYYY-MM-DD (default yesterday, UTC).",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when any case assignment already exists."
        )
        parser.add_argument("--agents-only-active", action="store_true", help="Assign only to active agents.")
        parser.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE)
        parser.add_argument("--no-copy", action="store_true", help="Use bulk_create even on PostgreSQL.")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args: object, **options: object) -> None:
        days, per_day = int(options["days"]), int(options["per_day"])
        progress = tqdm(
            total=days * per_day,
            unit="case",
            file=sys.stderr,
            disable=bool(options["no_progress"]) or not sys.stderr.isatty(),
        )
        try:
            result = history_generate(
                days=days,
                per_day=per_day,
                seed=int(options["seed"]),
                until=options["until"],
                if_empty=bool(options["if_empty"]),
                active_only=bool(options["agents_only_active"]),
                batch_size=int(options["batch_size"]),
                use_copy=False if options["no_copy"] else None,
                on_batch=progress.update,
            )
        except DomainError as error:
            raise CommandError(error.detail) from error
        finally:
            progress.close()
        if result.skipped:
            self.stdout.write("Case assignments already exist; --if-empty leaves them alone (0 generated).")
            return
        self.stdout.write(
            format_table(
                ["cases", "assignments", "method", "seconds"],
                [[result.cases, result.cases, result.method, round(result.seconds, 2)]],
            )
        )
