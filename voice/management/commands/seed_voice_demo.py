"""Load the voice demo (voice.services.demo): idempotent, so `make run` runs it every time."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from routing.management import format_table
from voice.services.demo import demo_seed


class Command(BaseCommand):
    help = "Create demo organizations, locations, configurations, facts, appointments and calls (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed of the generated calls.")

    def handle(self, *args: object, **options: object) -> None:
        report = demo_seed(seed=int(options["seed"]))  # type: ignore[arg-type]
        if not report.created:
            self.stdout.write("Voice demo already loaded; nothing to add.")
            return
        self.stdout.write(format_table(["created", "rows"], sorted(report.created.items())))
