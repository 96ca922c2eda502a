"""Booking, rescheduling and status changes of appointments.

The rules of a booking, in the order they are checked: the location, service and provider are one
organization's and active; the location offers the service and the provider works there and performs
it; the appointment starts in the future and ends after it starts; it lies inside one opening interval
of the location on its local date (exceptions first), in the location's own time zone; and the
provider has no other non-cancelled appointment overlapping it (at any location).

Locking: the provider's row is locked (FOR NO KEY UPDATE) before the overlap check, so two bookings of
one provider are serialised on PostgreSQL, and the exclusion constraint stays the last word (a raw
insert, or anything that bypasses this service, still cannot double-book). SQLite transactions take
the database's write lock when they begin (IMMEDIATE), so the check and the insert cannot interleave.
Lock order: provider, then the appointment.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from voice.access import VoiceCaller
from voice.engine.hours import booking_refusal
from voice.errors import BookingRefused, DoubleBooked, InvalidTransition, OutsideOpeningHours
from voice.models import (
    OPEN_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    Location,
    Provider,
    Service,
)
from voice.models.common import phone_normalize, validate_phone
from voice.selectors.locations import location_opening_hours

TRANSITIONS: dict[str, frozenset[str]] = {
    AppointmentStatus.SCHEDULED: frozenset(
        {
            AppointmentStatus.CONFIRMED,
            AppointmentStatus.CANCELLED,
            AppointmentStatus.COMPLETED,
            AppointmentStatus.NO_SHOW,
        }
    ),
    AppointmentStatus.CONFIRMED: frozenset(
        {AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW}
    ),
    AppointmentStatus.CANCELLED: frozenset(),
    AppointmentStatus.COMPLETED: frozenset(),
    AppointmentStatus.NO_SHOW: frozenset(),
}


def _refuse(field: str, message: str) -> BookingRefused:
    return BookingRefused(detail=message, fields={field: [message]})


def appointment_check(
    *,
    location: Location,
    service: Service,
    provider: Provider,
    start_at: dt.datetime,
    end_at: dt.datetime,
    exclude_pk: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Every booking rule but the role (see the module docstring); raises the first that fails."""
    organization_id = location.organization_id
    for name, row in (("service", service), ("provider", provider)):
        if row.organization_id != organization_id:
            raise _refuse(name, f"No {name} with id {row.pk}.")  # as if missing: another tenant's row
    if not location.is_active:
        raise _refuse("location", f"{location.name} is not taking appointments (inactive).")
    if not service.is_active:
        raise _refuse("service", f"{service.name} is no longer offered (inactive).")
    if not provider.is_active:
        raise _refuse("provider", f"{provider.name} is not taking appointments (inactive).")
    if not location.services.filter(pk=service.pk).exists():
        raise _refuse("service", f"{location.name} does not offer {service.name}.")
    if not provider.locations.filter(pk=location.pk).exists():
        raise _refuse("provider", f"{provider.name} does not work at {location.name}.")
    if not provider.services.filter(pk=service.pk).exists():
        raise _refuse("provider", f"{provider.name} does not perform {service.name}.")
    if end_at <= start_at:
        raise _refuse("end_at", "The appointment must end after it starts.")
    if start_at < (now or timezone.now()):
        raise _refuse("start_at", "The appointment would start in the past.")
    hours = location_opening_hours(location=location)
    reason = booking_refusal(hours, start_at, end_at)
    if reason:
        raise OutsideOpeningHours(detail=reason, fields={"start_at": [reason]})
    clash = (
        Appointment.objects.filter(provider_id=provider.pk, start_at__lt=end_at, end_at__gt=start_at)
        .exclude(status=AppointmentStatus.CANCELLED)
        .exclude(pk=exclude_pk)
        .order_by("start_at")
        .first()
    )
    if clash is not None:
        zone = hours.zone
        raise DoubleBooked(
            provider=provider.name,
            start=clash.start_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            end=clash.end_at.astimezone(zone).strftime("%H:%M"),
        )


def _save_guarded(appointment: Appointment, provider: Provider, **save: Any) -> None:
    """Save, turning the exclusion constraint's refusal (a race past the lock, or SQL bypassing the
    service) into the same error the check gives."""
    try:
        with transaction.atomic():
            appointment.save(**save)
    except IntegrityError as error:
        if "voice_appointment_no_double_booking" in str(error):
            raise DoubleBooked(
                detail=f"{provider.name} already has an appointment at that time.",
            ) from None
        raise


def _clean_phone(value: str) -> str:
    phone = phone_normalize(value)
    try:
        validate_phone(phone)
    except ValidationError as error:
        raise ValidationError({"customer_phone": error.messages}) from None
    return phone


@transaction.atomic
def appointment_book(
    *,
    caller: VoiceCaller,
    location: Location,
    service: Service,
    provider: Provider,
    customer_name: str,
    customer_phone: str,
    start_at: dt.datetime,
    end_at: dt.datetime | None = None,
    status: str = AppointmentStatus.SCHEDULED,
    notes: str = "",
    now: dt.datetime | None = None,
) -> Appointment:
    caller.require_write("appointment", location.organization)
    if status not in OPEN_APPOINTMENT_STATUSES:
        raise _refuse("status", "A new appointment is scheduled or confirmed.")
    if not customer_name.strip():
        raise ValidationError({"customer_name": ["This field may not be blank."]})
    end_at = end_at or start_at + dt.timedelta(minutes=service.duration_minutes)
    provider = Provider.objects.select_for_update(no_key=True).get(pk=provider.pk)
    appointment_check(
        location=location, service=service, provider=provider, start_at=start_at, end_at=end_at, now=now
    )
    appointment = Appointment(
        organization_id=location.organization_id,
        location=location,
        service=service,
        provider=provider,
        customer_name=customer_name.strip(),
        customer_phone=_clean_phone(customer_phone),
        start_at=start_at,
        end_at=end_at,
        status=status,
        notes=notes,
    )
    _save_guarded(appointment, provider)
    return appointment


@transaction.atomic
def appointment_update(
    *,
    caller: VoiceCaller,
    appointment: Appointment,
    now: dt.datetime | None = None,
    **changes: Any,
) -> Appointment:
    """Reschedule (start_at, end_at, provider), change status (TRANSITIONS), or edit the customer's
    details and notes. A new time or provider is checked like a new booking; a final appointment
    (cancelled, completed, no show) can no longer change."""
    caller.require_write("appointment", appointment.organization)
    allowed = {"start_at", "end_at", "provider", "status", "customer_name", "customer_phone", "notes"}
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    provider = changes.get("provider", appointment.provider)
    provider = Provider.objects.select_for_update(no_key=True).get(pk=provider.pk)
    current = (
        Appointment.objects.select_for_update(no_key=True)
        .select_related("location", "service", "provider")
        .get(pk=appointment.pk)
    )
    changed = {name: value for name, value in changes.items() if getattr(current, name) != value}
    if not changed:
        return current
    if current.status not in OPEN_APPOINTMENT_STATUSES:
        raise InvalidTransition(
            detail=f"This appointment is {current.get_status_display().lower()}; it can no longer change."
        )
    target = changed.get("status", current.status)
    if target != current.status and target not in TRANSITIONS[current.status]:
        raise InvalidTransition(
            current=AppointmentStatus(current.status).label.lower(),
            target=AppointmentStatus(target).label.lower(),
        )
    if "customer_phone" in changed:
        changed["customer_phone"] = _clean_phone(changed["customer_phone"])
    if "customer_name" in changed and not changed["customer_name"].strip():
        raise ValidationError({"customer_name": ["This field may not be blank."]})
    moved = {"start_at", "end_at", "provider"} & set(changed)
    if moved and "end_at" not in changed and "start_at" in changed:
        # Moving the start keeps the duration.
        changed["end_at"] = changed["start_at"] + (current.end_at - current.start_at)
    for name, value in changed.items():
        setattr(current, name, value)
    if moved and target in OPEN_APPOINTMENT_STATUSES:
        appointment_check(
            location=current.location,
            service=current.service,
            provider=provider,
            start_at=current.start_at,
            end_at=current.end_at,
            exclude_pk=current.pk,
            now=now,
        )
    _save_guarded(current, provider, update_fields=[*changed, "updated_at"])
    return current
