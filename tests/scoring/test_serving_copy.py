"""The queue entry's serving copy of its person's score row stays equal to it through every scoring write,
and the claim's walks are served by their indexes (no sort: the first eligible row ends the walk)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction

from scoring.models import CallQueueEntry, QueueStatus, UserCallScore
from scoring.services import (
    call_session_log,
    callback_schedule,
    conversion_record,
    queue_claim_next,
    score_person,
    scores_rescore_all,
    scores_reset_due,
)
from scoring.services.queue import SERVING_COPY, queue_claim_walks
from tests.factories.agents import HumanAgentFactory
from tests.factories.scoring import CallQueueEntryFactory, UserCallScoreFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC)


def _person(**fields) -> UserCallScore:
    row = UserCallScoreFactory(created_at=NOW - dt.timedelta(days=3), **fields)
    CallQueueEntryFactory(
        person=row.person, queue_type="unsigned_users", created_at=NOW - dt.timedelta(hours=1)
    )
    CallQueueEntryFactory(person=row.person, queue_type="outstanding_requests", created_at=NOW)
    return row


def _drift() -> list[tuple]:
    """Open entries whose serving copy differs from their person's score row."""
    drift = []
    for entry in CallQueueEntry.objects.filter(status__in=("pending", "in_progress")).select_related(
        "person__call_score"
    ):
        score = entry.person.call_score
        for entry_field, field in SERVING_COPY.items():
            if getattr(entry, entry_field) != getattr(score, field):
                drift.append((entry.pk, entry_field, getattr(entry, entry_field), getattr(score, field)))
    return drift


def test_score_person_copies_the_new_score_onto_every_open_entry() -> None:
    row = _person(current_score=3, call_attempts=2)
    outcome = score_person(person_id=row.person_id, now=NOW)
    assert outcome.score.current_score != 3
    assert _drift() == []
    assert set(CallQueueEntry.objects.values_list("serving_score", flat=True)) == {
        outcome.score.current_score
    }


def test_the_batch_rescore_and_the_reset_keep_the_copy_in_step(settings) -> None:
    settings.SCORING = {**settings.SCORING, "BATCH_SIZE": 2}
    for n in range(5):
        _person(current_score=n, call_attempts=4, last_reset_date=NOW - dt.timedelta(days=40 if n % 2 else 1))
    assert scores_reset_due(now=NOW) == 2
    assert _drift() == []
    assert CallQueueEntry.objects.filter(serving_call_attempts=0).count() == 4  # two people, two entries each
    assert scores_rescore_all(now=NOW) == 5
    assert _drift() == []


def test_a_logged_call_copies_attempts_and_last_call() -> None:
    row = _person()
    agent = HumanAgentFactory()
    claim = queue_claim_next(agent=agent, queue_type="unsigned_users", now=NOW)
    call_session_log(
        person_id=row.person_id,
        agent=agent,
        outcome="no_answer",
        duration_seconds=30,
        queue_entry_id=claim.entry.pk,
        now=NOW,
    )
    assert _drift() == []
    other = CallQueueEntry.objects.get(person_id=row.person_id, queue_type="outstanding_requests")
    assert (other.serving_call_attempts, other.serving_last_call_at) == (1, NOW)


def test_a_new_callback_starts_with_the_copy_and_a_conversion_deactivates_it() -> None:
    row = _person(current_score=77, time_zone="America/New_York")
    entry = callback_schedule(person_id=row.person_id, queue_type="unsigned_users", scheduled_for=NOW)
    assert (entry.serving_score, entry.serving_time_zone) == (77, "America/New_York")
    conversion_record(
        person_id=row.person_id, conversion_type="signature", claim_value=Decimal("10"), now=NOW
    )
    entries = CallQueueEntry.objects.filter(person_id=row.person_id)
    assert {(e.status, e.serving_active) for e in entries} == {(QueueStatus.COMPLETED, False)}


@pytest.mark.postgres
def test_every_claim_walk_is_an_index_scan_in_order_without_a_sort() -> None:
    _person()
    agent = HumanAgentFactory()
    indexes = ["call_queue_cb_serving_idx", "call_queue_serving_idx"]
    with transaction.atomic():
        with connection.cursor() as cursor:
            # At this size the planner may read a few rows whole, or through another index and sort them
            # (its choice depends on what earlier tests left in the statistics). The question here is
            # whether each walk's WHERE and ORDER BY match its index, so those alternatives are priced
            # out: a walk the index cannot serve in order still shows a Sort node.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
        for (_, walk), index in zip(
            queue_claim_walks(agent=agent, queue_type="unsigned_users", now=NOW), indexes, strict=True
        ):
            plan = walk[:1].explain()
            assert index in plan and "Sort" not in plan, plan
