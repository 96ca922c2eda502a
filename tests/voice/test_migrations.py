"""Voice migrations forward and back (django-test-migrations): 0001 the schema (with btree_gist and
the exclusion constraint on PostgreSQL), 0002 the PostgreSQL GIN indexes, 0003 the role groups (data).
Going back keeps every row; the knowledge search vector is the database's own (a generated column).
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
ROLES = ("voice", "0003_voice_roles")
ROLE_GROUPS = ("Voice staff", "Voice managers")


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


def test_0002_and_0003_forward_and_back_keep_every_row(migrator) -> None:
    """0002: the GIN indexes (PostgreSQL only). 0003: the role groups, existing members put in them.
    Back to 0001: indexes and groups gone, every fact as it was."""
    old = migrator.apply_initial_migration(SCHEMA)
    before = _facts(old)
    gin = {"voice_knowledge_search_gin", "voice_knowledge_tags_gin"}
    assert not gin & _indexes()
    manager = old.apps.get_model("auth", "User").objects.create(username="m", password="!")
    organization = old.apps.get_model("voice", "Organization").objects.get(slug="acme")
    old.apps.get_model("voice", "Membership").objects.create(
        organization=organization, user=manager, role="manager"
    )
    old.apps.get_model("auth", "Group").objects.filter(
        name__in=ROLE_GROUPS
    ).delete()  # as before 0003 existed

    indexed = migrator.apply_tested_migration(INDEXED)
    assert (gin <= _indexes()) == (connection.vendor == "postgresql")
    assert _facts(indexed) == before

    roles = migrator.apply_tested_migration(ROLES)
    groups = roles.apps.get_model("auth", "Group").objects
    staff, managers = groups.get(name="Voice staff"), groups.get(name="Voice managers")
    assert staff.permissions.filter(codename="add_appointment").exists()
    assert not staff.permissions.filter(codename="add_location").exists()
    assert managers.permissions.filter(codename="change_agentconfig").exists()
    member = roles.apps.get_model("auth", "User").objects.get(username="m")
    assert set(member.groups.values_list("name", flat=True)) == set(ROLE_GROUPS)

    reverted = migrator.apply_tested_migration(SCHEMA)
    assert not gin & _indexes()
    assert not reverted.apps.get_model("auth", "Group").objects.filter(name__in=ROLE_GROUPS).exists()
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
