"""Filter backends of every list (REST_FRAMEWORK's DEFAULT_FILTER_BACKENDS) and the query-string filters the
apps' filter sets share: a value they cannot use is a 400 naming the parameter, never ignored; an empty
value means the parameter is not given."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from rest_framework import exceptions, filters
from rest_framework.request import Request


class StrictOrderingFilter(filters.OrderingFilter):
    """`ordering`: comma-separated field names of the view's ordering_fields, each optionally with `-`
    for descending. An unknown or empty term is a 400 naming `ordering` (DRF drops it silently and
    orders by the default instead). An empty value means the default order."""

    def _allowed(self, queryset: Any, view: Any, request: Request) -> list[str]:
        return [name for name, _ in self.get_valid_fields(queryset, view, {"request": request})]

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> list[str] | None:
        raw = request.query_params.get(self.ordering_param)
        if not raw:
            return self.get_default_ordering(view)
        terms = raw.split(",")
        allowed = self._allowed(queryset, view, request)
        unknown = [term for term in terms if term.removeprefix("-") not in allowed]
        if unknown:
            shown = ", ".join(repr(term) for term in unknown)
            raise exceptions.ValidationError(
                {
                    self.ordering_param: [
                        f"Unknown ordering {shown}; use {', '.join(allowed)} (- for descending)."
                    ]
                }
            )
        return terms

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = list(getattr(view, "ordering_fields", None) or [])
        if not fields or fields == "__all__":
            return super().get_schema_operation_parameters(view)
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": "Sort by these fields, comma-separated, each prefixed with `-` for descending "
                "(e.g. `department,-hire_date`). An unknown field is a 400.",
                "schema": {
                    "type": "array",
                    "items": {"type": "string", "enum": [*fields, *(f"-{field}" for field in fields)]},
                },
                "style": "form",
                "explode": False,
            }
        ]


class StrictSearchFilter(filters.SearchFilter):
    """`search`: words matched in the view's search_fields. A NUL character is a 400 naming `search`
    (DRF strips it silently; PostgreSQL text cannot hold one)."""

    def get_search_terms(self, request: Request) -> list[str]:
        raw = request.query_params.get(self.search_param, "")
        if "\x00" in raw:
            raise exceptions.ValidationError({self.search_param: ["Null characters are not allowed."]})
        return super().get_search_terms(request)


class StrictBooleanField(forms.Field):
    """`true` or `false`; empty means not given. Django's NullBooleanField reads anything else as
    "unknown", which would silently drop the filter."""

    VALUES = {"true": True, "false": False}
    widget = forms.Select(choices=[("", "---------"), ("true", "Yes"), ("false", "No")])

    def to_python(self, value: Any) -> bool | None:
        if value in (None, ""):
            return None
        if isinstance(value, bool):
            return value
        if value not in self.VALUES:
            raise ValidationError(
                "%(value)r is not a boolean: use true or false.", code="invalid", params={"value": value}
            )
        return self.VALUES[value]

    def validate(self, value: Any) -> None:  # None is "not given", never "required"
        return None


class StrictBooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """An ISO 8601 date-time (an offset or `Z`; without one, the server's time zone), converted to UTC
    before any query sees it: PostgreSQL refuses offsets beyond ±15:59 that Python accepts, and an instant
    whose UTC form leaves years 1–9999 names no time at all."""

    def to_python(self, value: Any) -> dt.datetime | None:
        parsed = super().to_python(value)
        if parsed is None or parsed.tzinfo is None:
            return parsed
        try:
            return parsed.astimezone(dt.UTC)
        except OverflowError as exc:
            raise ValidationError(
                "%(value)r falls outside the years 1 to 9999 in UTC.", code="invalid", params={"value": value}
            ) from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


class IntegerFilter(django_filters.NumberFilter):
    """A whole number within PostgreSQL's integer (django-filter's NumberFilter takes decimals, and a
    number past the column's range would reach the database)."""

    field_class = forms.IntegerField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", -(2**31))
        kwargs.setdefault("max_value", 2**31 - 1)
        super().__init__(*args, **kwargs)
