"""The outbound section of the supervisor's floor dashboard (routing.dashboard): one query.

Pending entries per outbound queue type, and among them the callbacks due now (their time reached, or
none recorded) and overdue (past the hand-over delay, when an agent-only callback becomes anyone's):
the same cut-offs as the scoring admin's callback filter and `scoring.selectors.callbacks_due`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count

from scoring.conf import call_policy
from scoring.models import CallQueueEntry, QueueStatus, QueueType
from scoring.selectors import callback_due_q


@dataclass(frozen=True)
class OutboundQueueRow:
    queue_type: str
    label: str
    pending: int
    callbacks_due: int
    callbacks_overdue: int


@dataclass(frozen=True)
class OutboundFloor:
    queues: list[OutboundQueueRow]

    @property
    def pending_total(self) -> int:
        return sum(row.pending for row in self.queues)

    @property
    def callbacks_due_total(self) -> int:
        return sum(row.callbacks_due for row in self.queues)

    @property
    def callbacks_overdue_total(self) -> int:
        return sum(row.callbacks_overdue for row in self.queues)


def outbound_floor(*, now: dt.datetime) -> OutboundFloor:
    handover_before = now - call_policy().handover_delay
    rows = {
        row["queue_type"]: row
        for row in CallQueueEntry.objects.filter(status=QueueStatus.PENDING)
        .values("queue_type")
        .annotate(
            pending=Count("id"),
            due=Count("id", filter=callback_due_q(now)),
            overdue=Count("id", filter=callback_due_q(handover_before)),
        )
        .order_by()
    }
    return OutboundFloor(
        queues=[
            OutboundQueueRow(
                queue_type=queue_type.value,
                label=queue_type.label,
                pending=rows.get(queue_type.value, {}).get("pending", 0),
                callbacks_due=rows.get(queue_type.value, {}).get("due", 0),
                callbacks_overdue=rows.get(queue_type.value, {}).get("overdue", 0),
            )
            for queue_type in QueueType
        ]
    )
