"""Shared fixtures and the database/browser gates.

Tests marked `postgres` need PostgreSQL (row locks, JSONB, concurrency): on SQLite they are deselected
with a printed count, and .ci/run runs the whole suite again on PostgreSQL, where they run.
Tests marked `browser` need Debian's chromium; when CI sets REQUIRE_BROWSER=1 a missing browser fails.
"""

from __future__ import annotations

import importlib
import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

REDIS_TEST_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/1")
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def _on_postgres() -> bool:
    from django.conf import settings

    return settings.DATABASES["default"]["ENGINE"].endswith("postgresql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _on_postgres():
        return
    selected = [item for item in items if "postgres" not in item.keywords]
    deselected = [item for item in items if "postgres" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
        config._switchboard_pg_deselected = len(deselected)  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> str:
    from django.conf import settings

    return f"database: {settings.DATABASES['default']['ENGINE']} {settings.DATABASES['default'].get('NAME')}"


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    count = getattr(config, "_switchboard_pg_deselected", 0)
    if count:
        terminalreporter.write_line(
            f"{count} PostgreSQL-only tests deselected on SQLite; .ci/run runs them on PostgreSQL "
            "(DATABASE_URL=postgres://postgres@127.0.0.1:5432/switchboard make test)."
        )


@pytest.fixture(autouse=True)
def _fresh_schedule_zones() -> Iterator[None]:
    """Each test starts with routing's per-process memo of schedule zones empty (tests move the clock)."""
    from routing.selectors.schedules import schedule_zones_forget

    schedule_zones_forget()
    yield


@pytest.fixture
def chromium_path() -> str:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"chromium not found at {CHROMIUM}; .ci/run installs Debian's chromium package")
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="module")
def seed_rows_back_after_flush(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Put back the rows the data migrations seed, once a module of transactional tests is done.

    Transactional tests (live_server, django-test-migrations, threads on their own connections) end with
    a flush. post_migrate then recreates content types, permissions and the role groups, but not the
    seeded roster. Module scope sets this up before `transactional_db` and tears it down after the last
    flush; the seed steps are idempotent, so later tests see what a freshly migrated database holds.
    (Django's serialized_rollback does not fit here: the migration tests recreate seeded rows under new
    primary keys, and reloading the serialized copy then collides on their unique names.)
    """
    yield
    seed_roster = importlib.import_module("agents.migrations.0003_seed_roster")
    live_load = importlib.import_module("routing.migrations.0009_live_load_from_open_work")
    with django_db_blocker.unblock():
        seed_roster.vocabulary_seed(global_apps, None)
        seed_roster.roster_seed(global_apps, None)
        live_load.load_from_open_work(global_apps, None)


@pytest.fixture
def supervisor_user(db) -> User:
    user = User.objects.create_user("sup", "sup@example.com", "correct-horse-battery", is_staff=True)
    user.groups.add(Group.objects.get(name="Supervisors"))
    return user


@pytest.fixture
def analyst_user(db) -> User:
    user = User.objects.create_user("analyst", "analyst@example.com", "correct-horse-battery", is_staff=True)
    user.groups.add(Group.objects.get(name="Analysts"))
    return user


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def supervisor_client(supervisor_user: User) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=supervisor_user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def analyst_client(analyst_user: User) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=analyst_user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def redis_url() -> str:
    """A Redis server for the tests of what several server processes share (REDIS_TEST_URL); skipped
    without one, unless REQUIRE_REDIS=1 (CI) makes that a failure."""
    import redis

    try:
        redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as error:
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(f"Redis not reachable at {REDIS_TEST_URL}: {error}")
        pytest.skip(f"Redis not reachable at {REDIS_TEST_URL}")
    return REDIS_TEST_URL
