"""Serializer building blocks of the voice API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from config.inputs import StrictInput
from voice.access import VoiceCaller
from voice.schemas import POLICIES_SCHEMA, SCRIPT_OVERRIDES_SCHEMA


class StrictSerializerMixin(StrictInput):
    """The project's input rule (config.inputs.StrictInput: unknown and read-only keys are a 400 naming
    them, values of their JSON type), and nested rows validated whole even inside a PATCH of their
    parent (as agents.api.serializers.FullRowSerializer explains)."""

    def run_validation(self, data: Any = empty) -> Any:
        root = self.root  # type: ignore[attr-defined]
        if root is not self and getattr(root, "partial", False) and getattr(self, "whole_row", False):
            standalone = type(self)(data=data, context=self.context)  # type: ignore[attr-defined,call-arg]
            standalone.is_valid(raise_exception=True)
            return standalone.validated_data
        return super().run_validation(data)  # type: ignore[misc]


class StrictQuerySerializerMixin(StrictSerializerMixin):
    """Query parameters: unknown ones are refused too, except the `organization` every voice request
    may carry (read by voice.api.base). Query values are strings: their types are the fields' to parse."""

    check_json_types = False

    def to_internal_value(self, data: Any) -> Any:
        if hasattr(data, "dict"):
            data = data.dict()  # a QueryDict: one value per parameter
        if isinstance(data, dict):
            data = {key: value for key, value in data.items() if key != "organization"}
        return super().to_internal_value(data)


class NormalizedCharField(serializers.CharField):
    """A CharField that normalises its input before the validators see it (what the model stores)."""

    def __init__(self, *, normalize: Callable[[str], str], **kwargs: Any) -> None:
        self.normalize = normalize
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str:
        return self.normalize(super().to_internal_value(data))


class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference to a row in the caller's scope: another organization's id is "does not exist"."""

    def __init__(self, *, model: Any, scoped: Callable[[VoiceCaller], Any], **kwargs: Any) -> None:
        self.scoped = scoped
        # The empty queryset names the model (for the schema); requests read the scoped one.
        super().__init__(queryset=model.objects.none(), **kwargs)

    def get_queryset(self) -> Any:
        caller = self.context.get("caller")
        return self.scoped(caller) if caller is not None else self.queryset


@extend_schema_field(POLICIES_SCHEMA)
class PoliciesField(serializers.JSONField):
    pass


@extend_schema_field(SCRIPT_OVERRIDES_SCHEMA)
class ScriptOverridesField(serializers.JSONField):
    pass


@extend_schema_field(
    {"type": "object", "additionalProperties": True, "description": "See CallEvent schemas."}
)
class EventDataField(serializers.JSONField):
    pass


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class TagsField(serializers.JSONField):
    pass
