"""Voice migrations forward and back (django-test-migrations): 0001 the schema (with btree_gist and
the exclusion constraint on PostgreSQL), 0002 the PostgreSQL GIN indexes. Going back from 0002 keeps
every row; the knowledge search vector is the database's own (a generated column) either way.
Transactional like every migration test: `seed_rows_back_after_flush` restores the seeded roster."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

pytestmark = pytest.mark.usefixtures("seed_rows_back_after_flush")

SCHEMA = ("voice", "0001_initial")
INDEXED = ("voice", "0002_knowledge_gin_indexes")


def _indexes() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.get_constraints(cursor, "voice_knowledgeentry"))


def _facts(state: Any) -> tuple[int, str]:
    Organization = state.apps.get_model("voice", "Organization")
    Entry = state.apps.get_model("voice", "KnowledgeEntry")
    if not Entry.objects.exists():
        org = Organization.objects.create(name="Acme", slug="acme")
        for number in range(5):
            Entry.objects.create(
                organization=org,
                category="faq",
                title=f"Parking {number}",
                content="Free parking.",
                tags=["parking"],
            )
    rows = sorted(Entry.objects.values_list("id", "organization_id", "title", "content", "tags", "priority"))
    return len(rows), hashlib.sha256(repr(rows).encode()).hexdigest()


def test_0002_adds_the_gin_indexes_on_postgres_only_and_going_back_keeps_every_row(migrator) -> None:
    old = migrator.apply_initial_migration(SCHEMA)
    before = _facts(old)
    assert not {"voice_knowledge_search_gin", "voice_knowledge_tags_gin"} & _indexes()
    indexed = migrator.apply_tested_migration(INDEXED)
    gin = {"voice_knowledge_search_gin", "voice_knowledge_tags_gin"}
    assert (gin <= _indexes()) == (connection.vendor == "postgresql")
    assert _facts(indexed) == before
    reverted = migrator.apply_tested_migration(SCHEMA)
    assert not gin & _indexes()
    assert _facts(reverted) == before


def test_voice_migrates_to_zero_and_back(migrator) -> None:
    call_command("migrate", verbosity=0)
    tables = set(connection.introspection.table_names())
    call_command("migrate", "voice", "zero", verbosity=0)
    assert not {t for t in connection.introspection.table_names() if t.startswith("voice_")}
    call_command("migrate", verbosity=0)
    assert set(connection.introspection.table_names()) == tables
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM pg_constraint WHERE conname = 'voice_appointment_no_double_booking'"
            )
            assert cursor.fetchone() is not None
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'btree_gist'")
            assert cursor.fetchone() is not None
