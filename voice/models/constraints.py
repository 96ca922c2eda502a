"""A PostgreSQL exclusion constraint that the project's SQLite databases leave to the services.

The project runs on PostgreSQL (production, CI) and on SQLite (development, CI). An exclusion
constraint (`EXCLUDE USING gist (provider WITH =, tstzrange(start, end) WITH &&)`) is what makes a
double booking impossible through any door, but SQLite has no equivalent. This subclass keeps the
constraint in the model's state (so migrations, `makemigrations --check` and the model's validation
see it) and emits its DDL only on PostgreSQL; on SQLite it creates nothing and validates nothing, and
the booking service's overlap check, run inside SQLite's write-locked (IMMEDIATE) transaction, is the
guard. The service runs that check on PostgreSQL too, for its readable message; the constraint is
what holds under concurrency and against raw SQL.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Func


class PostgresExclusionConstraint(ExclusionConstraint):
    @staticmethod
    def _on_postgres(schema_editor: Any) -> bool:
        return schema_editor.connection.vendor == "postgresql"

    def constraint_sql(self, model: Any, schema_editor: Any) -> Any:
        return super().constraint_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    def create_sql(self, model: Any, schema_editor: Any) -> Any:
        return super().create_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    def remove_sql(self, model: Any, schema_editor: Any) -> Any:
        return super().remove_sql(model, schema_editor) if self._on_postgres(schema_editor) else None

    def validate(self, model: Any, instance: Any, exclude: Any = None, using: str = DEFAULT_DB_ALIAS) -> None:
        if connections[using].vendor == "postgresql":
            super().validate(model, instance, exclude=exclude, using=using)


class TsTzRange(Func):
    """tstzrange(start, end, bounds): the span an appointment occupies, for the exclusion constraint."""

    function = "TSTZRANGE"
    output_field = DateTimeRangeField()
