"""Taking the next person to call, atomically, on one index walk.

Two agents asking at once never get the same person: the claim selects the first entry in serving order
with `FOR NO KEY UPDATE OF <entry>, <the person's score row> SKIP LOCKED` (PostgreSQL; SQLite serialises
writers anyway) and marks both claimed in the same transaction. A person with entries in several queues
is still handed out once: the claim lives on the person's one score row (`claimed_at`), which the serving
filter requires NULL; a concurrent claim that finds the row locked skips it, and one that finds it
updated re-evaluates `claimed_at IS NULL` against the new row version and skips it too.

Lock order of the scoring writes: the person's score row, then their queue entries (the claim takes both
in one statement and never waits, so it cannot deadlock with them).

Why the walk is one index scan. The serving order (due callbacks first, then the highest score, then the
oldest entry) and the eligibility filters used to read the score row, so PostgreSQL had to join and sort
every pending entry before taking the first. Each open entry now carries a serving copy of its person's
score row (serving_score, serving_active, serving_time_zone, serving_call_attempts, serving_last_call_at),
written by `queue_entries_follow_score` in the same transaction as every change to those values
(score_person, the batch rescore and the reset, a logged call through score_person, a conversion, a new
callback). Partial indexes follow the walks (`queue_claim_walks`) exactly, ORDER BY and WHERE:
- call_queue_cb_serving_idx (queue_type, COALESCE(callback_scheduled_for, 1970-01-01), serving_score DESC,
  id) WHERE pending AND callback AND serving_active: the due callbacks, a legacy one without a time first
  (`scoring.models.callback_due_at`), then the oldest promise, the range ending at now;
- call_queue_serving_idx (queue_type, serving_score DESC, created_at, id) WHERE pending AND NOT callback
  AND serving_active: everyone else, highest score first.
The time-dependent rules need no per-row clock arithmetic, so the walk reads each candidate's entry row
only and stops at the first that passes: the calling window is `serving_time_zone IN (the zones open at
this minute)` (`scoring.engine.windows.open_zones`, one array parameter on PostgreSQL: a daylight-saving
change moves with the zone, nothing stored goes stale); the re-call gap is
`serving_last_call_at <= now - gap`; the attempt limit is `serving_call_attempts < max`. The settings
(window, gap, limit) are read per claim, so changing them needs no backfill. Then the two lookups by key
(the person's lead and score row) check `claimed_at IS NULL` and take the locks. The walk's cost is the number of higher-ranked entries it passes over (people outside
their window, at the limit, inside the gap, claimed): with everyone callable it is one row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from agents.models import HumanAgent
from scoring.errors import QueueEmpty
from scoring.models import (
    CallbackEvent,
    CallbackEventKind,
    CallQueueEntry,
    QueueStatus,
    UserCallScore,
    callback_due_at,
)
from scoring.selectors import callable_entry_q, callback_visible_q, queue_cutoffs

# The serving copy: entry field <- score row field.
SERVING_COPY = {
    "serving_score": "current_score",
    "serving_active": "is_active",
    "serving_time_zone": "time_zone",
    "serving_call_attempts": "call_attempts",
    "serving_last_call_at": "last_call_at",
}
OPEN_STATUSES = (QueueStatus.PENDING, QueueStatus.IN_PROGRESS)


def queue_entries_follow_score(*, person_ids: Iterable[object]) -> int:
    """Copy the score rows of `person_ids` onto their open queue entries (one set-based UPDATE); returns
    how many entries. Call it inside the transaction that changed the score rows, after the change. An
    entry whose person has no score row keeps what it has."""
    ids = list(person_ids)
    if not ids:
        return 0
    score = UserCallScore.objects.filter(person_id=OuterRef("person_id"))
    return CallQueueEntry.objects.filter(person_id__in=ids, status__in=OPEN_STATUSES).update(
        **{
            entry_field: Coalesce(Subquery(score.values(field)[:1]), F(entry_field))
            for entry_field, field in SERVING_COPY.items()
        }
    )


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


def queue_claim_walks(
    *, agent: HumanAgent | None, queue_type: str, now: dt.datetime
) -> list[tuple[bool, QuerySet[CallQueueEntry]]]:
    """The claim's walks in serving order, each (is_callback, queryset): the first row of the first walk
    that has one is the next person. Due callbacks (callback_scheduled_for ASC NULLS FIRST, score DESC,
    id: a legacy callback without a time first) walk call_queue_cb_serving_idx on `callback_due_at()` up
    to now, where the index range ends; then everyone else on call_queue_serving_idx."""
    cutoffs = queue_cutoffs(now)
    base = CallQueueEntry.objects.filter(queue_type=queue_type, status=QueueStatus.PENDING).filter(
        callable_entry_q(cutoffs)
    )
    callbacks = (
        base.filter(callback_id__isnull=False)
        .filter(callback_visible_q(cutoffs, agent))
        .alias(due_at=callback_due_at())
    )
    return [
        (True, callbacks.filter(due_at__lte=now).order_by("due_at", F("serving_score").desc(), "id")),
        (
            False,
            base.filter(callback_id__isnull=True).order_by(F("serving_score").desc(), "created_at", "id"),
        ),
    ]


@transaction.atomic
def queue_claim_next(*, agent: HumanAgent, queue_type: str, now: dt.datetime | None = None) -> QueueClaim:
    now = now or timezone.now()
    entry, is_callback = None, False
    for is_callback, walk in queue_claim_walks(agent=agent, queue_type=queue_type, now=now):  # noqa: B007
        entry = _first(walk)
        if entry is not None:
            break
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
