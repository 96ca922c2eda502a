"""The database guards the voice invariants: every door (the ORM bypassing the services here) is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tests.factories.voice import (
    AgentConfigFactory,
    AppointmentFactory,
    CallFactory,
    KnowledgeEntryFactory,
    LocationExceptionFactory,
    LocationFactory,
    LocationHoursFactory,
    OrganizationFactory,
    ProviderFactory,
    TurnFactory,
)
from voice.models import AgentConfig, Appointment, Location

pytestmark = pytest.mark.django_db


def refused(factory, **kwargs) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        factory(**kwargs)


# --- one active configuration --------------------------------------------------------------------------


def test_an_organization_has_at_most_one_active_org_wide_configuration() -> None:
    org = OrganizationFactory()
    AgentConfigFactory(organization=org)
    AgentConfigFactory(organization=org, is_active=False)  # inactive versions are history
    refused(AgentConfigFactory, organization=org)


def test_a_location_has_at_most_one_active_override_besides_the_org_wide_one() -> None:
    org = OrganizationFactory()
    location, other = LocationFactory(organization=org), LocationFactory(organization=org)
    AgentConfigFactory(organization=org)
    AgentConfigFactory(organization=org, location=location)
    AgentConfigFactory(organization=org, location=other)  # another location: its own scope
    refused(AgentConfigFactory, organization=org, location=location)


def test_a_version_number_names_one_configuration_of_an_organization() -> None:
    org = OrganizationFactory()
    AgentConfigFactory(organization=org, version=1)
    AgentConfigFactory(organization=OrganizationFactory(), version=1)  # per organization
    refused(AgentConfigFactory, organization=org, version=1, is_active=False)


def test_configuration_versions_start_at_one_and_policies_are_objects() -> None:
    org = OrganizationFactory()
    refused(AgentConfigFactory, organization=org, version=0)
    refused(AgentConfigFactory, organization=org, policies=["not", "an", "object"])


# --- no double booking -----------------------------------------------------------------------------------


def _booked():
    start = timezone.now() + dt.timedelta(days=2)
    appointment = AppointmentFactory(start_at=start, end_at=start + dt.timedelta(minutes=30))
    return appointment, start


@pytest.mark.postgres
def test_postgres_refuses_an_overlapping_appointment_of_the_same_provider() -> None:
    first, start = _booked()
    kwargs = {"location": first.location, "service": first.service, "provider": first.provider}
    with pytest.raises(IntegrityError, match="voice_appointment_no_double_booking"), transaction.atomic():
        AppointmentFactory(
            start_at=start + dt.timedelta(minutes=15), end_at=start + dt.timedelta(minutes=45), **kwargs
        )
    # touching is not overlapping ([start, end) ranges), and a cancelled one frees the time
    AppointmentFactory(
        start_at=start + dt.timedelta(minutes=30), end_at=start + dt.timedelta(minutes=60), **kwargs
    )
    AppointmentFactory(start_at=start, end_at=start + dt.timedelta(minutes=30), status="cancelled", **kwargs)
    # another provider at the same time is fine
    other = ProviderFactory(organization=first.organization)
    AppointmentFactory(
        start_at=start,
        end_at=start + dt.timedelta(minutes=30),
        location=first.location,
        service=first.service,
        provider=other,
    )
    assert Appointment.objects.count() == 4


@pytest.mark.postgres
def test_postgres_refuses_uncancelling_into_an_overlap() -> None:
    first, start = _booked()
    second = AppointmentFactory(
        location=first.location, service=first.service, provider=first.provider,
        start_at=start, end_at=start + dt.timedelta(minutes=30), status="cancelled",
    )  # fmt: skip
    with pytest.raises(IntegrityError), transaction.atomic():
        Appointment.objects.filter(pk=second.pk).update(status="scheduled")


@pytest.mark.postgres
def test_the_exclusion_constraint_exists_in_the_postgres_schema() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'voice_appointment_no_double_booking'"
        )
        (definition,) = cursor.fetchone()
    assert definition.startswith("EXCLUDE USING gist (provider_id WITH =, tstzrange(start_at, end_at")
    assert "cancelled" in definition


def test_on_sqlite_the_constraint_creates_nothing_and_the_model_validation_leaves_it_to_the_service() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("SQLite behaviour")
    first, start = _booked()
    twin = Appointment(
        organization=first.organization, location=first.location, service=first.service, provider=first.provider,
        customer_name="x", customer_phone="+13125550100", start_at=start, end_at=start + dt.timedelta(minutes=30),
    )  # fmt: skip
    twin.validate_constraints()  # no error: SQLite has no such constraint; voice.services guards
    twin.save()  # and nothing in the database refuses it (verify_voice_integrity reports it)


# --- CHECK constraints -------------------------------------------------------------------------------------


def test_opening_intervals_open_before_they_close() -> None:
    refused(LocationHoursFactory, opens_at=dt.time(17), closes_at=dt.time(9))


def test_an_exception_is_either_closed_without_times_or_an_interval() -> None:
    location = LocationFactory()
    refused(
        LocationExceptionFactory, location=location, closed=True, opens_at=dt.time(9), closes_at=dt.time(12)
    )
    refused(LocationExceptionFactory, location=location, closed=False, opens_at=None, closes_at=None)
    LocationExceptionFactory(
        location=location,
        date=dt.date(2030, 12, 24),
        closed=False,
        opens_at=dt.time(9),
        closes_at=dt.time(12),
    )
    LocationExceptionFactory(location=location, date=dt.date(2030, 12, 25))
    refused(LocationExceptionFactory, location=location, date=dt.date(2030, 12, 25))  # closed once a day


def test_an_appointment_ends_after_it_starts() -> None:
    start = timezone.now() + dt.timedelta(days=1)
    refused(AppointmentFactory, start_at=start, end_at=start)


def test_a_call_in_progress_has_no_end_and_a_finished_call_has_one() -> None:
    refused(CallFactory, status="in_progress")  # the factory gives an end
    refused(CallFactory, status="completed", ended_at=None)
    CallFactory(status="in_progress", ended_at=None)


def test_turn_metrics_stay_in_range_and_an_unknown_confidence_is_null() -> None:
    call = CallFactory()
    refused(TurnFactory, call=call, turn_index=0, asr_confidence=1.2)
    refused(TurnFactory, call=call, turn_index=0, sentiment=-1.5)
    turn = TurnFactory(call=call, turn_index=0, asr_confidence=None)
    turn.refresh_from_db()
    assert turn.asr_confidence is None
    refused(TurnFactory, call=call, turn_index=0)  # one turn per index


def test_knowledge_tags_are_an_array_and_priority_is_in_range() -> None:
    refused(KnowledgeEntryFactory, tags={"not": "a list"})
    refused(KnowledgeEntryFactory, priority=101)


def test_a_stored_country_is_two_upper_case_letters() -> None:
    location = LocationFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Location.objects.filter(pk=location.pk).update(country="u")
    with pytest.raises(IntegrityError), transaction.atomic():
        Location.objects.filter(pk=location.pk).update(country="us")


# --- normalisation and validation ---------------------------------------------------------------------


def test_a_location_address_is_normalised_on_save() -> None:
    location = LocationFactory(
        name="  Down   town ", street=" 1  Main  St ", city=" Boston ", region=" ma ", postal_code=" sw1a 1aa ",
        country=" gb ", phone="+44 (20) 7946-0000",
    )  # fmt: skip
    location.refresh_from_db()
    assert (location.name, location.street, location.city, location.region) == (
        "Down town",
        "1 Main St",
        "Boston",
        "MA",
    )
    assert (location.postal_code, location.country, location.phone) == ("SW1A 1AA", "GB", "+442079460000")


def test_region_names_keep_their_spelling_and_codes_are_upper_cased() -> None:
    location = LocationFactory(region="Île-de-France")
    assert location.region == "Île-de-France"


def test_a_location_validates_its_country_and_time_zone() -> None:
    location = Location(
        organization=OrganizationFactory(), name="X", street="1 St", city="C", country="ZZ", time_zone="PST"
    )
    with pytest.raises(ValidationError) as error:
        location.full_clean()
    assert set(error.value.message_dict) == {"country", "time_zone"}


def test_configuration_policies_are_validated_against_the_schema_with_paths() -> None:
    config = AgentConfig(
        organization=OrganizationFactory(),
        version=1,
        policies={"escalation_policy": {"max_failed_attempts": 0, "transfer_numbr": "+1"}, "behaviour": {}},
        script_overrides={"greeting": ""},
    )
    with pytest.raises(ValidationError) as error:
        config.full_clean()
    messages = error.value.message_dict
    assert messages["policies"] == [
        "unknown key(s) behaviour; known: business_rules, escalation_policy, behavior",
        "escalation_policy: unknown key(s) transfer_numbr; known: escalate_on_request, max_failed_attempts, "
        "sentiment_threshold, transfer_number, after_hours_action, keywords",
        "escalation_policy.max_failed_attempts: 0 is less than the minimum of 1",
    ]
    assert messages["script_overrides"] == ["greeting: '' should be non-empty"]
