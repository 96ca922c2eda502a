"""Reads of the scoring app: the queue in serving order, callbacks due and overdue, conversions with totals.

The queue's rules (calling window, attempts, re-call gap, callback due and hand-over) come from
`scoring.engine` through `CallPolicy.cutoffs`, turned here into one Q object each; the engine's tests
prove the cutoffs say what the per-person rules say. Serving order: due callbacks first (oldest promise
first; a legacy callback without a time before any), then the highest score, then the oldest entry, then
the entry id, so the order is total and stable.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db.models import BooleanField, Case, Count, Expression, F, Q, QuerySet, Sum, Value, When
from django.db.models.functions import TruncWeek
from django.utils import timezone

from agents.models import HumanAgent
from scoring.conf import call_policy
from scoring.engine import PolicyCutoffs
from scoring.models import CallQueueEntry, Conversion, QueueStatus

SCORE = "person__call_score__"


class ValueIn(Expression):
    """`<expression> IN (values)` as one condition; on PostgreSQL `= ANY(%s)` with the values as one array
    parameter. The calling window's zone list has hundreds of names: as an IN list, every claim paid for
    compiling, splitting and planning hundreds of placeholders in each of its walks."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, expression: Any, values: Iterable[str]) -> None:
        super().__init__(output_field=BooleanField())
        self.expression = F(expression) if isinstance(expression, str) else expression
        self.values = list(values)

    def get_source_expressions(self) -> list[Any]:
        return [self.expression]

    def set_source_expressions(self, exprs: list[Any]) -> None:
        (self.expression,) = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.expression)
        if not self.values:
            return "1 = 0", []
        return f"{sql} IN ({', '.join(['%s'] * len(self.values))})", [*params, *self.values]

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        sql, params = compiler.compile(self.expression)
        return f"{sql} = ANY(%s::text[])", [*params, self.values]


def callable_entry_q(cutoffs: PolicyCutoffs) -> Q:
    """Active, inside the calling window, under the attempt limit, past the re-call gap (all read from the
    entry's serving copy of the person's score row), and the person not claimed by anyone."""
    return (
        # the score row's own is_active too: the authoritative flag, and an INNER JOIN (FOR UPDATE OF it)
        Q(serving_active=True, **{f"{SCORE}is_active": True, f"{SCORE}claimed_at__isnull": True})
        & Q(ValueIn("serving_time_zone", sorted(cutoffs.open_zones)))
        & Q(serving_call_attempts__lt=cutoffs.max_attempts)
        & (Q(serving_last_call_at__isnull=True) | Q(serving_last_call_at__lte=cutoffs.last_call_before))
    )


def callback_due_q(now: dt.datetime) -> Q:
    return Q(callback_id__isnull=False) & (
        Q(callback_scheduled_for__isnull=True) | Q(callback_scheduled_for__lte=now)
    )


def callback_visible_q(cutoffs: PolicyCutoffs, agent: HumanAgent | None) -> Q:
    """Anyone's callback, the agent's own, or an agent-only one past the hand-over delay."""
    anyones = Q(callback_agent__isnull=True) | Q(
        callback_scheduled_for__lte=cutoffs.handover_scheduled_before
    )
    return anyones | Q(callback_agent=agent) if agent is not None else anyones


def queue_cutoffs(now: dt.datetime | None = None) -> PolicyCutoffs:
    return call_policy().cutoffs(now or timezone.now())


def queue_serving(
    *, queue_type: str, agent: HumanAgent | None = None, now: dt.datetime | None = None
) -> QuerySet[CallQueueEntry]:
    """Pending entries of `queue_type` that may be called now, in serving order, with their score row.

    Without an agent (a supervisor's view) agent-only callbacks are shown once due; with one, only those
    the agent may take."""
    cutoffs = queue_cutoffs(now)
    due = callback_due_q(cutoffs.now)
    visible = due if agent is None else due & callback_visible_q(cutoffs, agent)
    return (
        CallQueueEntry.objects.filter(queue_type=queue_type, status=QueueStatus.PENDING)
        .filter(callable_entry_q(cutoffs))
        .filter(Q(callback_id__isnull=True) | visible)
        .select_related("person", "person__call_score", "callback_agent")
        .alias(regular=Case(When(callback_id__isnull=True, then=Value(1)), default=Value(0)))
        .order_by(
            "regular",
            F("callback_scheduled_for").asc(nulls_first=True),
            F("serving_score").desc(),
            "created_at",
            "id",
        )
    )


def callbacks_pending() -> QuerySet[CallQueueEntry]:
    return (
        CallQueueEntry.objects.filter(status=QueueStatus.PENDING, callback_id__isnull=False)
        .select_related("person", "callback_agent")
        .order_by(F("callback_scheduled_for").asc(nulls_first=True), "id")
    )


def callbacks_due(*, now: dt.datetime | None = None, overdue_only: bool = False) -> QuerySet[CallQueueEntry]:
    """Due callbacks; `overdue_only`: past the hand-over delay (or with no recorded time)."""
    cutoffs = queue_cutoffs(now)
    limit = cutoffs.handover_scheduled_before if overdue_only else cutoffs.now
    return callbacks_pending().filter(
        Q(callback_scheduled_for__isnull=True) | Q(callback_scheduled_for__lte=limit)
    )


def conversions_filtered(
    *,
    converted_from: dt.datetime | None = None,
    converted_to: dt.datetime | None = None,
    conversion_type: str | None = None,
    agent: HumanAgent | None = None,
) -> QuerySet[Conversion]:
    """Conversions newest first; `agent` matches the primary agent or a contributing one."""
    queryset = Conversion.objects.all()
    if converted_from is not None:
        queryset = queryset.filter(converted_at__gte=converted_from)
    if converted_to is not None:
        queryset = queryset.filter(converted_at__lt=converted_to)
    if conversion_type:
        queryset = queryset.filter(conversion_type=conversion_type)
    if agent is not None:
        queryset = queryset.filter(
            Q(primary_agent=agent)
            | Q(
                pk__in=Conversion.contributing_agents.through.objects.filter(humanagent=agent).values(
                    "conversion_id"
                )
            )
        )
    return (
        queryset.select_related("person", "primary_agent")
        .prefetch_related("contributing_agents")
        .order_by("-converted_at", "-id")
    )


def conversion_totals(queryset: QuerySet[Conversion]) -> dict[str, Any]:
    totals = queryset.order_by().aggregate(
        count=Count("id"), claim_value=Sum("claim_value"), estimated_commission=Sum("estimated_commission")
    )
    return {
        "count": totals["count"],
        "claim_value": totals["claim_value"] or Decimal("0.00"),
        "estimated_commission": totals["estimated_commission"] or Decimal("0.00"),
    }


def conversion_totals_by_agent_week(queryset: QuerySet[Conversion]) -> list[dict[str, Any]]:
    """Totals per primary agent and week (Monday), oldest week first."""
    return list(
        queryset.order_by()
        .annotate(week=TruncWeek("converted_at"))
        .values("week", "primary_agent__code", "primary_agent__name")
        .annotate(
            count=Count("id"),
            claim_value=Sum("claim_value"),
            estimated_commission=Sum("estimated_commission"),
        )
        .order_by("week", "primary_agent__code")
    )
