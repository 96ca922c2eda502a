"""Routing migrations forward and back, with django-test-migrations.

0003_queue_entry_backfill fills the queue columns 0002 added (the entry's language, copied from its case,
and next_escalation_at for waiting entries) on rows that existed before. Transactional like every
migration test: `seed_rows_back_after_flush` restores the seeded roster afterwards.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from importlib import import_module
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.usefixtures("seed_rows_back_after_flush")

COLUMNS_ADDED = ("routing", "0002_queue_sweep_columns_and_indexes")
BACKFILLED = ("routing", "0003_queue_entry_backfill")
QUEUED_AT = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)


def _model(state: Any, name: str) -> Any:
    return state.apps.get_model("routing", name)


def _case(state: Any, case_id: str, *, language: str) -> Any:
    return _model(state, "SupportCase").objects.create(
        case_id=case_id, priority="medium", complexity="low", customer_frustration="low", language=language
    )


def _entry(state: Any, case: Any, **fields: Any) -> Any:
    values = {
        "case": case,
        "priority": "medium",
        "complexity": "low",
        "customer_frustration": "low",
        "queued_at": QUEUED_AT,
        "max_wait_minutes": 30,
        "wait_deadline": QUEUED_AT + dt.timedelta(minutes=30),
        **fields,
    }
    return _model(state, "EscalationQueueEntry").objects.create(**values)


def _entries_checksum(state: Any) -> tuple[int, str]:
    """Count and digest of what the backfill must not touch (every column but the two it fills)."""
    rows = sorted(
        _model(state, "EscalationQueueEntry").objects.values_list(
            "id", "case_id", "priority", "status", "queued_at", "max_wait_minutes", "escalation_count"
        )
    )
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def test_backfill_copies_the_case_language_and_schedules_the_next_escalation(migrator) -> None:
    # given entries written before 0003, with the new columns still empty
    old = migrator.apply_initial_migration(COLUMNS_ADDED)
    waiting = _entry(old, _case(old, "mig-1", language="es"), escalation_count=1)
    no_language = _entry(old, _case(old, "mig-2", language=""))
    finished = _entry(old, _case(old, "mig-3", language="pt"), status="completed")
    before = _entries_checksum(old)
    # when
    state = migrator.apply_tested_migration(BACKFILLED)
    # then
    rows = {row.pk: row for row in _model(state, "EscalationQueueEntry").objects.all()}
    assert rows[waiting.pk].language == "es"
    assert rows[waiting.pk].next_escalation_at == QUEUED_AT + dt.timedelta(minutes=60)  # 30 x (1 + 1)
    assert rows[no_language.pk].language == ""
    assert rows[no_language.pk].next_escalation_at == QUEUED_AT + dt.timedelta(minutes=30)
    assert rows[finished.pk].language == "pt"
    assert rows[finished.pk].next_escalation_at is None  # only waiting entries escalate
    assert _entries_checksum(state) == before  # every row kept, nothing else changed


def test_backfill_runs_again_without_changing_anything(migrator) -> None:
    # given a backfilled entry whose values were since changed by the application
    old = migrator.apply_initial_migration(COLUMNS_ADDED)
    entry = _entry(old, _case(old, "mig-4", language="fr"))
    state = migrator.apply_tested_migration(BACKFILLED)
    later = QUEUED_AT + dt.timedelta(hours=5)
    _model(state, "EscalationQueueEntry").objects.filter(pk=entry.pk).update(next_escalation_at=later)
    # when the step runs once more (it only fills what is missing)
    import_module("routing.migrations.0003_queue_entry_backfill").backfill(
        state.apps, SimpleNamespace(connection=connection)
    )
    # then
    row = _model(state, "EscalationQueueEntry").objects.get(pk=entry.pk)
    assert (row.language, row.next_escalation_at) == ("fr", later)


def test_backfill_reverses_to_the_columns_step_keeping_every_entry(migrator) -> None:
    # given
    old = migrator.apply_initial_migration(COLUMNS_ADDED)
    for n in range(5):
        _entry(old, _case(old, f"mig-r{n}", language="en"))
    before = _entries_checksum(old)
    migrator.apply_tested_migration(BACKFILLED)
    # when
    reverted = migrator.apply_tested_migration(COLUMNS_ADDED)
    # then
    assert _entries_checksum(reverted) == before


def test_routing_migrates_to_zero_and_back_on_the_full_chain(migrator) -> None:
    # given a fully migrated database (reset by the migrator fixture afterwards)
    call_command("migrate", verbosity=0)
    tables = set(connection.introspection.table_names())
    # when
    call_command("migrate", "routing", "zero", verbosity=0)
    # then
    assert not {t for t in connection.introspection.table_names() if t.startswith("routing_")}
    # when
    call_command("migrate", verbosity=0)
    # then
    assert set(connection.introspection.table_names()) == tables


AUTOVACUUM = ("routing", "0014_hot_table_autovacuum")
BEFORE_AUTOVACUUM = ("routing", "0013_lead_routing_defaults")


def _reloptions(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE oid = %s::regclass", [table])
        return set(cursor.fetchone()[0] or [])


@pytest.mark.postgres
def test_hot_tables_get_their_autovacuum_settings_and_lose_them_on_the_way_back(migrator) -> None:
    migrator.apply_initial_migration(BEFORE_AUTOVACUUM)
    assert not {o for o in _reloptions("routing_escalationqueueentry") if o.startswith("autovacuum")}
    # when
    migrator.apply_tested_migration(AUTOVACUUM)
    # then
    assert "autovacuum_vacuum_scale_factor=0.01" in _reloptions("routing_escalationqueueentry")
    assert "autovacuum_vacuum_cost_delay=0" in _reloptions("agents_agentavailability")
    # when
    migrator.apply_tested_migration(BEFORE_AUTOVACUUM)
    # then
    assert not {o for o in _reloptions("routing_escalationqueueentry") if o.startswith("autovacuum")}
    assert not {o for o in _reloptions("agents_agentavailability") if o.startswith("autovacuum")}
