"""Query-string filters of the agent list (django-filter; drf-spectacular documents them).

Every filter refuses a value it cannot use with a 400 naming the parameter, never ignores it: an unknown
skill domain code (`?skill=nosuch`), a boolean other than `true`/`false` (`?active=maybe`), a language
or status outside its choices. An empty value (`?skill=`) is the same as leaving the parameter out: the
browsable API's filter form sends its blank fields so. `department` is free text (matched without case),
so a department nobody is in is an empty page, not an error.
"""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError

from agents.languages import LANGUAGE_CHOICES
from agents.models import AvailabilityStatus, HumanAgent, SkillDomain
from config.filters import StrictBooleanFilter


class SkillDomainCodeField(forms.CharField):
    """A skill domain code that exists, taken exactly as sent (not stripped)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strip=False, **kwargs)

    def clean(self, value: Any) -> str:
        code = super().clean(value)  # refuses a NUL character before any query sees it
        if code and not SkillDomain.objects.filter(code=code).exists():
            raise ValidationError(
                "Unknown skill domain %(code)s.", code="unknown_skill_domain", params={"code": code}
            )
        return code


class SkillDomainFilter(django_filters.CharFilter):
    field_class = SkillDomainCodeField


class AgentFilter(django_filters.FilterSet):
    # An agent has at most one row per skill domain and per language (UNIQUE), so these joins never
    # repeat an agent in the page.
    skill = SkillDomainFilter(
        field_name="skills__domain__code",
        label="Skill domain code: agents holding that skill; an unknown code is a 400.",
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
    active = StrictBooleanFilter(field_name="is_active", label="Active (true) or deactivated (false).")
    department = django_filters.CharFilter(
        field_name="department", lookup_expr="iexact", label="Department (case-insensitive)."
    )

    class Meta:
        model = HumanAgent
        fields = ["skill", "language", "status", "active", "department"]
