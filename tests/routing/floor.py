"""A floor written directly for API and admin tests: an agent on shift around the clock, a waiting queue
entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from agents.models import HumanAgent, Proficiency, Weekday
from routing.models import (
    CaseStatus,
    EscalationQueueEntry,
    SupportCase,
)
from tests.factories.agents import (
    AgentLanguageFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    HumanAgentFactory,
    SkillDomainFactory,
)


def on_shift_agent(*, skills: tuple[str, ...] = ("billing",), **kwargs: Any) -> HumanAgent:
    """An available agent with the skills (expert), English, and a UTC schedule covering every day."""
    agent = HumanAgentFactory(**kwargs)
    for code in skills:
        AgentSkillFactory(agent=agent, domain=SkillDomainFactory(code=code), proficiency=Proficiency.EXPERT)
    AgentLanguageFactory(agent=agent, language_code="en")
    for day in Weekday.values:
        AgentScheduleFactory(
            agent=agent,
            day_of_week=day,
            start_time=dt.time(0, 0),
            end_time=dt.time(23, 59, 59, 999999),
            timezone="UTC",
            effective_from=timezone.localdate() - dt.timedelta(days=30),
        )
    return agent


def waiting_entry(
    case_id: str, *, priority: str = "medium", queued_minutes_ago: float = 1, max_wait: int = 30
) -> EscalationQueueEntry:
    """A case waiting in the queue, written directly (the queue's shape, not the routing path)."""
    queued_at = timezone.now() - dt.timedelta(minutes=queued_minutes_ago)
    case = SupportCase.objects.create(
        case_id=case_id,
        priority=priority,
        complexity="low",
        required_skills=["billing"],
        max_wait_minutes=max_wait,
        status=CaseStatus.QUEUED,
        created_at=queued_at,
    )
    return EscalationQueueEntry.objects.create(
        case=case,
        priority=priority,
        complexity="low",
        required_skills=["billing"],
        queued_at=queued_at,
        max_wait_minutes=max_wait,
        wait_deadline=queued_at + dt.timedelta(minutes=max_wait),
    )
