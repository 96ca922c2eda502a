"""Reads of calls with their turns and events, scoped to the caller."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce

from voice.access import VoiceCaller
from voice.models import Call, CallEvent, Turn
from voice.selectors.common import scoped_get


def call_list(*, caller: VoiceCaller) -> QuerySet[Call]:
    """Calls with their location and configuration joined and their turn count: one query a page.

    The count is a correlated subquery rather than a join and GROUP BY, so the page's COUNT(*) stays a
    plain count of calls (an unused annotation is dropped from it)."""
    turns = (
        Turn.objects.filter(call_id=OuterRef("pk"))
        .order_by()
        .values("call_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        caller.scope(Call.objects.all())
        .select_related("organization", "location", "agent_config")
        .annotate(turn_count=Coalesce(Subquery(turns, output_field=IntegerField()), 0))
    )


def call_get(*, caller: VoiceCaller, pk: Any) -> Call:
    """One call with its turns and events (three queries)."""
    queryset = (
        caller.scope(Call.objects.all())
        .select_related("organization", "location", "agent_config")
        .prefetch_related(
            Prefetch("turns", queryset=Turn.objects.order_by("turn_index")),
            Prefetch("events", queryset=CallEvent.objects.order_by("occurred_at", "pk")),
        )
    )
    return scoped_get(queryset, caller=caller, pk=pk, kind="call")
