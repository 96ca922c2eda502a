"""One model of work: the kinds of work agents hold, and what every kind shares.

Support cases are one kind of work; sales leads and outbound calls are others. They share agents, so they
share three things, each stated here once:

- **Load and capacity.** An agent's `AgentAvailability.current_load` counts their open work of every
  kind, against one capacity (`HumanAgent.max_concurrent_work`). The services raise and release the load
  under the agent's row lock whatever the kind (routing.services.assignment); the reconcile and the
  integrity checks count open work through `open_work_count`, which sums every registered kind.
- **The audit trail.** A routing decision and a routing event belong to one work item of any kind: each
  kind has its own foreign key column on RoutingDecision and RoutingEvent (an exclusive arc: real
  foreign keys with their own ON DELETE, a CHECK that exactly one is set, see
  routing.models.exactly_one_work_item), so one table, one admin and one API shape serve every kind.
- **The engine.** Work reaches the engine as a routing.engine.types.WorkProfile; a kind with facts of
  its own subclasses it and registers its factors and rules.

A kind registers a WorkKind: its name, the decision/event column it uses and how to find its open
assignments. Cases register below; another kind registers in its own module, imported by routing.apps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce


@dataclass(frozen=True)
class WorkKind:
    name: str
    # The foreign key of RoutingDecision and RoutingEvent that names an item of this kind.
    audit_field: str
    # Open work of this kind (each row holds one of an agent's slots), with an `agent_id` column.
    open_work: Callable[[], QuerySet]

    def audit_ref(self, item_pk: Any) -> dict[str, Any]:
        """The keyword that points a decision or an event at item `item_pk` of this kind."""
        return {f"{self.audit_field}_id": item_pk}


WORK_KINDS: dict[str, WorkKind] = {}


def register_work_kind(kind: WorkKind) -> WorkKind:
    if kind.name in WORK_KINDS and WORK_KINDS[kind.name] != kind:
        raise ValueError(f"work kind {kind.name!r} registered twice")
    WORK_KINDS[kind.name] = kind
    return kind


def work_kind(name: str) -> WorkKind:
    return WORK_KINDS[name]


def open_work_count(agent_ref: str = "agent_id") -> Coalesce | CombinedExpression:
    """For a queryset with an agent id column `agent_ref`: the agent's open work of every kind."""
    total: Any = None
    for kind in WORK_KINDS.values():
        counts = (
            kind.open_work()
            .filter(agent_id=OuterRef(agent_ref))
            .order_by()
            .values("agent_id")
            .annotate(open=Count("pk"))
            .values("open")
        )
        count = Coalesce(Subquery(counts, output_field=IntegerField()), Value(0))
        total = count if total is None else total + count
    return total if total is not None else Value(0)


def _open_case_assignments() -> QuerySet:
    from routing.models import OPEN_ASSIGNMENT_STATUSES, CaseAssignment

    return CaseAssignment.objects.filter(status__in=OPEN_ASSIGNMENT_STATUSES)


CASES = register_work_kind(WorkKind(name="case", audit_field="case", open_work=_open_case_assignments))


def _open_leads() -> QuerySet:
    # A lead in an agent's hands (assigned or contacted) holds one of the agent's slots; its `agent_id`
    # column names the agent.
    from routing.models import OPEN_LEAD_STATUSES, Lead

    return Lead.objects.filter(status__in=OPEN_LEAD_STATUSES)


LEADS = register_work_kind(WorkKind(name="lead", audit_field="lead", open_work=_open_leads))
