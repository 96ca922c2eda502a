"""The automated agents' sweep: stale heartbeats go offline, run on its own and by the queue sweep."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from agents.automation.services import automated_agents_mark_stale_offline
from agents.models import AutomatedAgent
from routing.services import queue_sweep
from tests.factories.automation import AgentMessageFactory, AutomatedAgentFactory

pytestmark = pytest.mark.django_db


def _ago(seconds: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=seconds)


def test_only_agents_silent_past_the_configured_age_are_marked_offline(settings):
    settings.AUTOMATION = {**settings.AUTOMATION, "HEARTBEAT_MAX_AGE_SECONDS": 60}
    stale = AutomatedAgentFactory(status="active", last_heartbeat=_ago(61))
    fresh = AutomatedAgentFactory(status="active", last_heartbeat=_ago(30))
    never = AutomatedAgentFactory(status="idle", last_heartbeat=None)
    AutomatedAgentFactory(status="offline", last_heartbeat=_ago(3600))

    assert automated_agents_mark_stale_offline() == 1

    statuses = dict(AutomatedAgent.objects.values_list("pk", "status"))
    assert (statuses[stale.pk], statuses[fresh.pk], statuses[never.pk]) == ("offline", "active", "idle")
    assert automated_agents_mark_stale_offline() == 0


def test_the_queue_sweep_runs_the_automation_sweep(settings):
    settings.AUTOMATION = {**settings.AUTOMATION, "HEARTBEAT_MAX_AGE_SECONDS": 60}
    stale = AutomatedAgentFactory(status="idle", last_heartbeat=_ago(120))
    message = AgentMessageFactory(status="sent", expires_at=_ago(1))

    queue_sweep()

    stale.refresh_from_db()
    message.refresh_from_db()
    assert (stale.status, message.status) == ("offline", "expired")


def test_the_command_prints_what_it_did(capsys):
    AutomatedAgentFactory(status="idle", last_heartbeat=_ago(10_000))

    call_command("sweep_automated_agents")

    assert "agents marked offline (heartbeat older than 0:05:00): 1" in capsys.readouterr().out
