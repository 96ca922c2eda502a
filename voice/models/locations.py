"""Locations (branches) with their hours, the services and providers they offer, and appointments.

Opening hours are wall-clock times in the location's own IANA time zone: per weekday any number of
intervals (none means closed that day), and dated exceptions that replace a weekday's hours (a closed
holiday, or special hours). An interval ends on the day it starts (17:00-02:00 is entered as two).

A provider is never double-booked: on PostgreSQL an exclusion constraint over
tstzrange(start_at, end_at) for the provider's non-cancelled appointments (voice.models.constraints
explains why it is PostgreSQL-only), and the booking service checks the same overlap on every
database (voice.services.appointments).
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.fields import RangeBoundary, RangeOperators
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length, Upper
from django.db.models.lookups import Exact

from agents.models import Weekday, validate_timezone
from voice.models.common import (
    code_normalize,
    phone_normalize,
    region_normalize,
    text_normalize,
    validate_country,
    validate_phone,
)
from voice.models.constraints import PostgresExclusionConstraint, TsTzRange
from voice.models.tenancy import Organization

MAX_SERVICE_MINUTES = 8 * 60


class Service(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="services")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    duration_minutes = models.PositiveSmallIntegerField(
        default=30, validators=[MinValueValidator(5), MaxValueValidator(MAX_SERVICE_MINUTES)]
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="voice_service_name_unique"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gte=5, duration_minutes__lte=MAX_SERVICE_MINUTES),
                name="voice_service_duration_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name = text_normalize(self.name)
        super().save(*args, **kwargs)


class Provider(models.Model):
    """Someone customers book (a dentist, a mechanic); works at one or more locations (Location.providers)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="providers")
    name = models.CharField(max_length=120)
    title = models.CharField(max_length=60, blank=True, help_text="e.g. Dentist, Hygienist, Mechanic.")
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=20, blank=True, validators=[validate_phone])
    services = models.ManyToManyField(
        Service, related_name="providers", blank=True, help_text="The services this provider performs."
    )
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="voice_provider_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.name = text_normalize(self.name)
        self.phone = phone_normalize(self.phone)
        super().save(*args, **kwargs)


class Location(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="locations")
    name = models.CharField(max_length=120)
    street = models.CharField(max_length=200)
    city = models.CharField(max_length=100)
    region = models.CharField(max_length=100, blank=True, help_text="State, province or county.")
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(
        max_length=2, validators=[validate_country], help_text="ISO 3166-1 alpha-2 code, e.g. US."
    )
    time_zone = models.CharField(
        max_length=64, validators=[validate_timezone], help_text="IANA time zone, e.g. America/New_York."
    )
    phone = models.CharField(max_length=20, blank=True, validators=[validate_phone])
    services = models.ManyToManyField(Service, related_name="locations", blank=True)
    providers = models.ManyToManyField(Provider, related_name="locations", blank=True)
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization_id", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="voice_location_name_unique"),
            # What normalisation stores (see `save`): two upper-case letters.
            models.CheckConstraint(
                condition=Exact(Length("country"), 2) & Q(country=Upper("country")),
                name="voice_location_country_code",
            ),
        ]
        indexes = [models.Index(fields=["organization", "is_active"], name="voice_location_org_idx")]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.address_normalize()
        super().save(*args, **kwargs)

    def address_normalize(self) -> None:
        """Trim and collapse whitespace everywhere; upper-case the country, postal code and region codes."""
        self.name = text_normalize(self.name)
        self.street = text_normalize(self.street)
        self.city = text_normalize(self.city)
        self.region = region_normalize(self.region)
        self.postal_code = code_normalize(self.postal_code)
        self.country = code_normalize(self.country)
        self.time_zone = text_normalize(self.time_zone)
        self.phone = phone_normalize(self.phone)

    def clean_fields(self, exclude: Any = None) -> None:
        self.address_normalize()  # validators see what will be stored
        super().clean_fields(exclude=exclude)

    @property
    def address_lines(self) -> list[str]:
        locality = " ".join(part for part in (self.postal_code, self.city) if part)
        return [line for line in (self.street, locality, self.region, self.country) if line]


class LocationHours(models.Model):
    """One opening interval of a weekday; a weekday without rows is a closed day."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="hours")
    weekday = models.CharField(max_length=10, choices=Weekday.choices)
    opens_at = models.TimeField()
    closes_at = models.TimeField()

    class Meta:
        ordering = ["location_id", "weekday", "opens_at"]
        verbose_name = "opening hours"
        verbose_name_plural = "opening hours"
        constraints = [
            models.UniqueConstraint(
                fields=["location", "weekday", "opens_at"], name="voice_hours_interval_unique"
            ),
            models.CheckConstraint(condition=Q(opens_at__lt=F("closes_at")), name="voice_hours_opens_first"),
            models.CheckConstraint(condition=Q(weekday__in=Weekday.values), name="voice_hours_weekday_valid"),
        ]
        indexes = [models.Index(fields=["organization", "location"], name="voice_hours_org_idx")]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class LocationException(models.Model):
    """A dated exception replacing the weekday's hours: closed all day, or open in the given interval(s)."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="exceptions")
    date = models.DateField()
    closed = models.BooleanField(default=False, help_text="Closed all day (leave the times empty).")
    opens_at = models.TimeField(null=True, blank=True)
    closes_at = models.TimeField(null=True, blank=True)
    reason = models.CharField(max_length=120, blank=True, help_text="e.g. Christmas Day, stocktaking.")

    class Meta:
        ordering = ["location_id", "date", "opens_at"]
        verbose_name = "hours exception"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(closed=True, opens_at__isnull=True, closes_at__isnull=True)
                    | Q(
                        closed=False,
                        opens_at__isnull=False,
                        closes_at__isnull=False,
                        opens_at__lt=F("closes_at"),
                    )
                ),
                name="voice_exception_closed_or_interval",
                violation_error_message="A closed day has no times; special hours need opening before closing.",
            ),
            models.UniqueConstraint(
                fields=["location", "date"], condition=Q(closed=True), name="voice_exception_closed_once"
            ),
            models.UniqueConstraint(
                fields=["location", "date", "opens_at"], name="voice_exception_interval_unique"
            ),
        ]
        indexes = [models.Index(fields=["organization", "location", "date"], name="voice_exception_org_idx")]

    def __str__(self) -> str:
        if self.closed:
            return f"{self.date:%Y-%m-%d} closed"
        return f"{self.date:%Y-%m-%d} {self.opens_at:%H:%M}-{self.closes_at:%H:%M}"


class AppointmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CONFIRMED = "confirmed", "Confirmed"
    CANCELLED = "cancelled", "Cancelled"
    COMPLETED = "completed", "Completed"
    NO_SHOW = "no_show", "No show"


# Statuses an appointment can leave (the others are final).
OPEN_APPOINTMENT_STATUSES = (AppointmentStatus.SCHEDULED, AppointmentStatus.CONFIRMED)


class Appointment(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="appointments")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="appointments")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="appointments")
    provider = models.ForeignKey(Provider, on_delete=models.PROTECT, related_name="appointments")
    customer_name = models.CharField(max_length=120)
    customer_phone = models.CharField(max_length=20, validators=[validate_phone])
    start_at = models.DateTimeField()
    end_at = models.DateTimeField()
    status = models.CharField(
        max_length=10, choices=AppointmentStatus.choices, default=AppointmentStatus.SCHEDULED
    )
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["start_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_at__gt=F("start_at")), name="voice_appointment_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values), name="voice_appointment_status_valid"
            ),
            PostgresExclusionConstraint(
                name="voice_appointment_no_double_booking",
                expressions=[
                    ("provider", RangeOperators.EQUAL),
                    (TsTzRange("start_at", "end_at", RangeBoundary()), RangeOperators.OVERLAPS),
                ],
                condition=~Q(status=AppointmentStatus.CANCELLED),
                violation_error_code="provider_double_booked",
                violation_error_message="The provider already has an appointment at that time.",
            ),
        ]
        indexes = [
            # The seed's location-aware scheduling query: organization, location, time range.
            models.Index(fields=["organization", "location", "start_at"], name="voice_appt_org_loc_idx"),
            models.Index(fields=["organization", "provider", "start_at"], name="voice_appt_org_prov_idx"),
            # Retention works across tenants by age.
            models.Index(fields=["start_at"], name="voice_appt_start_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_name} {self.start_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.customer_name = text_normalize(self.customer_name)
        self.customer_phone = phone_normalize(self.customer_phone)
        super().save(*args, **kwargs)
