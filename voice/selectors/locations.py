"""Reads of locations, services, providers and appointments, scoped to the caller; and free slots.

A page of locations is one query plus one per nested set (hours, exceptions, service ids, provider
ids), whatever its size.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

from django.db.models import Case, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from agents.models import Weekday
from voice.access import VoiceCaller
from voice.engine.availability import ProviderBusy, Slot, free_slots
from voice.engine.hours import DayException, OpeningHours
from voice.errors import BookingRefused
from voice.models import (
    Appointment,
    AppointmentStatus,
    Location,
    LocationException,
    LocationHours,
    Provider,
    Service,
)
from voice.selectors.common import scoped_get

MAX_SLOT_DAYS = 31


# Monday first (the weekday column holds names, which sort alphabetically).
WEEKDAY_ORDER = Case(
    *[When(weekday=day, then=Value(rank)) for rank, day in enumerate(Weekday.values)],
    output_field=IntegerField(),
)


def location_list(*, caller: VoiceCaller) -> QuerySet[Location]:
    return caller.scope(Location.objects.select_related("organization")).prefetch_related(
        Prefetch("hours", queryset=LocationHours.objects.order_by(WEEKDAY_ORDER, "opens_at")),
        Prefetch("exceptions", queryset=LocationException.objects.order_by("date", "opens_at")),
        Prefetch("services", queryset=Service.objects.only("pk").order_by("pk")),
        Prefetch("providers", queryset=Provider.objects.only("pk").order_by("pk")),
    )


def location_get(*, caller: VoiceCaller, pk: Any) -> Location:
    return scoped_get(location_list(caller=caller), caller=caller, pk=pk, kind="location")


def service_list(*, caller: VoiceCaller) -> QuerySet[Service]:
    return caller.scope(Service.objects.select_related("organization"))


def service_get(*, caller: VoiceCaller, pk: Any) -> Service:
    return scoped_get(service_list(caller=caller), caller=caller, pk=pk, kind="service")


def provider_list(*, caller: VoiceCaller) -> QuerySet[Provider]:
    return caller.scope(Provider.objects.select_related("organization")).prefetch_related(
        Prefetch("services", queryset=Service.objects.only("pk").order_by("pk")),
        Prefetch("locations", queryset=Location.objects.only("pk").order_by("pk")),
    )


def provider_get(*, caller: VoiceCaller, pk: Any) -> Provider:
    return scoped_get(provider_list(caller=caller), caller=caller, pk=pk, kind="provider")


def appointment_list(*, caller: VoiceCaller) -> QuerySet[Appointment]:
    return caller.scope(Appointment.objects.all()).select_related(
        "organization", "location", "service", "provider"
    )


def appointment_get(*, caller: VoiceCaller, pk: Any) -> Appointment:
    return scoped_get(appointment_list(caller=caller), caller=caller, pk=pk, kind="appointment")


def location_opening_hours(*, location: Location) -> OpeningHours:
    """The location's hours as the engine reads them (from prefetched rows when there are any)."""
    weekly: dict[str, list[tuple[dt.time, dt.time]]] = defaultdict(list)
    for row in location.hours.all():
        weekly[row.weekday].append((row.opens_at, row.closes_at))
    exceptions: dict[dt.date, DayException] = {}
    grouped: dict[dt.date, list[LocationException]] = defaultdict(list)
    for row in location.exceptions.all():
        grouped[row.date].append(row)
    for day, rows in grouped.items():
        closed = any(row.closed for row in rows)
        exceptions[day] = DayException(
            closed=closed,
            intervals=() if closed else tuple((row.opens_at, row.closes_at) for row in rows),
            reason="; ".join(sorted({row.reason for row in rows if row.reason})),
        )
    return OpeningHours(
        location_name=location.name,
        time_zone=location.time_zone,
        weekly={day: tuple(intervals) for day, intervals in weekly.items()},
        exceptions=exceptions,
    )


def location_free_slots(
    *,
    caller: VoiceCaller,
    location: Location,
    service: Service,
    date_from: dt.date,
    date_to: dt.date,
    provider: Provider | None = None,
    step_minutes: int = 15,
    now: dt.datetime | None = None,
    lead_minutes: int = 0,
) -> list[Slot]:
    """Free slots for `service` at `location` on the local dates date_from..date_to (inclusive).

    Providers: the location's active providers who perform the service (or just `provider`). Busy
    time: each provider's non-cancelled appointments at any location. `lead_minutes` (the active
    configuration's booking lead time) moves the earliest slot past now. Three queries.
    """
    if date_to < date_from:
        raise BookingRefused(fields={"date_to": ["Must not be before date_from."]}, detail="Invalid range.")
    if (date_to - date_from).days + 1 > MAX_SLOT_DAYS:
        raise BookingRefused(
            fields={"date_to": [f"At most {MAX_SLOT_DAYS} days from date_from."]}, detail="Range too long."
        )
    if not service.is_active or service.pk not in {row.pk for row in location.services.all()}:
        raise BookingRefused(
            detail=f"{location.name} does not offer {service.name}.",
            fields={"service": [f"{location.name} does not offer {service.name}."]},
        )
    providers = caller.scope(
        Provider.objects.filter(locations=location, services=service, is_active=True)
    ).order_by("pk")
    if provider is not None:
        providers = providers.filter(pk=provider.pk)
    provider_ids = list(providers.values_list("pk", flat=True))
    hours = location_opening_hours(location=location)
    zone = hours.zone
    range_start = dt.datetime.combine(date_from, dt.time.min, tzinfo=zone)
    range_end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    busy: dict[int, list[tuple[dt.datetime, dt.datetime]]] = {pk: [] for pk in provider_ids}
    if provider_ids:
        rows = (
            caller.scope(Appointment.objects.filter(provider_id__in=provider_ids))
            .filter(Q(start_at__lt=range_end) & Q(end_at__gt=range_start))
            .exclude(status=AppointmentStatus.CANCELLED)
            .values_list("provider_id", "start_at", "end_at")
        )
        for provider_id, start, end in rows:
            busy[provider_id].append((start, end))
    now = now or timezone.now()
    days = [date_from + dt.timedelta(days=offset) for offset in range((date_to - date_from).days + 1)]
    return free_slots(
        hours=hours,
        days=days,
        duration=dt.timedelta(minutes=service.duration_minutes),
        step=dt.timedelta(minutes=step_minutes),
        providers=[ProviderBusy(provider_id=pk, busy=busy[pk]) for pk in provider_ids],
        not_before=now + dt.timedelta(minutes=lead_minutes),
    )
