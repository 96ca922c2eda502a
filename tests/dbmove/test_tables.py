"""The move's table list: every table migrate creates, each after the tables its foreign keys point at."""

from __future__ import annotations

import pytest
from django.db import connection

from dbmove.tables import _target_table, copy_groups, ordered_tables


@pytest.mark.django_db
def test_every_table_of_the_database_but_djangos_migration_records_is_moved():
    moved = {spec.table for spec in ordered_tables()}

    assert moved == set(connection.introspection.table_names()) - {"django_migrations"}


def test_every_foreign_key_points_at_a_table_copied_before_or_in_the_same_group():
    seen: set[str] = set()
    for group in copy_groups():
        tables = {spec.table for spec in group.tables}
        for spec in group.tables:
            for field in spec.fields:
                target = _target_table(field)
                assert target is None or target in seen | tables, f"{spec.table}.{field.column} -> {target}"
        seen |= tables


def test_generated_columns_are_left_out_of_the_copy():
    queue = next(spec for spec in ordered_tables() if spec.table == "routing_escalationqueueentry")

    assert "priority_rank" not in queue.columns
    assert queue.pk == "id"
