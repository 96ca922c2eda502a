"""Fields the routing API shares between its inputs and outputs (enum sets, case ids) and the parsing of
special requirements.

Enum-valued fields keep one choice set per property name across components (`status` is rendered only by
one component per set), so drf-spectacular names the enums without collisions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import empty

from agents.languages import LANGUAGE_CHOICES
from agents.models import Proficiency
from config.inputs import IdentifierField, StrictInput
from routing.models import (
    CASE_ID_MAX_LENGTH,
    CASE_ID_MESSAGE,
    Complexity,
    validate_case_id,
)

# --- enum fields shared with the agents API --------------------------------------------------------
#
# Complexity has the same values and labels as agents' FrustrationTolerance, and the case language the
# same choices as AgentLanguage.language_code. drf-spectacular names an enum by its (value, label) set, so
# it would give each of those sets two names and warn (which fails `spectacular --fail-on-warn` and
# `check --deploy`). Declaring these two fields' schema as a plain enum of values gives them their own
# set: ComplexityEnum and LanguageEnum. (An ENUM_NAME_OVERRIDES entry in settings would do the same.)


@extend_schema_field({"type": "string", "enum": list(Complexity.values)})
class ComplexityField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Complexity.choices, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "enum": ["", *(code for code, _ in LANGUAGE_CHOICES)],
        "description": "ISO 639-1 code the customer speaks, e.g. en, es, zh; empty when unknown.",
    }
)
class CaseLanguageField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=LANGUAGE_CHOICES, allow_blank=True, **kwargs)


# --- case ids ----------------------------------------------------------------------------------------
#
# What a case id may be is stated once, in routing.models (validate_case_id, also the model field's
# validator, the service's check and the URL converter's pattern); this field gives its message here.


def case_id_field(**kwargs: Any) -> serializers.CharField:
    # Taken exactly as sent: whitespace around a case id is a 400, not trimmed into another case's id.
    return IdentifierField(
        max_length=CASE_ID_MAX_LENGTH, validators=[validate_case_id], help_text=CASE_ID_MESSAGE, **kwargs
    )


# --- special requirements ------------------------------------------------------------------------------


def _flat_messages(detail: Any, prefix: str = "") -> list[ErrorDetail]:
    """Nested DRF errors as one list of "key: message" strings, keeping each message's code, so a bad
    special requirement reads `{"special_requirements": ["specializations[0]: Not a valid string."]}`,
    the `{field: [messages]}` shape config.api documents (and the service's own check produces)."""
    if isinstance(detail, Mapping):
        messages: list[ErrorDetail] = []
        for key, value in detail.items():
            name = f"{prefix}[{key}]" if str(key).isdigit() else (f"{prefix}.{key}" if prefix else str(key))
            if key == "non_field_errors":
                name = prefix
            messages += _flat_messages(value, name)
        return messages
    if isinstance(detail, list):
        return [message for item in detail for message in _flat_messages(item, prefix)]
    code = getattr(detail, "code", "invalid")
    return [ErrorDetail(f"{prefix}: {detail}" if prefix else str(detail), code=code)]


class FlatListField(serializers.ListField):
    """A ListField whose item errors read "[index]: message" in one list, like the other fields'."""

    def run_validation(self, data: Any = empty) -> Any:
        try:
            return super().run_validation(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError(_flat_messages(error.detail)) from None


@extend_schema_field({"type": "string", "enum": list(Proficiency.values)})
class MinProficiencyField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Proficiency.choices, **kwargs)


class SpecialRequirementsSerializer(StrictInput, serializers.Serializer):
    """What else the case asks of its agent, each key with its type.

    Any other key is refused (400) rather than stored and ignored: a misspelt `min_proficency` would
    otherwise route the case as if nothing had been asked. A key sent as null counts as not sent.
    """

    # The keys routing.engine.rules.parse_special_requirements reads.

    min_proficiency = MinProficiencyField(
        required=False,
        allow_null=True,
        help_text="Lowest proficiency accepted in each required skill (default intermediate).",
    )
    optional_skills = serializers.ListField(
        child=serializers.SlugField(max_length=50, trim_whitespace=False),
        required=False,
        allow_null=True,
        max_length=50,
        help_text="Required skills that may be dropped when the wait widens; each must be in "
        "required_skills.",
    )
    specializations = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        allow_null=True,
        max_length=50,
        help_text="Agent specializations that raise an agent's skill score (e.g. enterprise_accounts).",
    )
    specialization = serializers.CharField(
        max_length=100,
        required=False,
        allow_null=True,
        help_text="One specialization; the same as specializations: [name].",
    )

    def run_validation(self, data: Any = empty) -> Any:
        if data is not empty and data is not None and not isinstance(data, Mapping):
            raise serializers.ValidationError(
                f'Expected a dictionary of items but got type "{type(data).__name__}".', code="not_a_dict"
            )
        try:
            return super().run_validation(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError(_flat_messages(error.detail)) from None

    def to_internal_value(self, data: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(str(key) for key in data if key not in self.fields)
        if unknown:
            raise serializers.ValidationError(
                f"Unknown key(s): {', '.join(unknown)}; routing reads {', '.join(self.fields)}.",
                code="unknown_key",
            )
        values = super().to_internal_value(data)
        return {key: value for key, value in values.items() if value is not None}
