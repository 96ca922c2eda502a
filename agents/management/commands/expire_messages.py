"""Expire every open automated-agent message past its expires_at (agents.automation.services)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from agents.automation.services import messages_expire
from agents.models import AgentMessage, MessageStatus


class Command(BaseCommand):
    help = (
        "Mark expired every pending, sent or delivered message whose expires_at has passed, in batches; "
        "prints how many. The periodic sweep (dispatch_queue) does the same on every run."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        expired = messages_expire()
        total = AgentMessage.objects.filter(status=MessageStatus.EXPIRED).count()
        self.stdout.write(f"expired {expired} message(s); {total} expired in all")
