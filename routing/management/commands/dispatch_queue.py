"""Run the queue sweep (routing.services.queue_sweep) once, or every N seconds with --loop.

The sweep also hands overdue agent-only outbound callbacks to anyone (scoring.services.callbacks_hand_over;
the `callbacks` column). After a sweep that changed many entries it vacuums the queue table (queue_vacuum_after_sweep), so the
queue's index-only reads do not depend on the server's autovacuum."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from config.errors import DomainError
from routing.models import EscalationQueueEntry, QueueStatus
from routing.services import SweepReport, queue_sweep
from routing.services.sweep import queue_vacuum_after_sweep


class Command(BaseCommand):
    help = (
        "Sweep the escalation queue: escalate overdue entries, widen long waits, take back assignments "
        "not accepted in time and dispatch waiting cases to free agents; hand overdue agent-only outbound "
        "callbacks to anyone. Prints what it did."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop", type=float, metavar="SECONDS", help="Sweep again every SECONDS until interrupted."
        )
        parser.add_argument(
            "--max-runs", type=int, default=0, help="With --loop, stop after this many sweeps (0: never)."
        )

    def handle(self, *args, loop: float | None = None, max_runs: int = 0, **options) -> None:
        if loop is not None and loop <= 0:
            raise CommandError("--loop needs a positive number of seconds.")
        self._print_header()
        runs = 0
        try:
            while True:
                started = time.perf_counter()
                try:
                    report = queue_sweep()
                except DomainError as error:
                    raise CommandError(error.detail) from error
                runs += 1
                self._print_row(report, (time.perf_counter() - started) * 1000)
                if queue_vacuum_after_sweep(report):  # dead row versions slow the queue's reads
                    self.stdout.write("queue table vacuumed after the sweep's changes")
                if loop is None or (max_runs and runs >= max_runs):
                    break
                time.sleep(loop)
        except KeyboardInterrupt:
            self.stdout.write("stopped")

    def _print_header(self) -> None:
        self.stdout.write(
            f"{'time (UTC)':<20} {'rested':>6} {'escalated':>9} {'widened':>8} {'timed_out':>9} "
            f"{'dispatched':>10} {'waiting':>8} {'callbacks':>9} {'ms':>8}"
        )

    def _print_row(self, report: SweepReport, elapsed_ms: float) -> None:
        waiting = EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED).count()
        self.stdout.write(
            f"{timezone.now():%Y-%m-%d %H:%M:%S}  {report.rested:>6} {report.escalated:>9} {report.widened:>8} "
            f"{report.timed_out:>9} {report.dispatched:>10} {waiting:>8} {report.callbacks_handed_over:>9} "
            f"{elapsed_ms:>8.1f}"
        )
