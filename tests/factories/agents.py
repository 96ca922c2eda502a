from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentPeriodMetrics,
    AgentSchedule,
    AgentSkill,
    AgentSpecialization,
    AvailabilityStatus,
    HumanAgent,
    LanguageProficiency,
    Proficiency,
    SkillDomain,
    SkillLevel,
    Weekday,
)


class SkillDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SkillDomain
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"domain_{n}")
    name = factory.LazyAttribute(lambda o: o.code.replace("_", " ").title())


class HumanAgentFactory(factory.django.DjangoModelFactory):
    """An active agent with an availability row (available, load 0) and an empty performance snapshot."""

    class Meta:
        model = HumanAgent
        skip_postgeneration_save = True  # the related factories save their own rows

    code = factory.Sequence(lambda n: f"agent_{n + 1000:05d}")
    name = factory.Faker("name")
    email = factory.LazyAttribute(lambda o: f"{o.code}@example.com")
    employee_id = factory.LazyAttribute(lambda o: f"E-{o.code}")
    department = "Customer Support"
    hire_date = dt.date(2023, 1, 1)
    skill_level = SkillLevel.INTERMEDIATE
    max_concurrent_work = 5
    is_active = True

    availability = factory.RelatedFactory(
        "tests.factories.agents.AgentAvailabilityFactory", factory_related_name="agent"
    )
    performance = factory.RelatedFactory(
        "tests.factories.agents.AgentPerformanceFactory", factory_related_name="agent"
    )


class AgentAvailabilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentAvailability
        django_get_or_create = ("agent",)

    agent = factory.SubFactory(HumanAgentFactory, availability=None)
    status = AvailabilityStatus.AVAILABLE
    status_since = factory.LazyFunction(timezone.now)
    current_load = 0


class AgentPerformanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentPerformance
        django_get_or_create = ("agent",)

    agent = factory.SubFactory(HumanAgentFactory, performance=None)
    csat_score = factory.Faker("pydecimal", left_digits=1, right_digits=2, min_value=3, max_value=5)
    escalation_rate = factory.Faker("pydecimal", left_digits=0, right_digits=4, min_value=0, max_value=0.3)
    first_contact_resolution_rate = factory.Faker(
        "pydecimal", left_digits=0, right_digits=4, min_value=0.5, max_value=0.95
    )
    stress_score = 0


class AgentSkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentSkill

    agent = factory.SubFactory(HumanAgentFactory)
    domain = factory.SubFactory(SkillDomainFactory)
    proficiency = Proficiency.ADVANCED
    years_experience = 3
    last_updated = dt.date(2026, 1, 1)


class AgentLanguageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentLanguage

    agent = factory.SubFactory(HumanAgentFactory)
    language_code = "en"
    proficiency = LanguageProficiency.NATIVE


class AgentSpecializationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentSpecialization

    agent = factory.SubFactory(HumanAgentFactory)
    specialization = factory.Sequence(lambda n: f"specialization_{n}")
    confidence = 0.85
    case_count = 50
    success_rate = 0.92


class AgentScheduleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentSchedule

    agent = factory.SubFactory(HumanAgentFactory)
    day_of_week = Weekday.MONDAY
    start_time = dt.time(9, 0)
    end_time = dt.time(17, 0)
    timezone = "America/Los_Angeles"
    effective_from = dt.date(2026, 1, 1)


class AgentPeriodMetricsFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AgentPeriodMetrics

    agent = factory.SubFactory(HumanAgentFactory)
    period_date = factory.Sequence(lambda n: dt.date(2026, 1, 1) + dt.timedelta(days=n))
    conversion_rate_hot = 0.3
    conversion_rate_warm = 0.15
    conversion_rate_cold = 0.05
    avg_handling_seconds = 420
    csat_score = 4.5
    cross_sell_rate = 0.1
    upsell_rate = 0.08
