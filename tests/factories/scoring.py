"""Factories for the scoring app (and a minimal lead, until the leads branch's own factory is merged)."""

from __future__ import annotations

import factory
from django.utils import timezone

from routing.models import Lead
from scoring.models import CallQueueEntry, CallSession, QueueType, UserCallScore
from tests.factories.agents import HumanAgentFactory


class ScoringLeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    external_id = factory.Sequence(lambda n: f"sc-lead-{n:06d}")
    name = factory.Sequence(lambda n: f"Person {n}")
    insurance_line = "auto"
    customer_segment = "retail"
    language = "en"


class UserCallScoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UserCallScore

    person = factory.SubFactory(ScoringLeadFactory)
    current_score = 50
    time_zone = "UTC"
    created_at = factory.LazyFunction(timezone.now)
    updated_at = factory.LazyFunction(timezone.now)


class CallQueueEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallQueueEntry

    person = factory.SubFactory(ScoringLeadFactory)
    queue_type = QueueType.UNSIGNED_USERS


class CallSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallSession

    person = factory.SubFactory(ScoringLeadFactory)
    agent = factory.SubFactory(HumanAgentFactory)
    outcome = "no_answer"
