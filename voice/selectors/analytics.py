"""Call analytics (the seed's business intelligence): per configuration version and per location.

For the calls started in [since, until) of the caller's organization(s): calls, completion, transfer,
failure and abandonment, escalations (escalation events and the share of calls with one), turns,
interrupted turns, and the mean and p95 turn latency of each stage (ASR, LLM, TTS, total).

Set-based and constant in queries: per grouping, one query over calls, one over escalation events and
one over turns (grouped in the database; nothing is loaded row by row), so six in all. p95 is the
nearest rank (voice.engine.stats): PostgreSQL's percentile_disc, and on SQLite the aggregate that
voice.apps registers on each connection. Counts, latencies and outcomes survive sanitization, so the
figures cover calls whose transcripts are gone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Aggregate, Avg, Count, FloatField, Q, QuerySet

from voice.access import VoiceCaller
from voice.models import Call, CallEvent, CallEventType, CallStatus, Turn

STAGES = ("asr", "llm", "tts", "total")
SQLITE_PERCENTILE_FUNCTION = "VOICE_PERCENTILE_DISC"


class Percentile(Aggregate):
    """The nearest-rank percentile of an expression (NULLs ignored)."""

    name = "Percentile"
    output_field = FloatField()
    template = f"{SQLITE_PERCENTILE_FUNCTION}(%(expressions)s, %(fraction)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be within 0..1")
        super().__init__(expression, fraction=float(fraction), **extra)

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            template="PERCENTILE_DISC(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)",
            **extra_context,
        )


@dataclass
class AnalyticsRow:
    key: Any
    label: str
    calls: int = 0
    completed: int = 0
    transferred: int = 0
    failed: int = 0
    abandoned: int = 0
    in_progress: int = 0
    escalations: int = 0
    escalated_calls: int = 0
    turns: int = 0
    interrupted_turns: int = 0
    latency_mean_ms: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(STAGES))
    latency_p95_ms: dict[str, float | None] = field(default_factory=lambda: dict.fromkeys(STAGES))

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return round(part / whole, 4) if whole else None

    @property
    def finished(self) -> int:
        return self.calls - self.in_progress

    @property
    def completion_rate(self) -> float | None:
        return self._rate(self.completed, self.finished)

    @property
    def transfer_rate(self) -> float | None:
        return self._rate(self.transferred, self.finished)

    @property
    def escalation_rate(self) -> float | None:
        return self._rate(self.escalated_calls, self.calls)

    @property
    def interruption_rate(self) -> float | None:
        return self._rate(self.interrupted_turns, self.turns)


@dataclass(frozen=True)
class CallAnalytics:
    since: dt.datetime
    until: dt.datetime
    by_config: list[AnalyticsRow]
    by_location: list[AnalyticsRow]


def _status_counts() -> dict[str, Any]:
    return {
        "calls": Count("pk"),
        "completed": Count("pk", filter=Q(status=CallStatus.COMPLETED)),
        "transferred": Count("pk", filter=Q(status=CallStatus.TRANSFERRED)),
        "failed": Count("pk", filter=Q(status=CallStatus.FAILED)),
        "abandoned": Count("pk", filter=Q(status=CallStatus.ABANDONED)),
        "in_progress": Count("pk", filter=Q(status=CallStatus.IN_PROGRESS)),
    }


def _latency_aggregates() -> dict[str, Any]:
    aggregates: dict[str, Any] = {
        "turns": Count("pk"),
        "interrupted_turns": Count("pk", filter=Q(interrupted=True)),
    }
    for stage in STAGES:
        aggregates[f"mean_{stage}"] = Avg(f"latency_{stage}_ms")
        aggregates[f"p95_{stage}"] = Percentile(f"latency_{stage}_ms", 0.95)
    return aggregates


def _grouped(
    *,
    calls: QuerySet[Call],
    events: QuerySet[CallEvent],
    turns: QuerySet[Turn],
    key: str,
    label_fields: tuple[str, ...],
    label: Any,
) -> list[AnalyticsRow]:
    """Rows keyed by (organization, key): grouping by the organization too keeps two organizations'
    "no location" apart when a superuser reads across them (within one organization it changes nothing)."""
    rows: dict[tuple[int, Any], AnalyticsRow] = {}
    for values in calls.values("organization", key, *label_fields).annotate(**_status_counts()).order_by():
        row = AnalyticsRow(key=values[key], label=label(values))
        for name in ("calls", "completed", "transferred", "failed", "abandoned", "in_progress"):
            setattr(row, name, values[name])
        rows[(values["organization"], values[key])] = row
    for values in (
        events.values("organization", f"call__{key}")
        .annotate(escalations=Count("pk"), escalated_calls=Count("call_id", distinct=True))
        .order_by()
    ):
        row = rows.get((values["organization"], values[f"call__{key}"]))
        if row is not None:
            row.escalations, row.escalated_calls = values["escalations"], values["escalated_calls"]
    for values in turns.values("organization", f"call__{key}").annotate(**_latency_aggregates()).order_by():
        row = rows.get((values["organization"], values[f"call__{key}"]))
        if row is None:
            continue
        row.turns, row.interrupted_turns = values["turns"], values["interrupted_turns"]
        for stage in STAGES:
            mean = values[f"mean_{stage}"]
            row.latency_mean_ms[stage] = round(float(mean), 1) if mean is not None else None
            p95 = values[f"p95_{stage}"]
            row.latency_p95_ms[stage] = float(p95) if p95 is not None else None
    return list(rows.values())


def _config_label(values: dict[str, Any]) -> str:
    if values["agent_config"] is None:
        return "no configuration"
    scope = f" ({values['agent_config__location__name']})" if values["agent_config__location__name"] else ""
    organization = values.get("organization__name")
    return f"v{values['agent_config__version']}{scope}" + (f" · {organization}" if organization else "")


def _location_label(values: dict[str, Any]) -> str:
    name = values["location__name"] or "no location"
    organization = values.get("organization__name")
    return name + (f" · {organization}" if organization else "")


def call_analytics(
    *, caller: VoiceCaller, since: dt.datetime, until: dt.datetime, location_id: int | None = None
) -> CallAnalytics:
    calls = caller.scope(Call.objects.filter(started_at__gte=since, started_at__lt=until))
    events = caller.scope(
        CallEvent.objects.filter(
            event_type=CallEventType.ESCALATION, call__started_at__gte=since, call__started_at__lt=until
        )
    )
    turns = caller.scope(Turn.objects.filter(call__started_at__gte=since, call__started_at__lt=until))
    if location_id is not None:
        calls = calls.filter(location_id=location_id)
        events = events.filter(call__location_id=location_id)
        turns = turns.filter(call__location_id=location_id)
    # Across organizations (a superuser who chose none) labels name the organization too.
    across = caller.organization_ids is None or len(caller.organization_ids) > 1
    extra = ("organization__name",) if across else ()
    by_config = _grouped(
        calls=calls,
        events=events,
        turns=turns,
        key="agent_config",
        label_fields=("agent_config__version", "agent_config__location__name", *extra),
        label=_config_label,
    )
    by_location = _grouped(
        calls=calls,
        events=events,
        turns=turns,
        key="location",
        label_fields=("location__name", *extra),
        label=_location_label,
    )
    by_config.sort(key=lambda row: (row.key is None, row.label))
    by_location.sort(key=lambda row: (row.key is None, row.label))
    return CallAnalytics(since=since, until=until, by_config=by_config, by_location=by_location)
