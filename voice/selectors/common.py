"""What every voice selector shares: fetching one row inside the caller's scope."""

from __future__ import annotations

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from voice.access import VoiceCaller
from voice.errors import VoiceNotFound

M = TypeVar("M", bound=Model)


def scoped_get(queryset: QuerySet[M], *, caller: VoiceCaller, pk: Any, kind: str) -> M:
    """The row `pk` of `queryset` if it is in the caller's scope, else VoiceNotFound (also for a row
    of another organization: the two are indistinguishable)."""
    try:
        return caller.scope(queryset).get(pk=int(pk))
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise VoiceNotFound(kind=kind, pk=pk) from None
