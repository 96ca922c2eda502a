"""The audit trail of every kind of work: routing decisions (why work went where it went) and routing
events (each step in a work item's life). Both belong to exactly one work item of any kind (routing.work):
one foreign key per kind, an exclusive arc held by a CHECK constraint."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from agents.models import HumanAgent
from routing.models.cases import CaseAssignment, CaseAssignmentArchive, SupportCase
from routing.models.leads import Lead

# --- the audit trail of every kind of work ------------------------------------------------------------
#
# A decision or an event belongs to one work item of any kind (routing.work): one foreign key per kind,
# exactly one of them set. Cases are the first kind; a new kind adds its column to WORK_ITEM_FIELDS.

WORK_ITEM_FIELDS: tuple[str, ...] = ("case", "lead")


def exactly_one_work_item(fields: tuple[str, ...] = WORK_ITEM_FIELDS) -> Q:
    """Exactly one of the work item foreign keys is set."""
    condition = Q()
    for chosen in fields:
        condition |= Q(
            **{f"{chosen}__isnull": False},
            **{f"{other}__isnull": True for other in fields if other != chosen},
        )
    return condition


class DecisionOutcome(models.TextChoices):
    ASSIGNED = "assigned", "Assigned"
    QUEUED = "queued", "Queued"


class RoutingDecision(models.Model):
    """Why work went where it went: every candidate with its per-factor scores, the winner or the reason
    it was queued, the requirement ring that matched and the time the decision took. It belongs to one
    work item of any kind (see WORK_ITEM_FIELDS)."""

    case = models.ForeignKey(
        SupportCase, on_delete=models.CASCADE, null=True, blank=True, related_name="decisions"
    )
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="decisions")
    strategy = models.CharField(max_length=50)
    strategy_parameters = models.JSONField(
        default=dict,
        blank=True,
        help_text="The parameters the strategy was built with (empty: its defaults).",
    )
    outcome = models.CharField(max_length=10, choices=DecisionOutcome.choices)
    winner = models.ForeignKey(
        HumanAgent, on_delete=models.SET_NULL, null=True, blank=True, related_name="routing_wins"
    )
    assignment = models.ForeignKey(
        CaseAssignment, on_delete=models.SET_NULL, null=True, blank=True, related_name="decisions"
    )
    # The live foreign key cannot point into the archive: when run_maintenance archives the assignment it
    # moves the link here (same id: an archived row keeps its assignment's primary key).
    archived_assignment = models.ForeignKey(
        CaseAssignmentArchive,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="decisions",
        help_text="The assignment this decision made, once archived (then `assignment` is empty).",
    )
    candidates = models.JSONField(default=list, help_text="[{agent, total, factors: {...}}], best first.")
    candidate_count = models.PositiveIntegerField(default=0)
    prerank = models.JSONField(
        default=dict,
        blank=True,
        help_text="How the candidates were found: {pool_limit, pool_size, pool_full, scored}. pool_full means "
        "eligible agents beyond the pool of least-loaded ones were not considered.",
    )
    reason = models.TextField(blank=True)
    widen_level = models.PositiveSmallIntegerField(default=0)
    duration_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=exactly_one_work_item(), name="decision_one_work_item")
        ]
        indexes = [
            models.Index(fields=["case", "-created_at"], name="decision_case_created_idx"),
            models.Index(fields=["lead", "-created_at"], name="decision_lead_created_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case or self.lead}: {self.get_outcome_display()} via {self.strategy}"


class RoutingEventType(models.TextChoices):
    ROUTED = "routed", "Routed"
    QUEUED = "queued", "Queued"
    DISPATCHED = "dispatched", "Dispatched from queue"
    STARTED = "started", "Started"
    COMPLETED = "completed", "Completed"
    ESCALATED = "escalated", "Priority escalated"
    WIDENED = "widened", "Requirements widened"
    ACCEPT_TIMEOUT = "accept_timeout", "Acceptance timed out"
    REQUEUED = "requeued", "Requeued"
    CANCELLED = "cancelled", "Cancelled"
    MANUAL_ASSIGN = "manual_assign", "Assigned by supervisor"
    # Seed 001's lead events (routed, queued and cancelled above serve leads too).
    SCORED = "scored", "Scored"
    RULE_FIRED = "rule_fired", "Rule fired"
    EXPERIMENT_ASSIGNED = "experiment_assigned", "Experiment assigned"
    SLA_BREACHED = "sla_breached", "SLA breached"
    REASSIGNED = "reassigned", "Reassigned"
    CONTACTED = "contacted", "Contacted"
    CONVERTED = "converted", "Converted"
    LOST = "lost", "Lost"


class RoutingEvent(models.Model):
    """One step in the life of a work item of any kind (see WORK_ITEM_FIELDS): routed, queued, started,
    escalated, ..."""

    case = models.ForeignKey(
        SupportCase, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    event_type = models.CharField(max_length=20, choices=RoutingEventType.choices)
    agent = models.ForeignKey(HumanAgent, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=exactly_one_work_item(), name="event_one_work_item")]
        indexes = [
            models.Index(fields=["case", "-created_at"], name="event_case_created_idx"),
            models.Index(fields=["event_type", "-created_at"], name="event_type_created_idx"),
            # Seed 001: RoutingEvent (leadId, timestamp DESC, eventType).
            models.Index(fields=["lead", "-created_at", "event_type"], name="event_lead_created_type_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.case or self.lead}: {self.get_event_type_display()}"
