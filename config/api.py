"""Project-wide API conventions: permissions, pagination, throttling, request parsing and the error format.

Every error leaves the API as `{"detail": str, "code": str, "fields": {field: [messages]}}` so that
integrations parse one shape whatever failed, including a URL no API view serves (`api_page_not_found`,
the project's handler404) and an IntegrityError that got past validation (409 `conflict`, logged: it
means a validation gap or a race, never something to show as a 500).

Bad input is never a 500 nor Django's HTML error page: JSON nested too deeply for Python's parser is a
400 (`BoundedJSONParser`, the default parser), and a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413
`request_too_large` (the exception handler turns Django's RequestDataTooBig into `RequestTooLarge`).
Whatever still goes wrong under /api/ answers the same shape: Django's handler400/403/404/500 are
`api_bad_request`, `api_permission_denied`, `api_page_not_found` and `api_server_error` (config.urls).

The API speaks JSON only: BoundedJSONParser is the one parser, so a form-encoded, multipart or untyped
body is a 415 `unsupported_media_type` instead of being half-parsed (a form cannot carry nested rows).
A value the API cannot use is a 400 naming the parameter, never ignored: a page or page size that is
not a positive integer (`StandardPagination`), and the filters' unknown values (agents.api.filters). A
value that must be unique and is taken is a 409 `unique` naming the field, whether the serializer sees
it first or the database does (a race between two requests).

Throttling counts on the default cache, which production points at Redis so that every server process
shares one count (`TokenClientThrottle`; config.checks warns when the cache is per-process).

The OpenAPI side of these conventions (401/403/413/415/429 on every operation they apply to) is
config.openapi.ApiAutoSchema.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, filters, permissions, serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import ErrorDetail
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

from config.errors import ConflictError, DomainError

logger = logging.getLogger(__name__)

API_PATH_PREFIX = "/api/"


class ApiErrorSerializer(serializers.Serializer):
    """The one error shape of the API (api_exception_handler), for the OpenAPI schema."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # Built here, not declared: reads plainly as the three keys, with no clash with Serializer.fields.
        return {
            "detail": serializers.CharField(help_text="Human-readable summary."),
            "code": serializers.CharField(help_text="Stable machine code, e.g. not_found, invalid."),
            "fields": serializers.DictField(
                child=serializers.JSONField(),
                help_text="Per-field messages; nested rows are keyed by their index in the list. Empty "
                "when the error is not about one field.",
            ),
        }


@functools.cache
def _renderer(serializer_class: type[serializers.BaseSerializer]) -> serializers.BaseSerializer:
    return serializer_class()


def rendered(serializer_class: type[serializers.BaseSerializer], instance: Any, *, many: bool = False) -> Any:
    """What `serializer_class(instance, many=many).data` gives, without building the serializer's fields.

    DRF builds a serializer's fields each time one is instantiated (a ModelSerializer's by introspecting
    its model, a nested one's all the way down): ~1.7 ms for an agent with its nested sets, more than
    its five queries' share of a detail request. Rendering only reads, so one instance per class, built
    on first use, serves every response; `to_representation` keeps no state on it. Only for serializers
    whose output does not depend on their context (the shared instance has none); those that read
    `context` (e.g. "now") are instantiated per response as usual.
    """
    renderer = _renderer(serializer_class)
    if many:
        items: Iterable[Any] = instance
        return [renderer.to_representation(item) for item in items]
    return renderer.to_representation(instance)


class BoundedJSONParser(JSONParser):
    """JSONParser that answers 400 to JSON nested too deeply for Python's parser (RecursionError is not
    a ValueError, so DRF's own parser lets it escape as a 500). The default parser (settings)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


class RequestTooLarge(exceptions.APIException):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE (Django raises RequestDataTooBig reading it)."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than the server accepts."
    default_code = "request_too_large"


class StrictModelPermissions(permissions.DjangoModelPermissions):
    """Model permissions for every method, reads included (DRF's default lets any user read)."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": ["%(app_label)s.view_%(model_name)s"],
    }


PAGE_NUMBER_PATTERN = re.compile(r"\A[0-9]+\Z")


def _positive_int_parameter(request: Request, name: str) -> int | None:
    """A positive integer query parameter; None when absent. Anything else is a 400 naming it (an
    empty value too: `page` and `page_size` are numbers, and the API's own links always give one)."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not PAGE_NUMBER_PATTERN.match(raw):
        number = 0
    elif len(raw) > 18:  # a well-formed number larger than any page count: past the last page
        number = 10**18
    else:
        number = int(raw)
    if number < 1:
        raise exceptions.ValidationError({name: ["Must be a positive integer (1, 2, ...)."]}, code="invalid")
    return number


class PageNotFound(exceptions.NotFound):
    default_code = "page_not_found"


class StandardPagination(PageNumberPagination):
    """Page numbers from 1; a page past the last is a 404 `page_not_found` naming `page` (the first
    page of an empty list exists and is empty). `page_size` above the maximum is capped, as documented."""

    page_size_query_param = "page_size"
    last_page_strings = ()  # `page` is a number, as the schema says; no "last"

    @property
    def max_page_size(self) -> int:  # read lazily: nothing reads settings at import time
        return settings.API_MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        size = _positive_int_parameter(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        self.request = request
        page_size = self.get_page_size(request)
        number = _positive_int_parameter(request, self.page_query_param) or 1
        paginator = self.django_paginator_class(queryset, page_size)
        if number > 1 and number > paginator.num_pages:
            message = f"Page {number} is past the last page ({paginator.num_pages})."
            raise PageNotFound({self.page_query_param: [message]})
        self.page = paginator.page(number)
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True  # the browsable API shows page links
        return list(self.page)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": self.page_query_param,
                "required": False,
                "in": "query",
                "description": "Page number, from 1. A page past the last one is a 404 `page_not_found`.",
                "schema": {"type": "integer", "minimum": 1},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page (default {self.page_size}); larger than the maximum "
                "(API_MAX_PAGE_SIZE, 200 unless configured) is capped to it.",
                "schema": {"type": "integer", "minimum": 1},
            },
        ]


class TokenClientThrottle(UserRateThrottle):
    """Throttle integrations (token clients); supervisors in the browsable API are not throttled.

    Counted with a sliding-window counter on the default cache, by atomic increments: the request is
    admitted when the previous window's count, weighted by how much of it still lies within the last
    `duration` seconds, plus the current window's count (this request included) stays within the rate.
    DRF's own throttle keeps a list of timestamps and writes it back whole (read, modify, write), so
    processes sharing one cache overwrite each other's requests and admit more than the rate; an
    increment is atomic on Redis (and on the in-process cache under its lock). A refused request is
    taken back out of the count, so a client retrying while throttled is not locked out longer. The
    estimate assumes the previous window's requests were spread evenly: it admits the rate on average,
    and never more than twice it in any `duration` seconds (the bound of a fixed window).
    """

    scope = "token_client"

    def get_rate(self) -> str | None:
        # Read per request, not from the class attribute DRF binds at import time, so the rate follows
        # the settings (and a test's override_settings).
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        if not isinstance(getattr(request, "successful_authenticator", None), TokenAuthentication):
            return True
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        try:
            return self._admit()
        except Exception:  # the cache is down (e.g. Redis unreachable): serve, and say so loudly
            logger.error("Throttle cache unavailable; request admitted unthrottled", exc_info=True)
            return True

    def _admit(self) -> bool:
        window, elapsed = divmod(self.now, self.duration)
        current_key, previous_key = f"{self.key}:{int(window)}", f"{self.key}:{int(window) - 1}"
        timeout = 2 * self.duration + 1  # the current window's count is the next one's "previous"
        self.cache.add(current_key, 0, timeout)
        try:
            current = self.cache.incr(current_key)
        except ValueError:  # expired between add and incr
            self.cache.set(current_key, 1, timeout)
            current = 1
        previous = self.cache.get(previous_key, 0)
        self._counts = (previous, current, elapsed)
        if previous * (1 - elapsed / self.duration) + current <= self.num_requests:
            return True
        self.cache.decr(current_key)  # a refused request does not count
        self._counts = (previous, current - 1, elapsed)
        return False

    def wait(self) -> float:
        """Seconds until a request would be admitted (the 429's Retry-After)."""
        previous, current, elapsed = self._counts
        return max(
            1.0,
            throttle_wait(
                previous=previous,
                current=current,
                elapsed=elapsed,
                duration=self.duration,
                rate=self.num_requests,
            ),
        )


def throttle_wait(*, previous: int, current: int, elapsed: float, duration: float, rate: int) -> float:
    """When TokenClientThrottle's estimate next admits a request: within this window once enough of
    the previous one has slid out, else in the next window, whose "previous" is this one's count."""
    room = rate - current - 1
    if room >= 0:
        if previous <= room:
            return 0.0
        within = duration * (1 - room / previous) - elapsed
        if within <= duration - elapsed:
            return max(within, 0.0)
    into_next = duration * (1 - (rate - 1) / current) if current else 0.0
    return (duration - elapsed) + max(into_next, 0.0)


def _as_field_errors(data: Any) -> dict[str, Any]:
    if isinstance(data, dict):
        return {key: value for key, value in data.items() if key != "detail"}
    if isinstance(data, list):
        return {api_settings.NON_FIELD_ERRORS_KEY: data}
    return {}


def _first_code(codes: Any) -> str:
    while isinstance(codes, (dict, list)):
        if not codes:
            return "invalid"
        codes = next(iter(codes.values())) if isinstance(codes, dict) else codes[0]
    return str(codes)


def _leaf_codes(codes: Any) -> list[str]:
    if isinstance(codes, dict):
        return [code for value in codes.values() for code in _leaf_codes(value)]
    if isinstance(codes, list):
        return [code for value in codes for code in _leaf_codes(value)]
    return [str(codes)]


def _first_message(detail: Any) -> str:
    while isinstance(detail, (dict, list)) and detail:
        detail = next(iter(detail.values())) if isinstance(detail, dict) else detail[0]
    return str(detail) if detail else "Request failed."


# PostgreSQL: 'Key (employee_id)=(x) already exists.'; SQLite: 'UNIQUE constraint failed: table.column'.
_UNIQUE_KEY_PG = re.compile(r"Key \((?P<columns>[a-z0-9_, ]+)\)=")
_UNIQUE_KEY_SQLITE = re.compile(r"UNIQUE constraint failed: (?P<columns>[a-z0-9_., ]+)$")


def _unique_violation_fields(error: IntegrityError) -> list[str]:
    """The columns of a unique violation, when the database names plain columns (not an expression)."""
    cause = error.__cause__
    diag = getattr(cause, "diag", None)
    detail = getattr(diag, "message_detail", None) or ""
    match = _UNIQUE_KEY_PG.search(detail) or _UNIQUE_KEY_SQLITE.search(str(error).strip())
    if match is None:
        return []
    return [column.strip().rsplit(".", 1)[-1] for column in match["columns"].split(",")]


def _integrity_conflict(error: IntegrityError) -> ConflictError:
    columns = _unique_violation_fields(error)
    if columns:
        conflict = ConflictError(
            f"Already taken: {', '.join(columns)}.",
            fields={column: ["This value is already taken."] for column in columns},
        )
        conflict.code = "unique"
        return conflict
    return ConflictError(
        "The request conflicts with existing data (a uniqueness or integrity rule of the database)."
    )


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: rest_framework.views imports the settings that name this module (import cycle).
    from rest_framework.views import exception_handler, set_rollback

    if isinstance(exc, IntegrityError):
        view = context.get("view")
        logger.warning(
            "IntegrityError reached the API in %s; answered 409", type(view).__name__, exc_info=exc
        )
        exc = _integrity_conflict(exc)
    if isinstance(exc, DomainError):
        set_rollback()
        body = {"detail": exc.detail, "code": exc.code, "fields": exc.fields}
        return Response(body, status=exc.http_status)
    if isinstance(exc, RequestDataTooBig):  # a SuspiciousOperation: Django would answer an HTML 400
        exc = RequestTooLarge()
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict
            if hasattr(exc, "error_dict")
            else {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}
        )
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = _as_field_errors(response.data)
        codes = _leaf_codes(exc.get_codes())
        if codes and all(code == "unique" for code in codes):
            # Only taken values, nothing malformed: the request is valid but conflicts with existing
            # data, as a duplicate case id does (409). With any other error it stays a 400.
            response.status_code = status.HTTP_409_CONFLICT
            taken = ", ".join(fields) or "a unique value"
            response.data = {"detail": f"Already taken: {taken}.", "code": "unique", "fields": fields}
        else:
            response.data = {"detail": "Invalid input.", "code": _first_code(codes), "fields": fields}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        response.data = {
            "detail": _first_message(detail) if isinstance(detail, (dict, list)) else str(detail),
            "code": _first_code(exc.get_codes()),
            "fields": _as_field_errors(detail) if isinstance(detail, (dict, list)) else {},
        }
    return response


def _api_error(status_code: int, detail: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code, "fields": {}}, status=status_code)


def api_bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400 (Django's SuspiciousOperation and BadRequest outside DRF, e.g. a disallowed Host)."""
    if request.path.startswith(API_PATH_PREFIX):
        return _api_error(400, "Bad request.", "bad_request")
    return defaults.bad_request(request, exception)


def api_permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403 (Django's PermissionDenied outside DRF, e.g. from a middleware)."""
    if request.path.startswith(API_PATH_PREFIX):
        return _api_error(403, "You do not have permission to perform this action.", "permission_denied")
    return defaults.permission_denied(request, exception)


def api_page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a URL under /api/ that no view serves gets the API's error shape, not an HTML page.

    Django calls handler404 only with DEBUG off; with DEBUG on it shows its technical 404 page instead.
    """
    if request.path.startswith(API_PATH_PREFIX):
        return _api_error(404, "Not found.", "not_found")
    return defaults.page_not_found(request, exception)


def api_server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an unexpected error under /api/ answers the API's error shape, not Django's HTML page.

    Every 500 is a bug: Django has logged the traceback (django.request) before calling this, and the
    body says nothing about the cause.
    """
    if request.path.startswith(API_PATH_PREFIX):
        return _api_error(
            500, "Server error: the request failed unexpectedly and was logged.", "server_error"
        )
    return defaults.server_error(request)


class IdentifierField(serializers.CharField):
    """An identifier (a code, a case id) taken exactly as sent: surrounding whitespace is a 400 naming
    the field, never trimmed into another identifier (DRF's CharField trims by default)."""

    default_error_messages = {
        "surrounding_whitespace": "Must not begin or end with whitespace: identifiers are taken exactly as sent."
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if value != value.strip():
            self.fail("surrounding_whitespace")
        return value


# --- filter backends: a value they cannot use is a 400 naming the parameter ---------------------------


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


class LookupSlugRelatedField(serializers.SlugRelatedField):
    """SlugRelatedField whose lookup never reaches the database with a value no row can hold: a NUL
    character (PostgreSQL text cannot contain one, so the query itself fails: a DataError, a 500) or a
    non-string is refused as the field's own error before the query."""

    default_error_messages = {"null_characters": "Null characters are not allowed."}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, str) and "\x00" in data:
            self.fail("null_characters")
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- JSON types as the schema states them --------------------------------------------------------------


def _json_type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _expected_json_type(field: serializers.Field) -> tuple[str, tuple[type, ...]] | None:
    """The JSON type the schema gives a writable field (drf-spectacular's mapping), or None for any."""
    if isinstance(field, serializers.JSONField):
        return None
    if isinstance(field, serializers.BooleanField):
        return "a boolean", (bool,)
    if isinstance(field, serializers.IntegerField):
        return "an integer", (int,)
    if isinstance(field, serializers.FloatField):
        return "a number", (int, float)
    if isinstance(
        field, (serializers.ListField, serializers.ListSerializer, serializers.MultipleChoiceField)
    ):
        return "a list", (list,)
    if isinstance(field, (serializers.DictField, serializers.BaseSerializer)):
        return "an object", (dict,)
    if isinstance(field, serializers.ChoiceField):
        choices = list(field.choices)
        return ("a string", (str,)) if all(isinstance(choice, str) for choice in choices) else None
    if isinstance(
        field,
        (
            serializers.CharField,  # email, slug, regex, URL and UUID fields included
            serializers.DecimalField,  # documented as a decimal string
            serializers.DateField,
            serializers.DateTimeField,
            serializers.TimeField,
            serializers.DurationField,
            serializers.SlugRelatedField,
        ),
    ):
        return "a string", (str,)
    return None


def _type_error(field: serializers.Field, value: Any) -> str | None:
    if value is None:
        return None if field.allow_null else "This field may not be null."
    expected = _expected_json_type(field)
    if expected is None:
        return None
    kind, types = expected
    if isinstance(value, bool) and bool not in types:
        return f"Expected {kind}, got a boolean."
    if not isinstance(value, types):
        return f"Expected {kind}, got {_json_type_name(value)}."
    return None


class StrictJsonTypes(serializers.Serializer):
    """Values of the JSON type the schema states, not coerced: `"employee_id": 0` is a 400 naming
    the field, not the string "0", and `"manual_override": 0` is not false (DRF converts numbers to
    strings and 0/1/"yes"/"on" to booleans). Also for the items of a list of plain values. Mixed into
    every input serializer. A field DRF refuses anyway keeps DRF's own error (and code); the type error
    is added for the fields DRF would have coerced."""

    def _type_errors(self, data: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        for name, field in self.fields.items():
            if field.read_only or name not in data:
                continue
            message = _type_error(field, data[name])
            if message:
                errors[name] = [ErrorDetail(message, code="invalid_type")]
            elif isinstance(field, serializers.ListField) and isinstance(data[name], list):
                items = {
                    str(index): [ErrorDetail(item_message, code="invalid_type")]
                    for index, item in enumerate(data[name])
                    if (item_message := _type_error(field.child, item))
                }
                if items:
                    errors[name] = items
        return errors

    def to_internal_value(self, data: Any) -> Any:
        refused: dict[str, Any] = {}
        try:
            value = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not isinstance(error.detail, dict) or not isinstance(data, dict):
                raise
            refused, original = dict(error.detail), error
        if not isinstance(data, dict):
            return value
        coerced = {name: errors for name, errors in self._type_errors(data).items() if name not in refused}
        if coerced:
            raise serializers.ValidationError({**refused, **coerced})
        if refused:
            raise original
        return value
