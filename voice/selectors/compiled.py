"""Hot-path queries compiled to SQL once, then run with new values (PostgreSQL).

The voice pipeline asks for the active configuration and for facts before and during every call. The
ORM spends more time building and compiling those queries (~0.5-0.9 ms on the benchmark machine)
than PostgreSQL spends running them (~0.2 ms), and the SQL text is the same every time, only the
values change. `CompiledQuery` keeps the ORM queryset as the one statement of each lookup: it builds
it once per shape with sentinel values, compiles it, notes where each sentinel landed among the
parameters, and afterwards runs that SQL with the real values, building the model instances as the
ORM does (its column converters, `Model.from_db`). A value that the SQL inlines instead of binding
(a sentinel found in the text, or not found among the parameters) makes the shape uncacheable: it
then runs through the ORM every time, giving the same answer, only slower.

Only PostgreSQL is cached (where the targets are measured, and the only place parameters keep the
plain values matched here); other databases run the queryset directly. Tests compare both paths on
random cases.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Model, QuerySet

_SENTINELS = itertools.count(1)


def _sentinel_for(value: Any) -> Any:
    number = next(_SENTINELS)
    if isinstance(value, bool):
        raise TypeError("booleans change the SQL text; make them part of the shape")
    if isinstance(value, int):
        return -7_300_000_000_000 - number
    if isinstance(value, str):
        return f"\x00voice-sentinel-{number}\x00"
    if isinstance(value, list):
        return [f"\x00voice-sentinel-{number}\x00"]
    raise TypeError(f"cannot stand in for a {type(value).__name__}")


@dataclass(frozen=True)
class _Plan:
    sql: str
    params: list[Any]
    slots: list[tuple[int, str]]  # (parameter index, value name)
    compiler: Any
    converters: dict[int, Any]
    attnames: list[str]  # the model fields, in select order
    extras: list[str]  # annotations after them


class CompiledQuery:
    """`build(**values) -> QuerySet` of `model`, run through its compiled SQL (see the module)."""

    def __init__(self, model: type[Model], build: Callable[..., QuerySet]) -> None:
        self.model = model
        self.build = build
        self._plans: dict[Hashable, _Plan | None] = {}
        self._lock = threading.Lock()

    def __call__(self, shape: Hashable, **values: Any) -> list[Any]:
        if connection.vendor != "postgresql":
            return list(self.build(**values))
        key = (connection.alias, shape)
        plan = self._plans.get(key, False)
        if plan is False:
            with self._lock:
                plan = self._plans[key] = self._plan(values)
        if plan is None:
            return list(self.build(**values))
        params = list(plan.params)
        for index, name in plan.slots:
            params[index] = values[name]
        with connection.cursor() as cursor:
            cursor.execute(plan.sql, params)
            rows = cursor.fetchall()
        if plan.converters:
            rows = list(plan.compiler.apply_converters(rows, plan.converters))
        count = len(plan.attnames)
        instances = []
        for row in rows:
            instance = self.model.from_db(connection.alias, plan.attnames, row[:count])
            for name, value in zip(plan.extras, row[count:], strict=True):
                setattr(instance, name, value)
            instances.append(instance)
        return instances

    def _plan(self, values: dict[str, Any]) -> _Plan | None:
        sentinels = {name: _sentinel_for(value) for name, value in values.items()}
        queryset = self.build(**sentinels)
        compiler = queryset.query.get_compiler(using=connection.alias)
        sql, params = compiler.as_sql()
        params = list(params)
        slots = []
        for name, sentinel in sentinels.items():
            marker = sentinel[0] if isinstance(sentinel, list) else sentinel
            if str(marker) in sql:
                return None  # inlined into the text: not a parameter
            found = [index for index, param in enumerate(params) if param == sentinel]
            if not found:
                return None
            slots += [(index, name) for index in found]
        taken = {index for index, _ in slots}
        for index, param in enumerate(params):
            if index not in taken and _looks_like_sentinel(param):
                return None  # a sentinel transformed on its way in: its value cannot simply be swapped
        select = compiler.select
        klass_info = compiler.klass_info or {}
        model_columns = list(klass_info.get("select_fields", []))
        if model_columns != list(range(len(model_columns))) or klass_info.get("related_klass_infos"):
            return None  # only a model's own columns followed by annotations are rebuilt here
        attnames = [select[index][0].target.attname for index in model_columns]
        annotations = sorted((compiler.annotation_col_map or {}).items(), key=lambda item: item[1])
        if [index for _, index in annotations] != list(range(len(model_columns), len(select))):
            return None
        extras = [alias for alias, _ in annotations]
        converters = compiler.get_converters([column for column, _, _ in select])
        return _Plan(sql, params, slots, compiler, converters, attnames, extras)


def _looks_like_sentinel(value: Any) -> bool:
    if isinstance(value, list):
        return any(_looks_like_sentinel(item) for item in value)
    if isinstance(value, str):
        return "\x00voice-sentinel-" in value
    return isinstance(value, int) and not isinstance(value, bool) and value <= -7_300_000_000_000


def shape_of(**parts: Any) -> tuple[Any, ...]:
    """A shape key from named parts (what changes the SQL text), in a stable order."""
    return tuple(sorted(parts.items()))


__all__: Sequence[str] = ["CompiledQuery", "shape_of"]
