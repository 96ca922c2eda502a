"""The escalation queue in serving order, and an entry's place in it.

Serving order: entries waiting past their deadline (wait_deadline <= now) first, then higher priority,
then longer waiting (queued_at), then id. "Overdue" depends on the clock, so no index can hold the whole
order; it is read as two bands, overdue and punctual, each of which is an index order: the partial
index queue_serving_order_idx (priority_rank DESC, queued_at, id) WHERE status = 'queued', with
wait_deadline included so the band test is read from the index. A consumer that needs the next N
entries reads the overdue band with LIMIT N, then the punctual band with LIMIT of what is missing;
neither sorts the queue nor joins cases (entries carry the case's language).

A queue position is the number of waiting entries ahead plus one, counted as index ranges: for an
overdue entry, the overdue entries in the serving-index prefix before it; for a punctual one, every
overdue entry (queue_deadline_idx range) plus the punctual entries in the prefix before it. Each prefix
is split into `priority_rank > p`, `priority_rank = p AND queued_at < q` and the exact tie, so every
count is a plain index range scan; the cost grows with the entries ahead, not with a sort of the queue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import BooleanField, Case, Count, F, IntegerField, Q, QuerySet, Subquery, Value, When
from django.utils import timezone

from routing.models import EscalationQueueEntry, QueueStatus

SERVING_ORDER = (F("priority_rank").desc(), "queued_at", "id")


def queue_serving_order(*, now: dt.datetime | None = None) -> QuerySet[EscalationQueueEntry]:
    """Waiting entries in serving order, as one queryset for pages (admin, API list).

    Annotated `is_overdue` (waited past its deadline). The case is joined for the list's columns. It
    sorts on the overdue flag, so a page costs a sort of the waiting entries; the routing hot paths
    read the queue through `queue_waiting` instead.
    """
    now = now or timezone.now()
    return (
        EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED)
        .select_related("case")
        .annotate(
            is_overdue=Case(
                When(wait_deadline__lte=now, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by(F("is_overdue").desc(), *SERVING_ORDER)
    )


@dataclass(frozen=True)
class QueueCursor:
    """Where a serving-order scan stopped: the last entry's band and sort key."""

    overdue: bool
    priority_rank: int
    queued_at: dt.datetime
    entry_id: object


def _band(*, now: dt.datetime, overdue: bool) -> QuerySet[EscalationQueueEntry]:
    waiting = EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED)
    return waiting.filter(wait_deadline__lte=now) if overdue else waiting.filter(wait_deadline__gt=now)


def _after(cursor: QueueCursor) -> Q:
    rank, queued_at = cursor.priority_rank, cursor.queued_at
    return (
        Q(priority_rank__lt=rank)
        | Q(priority_rank=rank, queued_at__gt=queued_at)
        | Q(priority_rank=rank, queued_at=queued_at, id__gt=cursor.entry_id)
    )


def queue_waiting(
    *, now: dt.datetime, limit: int, after: QueueCursor | None = None, where: Q | None = None
) -> list[EscalationQueueEntry]:
    """The next `limit` waiting entries in serving order after `after` (from the head if None),
    optionally narrowed by `where` (a filter on entry columns). At most two indexed queries."""
    entries: list[EscalationQueueEntry] = []
    for overdue in (True, False):
        if overdue and after is not None and not after.overdue:
            continue  # the cursor is already past the overdue band
        band = _band(now=now, overdue=overdue)
        if after is not None and after.overdue == overdue:
            band = band.filter(_after(after))
        if where is not None:
            band = band.filter(where)
        entries += list(band.order_by(*SERVING_ORDER)[: limit - len(entries)])
        if len(entries) >= limit:
            break
    for entry in entries:
        entry.is_overdue = entry.wait_deadline <= now
    return entries


def queue_scan(
    *, now: dt.datetime, chunk: int = 100, limit: int = 1000, where: Q | None = None
) -> Iterator[EscalationQueueEntry]:
    """Waiting entries in serving order, read `chunk` at a time, at most `limit` of them."""
    after: QueueCursor | None = None
    seen = 0
    while seen < limit:
        wanted = min(chunk, limit - seen)
        entries = queue_waiting(now=now, limit=wanted, after=after, where=where)
        yield from entries
        seen += len(entries)
        if len(entries) < wanted:
            return
        last = entries[-1]
        after = QueueCursor(last.is_overdue, last.priority_rank, last.queued_at, last.pk)


def _count(queryset: QuerySet[EscalationQueueEntry]) -> Subquery:
    return Subquery(
        queryset.order_by().values("status").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )


def queue_position(*, entry: EscalationQueueEntry, now: dt.datetime | None = None) -> int:
    """1-based place of a waiting entry in serving order (see the module docstring); 0 if the entry
    is not waiting. One query of up to four index-range counts."""
    if entry.status != QueueStatus.QUEUED:
        return 0
    now = now or timezone.now()
    overdue = entry.wait_deadline <= now
    band = _band(now=now, overdue=overdue)
    rank, queued_at = entry.priority_rank, entry.queued_at
    counts = {
        "higher": _count(band.filter(priority_rank__gt=rank)),
        "older": _count(band.filter(priority_rank=rank, queued_at__lt=queued_at)),
        "tied": _count(band.filter(priority_rank=rank, queued_at=queued_at, id__lt=entry.pk)),
    }
    if not overdue:
        counts["overdue"] = _count(_band(now=now, overdue=True))
    row = EscalationQueueEntry.objects.filter(pk=entry.pk).annotate(**counts).values(*counts).first()
    if row is None:
        return 0
    return 1 + sum(value or 0 for value in row.values())
