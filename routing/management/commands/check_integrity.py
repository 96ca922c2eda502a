"""Run the integrity checks (routing.integrity) and fail when any finds a problem."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.integrity import CHECKS, CheckResult, UnknownCheck, integrity_run
from routing.management import format_table


def integrity_table(results: list[CheckResult]) -> str:
    return format_table(
        ["check", "status", "count", "sample"],
        [
            [result.name, "OK" if result.ok else "FAIL", result.count, ", ".join(result.sample)]
            for result in results
        ],
    )


def integrity_failure_summary(results: list[CheckResult]) -> str:
    return ", ".join(f"{result.name} ({result.count})" for result in results if not result.ok)


class Command(BaseCommand):
    help = "Verify data integrity (orphans, ranges, queue and load consistency); non-zero exit on problems."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--check",
            action="append",
            dest="checks",
            metavar="NAME",
            help="Run only this check (repeatable).",
        )
        parser.add_argument("--list", action="store_true", help="List the checks and exit.")

    def handle(self, *args: object, **options: object) -> None:
        if options["list"]:
            self.stdout.write(
                format_table(["check", "description"], [[c.name, c.description] for c in CHECKS.values()])
            )
            return
        try:
            results = integrity_run(options["checks"])
        except UnknownCheck as error:
            raise CommandError(str(error)) from error
        self.stdout.write(integrity_table(results))
        failed = integrity_failure_summary(results)
        if failed:
            raise CommandError(f"Integrity problems found: {failed}")
        self.stdout.write(self.style.SUCCESS(f"All {len(results)} checks passed."))
