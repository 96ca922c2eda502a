"""Retention and sanitization: each period's boundary, dry run, batches, reruns, analytics kept."""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tests.factories.voice import (
    AppointmentFactory,
    CallEventFactory,
    CallFactory,
    OrganizationFactory,
    TurnFactory,
)
from voice.access import caller_for_organization
from voice.models import Appointment, Call, CallEvent, Turn
from voice.selectors import call_analytics
from voice.services import retention_run

pytestmark = pytest.mark.django_db

NOW = timezone.now()


def days_ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def call(started_days_ago: float, **kwargs):
    started = days_ago(started_days_ago)
    return CallFactory(started_at=started, ended_at=started + dt.timedelta(minutes=2), **kwargs)


def rows(results) -> dict[tuple[str, str, str], int]:
    return {(r.table, r.action, r.rule): r.rows for r in results}


@pytest.mark.parametrize(("limit", "status"), [(730, "completed"), (90, "failed")])
def test_a_call_one_day_younger_than_its_limit_stays_and_one_day_older_goes(limit, status) -> None:
    kept, gone = call(limit - 1, status=status), call(limit + 1, status=status)
    TurnFactory(call=gone, turn_index=0, occurred_at=gone.started_at)
    CallEventFactory(call=gone, occurred_at=gone.started_at)
    retention_run(now=NOW)
    assert list(Call.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not Turn.objects.filter(call_id=gone.pk).exists() and not CallEvent.objects.exists()


def test_a_completed_call_older_than_the_failed_limit_stays() -> None:
    completed = call(120, status="completed")
    retention_run(now=NOW)
    assert Call.objects.filter(pk=completed.pk).exists()


@pytest.mark.parametrize(
    ("model", "factory", "limit"), [("turn", TurnFactory, 365), ("event", CallEventFactory, 180)]
)
def test_turns_and_events_past_their_limit_go_while_their_call_stays(model, factory, limit) -> None:
    parent = call(500)
    kept = factory(
        call=parent, occurred_at=days_ago(limit - 1), **({"turn_index": 0} if model == "turn" else {})
    )
    gone = factory(
        call=parent, occurred_at=days_ago(limit + 1), **({"turn_index": 1} if model == "turn" else {})
    )
    retention_run(now=NOW)
    remaining = set(type(kept).objects.values_list("pk", flat=True))
    assert remaining == {kept.pk} and gone.pk not in remaining
    assert Call.objects.filter(pk=parent.pk).exists()


def test_appointments_older_than_five_years_go() -> None:
    kept = AppointmentFactory(start_at=days_ago(1824), end_at=days_ago(1824) + dt.timedelta(minutes=30))
    AppointmentFactory(start_at=days_ago(1826), end_at=days_ago(1826) + dt.timedelta(minutes=30))
    retention_run(now=NOW)
    assert list(Appointment.objects.values_list("pk", flat=True)) == [kept.pk]


def test_sanitization_removes_transcripts_turn_text_and_phones_after_90_days_and_keeps_the_figures() -> None:
    fresh, old = call(89), call(91, transcript="caller: my card is 4111...", caller_phone="+16175550100")
    fresh_turn = TurnFactory(call=fresh, turn_index=0, occurred_at=fresh.started_at, text="hello")
    old_turn = TurnFactory(
        call=old, turn_index=0, occurred_at=old.started_at, text="my name is Pat", latency_llm_ms=512
    )
    retention_run(now=NOW)
    old.refresh_from_db()
    fresh.refresh_from_db()
    old_turn.refresh_from_db()
    fresh_turn.refresh_from_db()
    assert (old.transcript, old.caller_phone, old.sanitized_at) == ("", "", NOW)
    assert (old.status, old.outcome) == ("completed", "appointment_booked")  # outcomes kept
    assert (old_turn.text, old_turn.latency_llm_ms, old_turn.asr_confidence) == ("", 512, 0.9)  # figures kept
    assert (
        fresh.transcript and fresh.caller_phone and fresh.sanitized_at is None and fresh_turn.text == "hello"
    )


def test_analytics_survive_sanitization() -> None:
    organization = OrganizationFactory()
    old = call(100, organization=organization)
    TurnFactory(call=old, turn_index=0, occurred_at=old.started_at, latency_total_ms=900)
    caller = caller_for_organization(organization)
    before = call_analytics(caller=caller, since=days_ago(120), until=NOW).by_config
    retention_run(now=NOW)
    after = call_analytics(caller=caller, since=days_ago(120), until=NOW).by_config
    assert before == after and after[0].latency_p95_ms["total"] == 900


def _mixed_history() -> None:
    for days, status in [
        (1000, "completed"),
        (800, "failed"),
        (100, "failed"),
        (400, "completed"),
        (200, "completed"),
        (10, "completed"),
    ]:
        parent = call(days, status=status)
        for index in range(3):
            TurnFactory(
                call=parent, turn_index=index, occurred_at=parent.started_at + dt.timedelta(seconds=index)
            )
        CallEventFactory(call=parent, occurred_at=parent.started_at)
    AppointmentFactory(start_at=days_ago(2000), end_at=days_ago(2000) + dt.timedelta(minutes=30))


def _snapshot() -> tuple:
    return (
        sorted(Call.objects.values_list("pk", "transcript", "caller_phone")),
        sorted(Turn.objects.values_list("pk", "text")),
        sorted(CallEvent.objects.values_list("pk", flat=True)),
        Appointment.objects.count(),
    )


def test_a_dry_run_changes_nothing_and_counts_what_the_real_run_then_does() -> None:
    _mixed_history()
    before = _snapshot()
    planned = rows(retention_run(now=NOW, dry_run=True))
    assert _snapshot() == before
    done = rows(retention_run(now=NOW))
    assert planned == done
    assert done[("calls", "delete", "failed, older than 90 days")] == 2
    assert done[("turns", "delete", "of those failed calls")] == 6
    assert done[("calls", "delete", "older than 730 days")] == 1
    assert done[("turns", "delete", "older than 365 days")] == 3
    assert done[("call events", "delete", "older than 180 days")] == 2
    assert done[("calls", "sanitize", "transcript and phone number, older than 90 days")] == 2
    assert done[("turns", "sanitize", "text, older than 90 days")] == 3
    assert done[("appointments", "delete", "older than 1825 days")] == 1


def test_small_batches_do_the_same_work_and_a_rerun_changes_nothing() -> None:
    _mixed_history()
    results = retention_run(now=NOW, batch_size=2)
    assert rows(results)[("turns", "sanitize", "text, older than 90 days")] == 3
    assert max(r.batches for r in results) == 2  # several transactions
    assert all(r.rows == 0 for r in retention_run(now=NOW, batch_size=2))


def test_the_periods_come_from_the_settings(settings) -> None:
    settings.VOICE_RETENTION = {**settings.VOICE_RETENTION, "TURN_DAYS": 30}
    parent = call(10)
    TurnFactory(call=parent, turn_index=0, occurred_at=days_ago(31))
    retention_run()
    assert not Turn.objects.exists()


def _table(output: str) -> dict[tuple[str, ...], str]:
    """(table, action, rule) -> rows, from the printed table (columns are 2+ spaces apart)."""
    cells = [re.split(r"\s{2,}", line.strip()) for line in output.splitlines()[2:-1]]
    return {tuple(row[:3]): row[3] for row in cells}


def test_the_command_prints_the_same_counts_for_a_dry_run_and_the_run() -> None:
    _mixed_history()
    dry, real = StringIO(), StringIO()
    call_command("retention_cleanup", "--dry-run", stdout=dry)
    assert "Dry run: 26 rows would change" in dry.getvalue()
    call_command("retention_cleanup", "--batch-size", "3", stdout=real)
    assert _table(dry.getvalue()) == _table(real.getvalue())
    assert "26 rows changed" in real.getvalue()


def test_the_command_refuses_a_batch_size_below_one() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="at least 1"):
        call_command("retention_cleanup", "--batch-size", "0", stdout=StringIO())
