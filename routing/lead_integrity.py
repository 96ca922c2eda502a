"""Seed 001's verification: the row count of each of its ten tables, and the referential checks.

Each check is one set-based anti-join (NOT EXISTS on the parent's primary key) returning the offending
rows' ids; the foreign keys forbid most of these, and the checks stay because data can arrive raw
(COPY, restores, a constraint dropped during a migration). `manage.py verify_routing_tables` prints both
tables and exits non-zero on any offender.

Seed table -> model: AgentSpecialization, AgentAvailability and AgentPerformanceMetrics live in agents
(AgentPerformanceMetrics is agents.AgentPeriodMetrics); RoutingEvent is routing's shared events table;
the other six are routing's lead models.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, F, Model, OuterRef, QuerySet

from agents.models import AgentAvailability, AgentPeriodMetrics, AgentSpecialization, HumanAgent
from routing.models import (
    OPEN_LEAD_STATUSES,
    AssignmentQueue,
    Lead,
    LeadExperimentAssignment,
    LeadRoutingHistory,
    RoutingEvent,
    RoutingExperiment,
    RoutingExperimentVariant,
    RoutingRule,
)

SEED_TABLES: list[tuple[str, type[Model]]] = [
    ("AgentSpecialization", AgentSpecialization),
    ("AgentAvailability", AgentAvailability),
    ("LeadRoutingHistory", LeadRoutingHistory),
    ("AgentPerformanceMetrics", AgentPeriodMetrics),
    ("RoutingExperiment", RoutingExperiment),
    ("RoutingExperimentVariant", RoutingExperimentVariant),
    ("LeadExperimentAssignment", LeadExperimentAssignment),
    ("AssignmentQueue", AssignmentQueue),
    ("RoutingRule", RoutingRule),
    ("RoutingEvent", RoutingEvent),
]


def table_counts() -> list[tuple[str, str, int]]:
    """(seed table, database table, rows) for each of the seed's ten tables."""
    return [(name, model._meta.db_table, model.objects.count()) for name, model in SEED_TABLES]


def _orphans(model: type[Model], column: str, parent: type[Model]) -> QuerySet:
    return (
        model.objects.filter(**{f"{column}__isnull": False})
        .exclude(Exists(parent.objects.filter(pk=OuterRef(column))))
        .values_list("pk", flat=True)
    )


@dataclass(frozen=True)
class ReferenceCheck:
    name: str
    description: str
    offenders: Callable[[], QuerySet]


REFERENCE_CHECKS: list[ReferenceCheck] = [
    ReferenceCheck(
        f"{label}_orphans",
        f"{label}.{column} points at a missing {parent.__name__}",
        lambda model=model, column=column, parent=parent: _orphans(model, column, parent),
    )
    for label, model, column, parent in [
        ("specialization_agent", AgentSpecialization, "agent_id", HumanAgent),
        ("availability_agent", AgentAvailability, "agent_id", HumanAgent),
        ("performance_metrics_agent", AgentPeriodMetrics, "agent_id", HumanAgent),
        ("history_lead", LeadRoutingHistory, "lead_id", Lead),
        ("history_agent", LeadRoutingHistory, "assigned_agent_id", HumanAgent),
        ("queue_lead", AssignmentQueue, "lead_id", Lead),
        ("event_lead", RoutingEvent, "lead_id", Lead),
        ("experiment_control_strategy", RoutingExperiment, "control_strategy_id", RoutingExperiment),
        ("variant_experiment", RoutingExperimentVariant, "experiment_id", RoutingExperiment),
        ("assignment_experiment", LeadExperimentAssignment, "experiment_id", RoutingExperiment),
        ("assignment_variant", LeadExperimentAssignment, "variant_id", RoutingExperimentVariant),
        ("assignment_lead", LeadExperimentAssignment, "lead_id", Lead),
    ]
] + [
    ReferenceCheck(
        "assignment_variant_of_other_experiment",
        "a lead's experiment assignment names a variant of another experiment",
        lambda: LeadExperimentAssignment.objects.exclude(
            variant__experiment_id=F("experiment_id")
        ).values_list("pk", flat=True),
    ),
    ReferenceCheck(
        "open_lead_without_routing",
        "a lead in an agent's hands has no unreleased routing history row",
        lambda: (
            Lead.objects.filter(status__in=OPEN_LEAD_STATUSES)
            .exclude(
                Exists(LeadRoutingHistory.objects.filter(lead_id=OuterRef("pk"), released_at__isnull=True))
            )
            .values_list("pk", flat=True)
        ),
    ),
]


def reference_results() -> list[tuple[str, str, int, list[str]]]:
    results = []
    for check in REFERENCE_CHECKS:
        offenders = check.offenders()
        results.append((check.name, check.description, offenders.count(), [str(pk) for pk in offenders[:5]]))
    return results
