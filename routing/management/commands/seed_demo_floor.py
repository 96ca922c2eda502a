"""manage.py seed_demo_floor: add the demo floor (routing.demo) so routing works at any hour."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from routing.demo import DEMO_AGENTS, demo_floor_available, demo_floor_ensure


class Command(BaseCommand):
    help = "Add twelve demo agents in follow-the-sun shifts (idempotent; the seed's roster is not touched)."

    def handle(self, *args: Any, **options: Any) -> None:
        created = demo_floor_ensure()
        self.stdout.write(
            f"Demo floor: {created} of {len(DEMO_AGENTS)} agents added ({len(DEMO_AGENTS) - created} already there); "
            f"{demo_floor_available()} take work now."
        )
