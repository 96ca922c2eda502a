"""The periodic queue sweep (routing.services.queue_sweep, run by `dispatch_queue --loop`) hands overdue
agent-only callbacks to anyone, with no manual step."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from routing.services import queue_sweep
from scoring.models import CallbackEvent, CallQueueEntry
from scoring.services import callback_schedule
from tests.factories.agents import HumanAgentFactory
from tests.factories.scoring import UserCallScoreFactory

pytestmark = pytest.mark.django_db


def _callback(owner, scheduled_for: dt.datetime, *, agent_only: bool = True) -> CallQueueEntry:
    row = UserCallScoreFactory(time_zone="UTC")
    return callback_schedule(
        person_id=row.person_id,
        queue_type="unsigned_users",
        scheduled_for=scheduled_for,
        agent=owner,
        agent_only=agent_only,
    )


def test_the_queue_sweep_hands_over_agent_only_callbacks_past_the_delay_only() -> None:
    now = dt.datetime(2026, 1, 15, 15, 0, tzinfo=dt.UTC)
    owner = HumanAgentFactory()
    overdue = _callback(owner, now - dt.timedelta(minutes=31))
    recent = _callback(owner, now - dt.timedelta(minutes=10))
    anyones = _callback(owner, now - dt.timedelta(hours=2), agent_only=False)
    report = queue_sweep(now=now)
    assert report.callbacks_handed_over == 1
    assert CallQueueEntry.objects.get(pk=overdue.pk).callback_handed_over_at == now
    assert CallQueueEntry.objects.get(pk=recent.pk).callback_handed_over_at is None
    assert CallQueueEntry.objects.get(pk=anyones.pk).callback_handed_over_at is None
    assert list(
        CallbackEvent.objects.filter(kind="handed_over").values_list("queue_entry_id", flat=True)
    ) == [overdue.pk]
    assert queue_sweep(now=now + dt.timedelta(minutes=1)).callbacks_handed_over == 0  # recorded once


def test_dispatch_queue_prints_the_callbacks_handed_over(settings) -> None:
    settings.SCORING = {**settings.SCORING, "CALLBACK_HANDOVER_MINUTES": 5}
    _callback(HumanAgentFactory(), timezone.now() - dt.timedelta(minutes=6))
    out = io.StringIO()
    call_command("dispatch_queue", stdout=out)
    header, row = out.getvalue().splitlines()[:2]
    column = header.split().index("callbacks")
    assert row.split()[column] == "1"
