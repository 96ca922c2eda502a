"""SQLite in IMMEDIATE mode makes a second writer wait for the first instead of failing "database is locked".

Two threads, each with its own Django connection to a file database in a temporary directory (not the
test database, so this runs the same whatever DATABASE_URL says). The first opens a transaction, writes
and holds it; the second, inside its own `transaction.atomic()`, reads and then writes. The project's
options (settings.base: transaction_mode IMMEDIATE and a busy timeout) make the second BEGIN wait for the
first COMMIT. The control case runs the same steps in SQLite's default DEFERRED mode and shows the failure
that IMMEDIATE prevents: the second transaction holds a read lock when it tries to write, SQLite cannot
wait without risking deadlock, and it raises at once.
"""

from __future__ import annotations

import importlib
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import OperationalError, connections, transaction
from django.db.backends.sqlite3.base import DatabaseWrapper

HOLD_SECONDS = 0.5


@pytest.fixture
def project_options(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The OPTIONS config.settings.base gives the default SQLite database (read afresh, DATABASE_URL unset)."""
    monkeypatch.delenv("DATABASE_URL", raising=False)
    package = importlib.import_module("config.settings")
    if "config.settings.base" in sys.modules:  # monkeypatch puts the original module back afterwards
        monkeypatch.setattr(package, "base", sys.modules["config.settings.base"])
        monkeypatch.delitem(sys.modules, "config.settings.base")
    base = importlib.import_module("config.settings.base")
    return dict(base.DATABASES["default"]["OPTIONS"])


@pytest.fixture
def database_file(tmp_path: Path) -> Path:
    path = tmp_path / "locking.sqlite3"
    with sqlite3.connect(path) as setup:
        setup.execute("CREATE TABLE counter (id INTEGER PRIMARY KEY, writer TEXT)")
    return path


@pytest.fixture
def connect(database_file: Path, django_db_blocker: Any) -> Iterator[Callable[[str, dict[str, Any]], None]]:
    """Install a Django connection under `alias` in the calling thread (connections are per thread).

    pytest-django blocks database access outside `db` tests; these connections are to a scratch file,
    not the test database, so the block is lifted for them.
    """
    opened: list[DatabaseWrapper] = []
    unblocked = django_db_blocker.unblock()
    unblocked.__enter__()

    def install(alias: str, options: dict[str, Any]) -> None:
        configured = connections.configure_settings(  # fills in Django's defaults; needs a "default"
            {
                "default": {"ENGINE": "django.db.backends.dummy"},
                alias: {
                    "ENGINE": "django.db.backends.sqlite3",
                    "NAME": str(database_file),
                    "OPTIONS": options,
                },
            }
        )
        wrapper = DatabaseWrapper(configured[alias], alias)
        connections[alias] = wrapper
        opened.append(wrapper)

    yield install
    for wrapper in opened:  # each was used by its own thread, which has ended
        wrapper.inc_thread_sharing()
        wrapper.close()
    unblocked.__exit__(None, None, None)


def _race(connect: Callable[[str, dict[str, Any]], None], options: dict[str, Any]) -> dict[str, Any]:
    first_wrote = threading.Event()
    outcome: dict[str, Any] = {}

    def first() -> None:
        connect("first_writer", options)
        with transaction.atomic(using="first_writer"):
            connections["first_writer"].cursor().execute("INSERT INTO counter (writer) VALUES ('first')")
            first_wrote.set()
            time.sleep(HOLD_SECONDS)  # hold the write lock

    def second() -> None:
        connect("second_writer", options)
        first_wrote.wait(timeout=5)
        started = time.monotonic()
        try:
            with transaction.atomic(using="second_writer"):
                cursor = connections["second_writer"].cursor()
                cursor.execute("SELECT COUNT(*) FROM counter")
                cursor.execute("INSERT INTO counter (writer) VALUES ('second')")
        except OperationalError as error:
            outcome["error"] = str(error)
        outcome["waited"] = time.monotonic() - started

    def recording(step: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                step()
            except Exception as error:  # surfaced by the assertions below, not lost in the thread
                outcome.setdefault("crash", []).append(repr(error))
                first_wrote.set()

        return run

    threads = [threading.Thread(target=recording(first)), threading.Thread(target=recording(second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcome


def _writers(database_file: Path) -> list[str]:
    with sqlite3.connect(database_file) as check:
        return [row[0] for row in check.execute("SELECT writer FROM counter ORDER BY id")]


def test_the_project_options_make_a_concurrent_writer_wait_and_succeed(
    connect, database_file: Path, project_options: dict[str, Any]
):
    assert project_options["transaction_mode"] == "IMMEDIATE"

    outcome = _race(connect, project_options)

    assert "error" not in outcome, outcome
    assert outcome["waited"] >= HOLD_SECONDS * 0.5  # it queued behind the first transaction
    assert _writers(database_file) == ["first", "second"]


def test_without_immediate_mode_the_same_writers_fail_with_database_is_locked(
    connect, database_file: Path, project_options: dict[str, Any]
):
    # the control: same busy timeout, SQLite's default DEFERRED transactions
    options = {**project_options, "transaction_mode": "DEFERRED"}

    outcome = _race(connect, options)

    assert "database is locked" in outcome.get("error", ""), outcome
    assert _writers(database_file) == ["first"]
