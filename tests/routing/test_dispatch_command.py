"""manage.py dispatch_queue runs the same sweep as the service and prints a table."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from routing.models import CaseAssignment, EscalationQueueEntry, QueueStatus
from tests.factories import SkillDomainFactory
from tests.factories.routing import (
    EscalationQueueEntryFactory,
    SupportCaseFactory,
    retire_seed_roster,
    routable_agent,
)

pytestmark = pytest.mark.django_db


def test_dispatch_queue_escalates_and_dispatches_and_prints_a_table():
    retire_seed_roster()
    SkillDomainFactory(code="billing")
    overdue_at = timezone.now() - dt.timedelta(minutes=45)
    waiting = EscalationQueueEntryFactory(
        case=SupportCaseFactory(case_id="C-1", priority="low", required_skills=["billing"], language="en"),
        queued_at=overdue_at,
    )
    agent = routable_agent(skills={"billing": "advanced"})
    out = StringIO()
    call_command("dispatch_queue", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0].split()[2:7] == ["rested", "escalated", "widened", "timed_out", "dispatched"]
    assert lines[1].split()[2:8] == ["0", "1", "1", "0", "1", "0"]
    assert CaseAssignment.objects.get(case__case_id="C-1").agent_id == agent.pk
    assert EscalationQueueEntry.objects.get(pk=waiting.pk).status == QueueStatus.ASSIGNED


def test_dispatch_queue_loop_stops_after_max_runs():
    out = StringIO()
    call_command("dispatch_queue", "--loop", "0.01", "--max-runs", "2", stdout=out)
    assert len(out.getvalue().splitlines()) == 3


def test_dispatch_queue_rejects_a_non_positive_loop():
    with pytest.raises(CommandError):
        call_command("dispatch_queue", "--loop", "0")
