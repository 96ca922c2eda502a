"""Run the automated agents' sweep once: stale heartbeats offline, messages expired or sent again."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from agents.automation.services import automation_sweep, heartbeat_max_age


class Command(BaseCommand):
    help = (
        "Mark offline the automated agents whose last heartbeat is older than "
        "AUTOMATION_HEARTBEAT_MAX_AGE_SECONDS, expire messages past expires_at and send again the pending "
        "messages that are due. The queue sweep (dispatch_queue, make worker) runs this on every run."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        report = automation_sweep()
        self.stdout.write(
            f"agents marked offline (heartbeat older than {heartbeat_max_age()}): {report.agents_offline}\n"
            f"messages expired: {report.messages_expired}\n"
            f"messages sent again: {report.messages_resent}"
        )
