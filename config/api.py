"""Project-wide API conventions: permissions, pagination, throttling, request parsing and the error format.

Every error leaves the API as `{"detail": str, "code": str, "fields": {field: [messages]}}` so that
integrations parse one shape whatever failed, including a URL no API view serves (`api_page_not_found`,
the project's handler404) and an IntegrityError that got past validation (409, logged: it means a
validation gap or a race, never something to show as a 500; `unique` naming the column when the
database names it, else `conflict`).

Bad input is never a 500 nor Django's HTML error page: JSON nested too deeply for Python's parser is a
400 (`BoundedJSONParser`, the default parser), and a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413
`request_too_large` (the exception handler turns Django's RequestDataTooBig into `RequestTooLarge`).
Whatever still goes wrong under /api/ answers the same shape: Django's handler400/403/404/500 are
`api_bad_request`, `api_permission_denied`, `api_page_not_found` and `api_server_error` (config.urls).

The API speaks JSON only: BoundedJSONParser is the one parser, so a form-encoded, multipart or untyped
body is a 415 `unsupported_media_type` instead of being half-parsed (a form cannot carry nested rows).
A value the API cannot use is a 400 naming the parameter, never ignored: a page or page size that is
not a positive integer (`StandardPagination`), and the filters' unknown values (config.filters,
agents.api.filters). A value that must be unique and is taken is a 409 `unique` naming the field,
whether the serializer sees it first or the database does (a race between two requests).

Next to this module: config.throttling (the throttle, counted in a cache every server process shares),
config.filters (filter backends that refuse what they cannot use), config.inputs (input fields: exact
identifiers, JSON types as the schema states them).

The OpenAPI side of these conventions (401/403/413/415/429 on every operation they apply to) is
config.openapi.ApiAutoSchema.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import Count, QuerySet, Window
from django.db.models.manager import BaseManager
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.fields import SkipField
from rest_framework.metadata import SimpleMetadata
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
from rest_framework.relations import PKOnlyObject
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from config.errors import ConflictError, DomainError

logger = logging.getLogger(__name__)

API_PATH_PREFIX = "/api/"


_VIEW_CLASS_SUFFIXES = ("APIView", "ApiView", "ViewSet", "Api", "View")


def api_view_name(view: Any) -> str:
    """The browsable API's page title: a view's `name` ("Route a case"), else its class name in words
    without the class-kind suffix, as a sentence ("QueueListApi" reads "Queue list", not "Queue List Api")."""
    name = getattr(view, "name", None)
    if name:
        return name
    class_name = type(view).__name__.lstrip("_")
    for suffix in _VIEW_CLASS_SUFFIXES:
        if class_name.endswith(suffix) and class_name != suffix:
            class_name = class_name.removesuffix(suffix)
            break
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", class_name).split()
    text = " ".join([words[0], *(word.lower() for word in words[1:])]) if words else class_name
    kind = getattr(view, "suffix", None)
    return f"{text} {kind.lower()}" if kind and kind.lower() not in text.lower() else text


class ApiErrorSerializer(serializers.Serializer):
    """Every error the API answers: a message for people (`detail`), a stable `code` to branch on, and
    per-field messages (`fields`) when the request itself was at fault."""

    # The shape api_exception_handler gives every error, declared for the OpenAPI schema.

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


Render = Callable[[Any], Any]


@functools.cache
def _renderer(serializer_class: type[serializers.BaseSerializer]) -> Render:
    return _compiled(serializer_class())


def _compiled(serializer: serializers.BaseSerializer) -> Render:
    """`serializer.to_representation` with the per-field walk planned once.

    DRF's Serializer.to_representation walks `_readable_fields` and calls each field's
    `get_attribute` (a generic path through Mappings, callables and error handling) for every value of
    every row: for a page of 50 agents with ~500 nested rows, most of the rendering time. Here each
    field's step is decided when the renderer is built: a field read by one plain attribute is a
    getattr (DRF's own get_attribute still handles the rare cases: a missing attribute, a callable,
    a Mapping), a nested serializer or list of them is rendered by its own plan, anything else (a
    related field, a method field, a serializer with its own to_representation) through DRF as before.
    A Mapping (a decision's stored candidates) is read by key, as DRF reads it.
    The output is DRF's, key for key (tests/test_api_rendering.py compares them)."""
    if isinstance(serializer, serializers.ListSerializer):
        if type(serializer).to_representation is not serializers.ListSerializer.to_representation:
            return serializer.to_representation
        child = _compiled(serializer.child)

        def render_list(data: Any) -> list[Any]:
            iterable = data.all() if isinstance(data, BaseManager) else data
            return [child(item) for item in iterable]

        return render_list
    if not isinstance(serializer, serializers.Serializer) or (
        type(serializer).to_representation is not serializers.Serializer.to_representation
    ):
        return serializer.to_representation
    steps = [_field_step(field) for field in serializer._readable_fields]

    def render(instance: Any) -> dict[str, Any]:
        by_key = isinstance(instance, Mapping)  # DRF reads a Mapping by key (a decision's candidates)
        ret = {}
        for name, get, get_by_key, to_representation, related in steps:
            try:
                attribute = get_by_key(instance) if by_key else get(instance)
            except SkipField:
                continue
            # a related field may give a PKOnlyObject (DRF's pk-only optimization), None when its pk is
            check = attribute.pk if related and isinstance(attribute, PKOnlyObject) else attribute
            ret[name] = None if check is None else to_representation(attribute)
        return ret

    return render


def _field_step(field: serializers.Field) -> tuple[str, Render, Render, Render, bool]:
    to_representation = (
        _compiled(field) if isinstance(field, serializers.BaseSerializer) else field.to_representation
    )
    related = isinstance(field, serializers.RelatedField)
    drf_get = field.get_attribute
    if type(field).get_attribute is not serializers.Field.get_attribute or len(field.source_attrs) != 1:
        return field.field_name, drf_get, drf_get, to_representation, related
    attr = field.source_attrs[0]

    def get(instance: Any) -> Any:
        try:
            value = getattr(instance, attr)
        except ObjectDoesNotExist:
            return None
        except (KeyError, AttributeError):
            return drf_get(instance)  # a default, None, SkipField or DRF's error, as DRF decides
        return drf_get(instance) if callable(value) else value

    def get_by_key(instance: Mapping) -> Any:
        try:
            value = instance[attr]
        except KeyError:
            return drf_get(instance)
        return drf_get(instance) if callable(value) else value

    return field.field_name, get, get_by_key, to_representation, related


def rendered(serializer_class: type[serializers.BaseSerializer], instance: Any, *, many: bool = False) -> Any:
    """What `serializer_class(instance, many=many).data` gives, without building the serializer's fields.

    DRF builds a serializer's fields each time one is instantiated (a ModelSerializer's by introspecting
    its model, a nested one's all the way down): ~1.7 ms for an agent with its nested sets, more than
    its five queries' share of a detail request. Rendering only reads, so one instance per class, built
    on first use, serves every response; `to_representation` keeps no state on it. Only for serializers
    whose output does not depend on their context (the shared instance has none); those that read
    `context` (e.g. "now") are instantiated per response as usual.
    """
    render = _renderer(serializer_class)
    if many:
        items: Iterable[Any] = instance
        return [render(item) for item in items]
    return render(instance)


class BoundedJSONParser(JSONParser):
    """JSONParser that answers 400 to JSON nested too deeply for Python's parser (RecursionError is not
    a ValueError, so DRF's own parser lets it escape as a 500). The default parser (settings)."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict | None = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None


class ApiMetadata(SimpleMetadata):
    """OPTIONS answers: DRF's, also for an action that takes no body (cancel, deliver...), which has
    nothing to describe under `actions` (DRF would ask it for a serializer it does not have: a 500)."""

    def determine_actions(self, request: Request, view: Any) -> dict[str, Any]:
        from rest_framework.generics import GenericAPIView  # imports the settings: not at module load

        takes_no_body = (
            getattr(view, "serializer_class", None) is None
            and type(view).get_serializer_class is GenericAPIView.get_serializer_class
        )
        return {} if takes_no_body else super().determine_actions(request, view)


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


MAX_COUNTED_PAGE = 10**9


def _counts_per_row(queryset: Any) -> bool:
    """Whether COUNT(*) OVER () over the queryset's rows is its count (no DISTINCT, no compound)."""
    return isinstance(queryset, QuerySet) and not queryset.query.distinct and not queryset.query.combinator


class StandardPagination(PageNumberPagination):
    """Page numbers from 1; a page past the last is a 404 `page_not_found` naming `page` (the first
    page of an empty list exists and is empty). `page_size` above the maximum is capped, as documented.

    A view that sets `count_with_page = True` has the count read with the page, as COUNT(*) OVER () in
    the page's own query, instead of a COUNT that evaluates the filters a second time (only a page
    with no rows, empty or past the last, costs the COUNT as well)."""

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
        # (a page number so large its offset leaves SQL's bigint is past the last page: counted below)
        if (
            getattr(view, "count_with_page", False)
            and _counts_per_row(queryset)
            and number <= MAX_COUNTED_PAGE
        ):
            rows = list(
                queryset.annotate(_full_count=Window(Count("pk")))[
                    (number - 1) * page_size : number * page_size
                ]
            )
            if rows:  # the count came with the page; an empty page is told apart below
                paginator.__dict__["count"] = rows[0]._full_count  # Paginator.count is a cached_property
                self.page = paginator._get_page(rows, paginator.validate_number(number), paginator)
                self.display_page_controls = paginator.num_pages > 1 and self.template is not None
                return rows
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
