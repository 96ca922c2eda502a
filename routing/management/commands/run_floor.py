"""manage.py run_floor: serve the app with the queue sweep and the demo trickle beside it.

What `make run` ends with. Three processes: the development server, `dispatch_queue --loop` (the sweep
production runs beside the web workers) and, unless --trickle-seconds 0, `demo_trickle`. They share the
terminal's process group, so one Ctrl-C reaches all three; this command then waits for them (and stops
any that lingers). If one of them dies on its own, the others are stopped and the command fails.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Serve the app, sweep the queue and trickle demo cases, all stopped by one Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--sweep-seconds", type=int, default=30)
        parser.add_argument("--trickle-seconds", type=float, default=20.0, help="0: no demo cases.")

    def handle(self, *args: Any, **options: Any) -> None:
        manage = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py")]
        commands = {
            "web": [*manage, "runserver", options["addrport"]],
            "sweep": [*manage, "dispatch_queue", "--loop", str(options["sweep_seconds"])],
        }
        if options["trickle_seconds"] > 0:
            commands["demo"] = [*manage, "demo_trickle", "--every", str(options["trickle_seconds"])]
        self.stdout.write(f"Running {', '.join(commands)}; Ctrl-C stops them all.")
        failed = supervise(commands)
        if failed:
            raise CommandError(f"{failed} stopped on its own; stopped the others")
        self.stdout.write("stopped")


def supervise(commands: dict[str, list[str]], *, poll_seconds: float = 0.5) -> str | None:
    """Run the commands side by side until Ctrl-C (None) or until one of them exits on its own (its
    name); either way every other one is stopped before this returns."""
    running = {name: subprocess.Popen(command) for name, command in commands.items()}
    try:
        while True:
            for name, process in running.items():
                if process.poll() is not None:
                    return name
            time.sleep(poll_seconds)
    except KeyboardInterrupt:
        return None
    finally:
        _stop(running)


def _stop(running: dict[str, subprocess.Popen]) -> None:
    for process in running.values():
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + 10
    for process in running.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
