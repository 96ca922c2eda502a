"""manage.py rescore_calls: everyone rescored in batches, the reset honouring last reset dates, bad input
refused with a non-zero exit."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from scoring.models import UserCallScore
from scoring.services import score_person
from tests.factories.scoring import CallQueueEntryFactory, UserCallScoreFactory

pytestmark = pytest.mark.django_db
NOW = dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC)
AT = NOW.isoformat()


def _person(**fields) -> UserCallScore:
    row = UserCallScoreFactory(current_score=0, created_at=NOW - dt.timedelta(days=3), **fields)
    CallQueueEntryFactory(
        person=row.person, queue_type="unsigned_users", created_at=NOW - dt.timedelta(hours=1)
    )
    return row


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("rescore_calls", *args, stdout=out)
    return out.getvalue()


def test_rescore_calls_rescoring_every_active_person_in_batches_as_score_person_would() -> None:
    active = [_person(call_attempts=n) for n in range(3)]
    inactive = _person(is_active=False)
    text = _run("--at", AT, "--batch-size", "2")
    assert "in batches of 2" in text
    assert "rescore every active person" in text and text.splitlines()[-1].split()[-2] == "3"
    stored = {row.pk: row.current_score for row in UserCallScore.objects.all()}
    assert stored[inactive.pk] == 0 and all(stored[row.pk] > 0 for row in active)
    for row in active:  # the command's numbers are the service's
        assert score_person(person_id=row.person_id, now=NOW).score.current_score == stored[row.pk]
    assert "reset" not in text


def test_reset_due_starts_a_new_cycle_only_for_people_past_the_interval() -> None:
    recent = _person(call_attempts=4, last_reset_date=NOW - dt.timedelta(days=2))
    stale = _person(call_attempts=4, last_reset_date=NOW - dt.timedelta(days=40))
    never = _person(call_attempts=5, last_reset_date=None)
    text = _run("--reset-due", "--at", AT)
    reset_line = next(line for line in text.splitlines() if line.startswith("reset"))
    assert reset_line.split()[-2] == "2"
    for row in (recent, stale, never):
        row.refresh_from_db()
    assert (recent.call_attempts, stale.call_attempts, never.call_attempts) == (4, 0, 0)
    assert stale.last_reset_date == never.last_reset_date == NOW
    # a second run at the same instant resets nobody
    again = _run("--reset-due", "--at", AT)
    assert next(line for line in again.splitlines() if line.startswith("reset")).split()[-2] == "0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--at", "yesterday"], "is not an ISO 8601"),
        (["--at", "2026-01-15T15:00:00"], "needs a zone"),
        (["--batch-size", "many"], "invalid int value"),
    ],
)
def test_bad_input_is_a_command_error(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        _run(*args)


def test_an_invalid_scoring_setting_is_a_command_error(settings) -> None:
    settings.SCORING = {**settings.SCORING, "RESET_INTERVAL_DAYS": "monthly"}
    _person()
    with pytest.raises(CommandError, match="SCORING settings are invalid"):
        _run("--reset-due")
