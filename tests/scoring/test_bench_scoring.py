"""bench_scoring at a tiny scale: it loads, times ours and the floor, prints both and the ratio."""

from __future__ import annotations

import io

import pytest
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
    assert "next person to call (60 queue rows)" in text and "ratio p95" in text
    # ours and the floor both claimed (warm-up included); a rerun releases them first
    assert CallQueueEntry.objects.filter(status=QueueStatus.IN_PROGRESS).count() == 2 * (5 + 2)
    again = io.StringIO()
    call_command("bench_scoring", people=60, iterations=5, reuse=True, stdout=again)
    assert "(14 claims released first)" in again.getvalue()


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the refusal is on SQLite")
def test_the_benchmark_refuses_sqlite() -> None:
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("bench_scoring", people=10, iterations=1)
