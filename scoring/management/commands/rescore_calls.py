"""manage.py rescore_calls: rescore every active person in set-based batches, optionally after the periodic
reset (scoring.services.scores_reset_due, which honours each person's last reset date).

Both steps are the services the API and the admin use: one transaction per batch, the score computed only
by scoring.engine, the queue's serving copy written in the same transaction. Idempotent: a second run at
the same instant writes the same values, and the reset leaves alone anyone reset less than
SCORING_RESET_INTERVAL_DAYS ago. Bad input (a batch size below 1, a time without a zone, a scoring
setting the engine rejects) is a CommandError: a non-zero exit and one line saying why.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from scoring.conf import batch_size, reset_interval
from scoring.services import scores_rescore_all, scores_reset_due


class Command(BaseCommand):
    help = "Rescore every active person in batches; --reset-due first starts a new cycle for those due."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--reset-due",
            action="store_true",
            help="First reset attempts for people whose last reset is older than SCORING_RESET_INTERVAL_DAYS.",
        )
        parser.add_argument("--batch-size", type=int, help="Rows per batch (default: SCORING_BATCH_SIZE).")
        parser.add_argument(
            "--at",
            help="The instant to score at, ISO 8601 with a zone (default: now); for replays and tests.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        size = options["batch_size"]
        if size is not None and size < 1:
            raise CommandError("--batch-size must be at least 1.")
        now = self._instant(options["at"])
        try:
            size = size or batch_size()
            interval = reset_interval()
        except (TypeError, ValueError) as error:
            raise CommandError(f"The SCORING settings are invalid: {error}") from error
        self.stdout.write(f"scoring at {now:%Y-%m-%d %H:%M:%S %Z} in batches of {size:,}")
        self.stdout.write(f"{'step':<34}  {'people':>10}  {'seconds':>8}")
        self.stdout.write(f"{'-' * 34}  {'-' * 10}  {'-' * 8}")
        try:
            if options["reset_due"]:
                self._step(
                    f"reset (last reset > {interval.days} days ago)",
                    lambda: scores_reset_due(now=now, batch_size=size),
                )
            self._step("rescore every active person", lambda: scores_rescore_all(now=now, batch_size=size))
        except (TypeError, ValueError) as error:  # a weight the engine cannot use
            raise CommandError(f"The SCORING settings are invalid: {error}") from error

    def _instant(self, text: str | None) -> dt.datetime:
        if text is None:
            return timezone.now()
        try:
            instant = dt.datetime.fromisoformat(text)
        except ValueError as error:
            raise CommandError(f"--at {text!r} is not an ISO 8601 date and time.") from error
        if instant.tzinfo is None:
            raise CommandError(f"--at {text!r} needs a zone (e.g. +00:00 or Z).")
        return instant

    def _step(self, label: str, work: Any) -> None:
        started = time.perf_counter()
        people = work()
        self.stdout.write(f"{label:<34}  {people:>10,}  {time.perf_counter() - started:>8.2f}")
