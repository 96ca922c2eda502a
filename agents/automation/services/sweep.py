"""The automated agents' part of the periodic sweep: stale agents offline, messages expired or resent.

routing's queue sweep (manage.py dispatch_queue, `make worker`) calls `automation_sweep` once per run;
`manage.py sweep_automated_agents` runs it on its own. Each pass is set-based and batched (see the
services it calls), so a sweep never holds many locks at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from django.utils import timezone

from agents.automation.services.agents import automated_agents_mark_stale_offline
from agents.automation.services.messages import messages_expire, messages_resend_due


@dataclass
class AutomationSweepReport:
    agents_offline: int = 0
    messages_expired: int = 0
    messages_resent: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def automation_sweep(*, now: dt.datetime | None = None) -> AutomationSweepReport:
    now = now or timezone.now()
    return AutomationSweepReport(
        agents_offline=automated_agents_mark_stale_offline(now=now),
        messages_expired=messages_expire(now=now),
        messages_resent=messages_resend_due(now=now),
    )
