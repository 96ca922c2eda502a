"""Helpers the voice services share: validating a row through its model, and refusing foreign rows."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from voice.models import Organization


def full_clean(instance: models.Model, *, exclude: Iterable[str] = ()) -> None:
    """Model validation (fields, validators, constraints) for writes that did not come through a form
    or a serializer, so every door stores only what the model allows."""
    instance.full_clean(exclude=list(exclude), validate_unique=True, validate_constraints=True)


def same_organization(organization: Organization, **rows: Any) -> None:
    """Every given row (or rows) must belong to `organization`; a foreign one is reported as missing.

    The API and admin only offer rows of the caller's scope, so this only fires for calls from code;
    the message is the one a missing row gets, so it says nothing about other organizations.
    """
    errors: dict[str, list[str]] = {}
    for name, value in rows.items():
        items = value if isinstance(value, list | tuple | set) else [value]
        for item in items:
            if item is not None and item.organization_id != organization.pk:
                errors.setdefault(name, []).append(f"No {name.rstrip('s')} with id {item.pk}.")
    if errors:
        raise ValidationError(errors)
