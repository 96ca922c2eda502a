"""Reads of lead routing: the assignment queues in serving order, a lead's page, its events.

Serving order. Within a queue type: higher score first, then older (queued_at), then id; the hot queue
may be set to last in, first out (settings LEADS["HOT_QUEUE_ORDER"] = "lifo": newest first), as
Twilio offers for hot leads. Across queue types a freed agent is offered QUEUE_TYPE_ORDER in turn:
reassignment (leads already escalated), hot, active, waiting, nurture. The position a supervisor sees is
the row's place in that order, derived when read (partial indexes lead_queue_serving_idx and
lead_queue_lifo_idx serve both orders), never a stored column renumbered on insert.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, Case, F, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from routing.models import (
    AssignmentQueue,
    AssignmentQueueStatus,
    EscalationQueueEntry,
    Lead,
    LeadRoutingHistory,
    QueueStatus,
    RoutingEvent,
    RoutingExperiment,
    RoutingExperimentVariant,
    RoutingRule,
)
from routing.selectors.agent_sql import table

QUEUE_TYPE_ORDER: tuple[str, ...] = ("reassignment", "hot", "active", "waiting", "nurture")


def serving_order_of(queue_type: str) -> tuple:
    if queue_type == "hot" and settings.LEADS.get("HOT_QUEUE_ORDER") == "lifo":
        return (F("queued_at").desc(), "id")
    return (F("lead_score").desc(), "queued_at", "id")


def lead_queue_serving_order(*, queue_type: str, now: dt.datetime | None = None) -> QuerySet[AssignmentQueue]:
    """The waiting entries of one queue type in serving order, with their lead, annotated `sla_breached_now`
    (past the SLA expiry)."""
    now = now or timezone.now()
    return (
        AssignmentQueue.objects.filter(status=AssignmentQueueStatus.WAITING, queue_type=queue_type)
        .select_related("lead")
        .annotate(
            sla_breached_now=Case(
                When(sla_expiry__lte=now, then=Value(True)), default=Value(False), output_field=BooleanField()
            )
        )
        .order_by(*serving_order_of(queue_type))
    )


@dataclass(frozen=True)
class WaitingWork:
    """What waits for a free agent: the queue types with a waiting lead (in QUEUE_TYPE_ORDER) and
    whether any case is queued."""

    lead_types: list[str]
    cases: bool

    def __bool__(self) -> bool:
        return self.cases or bool(self.lead_types)


@functools.cache
def _waiting_work_sql() -> str:
    return (
        f"SELECT DISTINCT queue_type FROM {table(AssignmentQueue)} WHERE status = %s "
        f"UNION ALL SELECT NULL WHERE EXISTS (SELECT 1 FROM {table(EscalationQueueEntry)} WHERE status = %s)"
    )


def waiting_work() -> WaitingWork:
    """Both queues probed in one indexed statement: the queue types with a waiting lead, in
    QUEUE_TYPE_ORDER, and whether a case is queued. Capacity freed with nothing waiting (the common
    availability change) then costs this one query and no dispatch: no lock, agent facts or queue walk.

    Hand-written: a compound of a DISTINCT and an EXISTS, which the ORM cannot state on SQLite (no
    LIMIT inside a compound). A NULL row says a case is queued."""
    with connection.cursor() as cursor:
        cursor.execute(_waiting_work_sql(), [AssignmentQueueStatus.WAITING, QueueStatus.QUEUED])
        present = {row[0] for row in cursor.fetchall()}
    return WaitingWork(
        lead_types=[queue_type for queue_type in QUEUE_TYPE_ORDER if queue_type in present],
        cases=None in present,
    )


def lead_detail(*, lead_id) -> Lead | None:
    return Lead.objects.select_related("agent").filter(pk=lead_id).first()


def lead_events(*, lead_id) -> QuerySet[RoutingEvent]:
    return RoutingEvent.objects.filter(lead_id=lead_id).select_related("agent").order_by("-created_at", "-id")


def lead_queue_position(*, entry: AssignmentQueue) -> int:
    """1-based place of a waiting entry in its queue type's serving order: one COUNT of the entries
    ahead of it (the same order as lead_queue_serving_order, stated as a filter)."""
    if entry.queue_type == "hot" and settings.LEADS.get("HOT_QUEUE_ORDER") == "lifo":
        ahead = Q(queued_at__gt=entry.queued_at) | Q(queued_at=entry.queued_at, id__lt=entry.pk)
    else:
        ahead = (
            Q(lead_score__gt=entry.lead_score)
            | Q(lead_score=entry.lead_score, queued_at__lt=entry.queued_at)
            | Q(lead_score=entry.lead_score, queued_at=entry.queued_at, id__lt=entry.pk)
        )
    waiting = AssignmentQueue.objects.filter(
        status=AssignmentQueueStatus.WAITING, queue_type=entry.queue_type
    )
    return waiting.filter(ahead).count() + 1


def lead_list() -> QuerySet[Lead]:
    """Leads newest first with their agent (one query per page)."""
    return Lead.objects.select_related("agent").order_by("-created_at", "-id")


def lead_routing_history(*, lead_id) -> QuerySet[LeadRoutingHistory]:
    """A lead's routings, newest first, with the agent, experiment and variant joined."""
    return (
        LeadRoutingHistory.objects.filter(lead_id=lead_id)
        .select_related("assigned_agent", "experiment", "variant")
        .order_by("-routed_at", "-id")
    )


def rule_list() -> QuerySet[RoutingRule]:
    """Rules in the order they run: higher priority first, then by name."""
    return RoutingRule.objects.order_by("-priority", "name")


def experiment_list() -> QuerySet[RoutingExperiment]:
    """Experiments newest first, their variants prefetched on the allocation line's order."""
    variants = RoutingExperimentVariant.objects.order_by("position", "name")
    return RoutingExperiment.objects.prefetch_related(Prefetch("variants", queryset=variants)).order_by(
        "-created_at", "-id"
    )


def experiment_detail(*, experiment_id) -> RoutingExperiment | None:
    return experiment_list().filter(pk=experiment_id).first()
