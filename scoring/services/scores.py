"""Scoring people: one with its breakdown, everyone in batches, and the periodic reset.

The score is computed only by scoring.engine.score_compute; the batch paths gather each batch's state in
one query, compute in Python and write the batch back with one bulk UPDATE (one transaction per batch),
so the formula exists once. Every path copies the new values onto the person's open queue entries
(`queue_entries_follow_score`) in the same transaction, so the queue's index order never lags a score. Idempotent: rescoring twice at the same instant writes the same values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from routing.models import Lead
from scoring.conf import batch_size as default_batch_size
from scoring.conf import reset_interval, score_weights
from scoring.engine import PersonState, ScoreResult, score_compute
from scoring.errors import PersonNotFound
from scoring.models import CallQueueEntry, QueueStatus, UserCallScore
from scoring.selectors import callback_due_q
from scoring.services.queue import queue_entries_follow_score

SCORED_FIELDS = [
    "current_score",
    "score_breakdown",
    "scored_at",
    "current_queue_type",
    "last_queue_check",
    "updated_at",
]


@dataclass(frozen=True)
class ScoreOutcome:
    score: UserCallScore
    result: ScoreResult
    created: bool


def _annotated(queryset: QuerySet[UserCallScore], now: dt.datetime) -> QuerySet[UserCallScore]:
    pending = CallQueueEntry.objects.filter(person_id=OuterRef("person_id"), status=QueueStatus.PENDING)
    return queryset.annotate(
        pending_queue_type=Subquery(pending.order_by("created_at", "id").values("queue_type")[:1]),
        has_due_callback=Exists(pending.filter(callback_due_q(now))),
    )


def _apply(score: UserCallScore, now: dt.datetime) -> ScoreResult:
    queue_type = score.pending_queue_type or score.current_queue_type
    state = PersonState(
        queue_type=queue_type,
        created_at=score.created_at,
        last_call_at=score.last_call_at,
        call_attempts=score.call_attempts,
        outstanding_documents=score.outstanding_documents,
        signature_obtained=score.signature_obtained,
        callback_due=score.has_due_callback,
    )
    result = score_compute(state, score_weights(), now=now)
    score.current_score = result.score
    score.score_breakdown = result.breakdown()
    score.scored_at = score.last_queue_check = score.updated_at = now
    score.current_queue_type = queue_type
    return result


@transaction.atomic
def score_person(*, person_id: object, now: dt.datetime | None = None) -> ScoreOutcome:
    """Compute and store one person's score (creating the score row on first use)."""
    now = now or timezone.now()
    if not Lead.objects.filter(pk=person_id).exists():
        raise PersonNotFound(person_id=person_id)
    _, created = UserCallScore.objects.get_or_create(
        person_id=person_id, defaults={"created_at": now, "updated_at": now}
    )
    # Lock order: the person's score row first (as every scoring write does).
    score = _annotated(UserCallScore.objects.select_for_update(of=("self",), no_key=True), now).get(
        person_id=person_id
    )
    result = _apply(score, now)
    score.save(update_fields=SCORED_FIELDS)
    queue_entries_follow_score(person_ids=[score.person_id])
    return ScoreOutcome(score=score, result=result, created=created)


def _rescore_in_batches(
    queryset: QuerySet[UserCallScore], now: dt.datetime, extra: dict | None = None, size: int | None = None
) -> int:
    done, last = 0, 0
    size = size or default_batch_size()
    while True:
        with transaction.atomic():
            rows = list(
                _annotated(queryset.filter(id__gt=last).order_by("id"), now).select_for_update(
                    of=("self",), no_key=True
                )[:size]
            )
            if not rows:
                return done
            for row in rows:
                for name, value in (extra or {}).items():
                    setattr(row, name, value)
                _apply(row, now)
            UserCallScore.objects.bulk_update(rows, [*SCORED_FIELDS, *(extra or {})])
            queue_entries_follow_score(person_ids=[row.person_id for row in rows])
        done += len(rows)
        last = rows[-1].id


def scores_rescore_all(*, now: dt.datetime | None = None, batch_size: int | None = None) -> int:
    """Rescore every active person, batch by batch (SCORING_BATCH_SIZE unless given); returns how many."""
    return _rescore_in_batches(
        UserCallScore.objects.filter(is_active=True), now or timezone.now(), size=batch_size
    )


def scores_reset_due(*, now: dt.datetime | None = None, batch_size: int | None = None) -> int:
    """Start a new calling cycle for active people whose last reset is older than RESET_INTERVAL_DAYS
    (or never happened): attempts back to 0, last_reset_date = now, rescored. A person reset less than
    the interval ago is left alone, so running it often is harmless."""
    now = now or timezone.now()
    due = UserCallScore.objects.filter(is_active=True).filter(
        Q(last_reset_date__isnull=True) | Q(last_reset_date__lte=now - reset_interval())
    )
    return _rescore_in_batches(due, now, extra={"call_attempts": 0, "last_reset_date": now}, size=batch_size)
