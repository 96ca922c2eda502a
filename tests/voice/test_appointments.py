"""Booking: opening hours in the location's zone, the booking rules, double booking, transitions."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, connections

from tests.factories.voice import (
    AppointmentFactory,
    LocationExceptionFactory,
    LocationFactory,
    OrganizationFactory,
    ProviderFactory,
    ServiceFactory,
)
from tests.voice.conftest import next_weekday
from voice.access import caller_for_organization
from voice.errors import BookingRefused, DoubleBooked, InvalidTransition, OutsideOpeningHours, RoleForbidden
from voice.models import Appointment, MembershipRole
from voice.services import appointment_book, appointment_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def branch():
    org = OrganizationFactory()
    service = ServiceFactory(organization=org, name="Cleaning", duration_minutes=45)
    provider = ProviderFactory(organization=org, name="Mia Chen", services=[service])
    location = LocationFactory(
        organization=org,
        name="Downtown",
        time_zone="America/New_York",
        services=[service],
        providers=[provider],
    )
    return location, service, provider


def book(location, service, provider, start, **kwargs):
    return appointment_book(
        caller=caller_for_organization(location.organization),
        location=location,
        service=service,
        provider=provider,
        customer_name=kwargs.pop("customer_name", "Pat Doe"),
        customer_phone=kwargs.pop("customer_phone", "+1 (617) 555-0100"),
        start_at=start,
        **kwargs,
    )


def test_a_booking_inside_the_hours_gets_the_service_duration_and_a_normalised_phone(branch) -> None:
    location, service, provider = branch
    start = next_weekday(0, hour=9, zone="America/New_York")
    appointment = book(location, service, provider, start)
    assert appointment.end_at - appointment.start_at == dt.timedelta(minutes=45)
    assert appointment.customer_phone == "+16175550100"
    assert appointment.organization_id == location.organization_id


def test_a_booking_outside_the_hours_is_refused_with_the_reason_in_the_location_zone(branch) -> None:
    location, service, provider = branch
    start = next_weekday(0, hour=16, minute=30, zone="America/New_York")  # 16:30-17:15, closes at 17:00
    with pytest.raises(OutsideOpeningHours) as error:
        book(location, service, provider, start)
    assert error.value.detail == (
        f"16:30-17:15 on Monday {start.date().isoformat()} is outside Downtown's hours: 09:00-17:00 "
        "(America/New_York)."
    )
    assert error.value.fields == {"start_at": [error.value.detail]}
    assert not Appointment.objects.exists()


def test_nine_in_the_morning_in_new_york_is_not_nine_utc(branch) -> None:
    location, service, provider = branch
    nine_utc = next_weekday(0, hour=9, zone="UTC")  # 04:00 or 05:00 in New York: closed
    with pytest.raises(OutsideOpeningHours):
        book(location, service, provider, nine_utc)


def test_a_holiday_closes_the_location(branch) -> None:
    location, service, provider = branch
    start = next_weekday(2, hour=10, zone="America/New_York")
    LocationExceptionFactory(location=location, date=start.date(), reason="Staff training")
    with pytest.raises(OutsideOpeningHours, match=r"closed on Wednesday .* \(Staff training\)"):
        book(location, service, provider, start)


def test_an_overlapping_booking_of_the_provider_is_refused_on_every_database(branch) -> None:
    location, service, provider = branch
    start = next_weekday(1, hour=10, zone="America/New_York")
    book(location, service, provider, start)
    with pytest.raises(DoubleBooked, match="Mia Chen already has an appointment from .* 10:00 to 10:45"):
        book(location, service, provider, start + dt.timedelta(minutes=30))
    book(location, service, provider, start + dt.timedelta(minutes=45))  # right after: fine
    assert Appointment.objects.count() == 2


def test_a_provider_is_busy_at_every_location(branch) -> None:
    location, service, provider = branch
    elsewhere = LocationFactory(
        organization=location.organization, name="Cambridge", time_zone="America/New_York",
        services=[service], providers=[provider],
    )  # fmt: skip
    start = next_weekday(1, hour=11, zone="America/New_York")
    book(location, service, provider, start)
    with pytest.raises(DoubleBooked):
        book(elsewhere, service, provider, start)


def test_cancelling_frees_the_time(branch) -> None:
    location, service, provider = branch
    start = next_weekday(3, hour=9, zone="America/New_York")
    first = book(location, service, provider, start)
    appointment_update(
        caller=caller_for_organization(location.organization), appointment=first, status="cancelled"
    )
    book(location, service, provider, start)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ("service_not_offered", "service", "Downtown does not offer Whitening."),
        ("provider_elsewhere", "provider", "Sam Patel does not work at Downtown."),
        ("provider_cannot", "provider", "Sam Patel does not perform Cleaning."),
        ("past", "start_at", "The appointment would start in the past."),
        ("inactive_provider", "provider", "Mia Chen is not taking appointments (inactive)."),
    ],
)
def test_the_booking_rules_refuse_with_the_field_and_reason(branch, change, field, message) -> None:
    location, service, provider = branch
    org = location.organization
    start = next_weekday(0, hour=10, zone="America/New_York")
    if change == "service_not_offered":
        service = ServiceFactory(organization=org, name="Whitening")
        provider.services.add(service)
    elif change == "provider_elsewhere":
        provider = ProviderFactory(organization=org, name="Sam Patel", services=[service])
    elif change == "provider_cannot":
        provider = ProviderFactory(organization=org, name="Sam Patel")
        location.providers.add(provider)
    elif change == "past":
        start = start - dt.timedelta(days=30)
    elif change == "inactive_provider":
        provider.is_active = False
        provider.save()
    with pytest.raises(BookingRefused) as error:
        book(location, service, provider, start)
    assert error.value.fields == {field: [message]}


def test_another_organizations_provider_is_refused_as_missing(branch) -> None:
    location, service, _ = branch
    stranger = ProviderFactory(organization=OrganizationFactory(), services=[service])
    with pytest.raises(BookingRefused) as error:
        book(location, service, stranger, next_weekday(0, hour=10, zone="America/New_York"))
    assert error.value.fields == {"provider": [f"No provider with id {stranger.pk}."]}


def test_staff_may_book_but_a_non_member_may_not(branch, make_user, caller_of) -> None:
    location, service, provider = branch
    org = location.organization
    staff = make_user("front_desk", **{org.slug: MembershipRole.STAFF})
    outsider = make_user("outsider")
    start = next_weekday(0, hour=10, zone="America/New_York")
    kwargs = {
        "location": location,
        "service": service,
        "provider": provider,
        "customer_name": "A",
        "customer_phone": "+16175550100",
    }
    appointment_book(caller=caller_of(staff), start_at=start, **kwargs)
    with pytest.raises(RoleForbidden):
        appointment_book(caller=caller_of(outsider), start_at=start + dt.timedelta(hours=1), **kwargs)


# --- changes ------------------------------------------------------------------------------------------


def test_rescheduling_keeps_the_duration_and_is_checked_like_a_booking(branch) -> None:
    location, service, provider = branch
    caller = caller_for_organization(location.organization)
    start = next_weekday(0, hour=9, zone="America/New_York")
    appointment = book(location, service, provider, start)
    moved = appointment_update(caller=caller, appointment=appointment, start_at=start + dt.timedelta(hours=2))
    assert moved.end_at - moved.start_at == dt.timedelta(minutes=45)
    with pytest.raises(OutsideOpeningHours):
        appointment_update(caller=caller, appointment=moved, start_at=start + dt.timedelta(hours=12))
    moved.refresh_from_db()
    assert moved.start_at == start + dt.timedelta(hours=2)  # nothing half-written


def test_status_transitions_follow_the_table_and_final_appointments_do_not_change(branch) -> None:
    location, service, provider = branch
    caller = caller_for_organization(location.organization)
    appointment = book(location, service, provider, next_weekday(0, hour=9, zone="America/New_York"))
    appointment = appointment_update(caller=caller, appointment=appointment, status="confirmed")
    with pytest.raises(InvalidTransition, match="confirmed cannot become scheduled"):
        appointment_update(caller=caller, appointment=appointment, status="scheduled")
    appointment = appointment_update(caller=caller, appointment=appointment, status="completed")
    with pytest.raises(InvalidTransition, match="completed; it can no longer change"):
        appointment_update(caller=caller, appointment=appointment, notes="late note")


def test_a_cancelled_appointment_can_be_in_the_past_but_not_booked_in_it(branch) -> None:
    location, service, provider = branch
    past = AppointmentFactory(
        location=location, service=service, provider=provider,
        start_at=next_weekday(0, hour=9, zone="America/New_York") - dt.timedelta(days=14),
    )  # fmt: skip
    appointment_update(
        caller=caller_for_organization(location.organization), appointment=past, status="no_show"
    )
    past.refresh_from_db()
    assert past.status == "no_show"


# --- concurrency (PostgreSQL: row locks and the exclusion constraint) ------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("seed_rows_back_after_flush")
def test_two_concurrent_bookings_of_one_slot_give_one_appointment() -> None:
    org = OrganizationFactory()
    service = ServiceFactory(organization=org, duration_minutes=30)
    provider = ProviderFactory(organization=org, services=[service])
    location = LocationFactory(organization=org, services=[service], providers=[provider])
    start = next_weekday(0, hour=10)
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def attempt(number: int) -> None:
        try:
            barrier.wait()
            book(
                location,
                service,
                provider,
                start + dt.timedelta(minutes=number % 2 * 15),
                customer_name=f"C{number}",
            )
            outcomes.append("booked")
        except DoubleBooked:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["booked"] + ["refused"] * 5
    assert Appointment.objects.count() == 1
    assert connection.vendor == "postgresql"
