"""Validators, normalisers and database expressions shared by the voice models.

Normalisers are total and idempotent (normalising twice gives the same value); the validators run on the
normalised value, so a form, a serializer and `Model.save` agree on what is stored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Func
from django.utils.deconstruct import deconstructible

from voice.countries import ISO_3166_1_ALPHA_2

# --- phone numbers ----------------------------------------------------------------------------------

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PHONE_PUNCTUATION = re.compile(r"[\s().\-/]")


def phone_normalize(value: str) -> str:
    """'+1 (415) 555-0100' -> '+14155550100'; a leading 00 becomes +. Blank stays blank."""
    compact = _PHONE_PUNCTUATION.sub("", value or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact


def validate_phone(value: str) -> None:
    if value and not E164.match(value):
        raise ValidationError(
            "%(value)s is not a phone number in international format (E.164), e.g. +14155550100.",
            code="invalid_phone",
            params={"value": value},
        )


# --- addresses ----------------------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")


def text_normalize(value: str | None) -> str:
    """Trimmed, inner runs of whitespace collapsed to one space."""
    return _SPACES.sub(" ", value or "").strip()


def code_normalize(value: str | None) -> str:
    """Codes (country, postal code, region codes) compare case-insensitively: stored upper-case."""
    return text_normalize(value).upper()


def region_normalize(value: str | None) -> str:
    """A region written as a code (CA, NSW, ON) is upper-cased; a region name keeps its spelling."""
    text = text_normalize(value)
    return text.upper() if re.fullmatch(r"[A-Za-z]{1,3}", text) else text


def validate_country(value: str) -> None:
    if value not in ISO_3166_1_ALPHA_2:
        raise ValidationError(
            "%(value)s is not an ISO 3166-1 alpha-2 country code (use e.g. US, GB, DE).",
            code="invalid_country",
            params={"value": value},
        )


# --- knowledge tags ------------------------------------------------------------------------------------

TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")
MAX_TAGS = 20


def tag_normalize(tag: str) -> str:
    """' Parking Lot ' -> 'parking-lot': lower case, words joined by '-'."""
    return "-".join(str(tag).strip().lower().split())


def tags_normalize(tags: Iterable[Any] | Any) -> Any:
    """Each tag normalised, duplicates dropped (first kept). Anything not a list is returned as it is,
    for the validator to reject."""
    if not isinstance(tags, list | tuple):
        return tags
    seen: dict[str, None] = {}
    for tag in tags:
        if isinstance(tag, str):
            seen.setdefault(tag_normalize(tag), None)
        else:
            return list(tags)  # a non-string element: left for validate_tags to name
    return list(seen)


def validate_tags(value: Any) -> None:
    if not isinstance(value, list):
        raise ValidationError('Tags must be a list of words, e.g. ["hours", "parking"].', code="not_a_list")
    if len(value) > MAX_TAGS:
        raise ValidationError("At most %(limit)s tags.", code="too_many_tags", params={"limit": MAX_TAGS})
    bad = [str(tag) for tag in value if not isinstance(tag, str) or not TAG_PATTERN.match(tag)]
    if bad:
        raise ValidationError(
            "Not valid tags: %(tags)s (letters, digits, - and _, at most 50 characters).",
            code="invalid_tag",
            params={"tags": ", ".join(bad)},
        )


# --- full-text search -------------------------------------------------------------------------------------

# The text search configuration of the stored knowledge search vector; queries must use the same one.
SEARCH_CONFIG = "english"


class SearchDocumentField(SearchVectorField):
    """The stored search document of a knowledge entry: `tsvector` on PostgreSQL, text on SQLite.

    PostgreSQL keeps the weighted vector (title A, content B) that the GIN index serves; SQLite has no
    tsvector, so its fallback search reads the same column holding the lower-cased title and content.
    Either way the database computes it (a stored generated column), never the application.
    """

    def db_type(self, connection: Any) -> str:
        return "tsvector" if connection.vendor == "postgresql" else "text"


@deconstructible(path="voice.models.common.KnowledgeSearchDocument")
class KnowledgeSearchDocument(Func):
    """The expression of the generated search column (see SearchDocumentField)."""

    arity = 2
    output_field = SearchDocumentField()

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        title, title_params = compiler.compile(self.source_expressions[0])
        content, content_params = compiler.compile(self.source_expressions[1])
        return (
            f"LOWER(COALESCE({title}, '') || ' ' || COALESCE({content}, ''))",
            [*title_params, *content_params],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        title, title_params = compiler.compile(self.source_expressions[0])
        content, content_params = compiler.compile(self.source_expressions[1])
        config = f"'{SEARCH_CONFIG}'::regconfig"
        return (
            f"(setweight(to_tsvector({config}, COALESCE({title}, '')), 'A') || "
            f"setweight(to_tsvector({config}, COALESCE({content}, '')), 'B'))",
            [*title_params, *content_params],
        )


@deconstructible(path="voice.models.common.IsJSONObject")
class IsJSONObject(Func):
    """True when a JSON column holds an object (policies, script overrides, event data); the object
    counterpart of agents.models.IsJSONArray."""

    arity = 1
    template = "JSON_TYPE(%(expressions)s) = 'object'"
    output_field = models.BooleanField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="JSONB_TYPEOF(%(expressions)s) = 'object'", **extra_context
        )
