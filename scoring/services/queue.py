"""Taking the next person to call, atomically.

Two agents asking at once never get the same person: the claim selects the first entry in serving order
with `FOR NO KEY UPDATE OF <entry>, <the person's score row> SKIP LOCKED` (PostgreSQL; SQLite serialises
writers anyway) and marks both claimed in the same transaction. A person with entries in several queues
is still handed out once: the claim lives on the person's one score row (`claimed_at`), which the serving
filter requires NULL; a concurrent claim that finds the row locked skips it, and one that finds it
updated re-evaluates `claimed_at IS NULL` against the new row version and skips it too.

Lock order of the scoring writes: the person's score row, then their queue entries (the claim takes both
in one statement and never waits, so it cannot deadlock with them).

Due callbacks are served first, by a query of their own (small, on call_queue_callbacks_due_idx); then
the highest score (walking ucs_serving_idx).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agents.models import HumanAgent
from scoring.errors import QueueEmpty
from scoring.models import CallbackEvent, CallbackEventKind, CallQueueEntry, QueueStatus, UserCallScore
from scoring.selectors import SCORE, callable_person_q, callback_due_q, callback_visible_q, queue_cutoffs


@dataclass(frozen=True)
class QueueClaim:
    entry: CallQueueEntry
    score: UserCallScore
    is_callback: bool
    handed_over: bool


def _first(queryset) -> CallQueueEntry | None:
    return (
        queryset.select_related("person__call_score")
        .select_for_update(skip_locked=True, of=("self", "person__call_score"), no_key=True)
        .first()
    )


@transaction.atomic
def queue_claim_next(*, agent: HumanAgent, queue_type: str, now: dt.datetime | None = None) -> QueueClaim:
    now = now or timezone.now()
    cutoffs = queue_cutoffs(now)
    base = CallQueueEntry.objects.filter(queue_type=queue_type, status=QueueStatus.PENDING).filter(
        callable_person_q(cutoffs)
    )
    entry = _first(
        base.filter(callback_due_q(now) & callback_visible_q(cutoffs, agent)).order_by(
            F("callback_scheduled_for").asc(nulls_first=True), F(f"{SCORE}current_score").desc(), "id"
        )
    )
    is_callback = entry is not None
    if entry is None:
        entry = _first(
            base.filter(callback_id__isnull=True).order_by(
                F(f"{SCORE}current_score").desc(), "created_at", "id"
            )
        )
    if entry is None:
        raise QueueEmpty(queue_type=queue_type)
    score = entry.person.call_score
    score.claimed_by, score.claimed_at = agent, now
    score.save(update_fields=["claimed_by", "claimed_at"])
    entry.status, entry.claimed_by, entry.claimed_at = QueueStatus.IN_PROGRESS, agent, now
    handed_over = False
    update_fields = ["status", "claimed_by", "claimed_at"]
    if is_callback:
        events = []
        if entry.callback_agent_id not in (None, agent.pk) and entry.callback_handed_over_at is None:
            handed_over = True
            entry.callback_handed_over_at = now
            update_fields.append("callback_handed_over_at")
            events.append(
                CallbackEvent(
                    queue_entry=entry, kind=CallbackEventKind.HANDED_OVER, at=now, detail={"to": agent.code}
                )
            )
        events.append(CallbackEvent(queue_entry=entry, kind=CallbackEventKind.CLAIMED, agent=agent, at=now))
        CallbackEvent.objects.bulk_create(events)
    entry.save(update_fields=update_fields)
    return QueueClaim(entry=entry, score=score, is_callback=is_callback, handed_over=handed_over)
