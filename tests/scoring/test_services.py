"""Scoring services: score one person, rescore all, reset, the queue and its claim, callbacks, calls, conversions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from scoring.errors import AlreadyConverted, QueueEmpty
from scoring.models import CallbackEvent, CallQueueEntry, QueueStatus, UserCallScore
from scoring.selectors import callbacks_due, conversion_totals, conversions_filtered, queue_serving
from scoring.services import (
    call_session_log,
    callback_schedule,
    callbacks_hand_over,
    conversion_record,
    queue_claim_next,
    score_person,
    scores_rescore_all,
    scores_reset_due,
)
from tests.factories.agents import HumanAgentFactory
from tests.factories.scoring import CallQueueEntryFactory, UserCallScoreFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC)  # 10:00 New York, 00:00 Tokyo


def _person(score: int = 50, zone: str = "UTC", queue: str = "unsigned_users", **fields) -> UserCallScore:
    row = UserCallScoreFactory(
        current_score=score, time_zone=zone, created_at=NOW - dt.timedelta(days=3), **fields
    )
    CallQueueEntryFactory(person=row.person, queue_type=queue, created_at=NOW - dt.timedelta(hours=1))
    return row


def test_score_person_stores_the_score_and_its_breakdown() -> None:
    row = _person()
    outcome = score_person(person_id=row.person_id, now=NOW)
    row.refresh_from_db()
    assert row.current_score == outcome.result.score == 69
    assert [f["name"] for f in row.score_breakdown["factors"]][0] == "queue_type"
    assert row.current_queue_type == "unsigned_users" and row.scored_at == NOW


def test_rescore_all_in_batches_matches_scoring_each(settings) -> None:
    settings.SCORING = {**settings.SCORING, "BATCH_SIZE": 2}
    rows = [_person(call_attempts=n) for n in range(5)]
    assert scores_rescore_all(now=NOW) == 5
    batch = {r.pk: r.current_score for r in UserCallScore.objects.all()}
    for row in rows:
        score_person(person_id=row.person_id, now=NOW)
    assert batch == {r.pk: r.current_score for r in UserCallScore.objects.all()}


def test_reset_honours_the_last_reset_date() -> None:
    recent = _person(call_attempts=4, last_reset_date=NOW - dt.timedelta(days=2))
    stale = _person(call_attempts=4, last_reset_date=NOW - dt.timedelta(days=40))
    assert scores_reset_due(now=NOW) == 1
    recent.refresh_from_db()
    stale.refresh_from_db()
    assert (recent.call_attempts, stale.call_attempts) == (4, 0)
    assert stale.last_reset_date == NOW


def test_queue_serves_due_callbacks_first_then_highest_score() -> None:
    low, high = _person(score=10), _person(score=90)
    callback_person = _person(score=5)
    callback = callback_schedule(
        person_id=callback_person.person_id,
        queue_type="unsigned_users",
        scheduled_for=NOW - dt.timedelta(minutes=5),
    )
    later = _person(score=99)
    callback_schedule(
        person_id=later.person_id, queue_type="unsigned_users", scheduled_for=NOW + dt.timedelta(hours=1)
    )
    order = [e.person_id for e in queue_serving(queue_type="unsigned_users", now=NOW)]
    assert order[0] == callback.person_id
    assert order[1:] == [later.person_id, high.person_id, low.person_id, callback_person.person_id]


def test_queue_excludes_outside_window_max_attempts_and_recent_calls() -> None:
    ok = _person(zone="America/New_York")
    _person(zone="Asia/Tokyo")  # midnight there
    _person(call_attempts=6)
    _person(last_call_at=NOW - dt.timedelta(hours=1))
    _person(zone="PST")  # not a zone: never callable
    assert [e.person_id for e in queue_serving(queue_type="unsigned_users", now=NOW)] == [ok.person_id]


def test_claim_takes_the_first_person_and_never_hands_them_out_twice() -> None:
    first, second = _person(score=90), _person(score=80)
    CallQueueEntryFactory(person=first.person, queue_type="outstanding_requests")
    agent_a, agent_b = HumanAgentFactory(), HumanAgentFactory()
    claim = queue_claim_next(agent=agent_a, queue_type="unsigned_users", now=NOW)
    assert claim.entry.person_id == first.person_id and claim.entry.status == QueueStatus.IN_PROGRESS
    # the same person is not offered from another queue while claimed
    with pytest.raises(QueueEmpty):
        queue_claim_next(agent=agent_b, queue_type="outstanding_requests", now=NOW)
    assert (
        queue_claim_next(agent=agent_b, queue_type="unsigned_users", now=NOW).entry.person_id
        == second.person_id
    )


def test_agent_only_callback_passes_to_anyone_after_the_delay_and_it_is_recorded() -> None:
    owner, other = HumanAgentFactory(), HumanAgentFactory()
    row = UserCallScoreFactory(time_zone="UTC")
    entry = callback_schedule(
        person_id=row.person_id, queue_type="unsigned_users", scheduled_for=NOW, agent=owner, agent_only=True
    )
    with pytest.raises(QueueEmpty):
        queue_claim_next(agent=other, queue_type="unsigned_users", now=NOW + dt.timedelta(minutes=10))
    assert callbacks_hand_over(now=NOW + dt.timedelta(minutes=10)) == 0
    assert callbacks_hand_over(now=NOW + dt.timedelta(minutes=31)) == 1
    assert list(callbacks_due(now=NOW + dt.timedelta(minutes=31), overdue_only=True)) == [entry]
    claim = queue_claim_next(agent=other, queue_type="unsigned_users", now=NOW + dt.timedelta(minutes=31))
    assert claim.is_callback and claim.entry.pk == entry.pk
    kinds = list(
        CallbackEvent.objects.filter(queue_entry=entry).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["scheduled", "handed_over", "claimed"]


def test_call_session_counts_the_attempt_releases_the_claim_and_rescores() -> None:
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
    row.refresh_from_db()
    claim.entry.refresh_from_db()
    assert (row.call_attempts, row.last_call_at, row.claimed_at) == (1, NOW, None)
    assert claim.entry.status == QueueStatus.PENDING
    assert row.score_breakdown["factors"][3]["detail"] == "1 attempts this cycle"


def test_conversion_closes_entries_and_deactivates_the_score_in_one_step() -> None:
    row = _person(score=77)
    callback_schedule(person_id=row.person_id, queue_type="outstanding_requests", scheduled_for=NOW)
    agent, helper = HumanAgentFactory(), HumanAgentFactory()
    conversion = conversion_record(
        person_id=row.person_id,
        conversion_type="signature",
        primary_agent=agent,
        contributing_agents=[helper],
        signature_obtained=True,
        claim_value=Decimal("1200.00"),
        estimated_commission=Decimal("120.00"),
        now=NOW,
    )
    row.refresh_from_db()
    assert (
        not row.is_active
        and conversion.final_score == 77
        and conversion.previous_queue_type == "unsigned_users"
    )
    assert not CallQueueEntry.objects.filter(person_id=row.person_id).exclude(status="completed").exists()
    assert CallbackEvent.objects.filter(kind="closed_by_conversion").count() == 1
    with pytest.raises(AlreadyConverted):
        conversion_record(person_id=row.person_id, conversion_type="signature")
    totals = conversion_totals(conversions_filtered(agent=helper))
    assert totals == {
        "count": 1,
        "claim_value": Decimal("1200.00"),
        "estimated_commission": Decimal("120.00"),
    }


def test_conversion_failure_changes_nothing(monkeypatch) -> None:
    row = _person()
    with pytest.raises(Exception):  # noqa: B017 - the CHECK constraint's IntegrityError
        conversion_record(person_id=row.person_id, conversion_type="signature", claim_value=Decimal("-1"))
    row.refresh_from_db()
    assert row.is_active
    assert not CallQueueEntry.objects.filter(person_id=row.person_id, status="completed").exists()
