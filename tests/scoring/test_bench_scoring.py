"""bench_scoring at a tiny scale: it loads, times ours and the floor, prints both and the ratio; the upgrade
option times every scoring migration on a scratch database and checks the indicators."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from scoring.models import CallQueueEntry, QueueStatus

pytestmark = pytest.mark.django_db


@pytest.mark.postgres
def test_the_benchmark_runs_at_a_small_scale_and_prints_the_ratio() -> None:
    out = io.StringIO()
    call_command("bench_scoring", people=60, iterations=5, stdout=out)
    text = out.getvalue()
    assert "next person to call, callbacks due (60 queue rows)" in text and "ratio p95" in text
    assert "next person to call, no callback (60 queue rows)" in text
    # two paths, ours and the floor each claimed 5 + 2 warm-up; a rerun releases them first
    assert CallQueueEntry.objects.filter(status=QueueStatus.IN_PROGRESS).count() == 2 * 2 * (5 + 2)
    # the one due callback (bsc-42) was served first
    assert CallQueueEntry.objects.get(callback_id="bench-cb-bsc-42").status == QueueStatus.IN_PROGRESS
    again = io.StringIO()
    call_command("bench_scoring", people=60, iterations=5, reuse=True, stdout=again)
    assert "(28 claims released first)" in again.getvalue()


@pytest.mark.postgres
def test_the_upgrade_benchmark_times_each_migration_and_checks_the_indicators() -> None:
    # its own process: the command opens a scratch database beside the test database, a connection the
    # test's database isolation would refuse
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    result = subprocess.run(
        [
            sys.executable,
            str(Path(django_settings.BASE_DIR) / "manage.py"),
            "bench_scoring",
            "--upgrade",
            "--people",
            "50",
        ],
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "scoring at 0001 with 50 scores and 50 call-queue rows" in text
    for name in (
        "0004_convert_legacy_callbacks",
        "0005_backfill_score_upgrade_fields",
        "0010_backfill_queue",
    ):
        assert any(name in line and " data " in line for line in text.splitlines()), name
    assert "data steps:" in text and "indicators: counts kept" in text
    with connection.cursor() as cursor:  # the scratch database is dropped afterwards
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname = %s", [f"{settings['NAME']}_upgrade"])
        assert cursor.fetchone()[0] == 0


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the refusal is on SQLite")
def test_the_benchmark_refuses_sqlite() -> None:
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("bench_scoring", people=10, iterations=1)
