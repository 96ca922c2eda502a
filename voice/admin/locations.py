"""Locations with their hours and exceptions inline, services, providers, and appointments.

Saving goes through voice.services like the API: the location's fields through location_create /
location_update (normalised and validated there), its hours, exceptions, services and providers as
whole sets. Appointments are booked and changed through appointment_book / appointment_update, and
the form shows the same refusals the API gives (outside the opening hours, double booking).
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone

from config.errors import DomainError
from voice.admin.base import (
    LocationFilter,
    OrganizationFilter,
    ProviderFilter,
    VoiceAdminMixin,
    admin_caller,
    formset_rows,
)
from voice.models import Appointment, Location, LocationException, LocationHours, Provider, Service
from voice.selectors import appointment_list, location_list, provider_list, service_list
from voice.selectors.locations import WEEKDAY_ORDER
from voice.services import (
    appointment_book,
    appointment_check,
    appointment_update,
    exceptions_validate,
    hours_validate,
    location_create,
    location_delete,
    location_update,
    provider_create,
    provider_delete,
    provider_update,
    service_create,
    service_delete,
    service_update,
)
from voice.services.locations import LOCATION_FIELDS, PROVIDER_FIELDS, SERVICE_FIELDS

HOURS_FIELDS = ["weekday", "opens_at", "closes_at"]
EXCEPTION_FIELDS = ["date", "closed", "opens_at", "closes_at", "reason"]


class _SetFormSet(BaseInlineFormSet):
    """Checks the rows of the whole set together (the same rules the service applies)."""

    fields: list[str] = []
    validate: Any = None

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        rows = [
            row
            for row in formset_rows(self, self.fields)
            if all(row.get(f) is not None for f in self.required)
        ]
        try:
            type(self).validate(rows)
        except ValidationError as error:
            raise ValidationError(
                [message for messages in error.message_dict.values() for message in messages]
            ) from None


class HoursFormSet(_SetFormSet):
    fields = HOURS_FIELDS
    required = ["weekday", "opens_at", "closes_at"]
    validate = staticmethod(hours_validate)


class ExceptionsFormSet(_SetFormSet):
    fields = EXCEPTION_FIELDS
    required = ["date"]
    validate = staticmethod(exceptions_validate)


class LocationHoursInline(admin.TabularInline):
    model = LocationHours
    formset = HoursFormSet
    extra = 0
    fields = HOURS_FIELDS

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).order_by(WEEKDAY_ORDER, "opens_at")  # Monday first

    verbose_name_plural = "opening hours (several intervals a day; a weekday without any is closed)"


class LocationExceptionInline(admin.TabularInline):
    model = LocationException
    formset = ExceptionsFormSet
    extra = 0
    fields = EXCEPTION_FIELDS
    verbose_name_plural = "exceptions (holidays: closed; special hours: the times)"


@admin.register(Location)
class LocationAdmin(VoiceAdminMixin, admin.ModelAdmin):
    selector = staticmethod(location_list)
    list_display = ("name", "organization", "city", "country", "time_zone", "is_active")
    list_select_related = ("organization",)
    list_filter = (OrganizationFilter, "is_active", "country")
    search_fields = ("name", "city", "street", "postal_code")
    ordering = ("organization__name", "name")
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("organization", "name", "is_active", "phone")}),
        ("Address", {"fields": ("street", ("postal_code", "city"), ("region", "country"), "time_zone")}),
        ("Offered here", {"fields": ("services", "providers")}),
    )
    filter_horizontal = ("services", "providers")
    inlines = (LocationHoursInline, LocationExceptionInline)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("organization",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Location, form: Any, change: bool) -> None:
        caller = admin_caller(request)
        attributes = {name: getattr(obj, name) for name in LOCATION_FIELDS}
        if change:
            location_update(caller=caller, location=obj, **attributes)
            return
        created = location_create(caller=caller, organization=obj.organization, **attributes)
        obj.pk, obj._state.adding, obj._state.db = created.pk, False, created._state.db

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        sets: dict[str, Any] = {
            "services": list(form.cleaned_data.get("services") or []),
            "providers": list(form.cleaned_data.get("providers") or []),
        }
        for formset in formsets:
            if formset.model is LocationHours:
                sets["hours"] = formset_rows(formset, HOURS_FIELDS)
            elif formset.model is LocationException:
                sets["exceptions"] = formset_rows(formset, EXCEPTION_FIELDS)
        location_update(caller=admin_caller(request), location=form.instance, **sets)

    def delete_model(self, request: HttpRequest, obj: Location) -> None:
        location_delete(caller=admin_caller(request), location=obj)


@admin.register(Service)
class ServiceAdmin(VoiceAdminMixin, admin.ModelAdmin):
    selector = staticmethod(service_list)
    list_display = ("name", "organization", "duration_minutes", "is_active")
    list_select_related = ("organization",)
    list_filter = (OrganizationFilter, "is_active")
    search_fields = ("name", "description")
    ordering = ("organization__name", "name")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("organization",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Service, form: Any, change: bool) -> None:
        caller = admin_caller(request)
        attributes = {name: getattr(obj, name) for name in SERVICE_FIELDS}
        if change:
            service_update(caller=caller, service=obj, **attributes)
            return
        created = service_create(caller=caller, organization=obj.organization, **attributes)
        obj.pk, obj._state.adding, obj._state.db = created.pk, False, created._state.db

    def delete_model(self, request: HttpRequest, obj: Service) -> None:
        service_delete(caller=admin_caller(request), service=obj)


@admin.register(Provider)
class ProviderAdmin(VoiceAdminMixin, admin.ModelAdmin):
    selector = staticmethod(provider_list)
    list_display = ("name", "title", "organization", "is_active")
    list_select_related = ("organization",)
    list_filter = (OrganizationFilter, "is_active")
    search_fields = ("name", "title", "email")
    ordering = ("organization__name", "name")
    filter_horizontal = ("services",)
    fields = ("organization", "name", "title", "email", "phone", "services", "is_active")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("organization",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Provider, form: Any, change: bool) -> None:
        caller = admin_caller(request)
        attributes = {name: getattr(obj, name) for name in PROVIDER_FIELDS}
        if change:
            provider_update(caller=caller, provider=obj, **attributes)
            return
        created = provider_create(caller=caller, organization=obj.organization, **attributes)
        obj.pk, obj._state.adding, obj._state.db = created.pk, False, created._state.db

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        provider_update(
            caller=admin_caller(request),
            provider=form.instance,
            services=list(form.cleaned_data.get("services") or []),
        )

    def delete_model(self, request: HttpRequest, obj: Provider) -> None:
        provider_delete(caller=admin_caller(request), provider=obj)


class AppointmentForm(forms.ModelForm):
    """Shows the booking refusals of voice.services (hours, double booking) on the form itself.

    Times are entered and shown in the location's own time zone (what the branch's staff read on
    their clock), not the server's: the form reads the wall-clock date and time it is given as the
    location's, and shows a stored appointment's times converted to it.
    """

    class Meta:
        model = Appointment
        fields = [
            "location",
            "service",
            "provider",
            "customer_name",
            "customer_phone",
            "start_at",
            "end_at",
            "status",
            "notes",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "end_at" in self.fields:
            self.fields["end_at"].required = False
            self.fields["end_at"].help_text = "Empty: the start plus the service's duration."
        for name in ("start_at", "end_at"):
            if name in self.fields:
                self.fields[name].help_text = (
                    self.fields[name].help_text + " In the location's time zone."
                ).strip()
        if self.instance.pk is not None:
            zone = ZoneInfo(self.instance.location.time_zone)
            for name in ("start_at", "end_at"):
                self.initial[name] = getattr(self.instance, name).astimezone(zone).replace(tzinfo=None)

    def _as_location_time(self, data: dict[str, Any]) -> None:
        location = data.get("location") or (self.instance.location if self.instance.pk else None)
        if location is None:
            return
        zone = ZoneInfo(location.time_zone)
        current = timezone.get_current_timezone()
        for name in ("start_at", "end_at"):
            if data.get(name) is not None:
                wall_clock = data[name].astimezone(current).replace(tzinfo=None)
                data[name] = wall_clock.replace(tzinfo=zone)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._as_location_time(data)
        # On a change, location and service are read-only: the instance holds them.
        current = {
            name: data.get(name) if name in data else getattr(self.instance, name, None)
            for name in ("location", "service", "provider", "start_at", "end_at", "status")
            if name in data or self.instance.pk is not None
        }
        if any(current.get(name) is None for name in ("location", "service", "provider", "start_at")):
            return data
        start = current["start_at"]
        end = current.get("end_at") or start + dt.timedelta(minutes=current["service"].duration_minutes)
        moved = self.instance.pk is None or any(
            name in self.changed_data for name in ("start_at", "end_at", "provider")
        )
        if moved and current.get("status") != "cancelled":
            try:
                appointment_check(
                    location=current["location"],
                    service=current["service"],
                    provider=current["provider"],
                    start_at=start,
                    end_at=end,
                    exclude_pk=self.instance.pk,
                )
            except DomainError as error:
                self._validate_constraints = False  # the same refusal, from the model, would repeat it
                raise ValidationError(error.detail) from None
        if "end_at" in data or self.instance.pk is None:
            data["end_at"] = end
        return data


@admin.register(Appointment)
class AppointmentAdmin(VoiceAdminMixin, admin.ModelAdmin):
    """Appointments by location and day: filter by location, drill down by date."""

    form = AppointmentForm
    selector = staticmethod(appointment_list)
    list_display = (
        "local_start",
        "location",
        "provider",
        "service",
        "customer_name",
        "status",
    )
    list_select_related = ("location", "provider", "service")
    list_filter = (OrganizationFilter, LocationFilter, ProviderFilter, "status")
    date_hierarchy = "start_at"
    search_fields = ("customer_name", "customer_phone")
    ordering = ("start_at", "pk")
    list_per_page = 100

    @admin.display(description="starts (location time)", ordering="start_at")
    def local_start(self, appointment: Appointment) -> str:
        zone = ZoneInfo(appointment.location.time_zone)
        return appointment.start_at.astimezone(zone).strftime("%a %Y-%m-%d %H:%M")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and obj.status in ("cancelled", "completed", "no_show"):
            return list(AppointmentForm.Meta.fields)
        return ("location", "service") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Appointment, form: Any, change: bool) -> None:
        caller = admin_caller(request)
        data = form.cleaned_data
        if change:
            changes = {
                name: data[name]
                for name in (
                    "start_at",
                    "end_at",
                    "provider",
                    "status",
                    "customer_name",
                    "customer_phone",
                    "notes",
                )
                if name in form.changed_data or (name == "end_at" and "start_at" in form.changed_data)
            }
            appointment_update(caller=caller, appointment=obj, **changes)
            return
        created = appointment_book(
            caller=caller,
            location=data["location"],
            service=data["service"],
            provider=data["provider"],
            customer_name=data["customer_name"],
            customer_phone=data["customer_phone"],
            start_at=data["start_at"],
            end_at=data["end_at"],
            status=data.get("status") or "scheduled",
            notes=data.get("notes", ""),
        )
        obj.pk, obj._state.adding, obj._state.db = created.pk, False, created._state.db

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # business records: cancel instead (retention removes them after five years)
