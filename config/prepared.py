"""Server-side prepared statements for the hand-written statements on the hot paths.

Why only those, and not the whole application (Django's OPTIONS server_side_binding with psycopg's
prepare_threshold): a prepared statement is planned once per connection for any parameter values (a
generic plan), and a generic plan cannot use a partial index whose predicate the statement states
with parameters. Switched on for every statement, the ORM's queue probes (`status = $1 AND ...`
against the queue's partial indexes) went to generic plans that scan: a route took 73 ms instead of
21. The statements that go through here are written for it: their fixed values (statuses, types,
limits) are SQL literals (`literal`), so the generic plan is the one the planner would choose anyway,
and only what varies per call is a parameter.

What it saves: the routing candidate search is a 13 kB statement whose planning took 3.5 ms of the
6.5 ms it costs (PostgreSQL 15, 10,000 agents); prepared, each call after the first skips parsing and
planning.

PostgreSQL only (SQLite has nothing to gain: its statements are compiled in-process and cached by
the driver). Off with DATABASE_PREPARED_STATEMENTS=false, e.g. behind a transaction-pooling
PgBouncer older than 1.21, which does not keep prepared statements per client. The statements are
per connection: CONN_MAX_AGE (or the pool) keeps them across requests; psycopg keeps the
`prepared_max` (100) most recently used and deallocates the rest, and forgets them all at a rollback
(the next call prepares again). PostgreSQL plans a prepared statement's first five executions with
their values and then settles on the generic plan if it costs no more.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from django.conf import settings
from django.db import connection as default_connection

_SAFE_LITERAL = re.compile(r"[a-z][a-z0-9_]*")


def literal(value: str | int) -> str:
    """A value fixed by the code (an enum's value, a limit), as an SQL literal. Only what cannot need
    quoting is accepted: this is for constants, never for input."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"not a literal constant: {value!r}")
    if isinstance(value, int):
        return str(int(value))
    if not _SAFE_LITERAL.fullmatch(value):
        raise ValueError(f"not a literal constant: {value!r}")
    return f"'{value}'"


def literals(values) -> str:
    """Constants as a comma-separated list of literals (for IN (...))."""
    return ", ".join(literal(value) for value in values)


def enabled(connection=None) -> bool:
    connection = connection or default_connection
    return connection.vendor == "postgresql" and settings.DATABASE_PREPARED_STATEMENTS


class PreparingCursor(psycopg.Cursor):
    """Server-side binding; every statement prepared on first use (psycopg keys them by text and
    parameter types, so a second call with other values executes the same statement)."""

    def execute(self, query, params=None, *, prepare: bool | None = True, binary: bool | None = None):
        return super().execute(query, params, prepare=prepare, binary=binary)


@contextmanager
def prepared_cursor(connection=None) -> Iterator[Any]:
    """A cursor whose statements are prepared on the server (PostgreSQL, unless switched off), or the
    connection's ordinary cursor. Either is Django's cursor wrapper: execute wrappers, query logging,
    assertNumQueries and error translation see it like any other."""
    connection = connection or default_connection
    if not enabled(connection):
        with connection.cursor() as cursor:
            yield cursor
        return
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = PreparingCursor(connection.connection)
    with connection._prepare_cursor(raw) as cursor:  # what connection.cursor() wraps its cursor with
        yield cursor
