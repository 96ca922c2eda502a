"""The OpenAPI side of config.api's conventions, added to every operation they apply to.

Each view documents its own answers (its bodies, 400, 404, 409); the answers a convention gives every
view alike are added here, in the one error shape (config.api.ApiErrorSerializer), unless the view
documents them itself:
- 401 and 403 where a permission is required (every view but AllowAny ones);
- 413 and 415 where the operation takes a request body (any body may exceed DATA_UPLOAD_MAX_MEMORY_SIZE,
  and the body must be JSON: config.api.BoundedJSONParser is the only parser, so `application/json` is
  the only request content type the schema lists);
- 400 and 404 on paginated lists (a `page` or `page_size` that is not a positive integer, a page past
  the last: config.api.StandardPagination);
- 429 with its Retry-After header where the view is throttled (config.throttling.TokenClientThrottle);
- 414 on every operation: the HTTP server refuses a request line (path and query string) longer than it
  reads (gunicorn's default limit is 4094 bytes) before Django sees the request, so that answer is the
  server's own page, not JSON, and the schema gives it no body.

Filter parameters (query parameters of the filter backends) say `allowEmptyValue`: an empty value is the
same as leaving the parameter out (what the browsable API's filter form sends for a field left blank);
any other value the filter cannot use is a 400 naming it.

A module of its own, not config.api: drf_spectacular.openapi imports rest_framework.views, whose APIView
reads DEFAULT_PARSER_CLASSES (config.api.BoundedJSONParser) when it is defined, so config.api importing
drf-spectacular would be an import cycle. The schema class is read only when a schema is generated.
"""

from __future__ import annotations

import inspect
from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_override
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.permissions import AllowAny

from config.api import ApiErrorSerializer

CONVENTION_ERRORS = {
    400: "Invalid query parameter: `fields` names it (a filter value, `page` or `page_size`).",
    404: "Page past the last page (code `page_not_found`).",
    401: "Not authenticated (send `Authorization: Token <key>`).",
    403: "Authenticated but lacking the model permission.",
    413: "The request body is larger than the server accepts (code `request_too_large`).",
    415: "The body is not JSON: send `Content-Type: application/json` (code `unsupported_media_type`).",
    414: "The path and query string are longer than the server reads (the server's own page, not JSON).",
    429: "Too many requests from this token (code `throttled`); retry after `Retry-After` seconds.",
}

BODILESS_ERRORS = {414}

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    int,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before the next request.",
)


def own_doc(obj: Any) -> str:
    """The docstring an object states itself, not one inherited from a base class or mixin.

    The schema publishes docstrings as text for integrators; a shared base's docstring (the input rule's
    mixin, a view base class) is a note for the developers who use that base, and inherited it would
    appear on every operation and component built on it.
    """
    doc = (
        getattr(obj, "__dict__", {}).get("__doc__")
        if isinstance(obj, type)
        else getattr(obj, "__doc__", None)
    )
    return inspect.cleandoc(doc) if doc else ""


class ApiAutoSchema(AutoSchema):
    def get_description(self) -> str:
        """The action's own docstring, else the view class's own (never an inherited one)."""
        action = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        action_doc = (
            own_doc(action)
            if action is not None and action.__qualname__.split(".")[0] == type(self.view).__name__
            else ""
        )
        return action_doc or own_doc(type(self.view))

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        description = get_override(serializer, "description", None) or own_doc(type(serializer))
        if description:
            schema["description"] = description
        else:
            schema.pop("description", None)
        return schema

    def _is_throttled(self) -> bool:
        return bool(getattr(self.view, "throttle_classes", None))

    def _requires_permission(self) -> bool:
        return any(not isinstance(permission, AllowAny) for permission in self.view.get_permissions())

    def _takes_body(self) -> bool:
        return self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None

    def _is_paginated_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def _convention_errors(self) -> list[int]:
        codes = []
        if self._is_paginated_list():
            codes += [400, 404]
        if self._requires_permission():
            codes += [401, 403]
        if self._takes_body():
            codes += [413, 415]
        if self._is_throttled():
            codes.append(429)
        return [*codes, 414]

    def _get_filter_parameters(self) -> list[dict[str, Any]]:
        return [{**parameter, "allowEmptyValue": True} for parameter in super()._get_filter_parameters()]

    def _get_parameters(self) -> list[dict[str, Any]]:
        """A view that reads its query through a serializer names the parameters an empty value leaves
        out (DRF's rule for an optional field of form input) in `empty_means_absent`; they say so too."""
        empty_means_absent = set(getattr(self.view, "empty_means_absent", ()))
        return [
            {**parameter, "allowEmptyValue": True}
            if parameter.get("in") == "query" and parameter.get("name") in empty_means_absent
            else parameter
            for parameter in super()._get_parameters()
        ]

    def get_override_parameters(self) -> list[Any]:
        parameters = super().get_override_parameters()
        return [*parameters, RETRY_AFTER] if self._is_throttled() else parameters

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._convention_errors():
            if str(code) not in responses:
                body = None if code in BODILESS_ERRORS else ApiErrorSerializer
                error = OpenApiResponse(body, description=CONVENTION_ERRORS[code])
                responses[str(code)] = self._get_response_for_code(error, str(code), direction=direction)
        return dict(sorted(responses.items()))  # by status code, wherever each answer was declared


def closed_request_bodies(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: a request body names every key it takes
    (`additionalProperties: false` on each request component), as config.inputs.StrictInput refuses any
    other key with a 400. Response components stay open: a later version may add keys to a response."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object" and "properties" in component:
            component.setdefault("additionalProperties", False)
    return result
