"""Production settings: no insecure defaults, and `check --deploy` passes with zero warnings."""

from __future__ import annotations

import importlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _clean_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS"}
    }
    return {**env, **overrides}


def test_production_settings_pass_check_deploy_with_zero_warnings() -> None:
    env = _clean_env(
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="switchboard.example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_development_defaults_fail_check_deploy() -> None:
    # The check above is not vacuous: base settings (DEBUG, the dev key) are flagged.
    env = _clean_env(DJANGO_SETTINGS_MODULE="config.settings.base")
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout  # DEBUG on


def _import_fresh(module: str, monkeypatch: pytest.MonkeyPatch) -> object:
    """Import a settings module anew; monkeypatch puts the originals back (django.conf is untouched)."""
    package = importlib.import_module("config.settings")
    for name in (module, "config.settings.production"):
        if name in sys.modules:
            monkeypatch.setattr(package, name.rsplit(".", 1)[1], sys.modules[name])
            monkeypatch.delitem(sys.modules, name)
    return importlib.import_module(module)


def test_production_settings_refuse_to_load_without_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("ALLOWED_HOSTS", "switchboard.example.com")
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        _import_fresh("config.settings.production", monkeypatch)


def test_production_settings_refuse_to_load_without_allowed_hosts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(64))
    monkeypatch.delenv("ALLOWED_HOSTS", raising=False)
    with pytest.raises(ImproperlyConfigured, match="ALLOWED_HOSTS"):
        _import_fresh("config.settings.production", monkeypatch)


def test_the_sqlite_default_takes_the_write_lock_when_a_transaction_opens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    base = _import_fresh("config.settings.base", monkeypatch)
    default = base.DATABASES["default"]  # type: ignore[attr-defined]
    assert default["ENGINE"] == "django.db.backends.sqlite3"
    assert default["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert default["OPTIONS"]["timeout"] > 0


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_sessions_run_without_jit() -> None:
    # the routing candidate search would otherwise spend ~20 ms JIT-compiling a ~3 ms query
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"


def _threshold_seen_by(code: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=_clean_env(DJANGO_SETTINGS_MODULE="config.settings.base", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "entry_point",
    [
        "import config.wsgi",
        "import config.asgi",
        "import sys; sys.argv = ['manage.py', 'check']; import manage; manage.main()",
    ],
)
def test_every_entry_point_tunes_the_garbage_collector(entry_point: str) -> None:
    result = _threshold_seen_by(f"{entry_point}\nimport gc; print('GC', gc.get_threshold())")
    assert result.returncode == 0, result.stderr
    assert "GC (50000, 20, 20)" in result.stdout


def test_gc_thresholds_come_from_the_environment() -> None:
    result = _threshold_seen_by(
        "import config.wsgi, gc; print('GC', gc.get_threshold())", GC_THRESHOLDS="900,5,5"
    )
    assert "GC (900, 5, 5)" in result.stdout, result.stderr


def test_gc_thresholds_that_are_not_three_numbers_are_refused_by_name() -> None:
    result = _threshold_seen_by("import config.wsgi", GC_THRESHOLDS="1000,10")
    assert result.returncode != 0
    assert "GC_THRESHOLDS must be three non-negative integers" in result.stderr
