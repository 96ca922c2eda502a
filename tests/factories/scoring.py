"""Factories for the scoring app (and a minimal lead, until the leads branch's own factory is merged)."""

from __future__ import annotations

from typing import Any

import factory
from django.utils import timezone

from routing.models import Lead
from scoring.models import CallQueueEntry, CallSession, QueueType, UserCallScore
from scoring.services.queue import SERVING_COPY, queue_entries_follow_score
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

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> UserCallScore:
        row = super()._create(model_class, *args, **kwargs)
        queue_entries_follow_score(person_ids=[row.person_id])  # as the services keep them in step
        return row


class CallQueueEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallQueueEntry

    person = factory.SubFactory(ScoringLeadFactory)
    queue_type = QueueType.UNSIGNED_USERS

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> CallQueueEntry:
        """The serving copy of the person's score row, when there is one (as the services write it)."""
        entry = super()._create(model_class, *args, **kwargs)
        if UserCallScore.objects.filter(person_id=entry.person_id).exists():
            queue_entries_follow_score(person_ids=[entry.person_id])
            entry.refresh_from_db(fields=list(SERVING_COPY))
        return entry


class CallSessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallSession

    person = factory.SubFactory(ScoringLeadFactory)
    agent = factory.SubFactory(HumanAgentFactory)
    outcome = "no_answer"
