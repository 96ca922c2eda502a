"""What every voice API view shares: the caller, feature flags, permissions and their OpenAPI side.

- The caller (voice.access) is resolved once per request from the user and the `organization` query
  parameter, before anything else reads; every selector the view calls takes it.
- A view belongs to a feature (voice.features); when the feature is off, the view answers 404 in the
  API's error shape, before authentication, as a URL that does not exist would.
- Permissions: Django model permissions for the method (config.api.StrictModelPermissions), with the
  model and the action each endpoint stands for (`action_permissions`: publishing a configuration
  adds one, activating it changes it, the analytics view calls...). The membership role is checked by
  the services when they write.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.request import Request

from config.api import ApiErrorSerializer, StrictModelPermissions
from config.openapi import ApiAutoSchema
from voice.access import VoiceCaller, caller_for_user, caller_require_choice
from voice.errors import FeatureDisabled
from voice.features import Feature, feature_enabled

ORGANIZATION_PARAMETER = OpenApiParameter(
    "organization",
    str,
    OpenApiParameter.QUERY,
    required=False,
    description="Slug of the organization to act in. Needed when you belong to several organizations "
    "(and to create rows as a superuser); a member of one organization acts in it by default.",
)

ERRORS = {
    400: "Invalid input; `fields` names each invalid field or parameter.",
    404: "Not found: no such row in your organization (rows of other organizations are never shown), "
    "or the feature is switched off.",
    409: "Conflicts with the current data; `code` says how.",
}


def errors(*statuses: int, **descriptions: str) -> dict[int, OpenApiResponse]:
    """The voice answers of an endpoint (401, 403, 413 and 429 are added project-wide)."""
    described = {**ERRORS, **{int(code.removeprefix("e")): text for code, text in descriptions.items()}}
    return {code: OpenApiResponse(ApiErrorSerializer, description=described[code]) for code in statuses}


class VoiceAutoSchema(ApiAutoSchema):
    """The project's schema plus the voice conventions: the `organization` parameter and 404."""

    def get_override_parameters(self) -> list[Any]:
        return [*super().get_override_parameters(), ORGANIZATION_PARAMETER]

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in ("400", "404"):
            if code not in responses:
                error = OpenApiResponse(ApiErrorSerializer, description=ERRORS[int(code)])
                responses[code] = self._get_response_for_code(error, code, direction=direction)
        return dict(sorted(responses.items()))


class VoicePermissions(StrictModelPermissions):
    """Model permissions; an action may stand for another permission of the model (`action_permissions`)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        action = getattr(view, "action", None)
        permission = getattr(view, "action_permissions", {}).get(action)
        if permission is None:
            return super().has_permission(request, view)
        if not request.user or not request.user.is_authenticated:
            return False
        model = self._queryset(view).model
        return request.user.has_perm(f"{model._meta.app_label}.{permission}_{model._meta.model_name}")


class VoiceViewMixin:
    feature: Feature | None = None
    permission_classes = [VoicePermissions]
    schema = VoiceAutoSchema()
    action_permissions: dict[str, str] = {}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if self.feature is not None and not feature_enabled(self.feature):
            raise FeatureDisabled()
        super().initial(request, *args, **kwargs)  # type: ignore[misc]
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):  # type: ignore[attr-defined]
            return  # a method the route does not take: DRF answers 405 before anything reads
        # After authentication and permissions: an anonymous request is a 401, not a 400. An empty
        # `organization` is the parameter not given (as for every filter).
        request.voice_caller = caller_require_choice(
            caller_for_user(request.user, organization_slug=request.query_params.get("organization") or None)
        )

    @property
    def caller(self) -> VoiceCaller:
        return self.request.voice_caller  # type: ignore[attr-defined]
