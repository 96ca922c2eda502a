"""Shared fixtures and the database/browser gates.

Tests marked `postgres` need PostgreSQL (row locks, JSONB, concurrency): on SQLite they are deselected
with a printed count, and .ci/run runs the whole suite again on PostgreSQL, where they run.
Tests marked `browser` need Debian's chromium; when CI sets REQUIRE_BROWSER=1 a missing browser fails.
"""

from __future__ import annotations

import os
import shutil

import pytest
from django.contrib.auth.models import Group, User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

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


@pytest.fixture
def chromium_path() -> str:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"chromium not found at {CHROMIUM}; .ci/run installs Debian's chromium package")
        pytest.skip(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


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
