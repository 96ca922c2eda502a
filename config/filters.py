"""Filter backends of every list (REST_FRAMEWORK's DEFAULT_FILTER_BACKENDS): a value they cannot use is a
400 naming the parameter, never ignored; an empty value means the parameter is not given."""

from __future__ import annotations

from typing import Any

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
