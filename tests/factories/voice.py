"""Factories of the voice models. They write rows directly (not through the services), so a test
can build any state, including ones the services would refuse."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory
from django.db.models import Max
from django.utils import timezone

from voice.models import (
    AgentConfig,
    Appointment,
    AppointmentStatus,
    Call,
    CallEvent,
    CallEventType,
    CallStatus,
    KnowledgeCategory,
    KnowledgeEntry,
    Location,
    LocationException,
    LocationHours,
    Membership,
    MembershipRole,
    Organization,
    Provider,
    Service,
    Speaker,
    Turn,
)

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory("tests.factories.voice.UserFactory")
    role = MembershipRole.MANAGER


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "auth.User"
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"voice-user-{n}")
    is_staff = True


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Service {n}")
    duration_minutes = 30


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Provider {n}")

    @factory.post_generation
    def services(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.services.set(extracted)


class LocationFactory(factory.django.DjangoModelFactory):
    """A location open Monday to Friday 09:00-17:00 (pass hours=[] for none)."""

    class Meta:
        model = Location
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Branch {n}")
    street = "1 Main Street"
    city = "Springfield"
    region = "IL"
    postal_code = "62701"
    country = "US"
    time_zone = "America/Chicago"

    @factory.post_generation
    def hours(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if not create:
            return
        rows = extracted if extracted is not None else [(day, dt.time(9), dt.time(17)) for day in WEEKDAYS]
        LocationHours.objects.bulk_create(
            [
                LocationHours(
                    organization=self.organization, location=self, weekday=day, opens_at=o, closes_at=c
                )
                for day, o, c in rows
            ]
        )

    @factory.post_generation
    def services(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.services.set(extracted)

    @factory.post_generation
    def providers(self, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create and extracted:
            self.providers.set(extracted)


class LocationHoursFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocationHours

    location = factory.SubFactory(LocationFactory, hours=[])
    organization = factory.LazyAttribute(lambda o: o.location.organization)
    weekday = "monday"
    opens_at = dt.time(9)
    closes_at = dt.time(17)


class LocationExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LocationException

    location = factory.SubFactory(LocationFactory)
    organization = factory.LazyAttribute(lambda o: o.location.organization)
    date = dt.date(2030, 12, 25)
    closed = True
    reason = "Christmas Day"


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    location = factory.SubFactory(LocationFactory)
    organization = factory.LazyAttribute(lambda o: o.location.organization)
    service = factory.SubFactory(ServiceFactory, organization=factory.SelfAttribute("..organization"))
    provider = factory.SubFactory(ProviderFactory, organization=factory.SelfAttribute("..organization"))
    customer_name = "Pat Customer"
    customer_phone = "+13125550100"
    start_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1))
    end_at = factory.LazyAttribute(lambda o: o.start_at + dt.timedelta(minutes=30))
    status = AppointmentStatus.SCHEDULED


class AgentConfigFactory(factory.django.DjangoModelFactory):
    """The next version of its organization; active unless is_active=False."""

    class Meta:
        model = AgentConfig

    organization = factory.SubFactory(OrganizationFactory)
    location = None
    policies = factory.LazyFunction(lambda: {"escalation_policy": {"max_failed_attempts": 3}})
    script_overrides = factory.LazyFunction(lambda: {"greeting": "Hello, thanks for calling."})
    is_active = True

    @classmethod
    def _create(cls, model_class: Any, *args: Any, **kwargs: Any) -> AgentConfig:
        if "version" not in kwargs:
            latest = model_class.objects.filter(organization=kwargs["organization"]).aggregate(
                v=Max("version")
            )["v"]
            kwargs["version"] = (latest or 0) + 1
        return super()._create(model_class, *args, **kwargs)


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    organization = factory.SubFactory(OrganizationFactory)
    call_id = factory.Sequence(lambda n: f"call-{n:06d}")
    caller_phone = "+13125550199"
    started_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(hours=1))
    ended_at = factory.LazyAttribute(lambda o: o.started_at + dt.timedelta(minutes=3))
    status = CallStatus.COMPLETED
    outcome = "appointment_booked"
    transcript = "Caller: hi\nAgent: hello"


class TurnFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Turn

    call = factory.SubFactory(CallFactory)
    organization = factory.LazyAttribute(lambda o: o.call.organization)
    turn_index = factory.Sequence(lambda n: n)
    speaker = Speaker.AGENT
    text = "How can I help?"
    asr_confidence = 0.9
    latency_asr_ms = 120
    latency_llm_ms = 400
    latency_tts_ms = 150
    latency_total_ms = 700
    occurred_at = factory.LazyAttribute(lambda o: o.call.started_at)


class CallEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CallEvent

    call = factory.SubFactory(CallFactory)
    organization = factory.LazyAttribute(lambda o: o.call.organization)
    event_type = CallEventType.DIGRESSION
    event_data = factory.LazyFunction(
        lambda: {
            "originalIntent": "book_appointment",
            "digressionTopic": "business_hours",
            "returnSuccessful": True,
        }
    )
    occurred_at = factory.LazyAttribute(lambda o: o.call.started_at)


class KnowledgeEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnowledgeEntry

    organization = factory.SubFactory(OrganizationFactory)
    category = KnowledgeCategory.FAQ
    title = factory.Sequence(lambda n: f"Fact {n}")
    content = "We are open Monday to Friday."
    tags = factory.LazyFunction(lambda: ["hours"])
    priority = 50
