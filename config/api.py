"""Project-wide API conventions: permissions, pagination, throttling, request parsing and the error format.

Every error leaves the API as `{"detail": str, "code": str, "fields": {field: [messages]}}` so that
integrations parse one shape whatever failed, including a URL no API view serves (`api_page_not_found`,
the project's handler404) and an IntegrityError that got past validation (409 `conflict`, logged: it
means a validation gap or a race, never something to show as a 500).

Bad input is never a 500 nor Django's HTML error page: JSON nested too deeply for Python's parser is a
400 (`BoundedJSONParser`, the default parser), and a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413
`request_too_large` (the exception handler turns Django's RequestDataTooBig into `RequestTooLarge`).

The OpenAPI side of these conventions (401/403/413/429 on every operation they apply to) is
config.openapi.ApiAutoSchema.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.authentication import TokenAuthentication
from rest_framework.pagination import PageNumberPagination
from rest_framework.parsers import JSONParser
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


class StandardPagination(PageNumberPagination):
    page_size_query_param = "page_size"

    @property
    def max_page_size(self) -> int:  # read lazily: nothing reads settings at import time
        return settings.API_MAX_PAGE_SIZE


class TokenClientThrottle(UserRateThrottle):
    """Throttle integrations (token clients); supervisors in the browsable API are not throttled."""

    scope = "token_client"

    def get_rate(self) -> str | None:
        # Read per request, not from the class attribute DRF binds at import time, so the rate follows
        # the settings (and a test's override_settings).
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        if not isinstance(getattr(request, "successful_authenticator", None), TokenAuthentication):
            return True
        return super().allow_request(request, view)


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


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    # Imported here: rest_framework.views imports the settings that name this module (import cycle).
    from rest_framework.views import exception_handler, set_rollback

    if isinstance(exc, IntegrityError):
        view = context.get("view")
        logger.warning(
            "IntegrityError reached the API in %s; answered 409", type(view).__name__, exc_info=exc
        )
        exc = ConflictError(
            "The request conflicts with existing data (a uniqueness or integrity rule of the database)."
        )
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
        response.data = {"detail": "Invalid input.", "code": _first_code(exc.get_codes()), "fields": fields}
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        response.data = {
            "detail": str(detail) if not isinstance(detail, (dict, list)) else "Request failed.",
            "code": _first_code(exc.get_codes()),
            "fields": _as_field_errors(detail) if isinstance(detail, (dict, list)) else {},
        }
    return response


def api_page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: a URL under /api/ that no view serves gets the API's error shape, not an HTML page.

    Django calls handler404 only with DEBUG off; with DEBUG on it shows its technical 404 page instead.
    """
    if request.path.startswith(API_PATH_PREFIX):
        return JsonResponse({"detail": "Not found.", "code": "not_found", "fields": {}}, status=404)
    return defaults.page_not_found(request, exception)
