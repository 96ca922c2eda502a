"""Writes of locations (with their hours, exceptions, services and providers), services and providers.

Nested sets follow the API's rule (as for agents): a set that is given replaces the stored one, a set
that is None is left alone. Hours and exceptions have no identity of their own, so replacing is
deleting and inserting, in the same transaction as the location's own changes: all or nothing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from config.errors import ConflictError
from voice.access import VoiceCaller
from voice.engine.hours import intervals_overlap
from voice.models import Location, LocationException, LocationHours, Organization, Provider, Service
from voice.services.common import full_clean, same_organization

Row = dict[str, Any]

LOCATION_FIELDS = (
    "name",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "time_zone",
    "phone",
    "is_active",
)
SERVICE_FIELDS = ("name", "description", "duration_minutes", "is_active")
PROVIDER_FIELDS = ("name", "title", "email", "phone", "is_active")


class RowInUse(ConflictError):
    code = "in_use"
    default_detail = "{kind} {name} is still referred to by {what}; deactivate it instead."


def _clock(value: dt.time) -> str:
    return value.strftime("%H:%M")


def hours_validate(rows: Sequence[Row]) -> None:
    """No two intervals of a weekday overlap; each opens before it closes (the CHECK says so too)."""
    by_day: dict[str, list[tuple[dt.time, dt.time]]] = defaultdict(list)
    problems = []
    for row in rows:
        if row["opens_at"] >= row["closes_at"]:
            problems.append(
                f"{row['weekday']}: {_clock(row['opens_at'])}-{_clock(row['closes_at'])} must open before it "
                "closes (split an interval past midnight into two days)."
            )
        by_day[row["weekday"]].append((row["opens_at"], row["closes_at"]))
    for day, intervals in sorted(by_day.items()):
        overlap = intervals_overlap(intervals)
        if overlap:
            (a_open, a_close), (b_open, b_close) = overlap
            problems.append(
                f"{day}: {_clock(a_open)}-{_clock(a_close)} and {_clock(b_open)}-{_clock(b_close)} overlap."
            )
    if problems:
        raise ValidationError({"hours": problems})


def exceptions_validate(rows: Sequence[Row]) -> None:
    """A date is either closed (one row, no times) or has non-overlapping special intervals."""
    by_date: dict[dt.date, list[Row]] = defaultdict(list)
    problems = []
    for row in rows:
        by_date[row["date"]].append(row)
        opens, closes = row.get("opens_at"), row.get("closes_at")
        if row.get("closed"):
            if opens is not None or closes is not None:
                problems.append(f"{row['date']}: a closed day has no opening times.")
        elif opens is None or closes is None:
            problems.append(f"{row['date']}: special hours need opens_at and closes_at (or closed: true).")
        elif opens >= closes:
            problems.append(f"{row['date']}: {_clock(opens)}-{_clock(closes)} must open before it closes.")
    for day, day_rows in sorted(by_date.items()):
        if any(row.get("closed") for row in day_rows) and len(day_rows) > 1:
            problems.append(f"{day}: closed all day and also given opening times.")
        intervals = [
            (row["opens_at"], row["closes_at"])
            for row in day_rows
            if not row.get("closed") and row.get("opens_at") and row.get("closes_at")
        ]
        overlap = intervals_overlap(intervals)
        if overlap:
            problems.append(
                f"{day}: special hours {_clock(overlap[0][0])}-{_clock(overlap[0][1])} and "
                f"{_clock(overlap[1][0])}-{_clock(overlap[1][1])} overlap."
            )
    if problems:
        raise ValidationError({"exceptions": problems})


def _location_sets_replace(
    *,
    location: Location,
    hours: Sequence[Row] | None,
    exceptions: Sequence[Row] | None,
    services: Sequence[Service] | None,
    providers: Sequence[Provider] | None,
) -> None:
    organization = location.organization
    same_organization(organization, services=list(services or []), providers=list(providers or []))
    if hours is not None:
        hours_validate(hours)
        location.hours.all().delete()
        LocationHours.objects.bulk_create(
            [
                LocationHours(
                    organization=organization,
                    location=location,
                    weekday=row["weekday"],
                    opens_at=row["opens_at"],
                    closes_at=row["closes_at"],
                )
                for row in hours
            ]
        )
    if exceptions is not None:
        exceptions_validate(exceptions)
        location.exceptions.all().delete()
        LocationException.objects.bulk_create(
            [
                LocationException(
                    organization=organization,
                    location=location,
                    date=row["date"],
                    closed=bool(row.get("closed")),
                    opens_at=None if row.get("closed") else row.get("opens_at"),
                    closes_at=None if row.get("closed") else row.get("closes_at"),
                    reason=row.get("reason", "") or "",
                )
                for row in exceptions
            ]
        )
    if services is not None:
        location.services.set(services)
    if providers is not None:
        location.providers.set(providers)


def _attributes(allowed: Sequence[str], attributes: dict[str, Any]) -> dict[str, Any]:
    unknown = set(attributes) - set(allowed)
    if unknown:
        raise TypeError(f"not editable here: {', '.join(sorted(unknown))}")
    return attributes


@transaction.atomic
def location_create(
    *,
    caller: VoiceCaller,
    organization: Organization | None = None,
    hours: Sequence[Row] | None = None,
    exceptions: Sequence[Row] | None = None,
    services: Sequence[Service] | None = None,
    providers: Sequence[Provider] | None = None,
    **attributes: Any,
) -> Location:
    organization = organization or caller.organization_for_create("location")
    caller.require_write("location", organization)
    location = Location(organization=organization, **_attributes(LOCATION_FIELDS, attributes))
    full_clean(location)
    location.save()
    _location_sets_replace(
        location=location,
        hours=hours or [],
        exceptions=exceptions or [],
        services=services,
        providers=providers,
    )
    return location


@transaction.atomic
def location_update(
    *,
    caller: VoiceCaller,
    location: Location,
    hours: Sequence[Row] | None = None,
    exceptions: Sequence[Row] | None = None,
    services: Sequence[Service] | None = None,
    providers: Sequence[Provider] | None = None,
    **attributes: Any,
) -> Location:
    caller.require_write("location", location.organization)
    location = (
        Location.objects.select_for_update(no_key=True).select_related("organization").get(pk=location.pk)
    )
    changed = [
        name
        for name, value in _attributes(LOCATION_FIELDS, attributes).items()
        if getattr(location, name) != value
    ]
    for name in changed:
        setattr(location, name, attributes[name])
    if changed:
        full_clean(location)
        location.save()
    _location_sets_replace(
        location=location, hours=hours, exceptions=exceptions, services=services, providers=providers
    )
    return location


def _delete(instance: Any, kind: str, name: str) -> None:
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError as error:
        what = sorted({row._meta.verbose_name_plural for row in error.protected_objects})
        raise RowInUse(kind=kind, name=name, what=", ".join(str(item) for item in what)) from None


def location_delete(*, caller: VoiceCaller, location: Location) -> None:
    caller.require_write("location", location.organization)
    _delete(location, "Location", location.name)


@transaction.atomic
def service_create(
    *, caller: VoiceCaller, organization: Organization | None = None, **attributes: Any
) -> Service:
    organization = organization or caller.organization_for_create("service")
    caller.require_write("service", organization)
    service = Service(organization=organization, **_attributes(SERVICE_FIELDS, attributes))
    full_clean(service)
    service.save()
    return service


@transaction.atomic
def service_update(*, caller: VoiceCaller, service: Service, **attributes: Any) -> Service:
    caller.require_write("service", service.organization)
    for name, value in _attributes(SERVICE_FIELDS, attributes).items():
        setattr(service, name, value)
    full_clean(service)
    service.save()
    return service


def service_delete(*, caller: VoiceCaller, service: Service) -> None:
    caller.require_write("service", service.organization)
    _delete(service, "Service", service.name)


@transaction.atomic
def provider_create(
    *,
    caller: VoiceCaller,
    organization: Organization | None = None,
    services: Sequence[Service] | None = None,
    locations: Sequence[Location] | None = None,
    **attributes: Any,
) -> Provider:
    organization = organization or caller.organization_for_create("provider")
    caller.require_write("provider", organization)
    same_organization(organization, services=list(services or []), locations=list(locations or []))
    provider = Provider(organization=organization, **_attributes(PROVIDER_FIELDS, attributes))
    full_clean(provider)
    provider.save()
    provider.services.set(services or [])
    provider.locations.set(locations or [])
    return provider


@transaction.atomic
def provider_update(
    *,
    caller: VoiceCaller,
    provider: Provider,
    services: Sequence[Service] | None = None,
    locations: Sequence[Location] | None = None,
    **attributes: Any,
) -> Provider:
    caller.require_write("provider", provider.organization)
    same_organization(provider.organization, services=list(services or []), locations=list(locations or []))
    for name, value in _attributes(PROVIDER_FIELDS, attributes).items():
        setattr(provider, name, value)
    full_clean(provider)
    provider.save()
    if services is not None:
        provider.services.set(services)
    if locations is not None:
        provider.locations.set(locations)
    return provider


def provider_delete(*, caller: VoiceCaller, provider: Provider) -> None:
    caller.require_write("provider", provider.organization)
    _delete(provider, "Provider", provider.name)
