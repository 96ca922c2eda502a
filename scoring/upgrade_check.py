"""Seed 004's "migration_log.txt" and success indicators, made checkable (`manage.py verify_scoring_upgrade`).

`snapshot()` reads, before the upgrade, what the upgrade promises to keep: row counts of the score, queue and
call-session tables, the scores' min/max/avg and a checksum of every (id, person, score), the queue's rows
per type, the number of `callback` entries, and a checksum of what the upgrade must not touch in the queue
and the sessions. It reads only columns of the pre-upgrade schema (scoring 0001), in plain SQL, so it runs
whatever migration the database is at. `verify(before)` reads the same after the upgrade and returns the
seed's success indicators, each passed or failed with what was seen:

- score, queue and call-session counts unchanged; every score preserved (min, max, avg and the checksum);
- no `callback` queue entry remains, and every one of them is still recognisable as a callback (its
  callback_id is the upgrade's `legacy-<id>` mark, its queue type `outstanding_requests`);
- the new fields filled on every score row (is_active, last_reset_date), as the seed's check counts them;
- the conversions table exists;
- every relationship intact: no score, queue entry or session pointing at a missing person, no session at
  a missing agent, and the queue's and sessions' untouched columns unchanged row for row (checksums).

Checksums are SHA-256 over the rows in primary-key order, streamed in chunks (no table is held in memory).
Table and column names in the SQL come from the models' _meta, quoted; values are parameters.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from agents.models import HumanAgent
from routing.models import Lead
from scoring.models import CallQueueEntry, CallSession, Conversion, UserCallScore

LEGACY_QUEUE_TYPE = "callback"
CONVERTED_QUEUE_TYPE = "outstanding_requests"
LEGACY_ID_PREFIX = "legacy-"
CHUNK = 10_000

SCORES = UserCallScore._meta.db_table
QUEUE = CallQueueEntry._meta.db_table
SESSIONS = CallSession._meta.db_table


@dataclass(frozen=True)
class Indicator:
    name: str
    passed: bool
    detail: str


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _scalar(sql: str, params: Iterable[Any] = ()) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        return cursor.fetchone()[0]


def _checksum(table: str, columns: list[str]) -> str:
    """SHA-256 of the rows' values (as text) in primary-key order."""
    digest = hashlib.sha256()
    selected = ", ".join(_q(column) for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {selected} FROM {_q(table)} ORDER BY {_q('id')}")
        while rows := cursor.fetchmany(CHUNK):
            for row in rows:
                digest.update(repr(tuple("" if value is None else str(value) for value in row)).encode())
    return digest.hexdigest()


def _score_stats() -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT MIN({_q('current_score')}), MAX({_q('current_score')}), AVG({_q('current_score')}) "
            f"FROM {_q(SCORES)}"
        )
        low, high, mean = cursor.fetchone()
    return {"min": low, "max": high, "avg": None if mean is None else round(float(mean), 6)}


def scoring_tables_present() -> list[str]:
    """The scoring tables the check needs that the database lacks (empty: all there)."""
    present = set(connection.introspection.table_names())
    return [table for table in (SCORES, QUEUE, SESSIONS) if table not in present]


def snapshot() -> dict[str, Any]:
    """The "before" state (the seed's migration_log.txt), JSON-serialisable."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_q('queue_type')}, COUNT(*) FROM {_q(QUEUE)} GROUP BY {_q('queue_type')}")
        queue_types = dict(cursor.fetchall())
    return {
        "scores": _scalar(f"SELECT COUNT(*) FROM {_q(SCORES)}"),
        "queue": _scalar(f"SELECT COUNT(*) FROM {_q(QUEUE)}"),
        "sessions": _scalar(f"SELECT COUNT(*) FROM {_q(SESSIONS)}"),
        "queue_types": queue_types,
        "callback_entries": queue_types.get(LEGACY_QUEUE_TYPE, 0),
        "score_stats": _score_stats(),
        "scores_checksum": _checksum(SCORES, ["id", "person_id", "current_score"]),
        "queue_checksum": _checksum(QUEUE, ["id", "person_id", "status", "priority", "created_at"]),
        "sessions_checksum": _checksum(
            SESSIONS, ["id", "person_id", "agent_id", "started_at", "ended_at", "outcome"]
        ),
    }


def _orphans(table: str, column: str, target: str) -> int:
    return _scalar(
        f"SELECT COUNT(*) FROM {_q(table)} t LEFT JOIN {_q(target)} p ON p.{_q('id')} = t.{_q(column)} "
        f"WHERE p.{_q('id')} IS NULL"
    )


def _same(name: str, before: Any, after: Any) -> Indicator:
    return Indicator(name, before == after, f"before {before}, after {after}")


def verify(before: dict[str, Any]) -> list[Indicator]:
    """The seed's success indicators for the current state against the snapshot `before`."""
    after = snapshot()
    # || and CAST(... AS VARCHAR) mean the same on PostgreSQL and SQLite
    legacy_marked = _scalar(
        f"SELECT COUNT(*) FROM {_q(QUEUE)} WHERE {_q('queue_type')} = %s "
        f"AND {_q('callback_id')} = %s || CAST({_q('id')} AS VARCHAR(32))",
        [CONVERTED_QUEUE_TYPE, LEGACY_ID_PREFIX],
    )
    total = after["scores"]
    has_is_active = _scalar(f"SELECT COUNT({_q('is_active')}) FROM {_q(SCORES)}")
    has_reset_date = _scalar(f"SELECT COUNT({_q('last_reset_date')}) FROM {_q(SCORES)}")
    leads, agents = Lead._meta.db_table, HumanAgent._meta.db_table
    orphans = {
        "scores -> person": _orphans(SCORES, "person_id", leads),
        "queue -> person": _orphans(QUEUE, "person_id", leads),
        "sessions -> person": _orphans(SESSIONS, "person_id", leads),
        "sessions -> agent": _orphans(SESSIONS, "agent_id", agents),
    }
    conversions_table = Conversion._meta.db_table
    conversions_ready = conversions_table in connection.introspection.table_names()
    return [
        _same("UserCallScore count unchanged", before["scores"], after["scores"]),
        _same("CallQueue count unchanged", before["queue"], after["queue"]),
        _same("CallSession count unchanged", before["sessions"], after["sessions"]),
        _same("All scores preserved (min/max/avg)", before["score_stats"], after["score_stats"]),
        Indicator(
            "All scores preserved (every row)",
            before["scores_checksum"] == after["scores_checksum"],
            "checksum of (id, person, score) "
            + ("equal" if before["scores_checksum"] == after["scores_checksum"] else "differs"),
        ),
        Indicator(
            "No 'callback' queue entries remain",
            after["callback_entries"] == 0,
            f"{after['callback_entries']} left; rows per type {after['queue_types']}",
        ),
        Indicator(
            "Every callback entry kept as a callback",
            legacy_marked == before["callback_entries"],
            f"{before['callback_entries']} before, {legacy_marked} now {CONVERTED_QUEUE_TYPE} with their {LEGACY_ID_PREFIX}<id> mark",
        ),
        Indicator(
            "New fields filled",
            has_is_active == total and has_reset_date == total,
            f"{total} rows, is_active on {has_is_active}, last_reset_date on {has_reset_date}",
        ),
        Indicator(
            "Conversions table created",
            conversions_ready,
            f"{_scalar(f'SELECT COUNT(*) FROM {_q(conversions_table)}')} rows"
            if conversions_ready
            else "missing",
        ),
        Indicator(
            "All relationships intact",
            not any(orphans.values())
            and before["queue_checksum"] == after["queue_checksum"]
            and before["sessions_checksum"] == after["sessions_checksum"],
            "; ".join(f"{name}: {count} orphans" for name, count in orphans.items())
            + "; queue rows "
            + ("unchanged" if before["queue_checksum"] == after["queue_checksum"] else "changed")
            + ", session rows "
            + ("unchanged" if before["sessions_checksum"] == after["sessions_checksum"] else "changed"),
        ),
    ]
