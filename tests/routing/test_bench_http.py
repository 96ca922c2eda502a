"""bench_http at a tiny scale: a real gunicorn with the production settings routes cases over HTTP."""

from __future__ import annotations

import io
import random

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from routing.management.commands.bench_routing import Command as RoutingBenchmark
from routing.models import SupportCase


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the refusal is on SQLite")
@pytest.mark.django_db
def test_the_benchmark_refuses_sqlite() -> None:
    with pytest.raises(CommandError, match="run it on PostgreSQL"):
        call_command("bench_http", seconds=1)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_benchmark_needs_the_bench_roster() -> None:
    with pytest.raises(CommandError, match="run `manage.py bench_routing`"):
        call_command("bench_http", seconds=1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("seed_rows_back_after_flush")
def test_gunicorn_routes_cases_from_concurrent_clients(redis_url: str) -> None:
    bench = RoutingBenchmark(stdout=io.StringIO())
    bench.rng = random.Random(3)
    bench.ensure_agents(120)
    out = io.StringIO()

    call_command(
        "bench_http", workers=[1], clients=3, seconds=1.5, warmup=0.3, cache_url=redis_url, stdout=out
    )

    lines = out.getvalue().splitlines()
    header = next(index for index, line in enumerate(lines) if line.startswith("workers"))
    workers, per_second, *_latencies, routed, failed = lines[header + 2].split()
    assert (workers, failed) == ("1", "0")
    assert float(per_second) > 0 and int(routed) > 0
    measured = SupportCase.objects.filter(case_id__startswith="rhttp_", case_id__contains="_m").count()
    assert measured >= int(routed)  # every route it counted is a case the server stored
