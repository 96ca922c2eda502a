"""Daily, weekly or monthly database maintenance (routing.maintenance); one table line per step."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.maintenance import (
    DEFAULT_ARCHIVE_DAYS,
    DEFAULT_BATCH_SIZE,
    DEFAULT_QUEUE_DAYS,
    DEFAULT_RETENTION_DAYS,
    SCHEDULES,
    MaintenanceOptions,
    StepResult,
    maintenance_run,
)

STEP_WIDTH = 38


class Command(BaseCommand):
    help = "Run the daily, weekly or monthly maintenance steps (idempotent; --dry-run writes nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("schedule", choices=list(SCHEDULES))
        parser.add_argument("--dry-run", action="store_true", help="Count what each step would do.")
        parser.add_argument("--archive-days", type=int, default=DEFAULT_ARCHIVE_DAYS)
        parser.add_argument("--queue-days", type=int, default=DEFAULT_QUEUE_DAYS)
        parser.add_argument("--retention-days", type=int, default=DEFAULT_RETENTION_DAYS)
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args: object, **options: object) -> None:
        settings = MaintenanceOptions(
            dry_run=bool(options["dry_run"]),
            archive_days=int(options["archive_days"]),
            queue_days=int(options["queue_days"]),
            retention_days=int(options["retention_days"]),
            batch_size=int(options["batch_size"]),
        )
        if min(settings.archive_days, settings.queue_days, settings.retention_days, settings.batch_size) < 1:
            raise CommandError("--archive-days, --queue-days, --retention-days and --batch-size must be >= 1")
        title = f"{options['schedule']} maintenance{' (dry run)' if settings.dry_run else ''}"
        self.stdout.write(title)
        self.stdout.write(f"{'step':<{STEP_WIDTH}}  {'rows':>10}  {'seconds':>8}  detail")
        self.stdout.write(f"{'-' * STEP_WIDTH}  {'-' * 10}  {'-' * 8}  {'-' * 6}")
        results = maintenance_run(str(options["schedule"]), settings, on_step=self._line)
        failed = [result for result in results if result.failed]
        if failed:
            raise CommandError("; ".join(f"{result.step}: {result.detail}" for result in failed))

    def _line(self, result: StepResult) -> None:
        self.stdout.write(
            f"{result.step:<{STEP_WIDTH}}  {result.rows:>10}  {result.seconds:>8.2f}  {result.detail}"
        )
