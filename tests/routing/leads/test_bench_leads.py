"""bench_leads at a tiny scale: it loads, routes through the service and the floor, and prints its table."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from routing.models import LeadExperimentAssignment, LeadRoutingHistory


@pytest.mark.postgres
@pytest.mark.django_db
def test_bench_leads_runs_at_a_small_scale() -> None:
    out = StringIO()
    call_command(
        "bench_leads",
        agents=40,
        leads=50,
        rules=10,
        assignments=200,
        iterations=5,
        results_iterations=2,
        stdout=out,
    )
    text = out.getvalue()
    assert "score and route one lead" in text
    assert "experiment results (200 assignments)" in text
    assert "ratio p95" in text
    assert LeadRoutingHistory.objects.filter(lead__external_id__startswith="blead_").exists()
    assert LeadExperimentAssignment.objects.count() >= 200


@pytest.mark.django_db
def test_bench_leads_refuses_sqlite() -> None:
    if connection.vendor == "postgresql":
        pytest.skip("the refusal is for other databases")
    with pytest.raises(CommandError, match="needs PostgreSQL"):
        call_command("bench_leads", agents=1, leads=1, stdout=StringIO())
