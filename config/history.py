"""The project's django-simple-history field: `HistoricalRecords` with its manager class built once,
and `update_with_history`, a hot path's save and its history record in one statement.

simple_history's descriptor (`Model.history`) builds a new manager class with
`HistoryManager.from_queryset(...)` (a `type()` call and an `inspect.getmembers` of the queryset) on
every access, and writing a historical record reads it once: about 0.3 ms of every save of a
historised model, a tenth of an availability update. The class built is the same each time, so the
descriptor here builds it once and hands out an instance per access as before.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, models
from django.utils import timezone
from simple_history import models as history_models
from simple_history import signals as history_signals
from simple_history.manager import HistoryDescriptor


class _OneManagerClassDescriptor(HistoryDescriptor):
    def __init__(self, model: Any, manager: Any, queryset: Any) -> None:
        super().__init__(model, manager=manager, queryset=queryset)
        self.manager_type = manager.from_queryset(queryset)

    def __get__(self, instance: Any, owner: Any) -> Any:
        return self.manager_type(self.model, instance)


# The field of each model it registered (what update_with_history asks for the user and the reason).
_REGISTERED: dict[type[models.Model], HistoricalRecords] = {}


class HistoricalRecords(history_models.HistoricalRecords):
    def finalize(self, sender: Any, **kwargs: Any) -> None:
        super().finalize(sender, **kwargs)
        if self.cls is sender and getattr(sender._meta, "simple_history_manager_attribute", None):
            _REGISTERED[sender] = self
        # finalize runs for every model prepared after this field's; it registered only its own
        descriptor = sender.__dict__.get(self.manager_name)
        if type(descriptor) is HistoryDescriptor:
            setattr(
                sender,
                self.manager_name,
                _OneManagerClassDescriptor(
                    descriptor.model, manager=descriptor.manager_class, queryset=descriptor.queryset_class
                ),
            )


def update_with_history(instance: models.Model, *, update_fields: list[str]) -> None:
    """`instance.save(update_fields=update_fields)` and the history record simple_history writes for it
    (type "~", the request's user, the change reason), in one statement on PostgreSQL: an UPDATE in a
    WITH clause and the INSERT of the record selecting from it, so one round trip and no ORM insert to
    compile (an availability update's hot path). The record holds the instance's values, as
    simple_history's does (tests/test_history_manager.py compares the two).

    Taken only when nothing else listens: a model with pre_save or other post_save receivers, history
    signal receivers, a skipped history, or another database saves through the ORM as before."""
    model = type(instance)
    records = _REGISTERED.get(model)
    if (
        records is None
        or connection.vendor != "postgresql"
        or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True)
        or hasattr(instance, "skip_history_when_saving")
        or _other_listeners(model, records)
    ):
        instance.save(update_fields=update_fields)
        return
    shape = _record_shape(model)
    q = connection.ops.quote_name
    changed = [model._meta.get_field(name) for name in update_fields]
    sets = ", ".join(f"{q(field.column)} = %s" for field in changed)
    values = [field.get_db_prep_save(field.pre_save(instance, False), connection) for field in changed]
    user = records.get_history_user(instance)
    record = [
        *(
            target.get_db_prep_save(getattr(instance, field.attname), connection)
            for field, target in zip(shape.fields, shape.targets, strict=True)
        ),
        shape.history_date.get_db_prep_save(getattr(instance, "_history_date", timezone.now()), connection),
        records.get_change_reason_for_object(instance, "~", None),
        "~",
        None if user is None else user.pk,
    ]
    sql = (
        f"WITH changed AS (UPDATE {q(model._meta.db_table)} SET {sets} WHERE {q(model._meta.pk.column)} = %s "
        f"RETURNING 1) INSERT INTO {shape.table} ({shape.columns}) "
        f"SELECT {', '.join(['%s'] * len(record))} FROM changed"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, model._meta.pk.get_db_prep_value(instance.pk, connection), *record])
        if cursor.rowcount != 1:
            raise DatabaseError("Save with update_fields did not affect any rows.")
    instance._state.adding, instance._state.db = False, connection.alias


@dataclasses.dataclass(frozen=True)
class _RecordShape:
    """A historised model's record as update_with_history inserts it, read once from the models."""

    history_model: type[models.Model]
    table: str
    fields: list[models.Field]  # the tracked model's fields the record copies
    targets: list[models.Field]  # the record's field for each of them
    history_date: models.Field
    columns: str  # the INSERT's column list: the copies, then date, reason, type and user


@functools.cache
def _record_shape(model: type[models.Model]) -> _RecordShape:
    records = _REGISTERED[model]
    history_model = getattr(model, records.manager_name).model
    meta, q = history_model._meta, connection.ops.quote_name
    fields = records.fields_included(model)
    targets = [meta.get_field(field.attname) for field in fields]
    extras = [
        meta.get_field(name)
        for name in ("history_date", "history_change_reason", "history_type", "history_user")
    ]
    return _RecordShape(
        history_model=history_model,
        table=q(meta.db_table),
        fields=fields,
        targets=targets,
        history_date=extras[0],
        columns=", ".join(q(field.column) for field in [*targets, *extras]),
    )


def _other_listeners(model: type[models.Model], records: HistoricalRecords) -> bool:
    history_model = _record_shape(model).history_model
    if models.signals.pre_save.has_listeners(model) or any(
        signal.has_listeners(history_model)
        for signal in (
            history_signals.pre_create_historical_record,
            history_signals.post_create_historical_record,
        )
    ):
        return True
    receivers = models.signals.post_save._live_receivers(model)
    sync = receivers[0] if isinstance(receivers, tuple) else receivers  # (sync, async) since Django 5.0
    return any(getattr(receiver, "__self__", None) is not records for receiver in sync) or bool(
        isinstance(receivers, tuple) and receivers[1]
    )
