"""Sales leads and what routes them (seed 001): the lead, its routing history, the assignment queues,
the routing rules and the experiments of routing strategies.

Seed 001's agent tables (AgentSpecialization, AgentAvailability, AgentPerformanceMetrics) already live in
the agents app (agents.models: AgentSpecialization, AgentAvailability, AgentPeriodMetrics); seed 001's
RoutingEvent is routing's shared events table (routing.models.audit.RoutingEvent), which gains a `lead`
column of the exclusive arc. The other seven tables are here, with UUID primary keys, JSON columns (JSONB
on PostgreSQL) and CASCADE from a lead or an experiment to their child rows, as the seed says.

Invariants held by the database:
- a lead is in an agent's hands (status assigned or contacted) exactly when it names that agent;
- a lead waits in at most one assignment queue at a time (partial unique constraint);
- a lead is in at most one experiment (seed: unique leadId), and at most one experiment runs at a time;
- an experiment has at most one control variant (partial unique), and on PostgreSQL a deferred
  constraint trigger makes it exactly one for an experiment that has variants (migration 0012);
- allocations, scores and proficiencies stay in range (CHECK constraints).
Capacity (an agent's open work of every kind never exceeds max_concurrent_work) is held by the routing
services under the agent's AgentAvailability row lock (routing.services.assignment): an open lead is one
of the agent's slots (routing.work registers leads as a kind of work).
"""

from __future__ import annotations

import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from agents.languages import LANGUAGE_CHOICES
from agents.models import HumanAgent, validate_printable_name


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    QUEUED = "queued", "Queued"
    ASSIGNED = "assigned", "Assigned"
    CONTACTED = "contacted", "Contacted"
    CONVERTED = "converted", "Converted"
    LOST = "lost", "Lost"


# A lead in these statuses holds one of its agent's slots (routing.work counts them as open work).
OPEN_LEAD_STATUSES = [LeadStatus.ASSIGNED, LeadStatus.CONTACTED]
CLOSED_LEAD_STATUSES = [LeadStatus.CONVERTED, LeadStatus.LOST]


class LeadTier(models.TextChoices):
    HOT = "hot", "Hot"
    WARM = "warm", "Warm"
    COLD = "cold", "Cold"


class LeadSource(models.TextChoices):
    INBOUND_CALL = "inbound_call", "Inbound call"
    WEB_FORM = "web_form", "Web form"
    REFERRAL = "referral", "Referral"
    PARTNER = "partner", "Partner"
    PAID_AD = "paid_ad", "Paid ad"
    EVENT = "event", "Event"
    PURCHASED_LIST = "purchased_list", "Purchased list"
    OTHER = "other", "Other"


class QueueType(models.TextChoices):
    HOT = "hot", "Hot"
    ACTIVE = "active", "Active"
    NURTURE = "nurture", "Nurture"
    WAITING = "waiting", "Waiting"
    REASSIGNMENT = "reassignment", "Reassignment"


class AssignmentQueueStatus(models.TextChoices):
    WAITING = "waiting", "Waiting"
    ASSIGNED = "assigned", "Assigned"
    ESCALATED = "escalated", "Escalated"
    CANCELLED = "cancelled", "Cancelled"


class ConversionOutcome(models.TextChoices):
    CONVERTED = "converted", "Converted"
    LOST = "lost", "Lost"


class RuleType(models.TextChoices):
    ASSIGN_TO_QUEUE = "assign_to_queue", "Assign to queue"
    REQUIRE_SPECIALIZATION = "require_specialization", "Require specialization"
    SET_PRIORITY = "set_priority", "Set priority"
    ROUTE_TO_AGENT_GROUP = "route_to_agent_group", "Route to agent group"
    EXCLUDE_AGENT = "exclude_agent", "Exclude agent"


class ExperimentStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    RUNNING = "running", "Running"
    PAUSED = "paused", "Paused"
    COMPLETED = "completed", "Completed"


class SuccessMetric(models.TextChoices):
    CONVERSION = "conversion", "Conversion rate"
    CSAT = "csat", "Customer satisfaction"
    HANDLE_TIME = "handle_time", "Handle time"


class GuardrailMetric(models.TextChoices):
    SLA_BREACH_RATE = "sla_breach_rate", "SLA breach rate"
    TIME_TO_FIRST_CONTACT = "time_to_first_contact", "Time to first contact"


class Lead(models.Model):
    """A sales lead: the one person record of the sales floor (the scoring app's outbound call queue points
    here too). `score`, `tier` and `score_breakdown` are the last scoring (routing.engine.lead_score);
    `agent` is who holds the lead while it is assigned or contacted, and who worked it once it is closed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(
        max_length=100, unique=True, validators=[validate_printable_name], help_text="The CRM's id."
    )
    name = models.CharField(max_length=200)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(max_length=200, blank=True)
    insurance_line = models.CharField(max_length=50, validators=[validate_printable_name])
    customer_segment = models.CharField(max_length=50, validators=[validate_printable_name])
    language = models.CharField(max_length=10, choices=LANGUAGE_CHOICES, help_text="ISO 639-1 code.")
    territory = models.CharField(max_length=50, blank=True, help_text='Territory code, e.g. "US-CA".')
    source = models.CharField(max_length=20, choices=LeadSource.choices, default=LeadSource.OTHER)
    # Engagement signals the score uses.
    website_visits = models.PositiveIntegerField(default=0)
    email_opens = models.PositiveIntegerField(default=0)
    quote_requested = models.BooleanField(default=False)
    callback_requested = models.BooleanField(default=False)
    estimated_premium = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, help_text="Expected yearly premium."
    )
    score = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    tier = models.CharField(max_length=10, choices=LeadTier.choices, blank=True)
    score_breakdown = models.JSONField(
        default=dict, blank=True, help_text="{factor: {value, weight, points}} of the last scoring."
    )
    scored_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW)
    agent = models.ForeignKey(
        HumanAgent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="leads",
        verbose_name="assigned agent",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    last_contacted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=LeadStatus.values), name="lead_status_valid"),
            models.CheckConstraint(
                condition=Q(tier="") | Q(tier__in=LeadTier.values), name="lead_tier_valid"
            ),
            models.CheckConstraint(condition=Q(source__in=LeadSource.values), name="lead_source_valid"),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=0, score__lte=100), name="lead_score_range"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=OPEN_LEAD_STATUSES) | Q(agent__isnull=False),
                name="lead_open_has_agent",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=[LeadStatus.NEW, LeadStatus.QUEUED]) | Q(agent__isnull=True),
                name="lead_waiting_has_no_agent",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "created_at"], name="lead_status_created_idx"),
            models.Index(
                fields=["agent"], condition=Q(status__in=OPEN_LEAD_STATUSES), name="lead_open_agent_idx"
            ),
            models.Index(fields=["tier", "status"], name="lead_tier_status_idx"),
        ]

    def __str__(self) -> str:
        return self.external_id


class LeadRoutingHistory(models.Model):
    """One routing of a lead to an agent (seed 001): the strategy, the score at the time, the reasons (rules
    that fired, the experiment) and the per-candidate per-factor breakdown, the same as the engine's
    RoutingDecision (linked in `decision`); the conversion outcome is filled in later.

    The seed's assignedAgentId cascades; here an agent with routing history is protected instead, as
    with case assignments (agents are deactivated, not deleted, and the audit trail must outlive them)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="routing_history")
    assigned_agent = models.ForeignKey(HumanAgent, on_delete=models.PROTECT, related_name="lead_routings")
    strategy = models.CharField(max_length=50)
    strategy_parameters = models.JSONField(default=dict, blank=True)
    lead_score = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    lead_tier = models.CharField(max_length=10, choices=LeadTier.choices, blank=True)
    assignment_reasons = models.JSONField(
        default=list, blank=True, help_text="Why: the rules that fired, the experiment variant, the queue."
    )
    assignment_factors = models.JSONField(
        default=list, blank=True, help_text="[{agent, total, factors: {...}}], best first."
    )
    decision = models.ForeignKey(
        "routing.RoutingDecision",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lead_routings",
    )
    routed_at = models.DateTimeField(default=timezone.now)
    experiment = models.ForeignKey(
        "routing.RoutingExperiment",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lead_routings",
    )
    variant = models.ForeignKey(
        "routing.RoutingExperimentVariant",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="lead_routings",
    )
    conversion_outcome = models.CharField(max_length=10, choices=ConversionOutcome.choices, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(
        null=True, blank=True, help_text="When the agent's slot was released (outcome or reassignment)."
    )

    class Meta:
        ordering = ["-routed_at"]
        verbose_name_plural = "lead routing history"
        constraints = [
            models.CheckConstraint(
                condition=Q(conversion_outcome="") | Q(conversion_outcome__in=ConversionOutcome.values),
                name="lead_history_outcome_valid",
            ),
            models.CheckConstraint(
                condition=Q(conversion_outcome="") | Q(outcome_at__isnull=False),
                name="lead_history_outcome_has_time",
            ),
            # Never one lead in two agents' hands: at most one routing of a lead is unreleased.
            models.UniqueConstraint(
                fields=["lead"], condition=Q(released_at__isnull=True), name="one_open_routing_per_lead"
            ),
        ]
        indexes = [
            models.Index(fields=["lead"], name="lead_history_lead_idx"),
            models.Index(fields=["assigned_agent"], name="lead_history_agent_idx"),
            models.Index(fields=["routed_at"], name="lead_history_routed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} -> {self.assigned_agent_id}"


class AssignmentQueue(models.Model):
    """A lead waiting in one of the assignment queues (seed 001). The position a supervisor sees is derived
    from the queue type's serving order (routing.selectors.lead_queue; score then age by default, LIFO
    for the hot queue when configured), never a stored column renumbered on insert. `time_in_queue` is
    the seed's INTERVAL: stored when the lead leaves the queue (until then it is now - queued_at)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="queue_entries")
    queue_type = models.CharField(max_length=15, choices=QueueType.choices)
    lead_score = models.DecimalField(max_digits=5, decimal_places=2, default=0)
    queued_at = models.DateTimeField(default=timezone.now)
    sla_expiry = models.DateTimeField(help_text="Past it the lead is escalated by the sweep.")
    time_in_queue = models.DurationField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=AssignmentQueueStatus.choices, default=AssignmentQueueStatus.WAITING
    )
    sla_breached = models.BooleanField(default=False)
    escalated_from = models.CharField(max_length=15, choices=QueueType.choices, blank=True)
    left_at = models.DateTimeField(null=True, blank=True)
    requirements = models.JSONField(
        default=dict,
        blank=True,
        help_text="What the rules asked of an agent (specialization, agent group, excluded agents).",
    )
    routing_strategy = models.CharField(max_length=50, blank=True)
    strategy_parameters = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = "assignment queue entry"
        verbose_name_plural = "assignment queue"
        constraints = [
            models.CheckConstraint(
                condition=Q(queue_type__in=QueueType.values), name="assignment_queue_type_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=AssignmentQueueStatus.values), name="assignment_queue_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(lead_score__gte=0, lead_score__lte=100), name="assignment_queue_score_range"
            ),
            models.UniqueConstraint(
                fields=["lead"], condition=Q(status="waiting"), name="one_waiting_queue_entry_per_lead"
            ),
        ]
        indexes = [
            models.Index(fields=["queue_type", "lead_score"], name="lead_queue_type_score_idx"),
            models.Index(fields=["sla_expiry"], name="lead_queue_sla_idx"),
            # Serving orders of the waiting entries: score then age, and last in first out.
            models.Index(
                F("queue_type"),
                F("lead_score").desc(),
                F("queued_at"),
                condition=Q(status="waiting"),
                name="lead_queue_serving_idx",
            ),
            models.Index(
                F("queue_type"),
                F("queued_at").desc(),
                condition=Q(status="waiting"),
                name="lead_queue_lifo_idx",
            ),
            models.Index(fields=["sla_expiry"], condition=Q(status="waiting"), name="lead_queue_due_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.queue_type} ({self.status})"


class RoutingRule(models.Model):
    """A routing rule: when `condition` holds for a lead, do `rule_type` with `action`. Rules run in
    priority order (higher first). `condition` is structured JSON (routing.engine.lead_rules: a field
    from a fixed list of lead attributes, an operator and a value, or all/any/not groups), validated on
    save and at every API write; an invalid condition is refused with the path of the bad part."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True, validators=[validate_printable_name])
    description = models.TextField(blank=True)
    rule_type = models.CharField(max_length=30, choices=RuleType.choices)
    condition = models.JSONField(default=dict, blank=True, help_text="Empty: always.")
    action = models.JSONField(default=dict, blank=True, help_text="The rule type's parameters.")
    priority = models.IntegerField(default=100, help_text="Higher runs first.")
    is_active = models.BooleanField("active", default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-priority", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(rule_type__in=RuleType.values), name="routing_rule_type_valid")
        ]
        indexes = [
            models.Index(F("priority").desc(), F("is_active"), name="routing_rule_priority_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from routing.engine.lead_rules import RuleDefinitionError, validate_rule

        try:
            validate_rule(rule_type=self.rule_type, condition=self.condition, action=self.action)
        except RuleDefinitionError as error:
            raise ValidationError({error.field: f"{error.path}: {error.message}"}) from error


class RoutingExperiment(models.Model):
    """An A/B experiment of routing strategies (seed 001).

    How the seed's self-reference is read: `controlStrategyId` on RoutingExperiment references another
    RoutingExperiment. It is kept as the seed has it, as `control_strategy`: the experiment (a
    predecessor, typically a completed one) whose strategy is this experiment's baseline. The control
    of this experiment itself is one of its own variants, marked `is_control` (exactly one per
    experiment, held by the database)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True, validators=[validate_printable_name])
    description = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=ExperimentStatus.choices, default=ExperimentStatus.DRAFT)
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    success_metric = models.CharField(
        max_length=15, choices=SuccessMetric.choices, default=SuccessMetric.CONVERSION
    )
    guardrail_metrics = models.JSONField(
        default=list, blank=True, help_text='e.g. ["sla_breach_rate", "time_to_first_contact"].'
    )
    control_strategy = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="successors",
        help_text="The earlier experiment whose strategy is this one's baseline (seed: controlStrategyId).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ExperimentStatus.values), name="experiment_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(success_metric__in=SuccessMetric.values), name="experiment_metric_valid"
            ),
            models.CheckConstraint(
                condition=Q(start_at__isnull=True) | Q(end_at__isnull=True) | Q(end_at__gt=F("start_at")),
                name="experiment_ends_after_start",
            ),
            models.CheckConstraint(
                condition=~Q(status=ExperimentStatus.RUNNING) | Q(start_at__isnull=False),
                name="experiment_running_has_start",
            ),
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="running"), name="one_running_experiment"
            ),
        ]
        indexes = [
            models.Index(fields=["status"], name="experiment_status_idx"),
            models.Index(fields=["start_at", "end_at"], name="experiment_dates_idx"),
        ]

    def __str__(self) -> str:
        return self.name


class RoutingExperimentVariant(models.Model):
    """One arm of an experiment: a routing strategy with its parameters and its share of the traffic
    (percent; an experiment's variants total 100, validated in the admin, the API and at start)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    experiment = models.ForeignKey(RoutingExperiment, on_delete=models.CASCADE, related_name="variants")
    name = models.CharField(max_length=100, validators=[validate_printable_name])
    strategy = models.CharField(max_length=50)
    parameters = models.JSONField(default=dict, blank=True)
    allocation = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Share of the experiment's leads, in percent.",
    )
    is_control = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(
        default=0, help_text="Order of the variants on the allocation line (then name)."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["experiment_id", "position", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(allocation__gte=0, allocation__lte=100), name="variant_allocation_range"
            ),
            models.UniqueConstraint(fields=["experiment", "name"], name="unique_variant_name"),
            models.UniqueConstraint(
                fields=["experiment"], condition=Q(is_control=True), name="one_control_variant"
            ),
        ]
        indexes = [models.Index(fields=["experiment"], name="variant_experiment_idx")]

    def __str__(self) -> str:
        return f"{self.experiment_id}: {self.name}"


class LeadExperimentAssignment(models.Model):
    """Which variant a lead drew (seed 001: one row per lead). `bucket` is the lead's sticky hash of
    (experiment id, lead id) in [0, 1) that chose the variant (routing.engine.experiments)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="experiment_assignments")
    experiment = models.ForeignKey(RoutingExperiment, on_delete=models.CASCADE, related_name="assignments")
    variant = models.ForeignKey(
        RoutingExperimentVariant, on_delete=models.CASCADE, related_name="assignments"
    )
    bucket = models.FloatField(validators=[MinValueValidator(0), MaxValueValidator(1)])
    assigned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-assigned_at"]
        constraints = [
            models.UniqueConstraint(fields=["lead"], name="unique_lead_experiment_assignment"),
            models.CheckConstraint(
                condition=Q(bucket__gte=0, bucket__lt=1), name="experiment_assignment_bucket_range"
            ),
        ]
        indexes = [
            models.Index(fields=["lead"], name="exp_assignment_lead_idx"),
            models.Index(fields=["experiment", "variant"], name="exp_assignment_variant_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.lead_id} in {self.variant_id}"
