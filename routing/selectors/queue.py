"""The escalation queue in serving order, and an entry's place in it.

Serving order: entries waiting past their deadline (wait_deadline <= now) first, then higher priority,
then longer waiting (queued_at), then id. "Overdue" depends on the clock, so no index can hold the whole
order; it is read as two bands, overdue and punctual, each of which is an index order: the partial
index queue_serving_order_idx (priority_rank DESC, queued_at, id) WHERE status = 'queued', with
wait_deadline included so the band test is read from the index. A consumer that needs the next N
entries reads the overdue band with LIMIT N, then the punctual band with LIMIT of what is missing;
neither sorts the queue nor joins cases (entries carry the case's language).

A queue position is the number of waiting entries ahead plus one, counted as index ranges (see
queue_position); the cost grows with the entries ahead, not with a sort of the queue.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import BooleanField, Case, Exists, F, Func, Q, QuerySet, Value, When
from django.utils import timezone

from agents.models import AvailabilityStatus, HumanAgent
from routing.models import EscalationQueueEntry, Priority, QueueStatus

SERVING_ORDER = (F("priority_rank").desc(), "queued_at", "id")


class SkillsWithin(Func):
    """True when every code in a JSON array column is one of `codes`: for `required_skills`, the entry
    asks no skill outside the set. PostgreSQL: jsonb containment (`<@`); SQLite, which keeps JSON as
    text: no element of json_each outside the set. A queue-scan filter (a freed agent reads only the
    entries whose skills it holds), so a long queue whose head nobody can serve is not read in vain."""

    conditional = True
    output_field = BooleanField()
    arity = 1

    def __init__(self, expression: Any, codes: Iterable[str]) -> None:
        super().__init__(expression)
        self.codes = sorted(set(codes))

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        if not self.codes:
            return f"json_array_length({column}) = 0", [*params]
        marks = ", ".join(["%s"] * len(self.codes))
        return (
            f"NOT EXISTS (SELECT 1 FROM json_each({column}) j WHERE j.value NOT IN ({marks}))",
            [*params, *self.codes],
        )

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        column, params = compiler.compile(self.source_expressions[0])
        return f"{column} <@ %s::jsonb", [*params, json.dumps(self.codes)]


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


def ahead_of(cursor: QueueCursor, *, now: dt.datetime) -> Q:
    """Waiting entries that come before the position `cursor` in serving order (new work not yet in
    the queue has no entry id: every entry of its band and priority queued by then is ahead of it)."""
    rank, queued_at = cursor.priority_rank, cursor.queued_at
    if cursor.entry_id is None:
        same_rank = Q(priority_rank=rank, queued_at__lte=queued_at)
    else:
        same_rank = Q(priority_rank=rank, queued_at__lt=queued_at) | Q(
            priority_rank=rank, queued_at=queued_at, id__lt=cursor.entry_id
        )
    before_in_band = Q(priority_rank__gt=rank) | same_rank
    overdue = Q(wait_deadline__lte=now)
    if cursor.overdue:
        return overdue & before_in_band
    return overdue | (Q(wait_deadline__gt=now) & before_in_band)


def queue_anything_ahead(
    cursor: QueueCursor, *, now: dt.datetime, languages: Iterable[str] | None = None
) -> bool:
    """Whether any waiting entry (in one of `languages`, when given) may come before the position
    `cursor` (a superset of ahead_of: an entry of the same priority is counted whatever its age). Two
    indexed probes that stop at the first row: the overdue band and, for a punctual position, the
    punctual entries of its priority or higher (queue_language_deadline_idx with languages, else
    queue_deadline_idx and a prefix of queue_serving_order_idx). An OR of the two in one statement let
    the planner prefer a sequential scan, which reads the whole queue when nothing is ahead."""
    waiting = EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED)
    if languages is not None:
        waiting = waiting.filter(language__in=sorted({*languages, ""}))
    overdue = waiting.filter(wait_deadline__lte=now)
    if cursor.overdue:
        return overdue.filter(priority_rank__gte=cursor.priority_rank).exists()
    return (
        overdue.exists()
        or waiting.filter(wait_deadline__gt=now, priority_rank__gte=cursor.priority_rank).exists()
    )


def queue_waiting(
    *,
    now: dt.datetime,
    limit: int,
    after: QueueCursor | None = None,
    where: Q | None = None,
    examine: int | None = None,
    languages: Iterable[str] | None = None,
) -> list[EscalationQueueEntry]:
    """The next `limit` waiting entries in serving order after `after` (from the head if None),
    optionally narrowed by `where` (a filter on entry columns). At most two indexed queries.

    With `examine`, `where` is applied to the first `examine` entries of each band only (a bound on the
    rows read, where `limit` bounds the rows returned): a narrowing that matches nothing then reads
    `examine` index entries, not the whole band.

    With `languages` (which `where` must already require: an entry's language among them or none),
    a band is walked per language and the walks merged in serving order (PostgreSQL: UNION ALL of one
    walk per language, each an ordered range of queue_language_serving_idx whose band test on
    wait_deadline is read from the index): waiting work in other languages is never read, and a
    language with nothing waiting costs one index probe. A single walk in serving order read every
    entry ahead in any language (a backlog of 100,000 in a language the agent does not speak: 58 ms
    per dispatch). SQLite, which cannot order and limit the parts of a UNION, gates one walk on an
    EXISTS probe of queue_language_deadline_idx instead."""
    entries: list[EscalationQueueEntry] = []
    for overdue in (True, False):
        if overdue and after is not None and not after.overdue:
            continue  # the cursor is already past the overdue band
        band = _band(now=now, overdue=overdue)
        if after is not None and after.overdue == overdue:
            band = band.filter(_after(after))
        if examine is not None:
            band = band.filter(pk__in=band.order_by(*SERVING_ORDER)[:examine].values("pk"))
        if where is not None:
            band = band.filter(where)
        entries += _walk(band, overdue=overdue, now=now, languages=languages, limit=limit - len(entries))
        if len(entries) >= limit:
            break
    for entry in entries:
        entry.is_overdue = entry.wait_deadline <= now
    return entries


def _walk(
    band: QuerySet[EscalationQueueEntry],
    *,
    overdue: bool,
    now: dt.datetime,
    languages: Iterable[str] | None,
    limit: int,
) -> list[EscalationQueueEntry]:
    """The first `limit` entries of a band in serving order (see queue_waiting for `languages`)."""
    if languages is None:
        return list(band.order_by(*SERVING_ORDER)[:limit])
    codes = sorted({*languages, ""})
    if not connection.features.supports_slicing_ordering_in_compound:
        gate = Exists(_band(now=now, overdue=overdue).filter(language__in=codes))
        return list(band.filter(gate).order_by(*SERVING_ORDER)[:limit])
    walks = [band.filter(language=code).order_by(*SERVING_ORDER)[:limit] for code in codes]
    merged = walks[0].union(*walks[1:], all=True) if len(walks) > 1 else walks[0]
    return list(merged.order_by(*SERVING_ORDER)[:limit])


def queue_scan(
    *,
    now: dt.datetime,
    chunk: int = 100,
    limit: int = 1000,
    where: Q | None = None,
    grow: int = 1,
    examine: int | None = None,
    languages: Iterable[str] | None = None,
) -> Iterator[EscalationQueueEntry]:
    """Waiting entries in serving order, read `chunk` at a time (each next chunk `grow` times larger:
    a consumer that usually stops at one of the first entries reads few), at most `limit` of them.
    With `examine`, only the first `examine` entries of each band are considered (one read); with
    `languages`, see queue_waiting."""
    if examine is not None:
        yield from queue_waiting(now=now, limit=limit, where=where, examine=examine, languages=languages)
        return
    after: QueueCursor | None = None
    seen = 0
    while seen < limit:
        wanted = min(chunk, limit - seen)
        entries = queue_waiting(now=now, limit=wanted, after=after, where=where, languages=languages)
        yield from entries
        seen += len(entries)
        if len(entries) < wanted:
            return
        last = entries[-1]
        after = QueueCursor(last.is_overdue, last.priority_rank, last.queued_at, last.pk)
        chunk *= grow


def queue_position(*, entry: EscalationQueueEntry, now: dt.datetime | None = None) -> int:
    """1-based place of a waiting entry in serving order (see the module docstring); 0 if the entry
    is not waiting. One statement summing index-range counts:

    - the same band's entries of each higher priority: one (priority_rank, wait_deadline) range each
      (queue_rank_deadline_idx), so entries of the other band are never read;
    - the same band's entries of the same priority queued earlier (and the exact ties by id);
    - for a punctual entry, every overdue entry (queue_deadline_idx).

    Raw SQL: the ORM spelling (a Subquery per count, each needing a GROUP BY to count) read the status
    column from the table, which ruled out index-only scans."""
    if entry.status != QueueStatus.QUEUED:
        return 0
    now = now or timezone.now()
    overdue = entry.wait_deadline <= now
    ops = connection.ops
    at = ops.adapt_datetimefield_value(now)
    queued_at = ops.adapt_datetimefield_value(entry.queued_at)
    entry_id = EscalationQueueEntry._meta.pk.get_db_prep_value(entry.pk, connection)
    table = ops.quote_name(EscalationQueueEntry._meta.db_table)
    count = f"SELECT COUNT(*) FROM {table} WHERE status = %s AND "
    band = "wait_deadline <= %s" if overdue else "wait_deadline > %s"
    rank = entry.priority_rank
    parts: list[tuple[str, list]] = [
        (f"{count}priority_rank = %s AND {band}", [QueueStatus.QUEUED, higher, at])
        for higher in range(rank + 1, len(Priority.values) + 1)
    ]
    parts += [
        (
            f"{count}priority_rank = %s AND queued_at < %s AND {band}",
            [QueueStatus.QUEUED, rank, queued_at, at],
        ),
        (
            f"{count}priority_rank = %s AND queued_at = %s AND id < %s AND {band}",
            [QueueStatus.QUEUED, rank, queued_at, entry_id, at],
        ),
    ]
    if not overdue:
        parts.append((f"{count}wait_deadline <= %s", [QueueStatus.QUEUED, at]))
    sql = "SELECT " + " + ".join(f"({sql})" for sql, _ in parts)
    params = [value for _, values in parts for value in values]
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return 1 + int(cursor.fetchone()[0])
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_PLAN_FOR_POSITION, [DEAD_ROW_SHARE, DEAD_ROW_SLACK, table])
        (index_ranges,) = cursor.fetchone()[:1]
        if not index_ranges:  # churned: one scan of the table (see _PLAN_FOR_POSITION)
            sql, params = _position_one_count(entry, table=table, at=at, queued_at=queued_at, overdue=overdue)
        cursor.execute(sql, params)
        (ahead,) = cursor.fetchone()
        transaction.set_rollback(True)  # read only: rolling back drops the planner settings with it
    return 1 + int(ahead)


def _position_one_count(
    entry: EscalationQueueEntry, *, table: str, at: Any, queued_at: Any, overdue: bool
) -> tuple[str, list]:
    """The same count as queue_position's index ranges, as one predicate (one pass over the table)."""
    entry_id = EscalationQueueEntry._meta.pk.get_db_prep_value(entry.pk, connection)
    band = "wait_deadline <= %s" if overdue else "wait_deadline > %s"
    ahead = (
        f"({band} AND (priority_rank > %s OR (priority_rank = %s AND "
        "(queued_at < %s OR (queued_at = %s AND id < %s)))))"
    )
    params: list = [at, entry.priority_rank, entry.priority_rank, queued_at, queued_at, entry_id]
    if not overdue:
        ahead = f"(wait_deadline <= %s OR {ahead})"
        params = [at, *params]
    return f"SELECT COUNT(*) FROM {table} WHERE status = %s AND {ahead}", [QueueStatus.QUEUED, *params]


# The plan for a position, chosen by how many dead row versions the queue table holds (the statistics
# PostgreSQL keeps current at each transaction's end; a sweep's updates and dispatch's leave them until
# VACUUM removes them and marks the pages all-visible again).
# - Few (the table is vacuumed): each count is a range of an index that holds every column it reads, so
#   an index-only scan reads just the entries counted. Left to itself the planner preferred bitmap heap
#   and parallel sequential scans on this hot, often-updated table (p95 23 ms against 10 ms at 100,000
#   waiting entries), so those are switched off for the statement.
# - Many (more than DEAD_ROW_SHARE of the live rows, plus DEAD_ROW_SLACK): index-only scans must visit
#   the heap for every entry on a page that is not all-visible, and the forced index ranges collapsed
#   from ~10 ms to 350-600 ms after one sweep over 100,000 entries (167,000 dead row versions). One count
#   of the whole predicate, planned freely, reads the table once instead (tens of ms), until VACUUM
#   (autovacuum with the queue's table settings, routing migration 0014, or `dispatch_queue --loop`,
#   which vacuums the table after a sweep that changed many entries) restores the index-only plan.
DEAD_ROW_SHARE = 0.05
DEAD_ROW_SLACK = 1000
_PLAN_FOR_POSITION = (
    "SELECT healthy, set_config('enable_seqscan', CASE WHEN healthy THEN 'off' ELSE 'on' END, true), "
    "set_config('enable_bitmapscan', CASE WHEN healthy THEN 'off' ELSE 'on' END, true), "
    "set_config('max_parallel_workers_per_gather', '0', true) FROM (SELECT COALESCE(("
    "SELECT n_dead_tup <= %s * n_live_tup + %s FROM pg_stat_user_tables WHERE relid = %s::regclass"
    "), TRUE) AS healthy) plan"
)


def assignable_agents() -> QuerySet[HumanAgent]:
    """Agents a supervisor may hand a waiting case to now: active, at work (available or busy), with
    spare capacity. (Skills and schedule are the supervisor's judgement; the "never" rules are checked
    when the assignment is made.)"""
    return (
        HumanAgent.objects.filter(
            is_active=True,
            availability__status__in=[AvailabilityStatus.AVAILABLE, AvailabilityStatus.BUSY],
            availability__current_load__lt=F("max_concurrent_work"),
        )
        .select_related("availability")
        .order_by("code")
    )
