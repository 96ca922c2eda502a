"""manage.py demo_trickle --every SECONDS: route a demo case every SECONDS and complete some open ones."""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from routing.demo import demo_trickle_step


class Command(BaseCommand):
    help = (
        "Keep the demo floor moving: a demo case every SECONDS, some open demo work completed (Ctrl-C stops)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--every", type=float, default=20.0, help="Seconds between demo cases.")
        parser.add_argument("--count", type=int, default=0, help="Stop after this many cases (0: run on).")
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])
        number = 0
        try:
            while options["count"] == 0 or number < options["count"]:
                number += 1
                outcome = demo_trickle_step(rng, number=number)
                where = outcome.assignment.agent.code if outcome.assignment else "the queue"
                self.stdout.write(f"{outcome.case.case_id} ({outcome.case.priority}) -> {where}")
                if options["count"] == 0 or number < options["count"]:
                    time.sleep(options["every"])
        except KeyboardInterrupt:
            self.stdout.write("demo trickle stopped")
