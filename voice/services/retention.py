"""Retention and sanitization of voice data (the seed's periods; settings.VOICE_RETENTION, in days).

Deleted when older than: failed calls 90, calls 730 (each with its turns and events), call events 180,
turns 365, appointments 1825. Sanitized when older than 90: a call's transcript and caller phone number
are emptied (`sanitized_at` records when) and each turn's text is emptied, while counts, token
counts, latencies, sentiment, statuses and outcomes stay for analytics. "Older than N days" is
strictly older than now minus N days: a row one day younger than its limit is kept.

How it runs. Steps go in a fixed order (the calls first, so their turns and events leave with them),
each in batches of `batch_size` rows, one transaction per batch. A batch of calls picks the calls'
ids, then deletes their turns, their events and them; a batch of other rows is one statement,
`DELETE` (or `UPDATE`) `... WHERE id IN (SELECT id ... LIMIT batch_size)`, the ids coming through the
timestamp index or the partial index of the rows not yet sanitized. Interrupted, it has committed whole batches only; run again, it carries on
where it stopped, and a run with nothing to do changes nothing. A call's turns and events are deleted
in the same transaction as the call, so no batch leaves an orphan.

Dry run. The same steps are counted, not executed, each count leaving out what an earlier step would
already have removed, so a dry run prints the numbers a real run would then print.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import BooleanField, F, Func, Q, Subquery
from django.utils import timezone

from voice.models import Appointment, Call, CallEvent, CallStatus, Turn

DEFAULT_BATCH_SIZE = 10_000


@dataclass(frozen=True)
class RetentionPeriods:
    call_days: int
    failed_call_days: int
    turn_days: int
    call_event_days: int
    appointment_days: int
    sanitize_after_days: int

    @classmethod
    def from_settings(cls) -> RetentionPeriods:
        periods = settings.VOICE_RETENTION
        return cls(
            call_days=periods["CALL_DAYS"],
            failed_call_days=periods["FAILED_CALL_DAYS"],
            turn_days=periods["TURN_DAYS"],
            call_event_days=periods["CALL_EVENT_DAYS"],
            appointment_days=periods["APPOINTMENT_DAYS"],
            sanitize_after_days=periods["SANITIZE_AFTER_DAYS"],
        )


@dataclass
class StepResult:
    table: str
    action: str
    rule: str
    rows: int = 0
    batches: int = 0


@dataclass(frozen=True)
class Cutoffs:
    calls: dt.datetime
    failed_calls: dt.datetime
    turns: dt.datetime
    call_events: dt.datetime
    appointments: dt.datetime
    sanitize: dt.datetime

    @classmethod
    def at(cls, now: dt.datetime, periods: RetentionPeriods) -> Cutoffs:
        def days(count: int) -> dt.datetime:
            return now - dt.timedelta(days=count)

        return cls(
            calls=days(periods.call_days),
            failed_calls=days(periods.failed_call_days),
            turns=days(periods.turn_days),
            call_events=days(periods.call_event_days),
            appointments=days(periods.appointment_days),
            sanitize=days(periods.sanitize_after_days),
        )

    # -- which calls go (with their turns and events), as seen from a call or from one of its rows

    def failed_call(self, prefix: str = "") -> Q:
        return Q(**{f"{prefix}status": CallStatus.FAILED, f"{prefix}started_at__lt": self.failed_calls})

    def old_call(self, prefix: str = "") -> Q:
        return Q(**{f"{prefix}started_at__lt": self.calls})

    def doomed_call(self, prefix: str = "") -> Q:
        return self.failed_call(prefix) | self.old_call(prefix)


def _delete_ids(model: type[models.Model], ids: list[int]) -> int:
    """DELETE exactly these rows in one statement (no per-row Python: the ORM's delete would load a
    call's rows to cascade, which this module does itself)."""
    table = connection.ops.quote_name(model._meta.db_table)
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id IN ({marks})", ids)
        return cursor.rowcount


def _next_ids(queryset: models.QuerySet, batch_size: int) -> list[int]:
    return list(queryset.order_by().values_list("pk", flat=True)[:batch_size])


def _in_batches(
    select: models.QuerySet, batch_size: int, apply: Callable[[list[int]], None], result: StepResult
) -> None:
    while True:
        with transaction.atomic():
            ids = _next_ids(select, batch_size)
            if not ids:
                return
            apply(ids)
        result.batches += 1
        if len(ids) < batch_size:
            return


def _calls_delete(
    select: models.QuerySet, batch_size: int, calls: StepResult, turns: StepResult, events: StepResult
) -> None:
    def apply(ids: list[int]) -> None:
        turns.rows += Turn.objects.filter(call_id__in=ids).delete()[0]
        events.rows += CallEvent.objects.filter(call_id__in=ids).delete()[0]
        calls.rows += _delete_ids(Call, ids)

    _in_batches(select, batch_size, apply, calls)
    turns.batches = events.batches = calls.batches


def _in_statement_batches(run: Callable[[], int], batch_size: int, result: StepResult) -> None:
    """Repeat a statement that changes at most `batch_size` rows, each in its own transaction."""
    while True:
        with transaction.atomic():
            changed = run()
        if changed:
            result.rows += changed
            result.batches += 1
        if changed < batch_size:
            return


class InBatch(Func):
    """`column IN (batch)` for a sliced queryset of ids, so a batch is one statement.

    On PostgreSQL it is `column = ANY(ARRAY(batch))`: the planner then evaluates the batch once and
    looks each id up through the primary key, where `IN (subquery)` may hash the subquery and scan the
    whole table for every batch. SQLite evaluates `IN (subquery)` into a temporary index by itself.
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, column: str, batch: models.QuerySet) -> None:
        super().__init__(F(column), Subquery(batch))

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        column, column_params = compiler.compile(self.source_expressions[0])
        batch, batch_params = compiler.compile(self.source_expressions[1])  # "(SELECT ...)"
        return f"{column} IN {batch}", [*column_params, *batch_params]

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        column, column_params = compiler.compile(self.source_expressions[0])
        batch, batch_params = compiler.compile(self.source_expressions[1])
        return f"{column} = ANY(ARRAY{batch})", [*column_params, *batch_params]


def _rows_delete(select: models.QuerySet, batch_size: int, result: StepResult) -> None:
    """Rows nothing refers to: one DELETE of the next batch per transaction (Django's fast delete:
    a single statement, no rows loaded, since these models have no dependants or delete signals)."""
    batch = select.order_by().values("pk")[:batch_size]
    _in_statement_batches(
        lambda: select.model.objects.filter(InBatch("pk", batch)).delete()[0], batch_size, result
    )


def _rows_update(select: models.QuerySet, batch_size: int, result: StepResult, **values: object) -> None:
    """One UPDATE of the next batch per transaction; the updated rows leave `select`."""
    batch = select.order_by().values("pk")[:batch_size]
    _in_statement_batches(
        lambda: select.model.objects.filter(InBatch("pk", batch)).update(**values), batch_size, result
    )


def retention_run(
    *,
    dry_run: bool = False,
    now: dt.datetime | None = None,
    periods: RetentionPeriods | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[StepResult]:
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    now = now or timezone.now()
    periods = periods or RetentionPeriods.from_settings()
    cut = Cutoffs.at(now, periods)
    p = periods
    failed = StepResult("calls", "delete", f"failed, older than {p.failed_call_days} days")
    failed_turns = StepResult("turns", "delete", "of those failed calls")
    failed_events = StepResult("call events", "delete", "of those failed calls")
    old = StepResult("calls", "delete", f"older than {p.call_days} days")
    old_turns = StepResult("turns", "delete", "of those calls")
    old_events = StepResult("call events", "delete", "of those calls")
    events = StepResult("call events", "delete", f"older than {p.call_event_days} days")
    turns = StepResult("turns", "delete", f"older than {p.turn_days} days")
    calls_sanitized = StepResult(
        "calls", "sanitize", f"transcript and phone number, older than {p.sanitize_after_days} days"
    )
    turns_sanitized = StepResult("turns", "sanitize", f"text, older than {p.sanitize_after_days} days")
    appointments = StepResult("appointments", "delete", f"older than {p.appointment_days} days")
    results = [
        failed,
        failed_turns,
        failed_events,
        old,
        old_turns,
        old_events,
        events,
        turns,
        calls_sanitized,
        turns_sanitized,
        appointments,
    ]

    if dry_run:
        doomed_via_call = cut.doomed_call("call__")
        failed.rows = Call.objects.filter(cut.failed_call()).count()
        failed_turns.rows = Turn.objects.filter(cut.failed_call("call__")).count()
        failed_events.rows = CallEvent.objects.filter(cut.failed_call("call__")).count()
        old.rows = Call.objects.filter(cut.old_call()).exclude(cut.failed_call()).count()
        old_turns.rows = (
            Turn.objects.filter(cut.old_call("call__")).exclude(cut.failed_call("call__")).count()
        )
        old_events.rows = (
            CallEvent.objects.filter(cut.old_call("call__")).exclude(cut.failed_call("call__")).count()
        )
        events.rows = (
            CallEvent.objects.filter(occurred_at__lt=cut.call_events).exclude(doomed_via_call).count()
        )
        turns.rows = Turn.objects.filter(occurred_at__lt=cut.turns).exclude(doomed_via_call).count()
        calls_sanitized.rows = (
            Call.objects.filter(started_at__lt=cut.sanitize, sanitized_at__isnull=True)
            .exclude(cut.doomed_call())
            .count()
        )
        turns_sanitized.rows = (
            Turn.objects.filter(occurred_at__lt=cut.sanitize, occurred_at__gte=cut.turns)
            .exclude(text="")
            .exclude(doomed_via_call)
            .count()
        )
        appointments.rows = Appointment.objects.filter(start_at__lt=cut.appointments).count()
        return results

    _calls_delete(Call.objects.filter(cut.failed_call()), batch_size, failed, failed_turns, failed_events)
    _calls_delete(Call.objects.filter(cut.old_call()), batch_size, old, old_turns, old_events)
    _rows_delete(CallEvent.objects.filter(occurred_at__lt=cut.call_events), batch_size, events)
    _rows_delete(Turn.objects.filter(occurred_at__lt=cut.turns), batch_size, turns)
    _rows_update(
        Call.objects.filter(started_at__lt=cut.sanitize, sanitized_at__isnull=True),
        batch_size,
        calls_sanitized,
        transcript="",
        caller_phone="",
        sanitized_at=now,
    )
    _rows_update(
        Turn.objects.filter(occurred_at__lt=cut.sanitize).exclude(text=""),
        batch_size,
        turns_sanitized,
        text="",
    )
    _rows_delete(Appointment.objects.filter(start_at__lt=cut.appointments), batch_size, appointments)
    return results
