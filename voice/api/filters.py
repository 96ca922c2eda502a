"""Query-string filters of the voice lists (django-filter; drf-spectacular documents them).

References to rows (a location, a provider) accept only rows in the caller's scope: another
organization's id is "Select a valid choice", like an id that does not exist. An invalid value is a
400 naming the parameter.
"""

from __future__ import annotations

from typing import Any

import django_filters

from config.filters import IntegerFilter, StrictBooleanFilter, UtcIsoDateTimeFilter
from voice.models import (
    AgentConfig,
    Appointment,
    AppointmentStatus,
    Call,
    CallStatus,
    KnowledgeCategory,
    KnowledgeEntry,
    Location,
    Provider,
    Service,
)


def _scoped(model: Any) -> Any:
    def queryset(request: Any) -> Any:
        caller = getattr(request, "voice_caller", None)
        return caller.scope(model.objects.all()) if caller is not None else model.objects.none()

    return queryset


class ActiveFilterSet(django_filters.FilterSet):
    active = StrictBooleanFilter(field_name="is_active", label="Active (true) or not (false).")


class LocationFilter(ActiveFilterSet):
    class Meta:
        model = Location
        fields = ["active"]


class ServiceFilter(ActiveFilterSet):
    class Meta:
        model = Service
        fields = ["active"]


class ProviderFilter(ActiveFilterSet):
    location = django_filters.ModelChoiceFilter(
        field_name="locations", queryset=_scoped(Location), label="Providers working at this location (id)."
    )
    service = django_filters.ModelChoiceFilter(
        field_name="services", queryset=_scoped(Service), label="Providers performing this service (id)."
    )

    class Meta:
        model = Provider
        fields = ["active", "location", "service"]


class AppointmentFilter(django_filters.FilterSet):
    location = django_filters.ModelChoiceFilter(queryset=_scoped(Location), label="Location id.")
    provider = django_filters.ModelChoiceFilter(queryset=_scoped(Provider), label="Provider id.")
    service = django_filters.ModelChoiceFilter(queryset=_scoped(Service), label="Service id.")
    status = django_filters.ChoiceFilter(choices=AppointmentStatus.choices)
    starts_after = UtcIsoDateTimeFilter(
        field_name="start_at", lookup_expr="gte", label="Starting at or after (ISO 8601)."
    )
    starts_before = UtcIsoDateTimeFilter(
        field_name="start_at", lookup_expr="lt", label="Starting before (ISO 8601)."
    )

    class Meta:
        model = Appointment
        fields = ["location", "provider", "service", "status", "starts_after", "starts_before"]


class ConfigFilter(ActiveFilterSet):
    location = django_filters.ModelChoiceFilter(
        queryset=_scoped(Location), label="Overrides of this location (id)."
    )
    scope = django_filters.ChoiceFilter(
        choices=[("organization", "organization-wide"), ("location", "location overrides")],
        method="filter_scope",
        label="organization: the organization-wide versions; location: the location overrides.",
    )

    class Meta:
        model = AgentConfig
        fields = ["active", "location", "scope"]

    def filter_scope(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(location__isnull=value == "organization")


class CallFilter(django_filters.FilterSet):
    call_id = django_filters.CharFilter(label="The voice platform's call id (exact).")
    status = django_filters.ChoiceFilter(choices=CallStatus.choices)
    location = django_filters.ModelChoiceFilter(queryset=_scoped(Location), label="Location id.")
    config_version = IntegerFilter(field_name="agent_config__version", label="Configuration version.")
    outcome = django_filters.CharFilter(label="Outcome (exact).")
    started_after = UtcIsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    started_before = UtcIsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = Call
        fields = [
            "call_id",
            "status",
            "location",
            "config_version",
            "outcome",
            "started_after",
            "started_before",
        ]


class KnowledgeFilter(ActiveFilterSet):
    category = django_filters.ChoiceFilter(choices=KnowledgeCategory.choices)
    location = django_filters.ModelChoiceFilter(
        queryset=_scoped(Location), label="Facts of this location (id)."
    )
    scope = django_filters.ChoiceFilter(
        choices=[("organization", "organization-wide"), ("location", "of a location")],
        method="filter_scope",
        label="organization: facts for every location; location: facts of one location.",
    )

    class Meta:
        model = KnowledgeEntry
        fields = ["active", "category", "location", "scope"]

    def filter_scope(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(location__isnull=value == "organization")
