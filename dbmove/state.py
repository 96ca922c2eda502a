"""The move's record in the target database: two tables outside the app registry (so they are never
moved themselves), written in the same transactions as the data they describe.

- dbmove_state (one row): `status` migrating -> copying -> verifying -> complete (or
  verification_failed), the source it comes from, when it started and finished;
- dbmove_progress (one row per table, in copy order): rows copied, the last primary key copied, whether
  the table is done, and the content checksum of the source rows copied so far. A batch of rows and its
  progress row commit together, so after a crash the record says exactly what is in the target (and
  what it must hash to) and a rerun continues after the last batch.
A target with no dbmove_state and no tables is empty; with tables but no dbmove_state it is someone
else's database, and a move refuses it unless told to replace it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STATE_TABLE = "dbmove_state"
PROGRESS_TABLE = "dbmove_progress"
RECORD_TABLES = (STATE_TABLE, PROGRESS_TABLE)


@dataclass(frozen=True)
class MoveState:
    status: str
    source: str
    started_at: Any
    finished_at: Any


@dataclass(frozen=True)
class TableProgress:
    table: str
    position: int
    rows_copied: int
    last_pk: str | None
    done: bool
    source_checksum: str  # of the rows copied so far, as they were read from the source (dbmove.values)


def user_tables(connection: Any) -> list[str]:
    """Tables in the target's current schema, the move's own record left out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        )
        return [name for (name,) in cursor.fetchall() if name not in RECORD_TABLES]


def state_read(connection: Any) -> MoveState | None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [STATE_TABLE])
        if not cursor.fetchone()[0]:
            return None
        cursor.execute(f"SELECT status, source, started_at, finished_at FROM {STATE_TABLE}")
        row = cursor.fetchone()
    return MoveState(*row) if row else None


def state_create(connection: Any, *, source: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {STATE_TABLE} (id integer PRIMARY KEY CHECK (id = 1), status text NOT NULL, "
            "source text NOT NULL, started_at timestamptz NOT NULL DEFAULT now(), "
            "updated_at timestamptz NOT NULL DEFAULT now(), finished_at timestamptz)"
        )
        cursor.execute(
            f"CREATE TABLE {PROGRESS_TABLE} (table_name text PRIMARY KEY, position integer NOT NULL, "
            "rows_copied bigint NOT NULL DEFAULT 0, last_pk text, done boolean NOT NULL DEFAULT false, "
            "source_checksum text NOT NULL DEFAULT '')"
        )
        cursor.execute(
            f"INSERT INTO {STATE_TABLE} (id, status, source) VALUES (1, 'migrating', %s)", [source]
        )


def state_set(connection: Any, status: str) -> None:
    finished = "now()" if status == "complete" else "NULL"
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {STATE_TABLE} SET status = %s, updated_at = now(), finished_at = {finished}", [status]
        )


def progress_init(connection: Any, tables: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {PROGRESS_TABLE}")
        cursor.executemany(
            f"INSERT INTO {PROGRESS_TABLE} (table_name, position) VALUES (%s, %s)",
            [(table, position) for position, table in enumerate(tables)],
        )


def progress_read(connection: Any) -> dict[str, TableProgress]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT table_name, position, rows_copied, last_pk, done, source_checksum FROM {PROGRESS_TABLE} "
            "ORDER BY position"
        )
        return {row[0]: TableProgress(*row) for row in cursor.fetchall()}


def progress_advance(
    connection: Any, *, table: str, rows: int, last_pk: str | None, done: bool, source_checksum: str
) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {PROGRESS_TABLE} SET rows_copied = rows_copied + %s, last_pk = %s, done = %s, "
            "source_checksum = %s WHERE table_name = %s",
            [rows, last_pk, done, source_checksum, table],
        )


def drop_everything(connection: Any) -> None:
    """--replace: every table of the current schema goes (CASCADE takes their sequences and indexes)."""
    tables = user_tables(connection) + list(RECORD_TABLES)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"DROP TABLE IF EXISTS {quote(table)} CASCADE")
