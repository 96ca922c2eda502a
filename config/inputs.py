"""Input fields and checks every input serializer shares: what the API takes is what the schema says.

- IdentifierField: an identifier exactly as sent (surrounding whitespace is a 400, never trimmed);
- LookupSlugRelatedField: a lookup that never sends the database a value no row can hold (NUL);
- StrictInput: the project's one input rule, mixed into every input serializer: a key the request may
  not set (unknown, or read-only) is a 400 naming it, and each value has the JSON type (and RFC 3339
  format) the schema gives it, not coerced.
"""

from __future__ import annotations

import copy
import re
from typing import Any, ClassVar

from django.db import models
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import empty
from rest_framework.settings import api_settings


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


def _primary_key_type(field: serializers.PrimaryKeyRelatedField) -> tuple[str, tuple[type, ...]] | None:
    """A row's id as the schema gives it: an integer for integer keys, a string for UUIDs."""
    if field.pk_field is not None:
        return _expected_json_type(field.pk_field)
    queryset = field.get_queryset() if field.queryset is not None else None
    if queryset is None:
        return None
    primary_key = queryset.model._meta.pk
    if isinstance(primary_key, models.IntegerField):
        return "an integer", (int,)
    if isinstance(primary_key, (models.UUIDField, models.CharField)):
        return "a string", (str,)
    return None


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
        field,
        (
            serializers.ListField,
            serializers.ListSerializer,
            serializers.MultipleChoiceField,
            serializers.ManyRelatedField,
        ),
    ):
        return "a list", (list,)
    if isinstance(field, serializers.PrimaryKeyRelatedField):
        return _primary_key_type(field)
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


# RFC 3339 as OpenAPI's `format: date` and `format: date-time` mean it. DRF's parsers are laxer: Python's
# fromisoformat takes "20260101", and a date-time without an offset is read in the server's time zone.
RFC3339_DATE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
RFC3339_DATE_TIME = re.compile(r"\A\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})\Z")


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
    if isinstance(field, serializers.DateTimeField) and not RFC3339_DATE_TIME.match(value):
        return "Use an ISO 8601 date-time with its UTC offset, e.g. 2026-01-01T09:00:00Z."
    if isinstance(field, serializers.DateField) and not RFC3339_DATE.match(value):
        return "Use an ISO 8601 date, YYYY-MM-DD."
    return None


def _too_long(field: serializers.Field, value: Any) -> bool:
    max_length = getattr(field, "max_length", None)
    return (
        isinstance(field, serializers.CharField)
        and max_length is not None
        and isinstance(value, str)
        and len(value) > max_length
    )


# Fields whose values hold JSON the serializer does not look into (an object's keys, nested values).
FREE_FORM_JSON = (
    serializers.JSONField,
    serializers.DictField,
    serializers.HStoreField,
    serializers.ListField,
)


def _holds_nul(value: Any) -> bool:
    """A NUL character anywhere in a JSON value, keys included (PostgreSQL's text and jsonb cannot hold
    one: the write itself would fail)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def _key_error(fields: Any, name: str, writable: list[str]) -> ErrorDetail:
    if name in fields:
        return ErrorDetail("Read-only: set by the service, not by the request.", code="read_only")
    return ErrorDetail(f"Unknown field; expected one of: {', '.join(writable)}.", code="unknown_field")


class StrictInput(serializers.Serializer):
    """What the request sends is what the schema names, as the schema types it; nothing is dropped or
    coerced silently. Mixed into every input serializer of the API (nested rows included):

    - a key the request may not set is a 400 naming it: an unknown one (a typo such as `prority`: the
      message lists the writable keys) or a read-only one (`status` where only a transition changes it);
    - values of the JSON type the schema states: `"employee_id": 0` is a 400 naming the field, not the
      string "0", and `"manual_override": 0` is not false (DRF converts numbers to strings and
      0/1/"yes"/"on" to booleans); also for the items of a list of plain values. A field DRF refuses
      anyway keeps DRF's own error (and code); the type error is added for the fields DRF would have
      coerced; free-form JSON values (a JSONField, DictField or ListField) hold no NUL character, in keys or
      values, however deep;
    - a reference to a row is its id as the schema types it (an integer key is a number, a UUID a
      string; a list of references is a list of such ids), never an empty string read as null.

    All of a request's problems are reported at once, keyed by field. A serializer of query parameters
    (whose values are all strings) sets `check_json_types = False` and keeps the key rule."""

    check_json_types = True

    # Each class's fields as first built, copied for every instance. A ModelSerializer introspects its
    # model whenever one is instantiated (half a millisecond of an availability PATCH); a copy is what
    # DRF hands out for declared fields anyway. Fields here never depend on the instance or context.
    _field_templates: ClassVar[dict[type, dict[str, serializers.Field]]] = {}

    def get_fields(self) -> dict[str, serializers.Field]:
        templates = StrictInput._field_templates.get(type(self))
        if templates is None:
            templates = StrictInput._field_templates[type(self)] = super().get_fields()
        return copy.deepcopy(templates)

    def _key_errors(self, data: dict[str, Any]) -> dict[str, list[ErrorDetail]]:
        writable = sorted(name for name, field in self.fields.items() if not field.read_only)
        return {name: [_key_error(self.fields, name, writable)] for name in data if name not in set(writable)}

    def _type_errors(self, data: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        for name, field in self.fields.items():
            if field.read_only or name not in data:
                continue
            message = _type_error(field, data[name])
            if isinstance(field, serializers.RelatedField) and data[name] == "":
                # DRF reads an empty string as null for a reference; in JSON it is neither a row's id nor null
                message = "Expected an id, got an empty string (null leaves it unset where that is allowed)."
            if message:
                errors[name] = [ErrorDetail(message, code="invalid_type")]
            elif _too_long(field, data[name]):
                # the schema's maxLength counts what is sent; DRF counts after trimming whitespace around it
                errors[name] = [
                    ErrorDetail(
                        f"Ensure this field has no more than {field.max_length} characters.",
                        code="max_length",
                    )
                ]
            elif isinstance(field, FREE_FORM_JSON) and _holds_nul(data[name]):
                errors[name] = [ErrorDetail("Null characters are not allowed.", code="null_characters")]
            elif isinstance(field, (serializers.ListField, serializers.ManyRelatedField)) and isinstance(
                data[name], list
            ):
                child = field.child if isinstance(field, serializers.ListField) else field.child_relation
                items = {
                    str(index): [ErrorDetail(item_message, code="invalid_type")]
                    for index, item in enumerate(data[name])
                    if (item_message := _type_error(child, item))
                }
                if items:
                    errors[name] = items
        return errors

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            return super().to_internal_value(data)
        keys = self._key_errors(data)
        known = data.copy()  # a QueryDict stays one, with its lists
        for name in keys:
            del known[name]
        refused: dict[str, Any] = {}
        original: serializers.ValidationError | None = None
        try:
            value = super().to_internal_value(known)
        except serializers.ValidationError as error:
            if not isinstance(error.detail, dict):
                if not keys:
                    raise
                error.detail = {api_settings.NON_FIELD_ERRORS_KEY: error.detail}
            refused, original = dict(error.detail), error
        types = self._type_errors(known) if self.check_json_types else {}
        coerced = {name: errors for name, errors in types.items() if name not in refused}
        if coerced or keys:
            raise serializers.ValidationError({**refused, **coerced, **keys})
        if original is not None:
            raise original
        return value


class FullRowSerializer(StrictInput, serializers.ModelSerializer):
    """A nested row that validates as a complete row even when its parent is a PATCH.

    DRF relaxes required fields all the way down when the root serializer is partial (fields consult
    `self.root.partial`), so a PATCHed schedule without `end_time` or a skill without `proficiency`
    would reach validate() or the database. A given nested list replaces the whole set, so each row
    must be whole: inside a partial parent, each row is validated by a standalone copy of its
    serializer, whose root is itself and not partial.
    """

    def run_validation(self, data: Any = empty) -> Any:
        if self.root is not self and getattr(self.root, "partial", False):
            standalone = type(self)(data=data, context=self.context)
            standalone.is_valid(raise_exception=True)
            return standalone.validated_data
        return super().run_validation(data)
