"""manage.py move_database from a populated SQLite file to PostgreSQL: every table verified, values and
sequences right, the source untouched, a non-empty target refused, an interrupted move resumed.

The source is a SQLite file migrated in a child process and filled by dbmove.sample (edge cases across
the apps, plus a few hundred bulk rows); the targets are databases of their own on the test server,
named after DATABASE_URL's with a suffix, dropped at the end. The scale run is the bench_move command.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import environ
import psycopg
import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connections

from dbmove import move as dbmove
from dbmove.move import (
    MoveFailed,
    SourceNotMigrated,
    TargetAlreadyMoved,
    TargetNotEmpty,
    database_move,
)
from dbmove.sample import BASE_TIME, bulk_rows_write, sample_rows_write

SAMPLE_ALIAS = "move_test_source"


def _server_url(database: str) -> str:
    parts = urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/switchboard"))
    return urlunsplit(parts._replace(path=f"/{database}"))


def _base_name() -> str:
    return (
        urlsplit(os.environ.get("DATABASE_URL", "postgres:///switchboard")).path.lstrip("/") or "switchboard"
    )


def _drop(url: str) -> None:
    parts = urlsplit(url)
    with psycopg.connect(_server_url("postgres"), autocommit=True) as server:
        server.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def source(tmp_path_factory, django_db_blocker) -> Iterator[str]:
    path = tmp_path_factory.mktemp("move") / "switchboard.sqlite3"
    url = f"sqlite:///{path}"
    migrated = subprocess.run(
        [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "migrate", "--noinput", "-v", "0"],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    connections.settings[SAMPLE_ALIAS] = connections.configure_settings(
        {"default": environ.Env.db_url_config(url)}
    )["default"]
    with django_db_blocker.unblock():
        sample_rows_write(SAMPLE_ALIAS)
        bulk_rows_write(SAMPLE_ALIAS, 600)
        connections[SAMPLE_ALIAS].close()
    del connections.settings[SAMPLE_ALIAS]
    yield url


@pytest.fixture(scope="module")
def targets() -> Iterator[list[str]]:
    made: list[str] = []
    yield made
    for url in made:
        _drop(url)


@pytest.fixture
def target(targets, request) -> str:
    url = _server_url(f"{_base_name()}_move_{request.node.name[5:35]}")
    _drop(url)
    targets.append(url)
    return url


@pytest.fixture
def unblocked(django_db_blocker) -> Iterator[None]:
    """The move opens its own connections (the SQLite file, the target): the test database is not used."""
    with django_db_blocker.unblock():
        yield


def _target_query(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url, autocommit=True) as target:
        cursor = target.execute(query, params)
        return cursor.fetchall() if cursor.description else []


# --- refused before anything is written (no PostgreSQL needed) ----------------------------------------------


def test_a_target_that_is_not_postgres_is_refused(tmp_path):
    with pytest.raises(CommandError, match="must be a PostgreSQL database"):
        call_command(
            "move_database", "--to", f"sqlite:///{tmp_path}/x.sqlite3", "--from", f"sqlite:///{tmp_path}/y"
        )


def test_a_source_whose_migrations_do_not_match_the_code_is_refused(tmp_path, unblocked):
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    with pytest.raises(SourceNotMigrated, match="not applied"):
        database_move(target_url=_server_url("never_connected"), source_url=f"sqlite:///{empty}")


# --- the move ----------------------------------------------------------------------------------------------


@pytest.mark.postgres
def test_the_move_copies_every_table_and_verifies_it(source, target, unblocked, capsys):
    source_path = Path(urlsplit(source).path)
    before = _sha256(source_path)

    call_command("move_database", "--to", target, "--from", source, "--no-progress", "--batch-size", "97")

    out = capsys.readouterr().out
    # then: every table listed, equal on both sides, and the URL to switch to
    listed = {line.split()[0] for line in out.splitlines() if line.endswith(" ok")}
    assert "DIFFERENT" not in out
    assert f"DATABASE_URL={target}" in out
    tables = {
        name
        for (name,) in _target_query(target, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    }
    assert listed == tables - {"dbmove_state", "dbmove_progress"}
    # the source is byte for byte what it was
    assert _sha256(source_path) == before
    # values arrive as PostgreSQL types, not text
    assert _target_query(
        target,
        "SELECT jsonb_typeof(special_requirements), special_requirements->'tiers'->>2, created_at = %s "
        "FROM routing_supportcase WHERE case_id = 'CASE-ÉDGE-1'",
        (BASE_TIME,),
    ) == [("object", "100.0", True)]
    assert _target_query(
        target,
        "SELECT escalated, routing_confidence, match_score FROM routing_caseassignment WHERE case_id = 'CASE-ÉDGE-1'",
    ) == [(True, Decimal("0.70"), Decimal("99.99"))]
    assert _target_query(target, "SELECT host(ip_address) FROM axes_accessattempt ORDER BY id") == [
        ("203.0.113.7",),
        ("2001:db8::1",),
    ]
    assert _target_query(
        target,
        "SELECT name, created_at IS NULL, capabilities FROM agents_automatedagent WHERE legacy_id = 'ägent-ü'",
    ) == [("Señor Bot 日本", True, ["web_search", "翻訳"])]
    # sequences continue after the copied keys: a new row gets the next id
    (highest,) = _target_query(target, "SELECT max(id) FROM auth_permission")[0]
    assert _target_query(
        target,
        "INSERT INTO auth_permission (name, content_type_id, codename) VALUES ('x', 1, 'x_new') RETURNING id",
    ) == [(highest + 1,)]
    assert _target_query(target, "SELECT status FROM dbmove_state") == [("complete",)]

    # when: run again, it refuses: the move is done
    with pytest.raises(TargetAlreadyMoved):
        database_move(target_url=target, source_url=source)
    # a check finds them equal (the permission added above aside)
    check = database_move(target_url=target, source_url=source, verify_only=True)
    assert [table.table for table in check.tables if not table.ok] == ["auth_permission"]

    # when: a value differs, the check says where and the command exits non-zero
    _target_query(target, "DELETE FROM auth_permission WHERE codename = 'x_new'")
    _target_query(
        target, "UPDATE agents_agenttask SET title = title || '!' WHERE title = 'Überprüfen' RETURNING id"
    )
    with pytest.raises(CommandError, match=r"1 table\(s\) differ \(agents_agenttask\)"):
        call_command("move_database", "--to", target, "--from", source, "--verify-only", "--no-progress")
    assert "agents_agenttask" in next(
        line for line in capsys.readouterr().out.splitlines() if "DIFFERENT" in line
    )


@pytest.mark.postgres
def test_a_non_empty_target_is_refused_and_an_interrupted_replace_is_resumed(
    source, target, unblocked, monkeypatch
):
    # given: a database with someone else's table
    dbmove._ensure_database(environ.Env.db_url_config(target))
    _target_query(target, "CREATE TABLE someone_elses (id int)")

    # then: refused, untouched
    with pytest.raises(TargetNotEmpty, match="someone_elses"):
        database_move(target_url=target, source_url=source)
    assert _target_query(
        target, "SELECT to_regclass('dbmove_state') IS NULL, to_regclass('someone_elses') IS NOT NULL"
    ) == [(True, True)]

    # when: replaced, and the copy stops (Ctrl-C) in its 12th batch of 50 rows
    real_copy_rows = dbmove.copy_rows
    calls = {"n": 0}

    def interrupted(spec, rows):
        calls["n"] += 1
        if calls["n"] == 12:
            raise KeyboardInterrupt
        real_copy_rows(spec, rows)

    monkeypatch.setattr(dbmove, "copy_rows", interrupted)
    with pytest.raises(KeyboardInterrupt):
        database_move(target_url=target, source_url=source, replace=True, batch_size=50)

    # then: the old table is gone and the move is marked incomplete, with the complete batches recorded
    assert _target_query(target, "SELECT to_regclass('someone_elses')") == [(None,)]
    assert _target_query(target, "SELECT status FROM dbmove_state") == [("copying",)]
    (done_tables, copied) = _target_query(
        target, "SELECT count(*) FILTER (WHERE done), sum(rows_copied) FROM dbmove_progress"
    )[0]
    assert copied > 0 and done_tables > 0
    assert copied == sum(
        _target_query(target, f'SELECT count(*) FROM "{table}"')[0][0]
        for (table,) in _target_query(target, "SELECT table_name FROM dbmove_progress")
    )

    # when: run again (no --replace needed: it is this source's unfinished move), it resumes
    monkeypatch.setattr(dbmove, "copy_rows", real_copy_rows)
    report = database_move(target_url=target, source_url=source, batch_size=50)

    # then: after the last complete batch, nothing copied twice, verified
    assert report.resumed and report.ok
    assert report.copied_rows == report.total_rows - copied
    assert _target_query(target, "SELECT status FROM dbmove_state") == [("complete",)]


@pytest.mark.postgres
def test_a_refused_row_stops_the_move_and_the_rerun_reports_a_source_changed_meanwhile(
    source, target, unblocked, tmp_path
):
    # given: a copy of the source with a text PostgreSQL cannot store (SQLite takes a NUL character)
    path = tmp_path / "nul.sqlite3"
    path.write_bytes(Path(urlsplit(source).path).read_bytes())
    with sqlite3.connect(path) as broken:
        (task_id,) = broken.execute("SELECT id FROM agents_agenttask WHERE title = 'Überprüfen'").fetchone()
        broken.execute(
            "UPDATE agents_agenttask SET title = 'Über' || char(0) || 'prüfen' WHERE id = ?", [task_id]
        )

    with pytest.raises(MoveFailed, match=r"PostgreSQL refused a row of agents_agenttask .*0x00"):
        database_move(target_url=target, source_url=f"sqlite:///{path}")
    assert _target_query(target, "SELECT status FROM dbmove_state") == [("copying",)]

    # when: the row is fixed in the source, and (the application was not stopped) a row is added to a
    # table already copied, then the move is run again
    with sqlite3.connect(path) as fixed:
        fixed.execute("UPDATE agents_agenttask SET title = 'Überprüfen' WHERE id = ?", [task_id])
        fixed.execute("INSERT INTO agents_skilldomain (code, name, description) VALUES ('late', 'Late', '')")
    report = database_move(target_url=target, source_url=f"sqlite:///{path}")

    # then: the copy finished, and the verification names the table that changed behind it
    assert report.resumed and not report.ok
    differing = [table for table in report.tables if not table.ok]
    assert [(t.table, t.source_count - t.target_count) for t in differing] == [("agents_skilldomain", 1)]
    assert _target_query(target, "SELECT status FROM dbmove_state") == [("verification_failed",)]
