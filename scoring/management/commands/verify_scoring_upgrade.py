"""Seed 004's migration log and success indicators: `--snapshot` before the upgrade, a plain run after it.

    manage.py verify_scoring_upgrade --snapshot      # before `migrate scoring`: records the "before" state
    manage.py migrate scoring
    manage.py verify_scoring_upgrade                 # prints the indicators; exits 1 if any fails

What is recorded and checked: scoring.upgrade_check.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from routing.management import format_table
from scoring.upgrade_check import scoring_tables_present, snapshot, verify

DEFAULT_FILE = "scoring_upgrade_snapshot.json"


class Command(BaseCommand):
    help = (
        "Before the scoring upgrade, --snapshot records counts, score aggregates and checksums (the seed's "
        "migration_log.txt); after it, a plain run prints the seed's success indicators and exits 1 if any fails."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--snapshot", action="store_true", help="Record the state before the upgrade.")
        parser.add_argument(
            "--file",
            default=DEFAULT_FILE,
            help=f"Where the snapshot is written and read (default {DEFAULT_FILE}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        missing = scoring_tables_present()
        if missing:
            raise CommandError(
                f"The scoring tables {', '.join(missing)} do not exist: run `manage.py migrate scoring 0001` first."
            )
        if options["snapshot"]:
            state = snapshot()
            path.write_text(json.dumps(state, indent=2, sort_keys=True, default=str) + "\n")
            self.stdout.write(
                f"Before the upgrade: {state['scores']} scores, {state['queue']} queue entries "
                f"({state['callback_entries']} callback), {state['sessions']} call sessions. Snapshot written to {path}."
            )
            return
        if not path.exists():
            raise CommandError(
                f"No snapshot at {path}: run with --snapshot before migrating, then again after."
            )
        try:
            before = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise CommandError(f"The snapshot {path} is not valid JSON ({exc}).") from exc
        indicators = verify(before)
        self.stdout.write(
            format_table(
                ["success indicator", "status", "seen"],
                [[item.name, "OK" if item.passed else "FAIL", item.detail] for item in indicators],
            )
        )
        failed = [item.name for item in indicators if not item.passed]
        if failed:
            raise CommandError(f"Upgrade verification failed: {', '.join(failed)}.")
        self.stdout.write(self.style.SUCCESS(f"All {len(indicators)} success indicators passed."))
