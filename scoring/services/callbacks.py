"""Callbacks: scheduling one, and the sweep that hands overdue agent-only callbacks to anyone.

A callback is a queue entry with a callback id. Scheduled for one agent (`agent_only`), it is theirs
until CALLBACK_HANDOVER_MINUTES after its time; then anyone may take it (the queue's filter follows the
clock, so nothing waits for the sweep; the sweep records when it happened). Every step is a CallbackEvent.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import transaction
from django.utils import timezone

from agents.models import HumanAgent
from routing.models import Lead
from scoring.conf import call_policy
from scoring.errors import PersonNotFound
from scoring.models import CallbackEvent, CallbackEventKind, CallQueueEntry, QueueStatus, UserCallScore
from scoring.services.queue import SERVING_COPY, queue_entries_follow_score


@transaction.atomic
def callback_schedule(
    *,
    person_id: object,
    queue_type: str,
    scheduled_for: dt.datetime,
    reason: str = "",
    agent: HumanAgent | None = None,
    agent_only: bool = False,
    priority: int = 0,
) -> CallQueueEntry:
    """A new pending callback entry; `agent_only` keeps it for `agent` until the hand-over delay."""
    if not Lead.objects.filter(pk=person_id).exists():
        raise PersonNotFound(person_id=person_id)
    UserCallScore.objects.get_or_create(person_id=person_id)
    entry = CallQueueEntry.objects.create(
        person_id=person_id,
        queue_type=queue_type,
        status=QueueStatus.PENDING,
        priority=priority,
        callback_id=f"cb_{uuid.uuid4().hex}",
        callback_scheduled_for=scheduled_for,
        callback_reason=reason,
        callback_agent=agent if agent_only else None,
    )
    queue_entries_follow_score(person_ids=[person_id])
    entry.refresh_from_db(fields=list(SERVING_COPY))
    CallbackEvent.objects.create(
        queue_entry=entry,
        kind=CallbackEventKind.SCHEDULED,
        agent=agent,
        detail={"scheduled_for": scheduled_for.isoformat(), "agent_only": bool(agent_only and agent)},
    )
    return entry


@transaction.atomic
def callbacks_hand_over(*, now: dt.datetime | None = None) -> int:
    """Record the hand-over of every pending agent-only callback past its delay; returns how many."""
    now = now or timezone.now()
    cutoff = now - call_policy().handover_delay
    due = CallQueueEntry.objects.filter(
        status=QueueStatus.PENDING,
        callback_id__isnull=False,
        callback_agent__isnull=False,
        callback_handed_over_at__isnull=True,
        callback_scheduled_for__lte=cutoff,
    )
    ids = list(
        due.select_for_update(skip_locked=True, of=("self",), no_key=True).values_list("id", flat=True)
    )
    if not ids:
        return 0
    CallQueueEntry.objects.filter(id__in=ids).update(callback_handed_over_at=now)
    CallbackEvent.objects.bulk_create(
        [
            CallbackEvent(queue_entry_id=entry_id, kind=CallbackEventKind.HANDED_OVER, at=now)
            for entry_id in ids
        ]
    )
    return len(ids)
