"""Every table of every installed app, in foreign-key dependency order.

The tables come from the app registry (concrete, managed, not proxy or swapped models, the auto-created
many-to-many tables and simple-history's tables included), so a table another app adds is moved
without a change here. Tables are ordered so that a row's foreign keys point at tables copied before
it; tables that point at each other, or a table pointing at itself, form one group (a strongly
connected component of the foreign-key graph), copied in one transaction so its constraints, deferred
to commit, are checked when every row of the group is there.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.db import models


@dataclass(frozen=True)
class TableSpec:
    """One table to move: its model, columns (attnames, generated columns left out) and primary key."""

    model: type[models.Model]
    table: str
    columns: tuple[str, ...]
    fields: tuple[models.Field, ...]
    pk: str | None  # the pk's attname when it is one column (batches are keyset-paginated on it)

    @property
    def label(self) -> str:
        return self.model._meta.label


@dataclass(frozen=True)
class CopyGroup:
    tables: tuple[TableSpec, ...]

    @property
    def cyclic(self) -> bool:
        return len(self.tables) > 1 or _points_at_itself(self.tables[0])


def _points_at_itself(spec: TableSpec) -> bool:
    return any(_target_table(field) == spec.table for field in spec.fields if field.is_relation)


def _target_table(field: models.Field) -> str | None:
    if not (field.is_relation and field.concrete and (field.many_to_one or field.one_to_one)):
        return None
    return field.remote_field.model._meta.db_table


def moved_models() -> list[type[models.Model]]:
    """The concrete, managed models whose tables `migrate` creates, one per table."""
    seen: dict[str, type[models.Model]] = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.proxy or not meta.managed or meta.swapped:
            continue
        seen.setdefault(meta.db_table, model)
    return [seen[table] for table in sorted(seen)]


def table_spec(model: type[models.Model]) -> TableSpec:
    fields = tuple(
        field for field in model._meta.local_concrete_fields if not getattr(field, "generated", False)
    )
    pk = model._meta.pk
    return TableSpec(
        model=model,
        table=model._meta.db_table,
        columns=tuple(field.column for field in fields),
        fields=fields,
        pk=pk.attname if pk is not None and pk.concrete and pk in fields else None,
    )


def copy_groups() -> list[CopyGroup]:
    """Every table, grouped and in dependency order (Tarjan's algorithm; ties by table name)."""
    specs = {spec.table: spec for spec in map(table_spec, moved_models())}
    edges = {
        table: sorted({target for field in spec.fields if (target := _target_table(field)) in specs})
        for table, spec in specs.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[CopyGroup] = []

    def visit(table: str) -> None:  # recursion depth is bounded by the number of tables (~100)
        index[table] = low[table] = len(index)
        stack.append(table)
        on_stack.add(table)
        for target in edges[table]:
            if target not in index:
                visit(target)
                low[table] = min(low[table], low[target])
            elif target in on_stack:
                low[table] = min(low[table], index[target])
        if low[table] == index[table]:
            members = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                members.append(member)
                if member == table:
                    break
            groups.append(CopyGroup(tuple(specs[name] for name in sorted(members))))

    for table in sorted(specs):
        if table not in index:
            visit(table)
    return groups  # Tarjan emits a component after every component it points at: dependency order


def ordered_tables() -> list[TableSpec]:
    return [spec for group in copy_groups() for spec in group.tables]
