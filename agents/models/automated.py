"""Automated (AI) agents: seed 003's Phase 2 `agents`, `agent_capabilities`, `agent_performance` and
`agent_messages` tables, apart from the human agents (agents.models.human) they share the app with.

Seed table -> model (table): agents -> AutomatedAgent (agents_automatedagent), agent_capabilities ->
AgentCapability, agent_performance -> AgentPerformanceSample, agent_messages -> AgentMessage. Columns keep
the seed's names; every CHECK and index of the seed is declared here (the two full-text indexes are on
the tasks and workflows, agents.models.workflows). Index names are the seed's, except where Django's
30-character limit made them shorter (idx_agent_performance_agent_metric -> idx_agent_perf_agent_metric).
The seed's column DEFAULTs are database defaults too (`db_default`), so a raw INSERT (a restore, COPY, a
legacy script) gets them as well as the ORM; its JSONB columns are JSON columns (jsonb on PostgreSQL,
checked text on SQLite) whose shape (list or object) is a CHECK.

Capabilities are held once. The rows (AgentCapability: name unique per agent, confidence, usage) are the
truth that task assignment matches on; `AutomatedAgent.capabilities` is the seed's JSON list of the same
names, rewritten by the one service that changes the rows (agents.automation.services
`automated_agent_set_capabilities`) in the same transaction, for readers that want the names in one
column. `performance_metrics` is likewise the latest sample per metric, written beside each sample.

Additions to the seed, each for a behaviour the issue asks:
- `legacy_id` (agents and tasks): the Phase 1 text id an imported row came from, unique, so a second
  import matches instead of duplicating and a task finds its agent (import_legacy_platform);
- `AgentMessage.next_attempt_at` and `last_error`: when a failed delivery is retried (exponential
  backoff) and why the last attempt failed.
`created_at`/`updated_at` of agents may be NULL, as in the seed: an imported Phase 1 row without a
timestamp keeps none rather than an invented one.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Func, Q
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.deconstruct import deconstructible

from agents.models.human import IsJSONArray

__all__ = [
    "IsJSONObject",
    "RandomUUID",
    "AutomatedAgentType",
    "AutomatedAgentStatus",
    "ASSIGNABLE_AGENT_STATUSES",
    "AutomatedAgent",
    "AgentCapability",
    "AgentPerformanceSample",
    "MessagePriority",
    "MessageStatus",
    "OPEN_MESSAGE_STATUSES",
    "AgentMessage",
]


@deconstructible(path="agents.models.IsJSONObject")
class IsJSONObject(Func):
    """True when a JSON column holds an object (IsJSONArray's counterpart, for CHECK constraints)."""

    arity = 1
    template = "JSON_TYPE(%(expressions)s) = 'object'"
    output_field = models.BooleanField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(
            compiler, connection, template="JSONB_TYPEOF(%(expressions)s) = 'object'", **extra_context
        )


@deconstructible(path="agents.models.RandomUUID")
class RandomUUID(Func):
    """The seed's `DEFAULT gen_random_uuid()` as a database default on both databases.

    Django stores a UUIDField as 32 hex digits on SQLite, which 16 random bytes in hex are.
    """

    arity = 0
    template = "(LOWER(HEX(RANDOMBLOB(16))))"
    output_field = models.UUIDField()

    def as_postgresql(self, compiler: Any, connection: Any, **extra_context: Any) -> Any:
        return self.as_sql(compiler, connection, template="GEN_RANDOM_UUID()", **extra_context)


def _one_of(field: str, choices: type[models.TextChoices]) -> Q:
    return Q(**{f"{field}__in": choices.values})


def _not_blank(field: str) -> Q:
    return ~Q(**{field: ""})


class AutomatedAgentType(models.TextChoices):
    CHIEF_OF_STAFF = "chief_of_staff", "Chief of staff"
    MASTER_OPERATOR = "master_operator", "Master operator"


class AutomatedAgentStatus(models.TextChoices):
    IDLE = "idle", "Idle"
    ACTIVE = "active", "Active"
    BUSY = "busy", "Busy"
    ERROR = "error", "Error"
    OFFLINE = "offline", "Offline"


# The statuses in which an agent is given tasks (the issue: "an idle or active agent").
ASSIGNABLE_AGENT_STATUSES = (AutomatedAgentStatus.IDLE, AutomatedAgentStatus.ACTIVE)


class AutomatedAgent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False)
    legacy_id = models.TextField(
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text="The Phase 1 id this agent was imported from (import_legacy_platform); empty otherwise.",
    )
    name = models.CharField(max_length=255)
    agent_type = models.CharField(max_length=50, choices=AutomatedAgentType.choices)
    status = models.CharField(
        max_length=50,
        choices=AutomatedAgentStatus.choices,
        default=AutomatedAgentStatus.IDLE,
        db_default=AutomatedAgentStatus.IDLE.value,
    )
    capabilities = models.JSONField(
        default=list,
        db_default=[],
        blank=True,
        editable=False,
        help_text="Names of the agent's capability rows (kept in step with them by the service).",
    )
    system_prompt = models.TextField(null=True, blank=True)
    model_provider = models.CharField(max_length=100, default="openrouter", db_default="openrouter")
    model_name = models.CharField(max_length=100, default="auto", db_default="auto")
    performance_metrics = models.JSONField(
        default=dict, db_default={}, blank=True, editable=False, help_text="The latest sample of each metric."
    )
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), null=True, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, db_default=Now(), null=True, editable=False)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "automated agent"
        constraints = [
            models.CheckConstraint(
                condition=_one_of("agent_type", AutomatedAgentType), name="automated_agent_type_valid"
            ),
            models.CheckConstraint(
                condition=_one_of("status", AutomatedAgentStatus), name="automated_agent_status_valid"
            ),
            models.CheckConstraint(condition=_not_blank("name"), name="automated_agent_name_not_blank"),
            models.CheckConstraint(
                condition=IsJSONArray("capabilities"), name="automated_agent_capabilities_is_array"
            ),
            models.CheckConstraint(
                condition=IsJSONObject("performance_metrics"), name="automated_agent_metrics_is_object"
            ),
        ]
        indexes = [
            models.Index(fields=["agent_type", "status"], name="idx_agents_type_status"),
            models.Index(fields=["last_heartbeat"], name="idx_agents_last_heartbeat"),
        ]

    def __str__(self) -> str:
        return self.name


class AgentCapability(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False)
    agent = models.ForeignKey(
        AutomatedAgent, on_delete=models.CASCADE, related_name="capability_rows", db_index=False
    )
    capability_name = models.CharField(max_length=100)
    confidence_score = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=0.5,
        db_default=0.5,
        validators=[MinValueValidator(0), MaxValueValidator(1)],
    )
    last_used = models.DateTimeField(null=True, blank=True)
    usage_count = models.PositiveIntegerField(default=0, db_default=0)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)

    class Meta:
        ordering = ["agent_id", "capability_name"]
        verbose_name_plural = "agent capabilities"
        constraints = [
            models.UniqueConstraint(fields=["agent", "capability_name"], name="unique_agent_capability"),
            models.CheckConstraint(
                condition=Q(confidence_score__gte=0) & Q(confidence_score__lte=1),
                name="capability_confidence_range",
            ),
            models.CheckConstraint(condition=Q(usage_count__gte=0), name="capability_usage_not_negative"),
            models.CheckConstraint(condition=_not_blank("capability_name"), name="capability_name_not_blank"),
        ]
        indexes = [models.Index(fields=["agent"], name="idx_agent_capabilities_agent")]

    def __str__(self) -> str:
        return f"{self.capability_name} ({self.confidence_score})"


class AgentPerformanceSample(models.Model):
    """One measurement of an automated agent (the seed's `agent_performance`)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False)
    agent = models.ForeignKey(
        AutomatedAgent, on_delete=models.CASCADE, related_name="performance_samples", db_index=False
    )
    metric_name = models.CharField(max_length=100)
    metric_value = models.DecimalField(max_digits=10, decimal_places=4)
    metric_unit = models.CharField(max_length=50, blank=True, default="", db_default="")
    recorded_at = models.DateTimeField(default=timezone.now, db_default=Now())
    context = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta:
        ordering = ["agent_id", "metric_name", "-recorded_at"]
        constraints = [
            models.CheckConstraint(condition=IsJSONObject("context"), name="performance_context_is_object"),
            models.CheckConstraint(condition=_not_blank("metric_name"), name="performance_metric_not_blank"),
        ]
        indexes = [models.Index(fields=["agent", "metric_name"], name="idx_agent_perf_agent_metric")]

    def __str__(self) -> str:
        return f"{self.metric_name}={self.metric_value}{self.metric_unit}"


class MessagePriority(models.TextChoices):
    """Lowest first; `MessagePriority.rank()` orders an inbox."""

    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"

    @classmethod
    def rank(cls, value: str) -> int:
        return [choice.value for choice in cls].index(value) + 1


class MessageStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    DELIVERED = "delivered", "Delivered"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


# Messages still on their way: they may be delivered, retried or expire.
OPEN_MESSAGE_STATUSES = (MessageStatus.PENDING, MessageStatus.SENT, MessageStatus.DELIVERED)


class AgentMessage(models.Model):
    """A message between two automated agents (the seed's `agent_messages`).

    pending (waiting for a delivery attempt, at `next_attempt_at`) -> sent (handed to the recipient's
    transport) -> delivered (the recipient has it) -> acknowledged (the recipient processed it). A failed
    attempt puts it back to pending with a later `next_attempt_at` until `max_retries` retries are used,
    then it is failed; a message past `expires_at` before it is acknowledged is expired.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False)
    message_id = models.UUIDField(unique=True, default=uuid.uuid4, db_default=RandomUUID(), editable=False)
    correlation_id = models.UUIDField(null=True, blank=True)
    conversation_id = models.UUIDField(null=True, blank=True)
    sender = models.ForeignKey(
        AutomatedAgent, on_delete=models.CASCADE, related_name="sent_messages", db_index=False
    )
    recipient = models.ForeignKey(
        AutomatedAgent, on_delete=models.CASCADE, related_name="received_messages", db_index=False
    )
    sender_type = models.CharField(max_length=50)
    recipient_type = models.CharField(max_length=50)
    message_type = models.CharField(max_length=50)
    priority = models.CharField(
        max_length=20,
        choices=MessagePriority.choices,
        default=MessagePriority.NORMAL,
        db_default=MessagePriority.NORMAL.value,
    )
    status = models.CharField(
        max_length=20,
        choices=MessageStatus.choices,
        default=MessageStatus.PENDING,
        db_default=MessageStatus.PENDING.value,
    )
    subject = models.CharField(max_length=500, blank=True, default="", db_default="")
    payload = models.JSONField(default=dict, db_default={}, blank=True)
    retry_count = models.PositiveIntegerField(default=0, db_default=0)
    max_retries = models.PositiveIntegerField(default=3, db_default=3)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next delivery attempt is due (pending messages)."
    )
    last_error = models.TextField(
        blank=True, default="", db_default="", help_text="Why the last delivery attempt failed."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_default=Now(), editable=False)

    class Meta:
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=_one_of("priority", MessagePriority), name="message_priority_valid"
            ),
            models.CheckConstraint(condition=_one_of("status", MessageStatus), name="message_status_valid"),
            models.CheckConstraint(
                condition=Q(retry_count__lte=F("max_retries")), name="message_retries_within_max"
            ),
            models.CheckConstraint(condition=IsJSONObject("payload"), name="message_payload_is_object"),
            models.CheckConstraint(
                condition=~Q(status__in=[MessageStatus.DELIVERED, MessageStatus.ACKNOWLEDGED])
                | Q(delivered_at__isnull=False),
                name="message_delivered_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status=MessageStatus.ACKNOWLEDGED) | Q(acknowledged_at__isnull=False),
                name="message_acknowledged_has_time",
            ),
            models.CheckConstraint(condition=_not_blank("message_type"), name="message_type_not_blank"),
        ]
        indexes = [
            models.Index(fields=["recipient", "status"], name="idx_messages_recipient_status"),
            models.Index(fields=["sender", "message_type"], name="idx_messages_sender_type"),
            models.Index(fields=["correlation_id"], name="idx_messages_correlation"),
            # The expiry sweep (expire_messages) and the retry pass read only open messages.
            models.Index(
                fields=["expires_at"],
                name="idx_messages_open_expiry",
                condition=Q(status__in=OPEN_MESSAGE_STATUSES, expires_at__isnull=False),
            ),
            models.Index(
                fields=["next_attempt_at"],
                name="idx_messages_pending_attempt",
                condition=Q(status=MessageStatus.PENDING),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.message_type} {self.message_id}"
