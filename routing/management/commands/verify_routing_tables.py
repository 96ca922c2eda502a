"""Seed 001's verification query (rows per table) and the referential checks; non-zero exit on an orphan."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from routing.lead_integrity import reference_results, table_counts
from routing.management import format_table


class Command(BaseCommand):
    help = "Count the rows of seed 001's ten tables and check their references; exits 1 on an orphan."

    def handle(self, *args: object, **options: object) -> None:
        self.stdout.write(format_table(["seed table", "table", "rows"], table_counts()))
        results = reference_results()
        self.stdout.write("")
        self.stdout.write(
            format_table(
                ["check", "status", "count", "sample"],
                [
                    [name, "OK" if count == 0 else "FAIL", count, ", ".join(sample)]
                    for name, _, count, sample in results
                ],
            )
        )
        failed = [f"{name} ({count})" for name, _, count, _ in results if count]
        if failed:
            raise CommandError(f"Referential problems found: {', '.join(failed)}")
        self.stdout.write(self.style.SUCCESS(f"All {len(results)} referential checks passed."))
