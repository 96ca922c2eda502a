"""Writes of automated agents: create, update, capabilities, heartbeats, metrics, the stale sweep.

An agent's capability rows are the truth; its `capabilities` JSON list is rewritten from them here, in
the same transaction, by every function that changes them (`_capability_names_write`). Other tables'
foreign keys point at agents (tasks, messages, capabilities), so an agent row is locked
`FOR NO KEY UPDATE` (`select_for_update(no_key=True)`): it serialises writers of the agent without
blocking the `FOR KEY SHARE` those tables' inserts take.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from agents.automation.errors import AutomatedAgentNotFound
from agents.models import (
    OPEN_TASK_STATUSES,
    AgentCapability,
    AgentPerformanceSample,
    AgentTask,
    AutomatedAgent,
    AutomatedAgentStatus,
)

STALE_SWEEP_BATCH = 1000
DEFAULT_CONFIDENCE = Decimal("0.50")
AGENT_EDITABLE_FIELDS = ("name", "agent_type", "status", "system_prompt", "model_provider", "model_name")


@dataclass(frozen=True)
class CapabilitySpec:
    """A capability an agent holds; `confidence_score` None keeps an existing row's (0.5 for a new one)."""

    name: str
    confidence_score: Decimal | None = None


def automated_agent_locked(*, agent_id: Any) -> AutomatedAgent:
    """The agent's row, locked FOR NO KEY UPDATE; an unknown id is AutomatedAgentNotFound."""
    try:
        return AutomatedAgent.objects.select_for_update(no_key=True, of=("self",)).get(pk=agent_id)
    except AutomatedAgent.DoesNotExist:
        raise AutomatedAgentNotFound(agent_id=agent_id) from None


def automated_agents_locked(*, agent_ids: Sequence[Any]) -> list[AutomatedAgent]:
    """Several agents' rows locked FOR NO KEY UPDATE, in ascending id order (the lock order)."""
    if not agent_ids:
        return []
    return list(
        AutomatedAgent.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk__in=list(agent_ids))
        .order_by("pk")
    )


def automated_agents_release_if_free(*, agent_ids: Sequence[Any], now: dt.datetime) -> int:
    """Active agents among `agent_ids` left without an open task become idle (callers hold their locks)."""
    if not agent_ids:
        return 0
    open_task = AgentTask.objects.filter(assigned_agent=OuterRef("pk"), status__in=OPEN_TASK_STATUSES)
    return (
        AutomatedAgent.objects.filter(pk__in=list(agent_ids), status=AutomatedAgentStatus.ACTIVE)
        .exclude(Exists(open_task))
        .update(status=AutomatedAgentStatus.IDLE, updated_at=now)
    )


def _capability_names_write(agent: AutomatedAgent, names: list[str], now: dt.datetime) -> None:
    agent.capabilities = names
    agent.updated_at = now
    agent.save(update_fields=["capabilities", "updated_at"])


@transaction.atomic
def automated_agent_create(
    *,
    name: str,
    agent_type: str,
    status: str = AutomatedAgentStatus.IDLE,
    system_prompt: str | None = None,
    model_provider: str = "openrouter",
    model_name: str = "auto",
    capabilities: Sequence[CapabilitySpec] = (),
) -> AutomatedAgent:
    now = timezone.now()
    agent = AutomatedAgent.objects.create(
        name=name,
        agent_type=agent_type,
        status=status,
        system_prompt=system_prompt,
        model_provider=model_provider,
        model_name=model_name,
        created_at=now,
        updated_at=now,
    )
    if capabilities:
        _capabilities_replace(agent, capabilities, now)
    return agent


@transaction.atomic
def automated_agent_update(
    *, agent_id: Any, capabilities: Sequence[CapabilitySpec] | None = None, **changes: Any
) -> AutomatedAgent:
    """Change the agent's own fields (AGENT_EDITABLE_FIELDS) and, when given, replace its capabilities."""
    unknown = set(changes) - set(AGENT_EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    agent = automated_agent_locked(agent_id=agent_id)
    now = timezone.now()
    for field, value in changes.items():
        setattr(agent, field, value)
    agent.updated_at = now
    agent.save(update_fields=[*changes, "updated_at"])
    if capabilities is not None:
        _capabilities_replace(agent, capabilities, now)
    return agent


def _capabilities_replace(
    agent: AutomatedAgent, capabilities: Sequence[CapabilitySpec], now: dt.datetime
) -> None:
    wanted: dict[str, CapabilitySpec] = {}
    for spec in capabilities:
        wanted.setdefault(spec.name, spec)  # the first mention of a name wins
    existing = {row.capability_name: row for row in AgentCapability.objects.filter(agent=agent)}
    AgentCapability.objects.filter(agent=agent).exclude(capability_name__in=list(wanted)).delete()
    changed = []
    for name, spec in wanted.items():
        row = existing.get(name)
        if (
            row is not None
            and spec.confidence_score is not None
            and row.confidence_score != spec.confidence_score
        ):
            row.confidence_score = spec.confidence_score
            changed.append(row)
    AgentCapability.objects.bulk_update(changed, ["confidence_score"])
    AgentCapability.objects.bulk_create(
        AgentCapability(
            agent=agent,
            capability_name=name,
            confidence_score=DEFAULT_CONFIDENCE if spec.confidence_score is None else spec.confidence_score,
            created_at=now,
        )
        for name, spec in wanted.items()
        if name not in existing
    )
    _capability_names_write(agent, list(wanted), now)


@transaction.atomic
def automated_agent_set_capabilities(
    *, agent_id: Any, capabilities: Sequence[CapabilitySpec]
) -> AutomatedAgent:
    """Replace the agent's capabilities: rows of names kept keep their usage; the JSON list follows."""
    agent = automated_agent_locked(agent_id=agent_id)
    _capabilities_replace(agent, capabilities, timezone.now())
    return agent


@transaction.atomic
def automated_agent_capabilities_sync(*, agent_id: Any) -> AutomatedAgent:
    """Rewrite the JSON list from the rows after they were edited as rows (the admin's inline): names
    already listed keep their place, new ones follow in name order."""
    agent = automated_agent_locked(agent_id=agent_id)
    held = set(AgentCapability.objects.filter(agent=agent).values_list("capability_name", flat=True))
    kept = [name for name in agent.capabilities if name in held]
    names = kept + sorted(held - set(kept))
    if names != agent.capabilities:
        _capability_names_write(agent, names, timezone.now())
    return agent


@transaction.atomic
def automated_agent_heartbeat(*, agent_id: Any, status: str | None = None) -> AutomatedAgent:
    """The agent reports it is alive (and, optionally, its status); an offline agent comes back idle."""
    agent = automated_agent_locked(agent_id=agent_id)
    now = timezone.now()
    agent.last_heartbeat = now
    if status is not None:
        agent.status = status
    elif agent.status == AutomatedAgentStatus.OFFLINE:
        agent.status = AutomatedAgentStatus.IDLE
    agent.updated_at = now
    agent.save(update_fields=["last_heartbeat", "status", "updated_at"])
    return agent


@transaction.atomic
def automated_agent_record_metric(
    *,
    agent_id: Any,
    metric_name: str,
    metric_value: Decimal,
    metric_unit: str = "",
    context: dict[str, Any] | None = None,
    recorded_at: dt.datetime | None = None,
) -> AgentPerformanceSample:
    """Store a performance sample and make it the agent's latest value of that metric."""
    agent = automated_agent_locked(agent_id=agent_id)
    recorded_at = recorded_at or timezone.now()
    sample = AgentPerformanceSample.objects.create(
        agent=agent,
        metric_name=metric_name,
        metric_value=metric_value,
        metric_unit=metric_unit,
        recorded_at=recorded_at,
        context=context or {},
    )
    latest = agent.performance_metrics.get(metric_name)
    if latest is None or dt.datetime.fromisoformat(latest["recorded_at"]) <= recorded_at:
        agent.performance_metrics = {
            **agent.performance_metrics,
            metric_name: {
                "value": float(metric_value),
                "unit": metric_unit,
                "recorded_at": recorded_at.isoformat(),
            },
        }
        agent.save(update_fields=["performance_metrics"])
    return sample


def heartbeat_max_age() -> dt.timedelta:
    return dt.timedelta(seconds=int(settings.AUTOMATION["HEARTBEAT_MAX_AGE_SECONDS"]))


def automated_agents_mark_stale_offline(*, now: dt.datetime | None = None) -> int:
    """Mark offline every agent whose last heartbeat is older than HEARTBEAT_MAX_AGE_SECONDS.

    Set-based, STALE_SWEEP_BATCH agents per transaction; an agent another transaction holds (a heartbeat
    arriving now) is skipped and left to the next sweep. Agents that never sent a heartbeat (created by
    hand or imported) are left alone: nothing says they stopped. Returns how many were marked.
    """
    now = now or timezone.now()
    cutoff = now - heartbeat_max_age()
    marked = 0
    while True:
        with transaction.atomic():
            ids = list(
                AutomatedAgent.objects.select_for_update(skip_locked=True, no_key=True, of=("self",))
                .filter(last_heartbeat__lt=cutoff)
                .exclude(status=AutomatedAgentStatus.OFFLINE)
                .order_by("pk")
                .values_list("pk", flat=True)[:STALE_SWEEP_BATCH]
            )
            if not ids:
                return marked
            marked += AutomatedAgent.objects.filter(pk__in=ids).update(
                status=AutomatedAgentStatus.OFFLINE, updated_at=now
            )


@transaction.atomic
def automated_agents_set_status(*, agent_ids: Sequence[Any], status: str) -> int:
    """Set several agents' status at once (the admin's actions): one UPDATE under their locks."""
    agents = automated_agents_locked(agent_ids=agent_ids)
    return AutomatedAgent.objects.filter(pk__in=[agent.pk for agent in agents]).update(
        status=status, updated_at=timezone.now()
    )
