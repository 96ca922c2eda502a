from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseAssignmentArchive,
    CaseStatus,
    Complexity,
    DecisionOutcome,
    EscalationQueueEntry,
    Frustration,
    Priority,
    QueueStatus,
    RoutingDecision,
    RoutingEvent,
    RoutingEventType,
    SupportCase,
)
from tests.factories.agents import HumanAgentFactory


class SupportCaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupportCase
        django_get_or_create = ("case_id",)

    case_id = factory.Sequence(lambda n: f"CASE-{n:06d}")
    customer_id = factory.Sequence(lambda n: f"CUST-{n:05d}")
    priority = Priority.MEDIUM
    complexity = Complexity.MEDIUM
    required_skills = factory.LazyFunction(list)
    customer_frustration = Frustration.LOW
    language = "en"
    max_wait_minutes = 30
    status = CaseStatus.QUEUED


class CaseAssignmentFactory(factory.django.DjangoModelFactory):
    """An open assignment. It does not touch the agent's load: use the services for live state."""

    class Meta:
        model = CaseAssignment

    case = factory.SubFactory(SupportCaseFactory, status=CaseStatus.ASSIGNED)
    agent = factory.SubFactory(HumanAgentFactory)
    customer_id = factory.SelfAttribute("case.customer_id")
    status = AssignmentStatus.ASSIGNED
    priority = factory.SelfAttribute("case.priority")
    complexity = factory.SelfAttribute("case.complexity")
    required_skills = factory.SelfAttribute("case.required_skills")
    customer_frustration = factory.SelfAttribute("case.customer_frustration")
    routing_strategy = "skill_based"
    routing_confidence = 0.8
    match_score = 80


class CaseAssignmentArchiveFactory(CaseAssignmentFactory):
    """A finished assignment as run_maintenance leaves it in the archive."""

    class Meta:
        model = CaseAssignmentArchive

    case = factory.SubFactory(SupportCaseFactory, status=CaseStatus.COMPLETED)
    status = AssignmentStatus.COMPLETED
    completed_at = factory.LazyFunction(timezone.now)


class EscalationQueueEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EscalationQueueEntry

    case = factory.SubFactory(SupportCaseFactory)
    customer_id = factory.SelfAttribute("case.customer_id")
    priority = factory.SelfAttribute("case.priority")
    complexity = factory.SelfAttribute("case.complexity")
    required_skills = factory.SelfAttribute("case.required_skills")
    customer_frustration = factory.SelfAttribute("case.customer_frustration")
    queued_at = factory.LazyFunction(timezone.now)
    max_wait_minutes = factory.SelfAttribute("case.max_wait_minutes")
    wait_deadline = factory.LazyAttribute(lambda o: o.queued_at + dt.timedelta(minutes=o.max_wait_minutes))
    status = QueueStatus.QUEUED


class RoutingDecisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingDecision

    case = factory.SubFactory(SupportCaseFactory)
    strategy = "skill_based"
    outcome = DecisionOutcome.QUEUED
    reason = "no agent in schedule"


class RoutingEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoutingEvent

    case = factory.SubFactory(SupportCaseFactory)
    event_type = RoutingEventType.QUEUED


def retire_seed_roster() -> None:
    """The agents migration seeds a legacy roster; routing tests start from agents they create."""
    from agents.models import HumanAgent

    HumanAgent.objects.update(is_active=False)


def routable_agent(
    *,
    skills: dict[str, str] | None = None,
    languages: tuple[str, ...] = ("en",),
    capacity: int = 5,
    zone: str = "UTC",
    always_on: bool = True,
    **attributes,
):
    """An active, available agent with the given skills (code -> proficiency) and languages, and (with
    `always_on`) a schedule window covering the whole of every weekday in `zone`."""
    from agents.models import Weekday
    from tests.factories.agents import (
        AgentLanguageFactory,
        AgentScheduleFactory,
        AgentSkillFactory,
        SkillDomainFactory,
    )

    agent = HumanAgentFactory(max_concurrent_work=capacity, **attributes)
    for code, proficiency in (skills or {}).items():
        AgentSkillFactory(agent=agent, domain=SkillDomainFactory(code=code), proficiency=proficiency)
    for code in languages:
        AgentLanguageFactory(agent=agent, language_code=code)
    if always_on:
        for day in Weekday:
            AgentScheduleFactory(
                agent=agent,
                day_of_week=day,
                start_time=dt.time(0, 0),
                end_time=dt.time(0, 0),  # 00:00-00:00: the whole day
                timezone=zone,
                effective_from=dt.date(2020, 1, 1),
            )
    return agent
