"""Call analytics per configuration version and per location: counts, rates, escalations,
interruptions, and mean and p95 latency per stage (nearest rank, the same on both databases)."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.utils import timezone

from tests.factories.voice import (
    AgentConfigFactory,
    CallEventFactory,
    CallFactory,
    LocationFactory,
    TurnFactory,
)
from voice.access import caller_for_organization
from voice.engine.stats import nearest_rank
from voice.selectors import call_analytics

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def history(org_a, org_b):
    downtown, cambridge = (
        LocationFactory(organization=org_a, name="Downtown"),
        LocationFactory(organization=org_a, name="Cambridge"),
    )
    v1 = AgentConfigFactory(organization=org_a, is_active=False)
    v2 = AgentConfigFactory(organization=org_a)
    rng = random.Random(3)
    latencies: dict[int, list[int]] = {v1.pk: [], v2.pk: []}
    plan = [
        (v1, downtown, "completed"),
        (v1, downtown, "transferred"),
        (v2, cambridge, "completed"),
        (v2, downtown, "completed"),
        (v2, cambridge, "failed"),
        (v2, cambridge, "in_progress"),
    ]
    for number, (config, location, status) in enumerate(plan):
        started = NOW - dt.timedelta(days=2, minutes=number)
        call = CallFactory(
            organization=org_a, location=location, agent_config=config, status=status, started_at=started,
            ended_at=None if status == "in_progress" else started + dt.timedelta(minutes=3),
        )  # fmt: skip
        for index in range(5):
            total = rng.randint(200, 2000)
            latencies[config.pk].append(total)
            TurnFactory(
                call=call,
                turn_index=index,
                latency_total_ms=total,
                latency_asr_ms=None if index == 0 else 100,
                latency_llm_ms=None,
                interrupted=index == 4 and number % 2 == 0,
            )
        if status == "transferred":
            CallEventFactory(call=call, event_type="escalation", event_data={"reason": "asked for a person"})
            CallEventFactory(call=call, event_type="escalation", event_data={"reason": "again"})
    # another organization's and an old call: never counted
    CallFactory(organization=org_b)
    CallFactory(
        organization=org_a,
        agent_config=v1,
        started_at=NOW - dt.timedelta(days=90),
        ended_at=NOW - dt.timedelta(days=90),
    )
    return v1, v2, downtown, cambridge, latencies


def test_per_version_figures(org_a, history) -> None:
    v1, v2, _, _, latencies = history
    report = call_analytics(
        caller=caller_for_organization(org_a), since=NOW - dt.timedelta(days=30), until=NOW
    )
    rows = {row.key: row for row in report.by_config}
    first, second = rows[v1.pk], rows[v2.pk]
    assert (first.label, first.calls, first.completed, first.transferred) == ("v1", 2, 1, 1)
    assert (first.completion_rate, first.transfer_rate, first.escalations, first.escalated_calls) == (
        0.5,
        0.5,
        2,
        1,
    )
    assert (second.calls, second.in_progress, second.failed) == (4, 1, 1)
    assert second.completion_rate == round(2 / 3, 4)  # of the three finished calls
    assert first.turns == 10 and first.interrupted_turns == 1 and first.interruption_rate == 0.1
    for config in (v1, v2):
        row = rows[config.pk]
        assert row.latency_p95_ms["total"] == nearest_rank(latencies[config.pk], 0.95)
        assert row.latency_mean_ms["total"] == round(sum(latencies[config.pk]) / len(latencies[config.pk]), 1)
        assert row.latency_p95_ms["asr"] == 100 and row.latency_mean_ms["asr"] == 100  # nulls ignored
        assert row.latency_p95_ms["llm"] is None


def test_per_location_figures_and_the_location_filter(org_a, history) -> None:
    _, _, downtown, cambridge, _ = history
    caller = caller_for_organization(org_a)
    report = call_analytics(caller=caller, since=NOW - dt.timedelta(days=30), until=NOW)
    by_location = {row.label: (row.calls, row.completed, row.failed) for row in report.by_location}
    assert by_location == {"Downtown": (3, 2, 0), "Cambridge": (3, 1, 1)}
    only = call_analytics(
        caller=caller, since=NOW - dt.timedelta(days=30), until=NOW, location_id=cambridge.pk
    )
    assert [row.label for row in only.by_location] == ["Cambridge"] and sum(
        r.calls for r in only.by_config
    ) == 3


def test_the_report_costs_six_queries_whatever_the_calls(org_a, history, django_assert_num_queries) -> None:
    with django_assert_num_queries(6):
        call_analytics(caller=caller_for_organization(org_a), since=NOW - dt.timedelta(days=30), until=NOW)


def test_the_analytics_endpoint(client_a, history) -> None:
    v1, *_ = history
    body = client_a.get(
        "/api/v1/voice/calls/analytics/", {"since": (NOW - dt.timedelta(days=30)).isoformat()}
    ).json()
    first = next(row for row in body["by_config_version"] if row["key"] == v1.pk)
    assert (
        first["label"] == "v1"
        and first["escalations"] == 2
        and set(first["latency_p95_ms"]) == {"asr", "llm", "tts", "total"}
    )
    assert (
        client_a.get(
            "/api/v1/voice/calls/analytics/",
            {"since": NOW.isoformat(), "until": (NOW - dt.timedelta(days=1)).isoformat()},
        ).status_code
        == 400
    )
