"""Query-string filters of the agent list (django-filter; drf-spectacular documents them)."""

from __future__ import annotations

import django_filters

from agents.languages import LANGUAGE_CHOICES
from agents.models import AvailabilityStatus, HumanAgent


class AgentFilter(django_filters.FilterSet):
    # An agent has at most one row per skill domain and per language (UNIQUE), so these joins never
    # repeat an agent in the page.
    skill = django_filters.CharFilter(
        field_name="skills__domain__code", label="Skill domain code: agents holding that skill."
    )
    language = django_filters.ChoiceFilter(
        field_name="languages__language_code",
        choices=LANGUAGE_CHOICES,
        label="ISO 639-1 code: agents speaking that language.",
    )
    status = django_filters.ChoiceFilter(
        field_name="availability__status",
        choices=AvailabilityStatus.choices,
        label="Live availability status.",
    )
    active = django_filters.BooleanFilter(
        field_name="is_active", label="Active (true) or deactivated (false)."
    )
    department = django_filters.CharFilter(
        field_name="department", lookup_expr="iexact", label="Department (case-insensitive)."
    )

    class Meta:
        model = HumanAgent
        fields = ["skill", "language", "status", "active", "department"]
