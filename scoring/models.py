"""Outbound calling: call scores, the call queue with callbacks, call sessions and conversions.

The person being called is the sales floor's Lead (routing.Lead). Tables and columns follow seed 004's
pre-upgrade schema (migration 0001) and its upgrade (0002-0007); what the outbound floor needs beyond the
seed (the claim, the calling profile, callback ownership and its event log) comes after (0008 on), so the
upgrade stays a history of its own that can be run forward and back.

Invariants held by the database:
- one score row per person (OneToOne);
- a person is claimed by at most one agent at a time: the claim lives on the person's score row
  (`claimed_at`), which every claim locks first (see scoring.services.queue for the lock order);
- a callback id is unique among queue entries that have one;
- conversion amounts are never negative.
"""

from __future__ import annotations

import datetime as dt

from django.db import models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

# The pre-upgrade queue type the upgrade converts away (migration 0004); kept here, not in QueueType,
# because no entry may have it after the upgrade.
LEGACY_CALLBACK_QUEUE_TYPE = "callback"
# Callback ids the upgrade gives converted legacy entries: LEGACY_CALLBACK_ID_PREFIX + the entry's id.
LEGACY_CALLBACK_ID_PREFIX = "legacy-"


# A callback without a recorded time (a legacy one converted by the upgrade) is due at once and served
# before any other: its due time for the serving order is this instant.
CALLBACK_NO_TIME_DUE_AT = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def callback_due_at() -> Coalesce:
    """A callback's due time in the serving order: its scheduled time, or CALLBACK_NO_TIME_DUE_AT when it
    has none. The claim orders and filters on exactly this expression, which call_queue_cb_serving_idx
    indexes (an ASC NULLS FIRST index on the column would do, but SQLite cannot build one)."""
    return Coalesce(
        F("callback_scheduled_for"), Value(CALLBACK_NO_TIME_DUE_AT, output_field=models.DateTimeField())
    )


class QueueType(models.TextChoices):
    UNSIGNED_USERS = "unsigned_users", "Unsigned users"
    OUTSTANDING_REQUESTS = "outstanding_requests", "Outstanding requests"


class QueueStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"


class CallOutcome(models.TextChoices):
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    VOICEMAIL = "voicemail", "Voicemail"
    WRONG_NUMBER = "wrong_number", "Wrong number"
    CALLBACK_REQUESTED = "callback_requested", "Callback requested"
    NOT_INTERESTED = "not_interested", "Not interested"
    DOCUMENTS_PROMISED = "documents_promised", "Documents promised"
    SIGNED = "signed", "Signed"
    COMPLETED = "completed", "Completed"


class ConversionType(models.TextChoices):
    SIGNATURE = "signature", "Signature obtained"
    REQUIREMENTS_MET = "requirements_met", "Requirements met"


class CallbackEventKind(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CLAIMED = "claimed", "Claimed"
    HANDED_OVER = "handed_over", "Handed over to anyone"
    COMPLETED = "completed", "Completed"
    CLOSED_BY_CONVERSION = "closed_by_conversion", "Closed by a conversion"


class UserCallScore(models.Model):
    """A person's call score and calling state (seed: user_call_scores)."""

    person = models.OneToOneField("routing.Lead", on_delete=models.CASCADE, related_name="call_score")
    current_score = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # The upgrade (0002, 0005)
    is_active = models.BooleanField(default=True)
    current_queue_type = models.CharField(max_length=191, null=True, blank=True)
    last_reset_date = models.DateTimeField(null=True, blank=True)
    last_queue_check = models.DateTimeField(null=True, blank=True)
    # After the upgrade (0008): the breakdown, the calling profile and the claim
    score_breakdown = models.JSONField(default=dict, blank=True)
    scored_at = models.DateTimeField(null=True, blank=True)
    time_zone = models.CharField(max_length=64, default="UTC", help_text="The person's IANA time zone.")
    call_attempts = models.PositiveIntegerField(default=0, help_text="Calls since the last reset.")
    last_call_at = models.DateTimeField(null=True, blank=True)
    outstanding_documents = models.PositiveIntegerField(default=0)
    signature_obtained = models.BooleanField(default=False)
    claimed_by = models.ForeignKey(
        "agents.HumanAgent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["is_active"], name="user_call_scores_is_active_idx"),
            # The seed's user_call_scores_current_queue_type_idx: Django caps index names at 30 characters.
            models.Index(fields=["current_queue_type"], name="ucs_current_queue_type_idx"),
            models.Index(fields=["last_reset_date"], condition=Q(is_active=True), name="ucs_reset_due_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(claimed_by__isnull=True) | Q(claimed_at__isnull=False),
                name="ucs_claimed_by_needs_claimed_at",
            ),
        ]

    def __str__(self) -> str:
        return f"score {self.current_score} for lead {self.person_id}"


class CallQueueEntry(models.Model):
    """One person waiting in one outbound queue (seed: call_queue); a callback when callback_id is set."""

    # No index of its own: call_queue_person_type_idx (person, queue_type, status) serves every lookup by
    # person (the foreign key's cascade included), and one index fewer is maintained per write.
    person = models.ForeignKey(
        "routing.Lead", on_delete=models.CASCADE, related_name="call_queue_entries", db_index=False
    )
    queue_type = models.CharField(max_length=191, choices=QueueType.choices)
    status = models.CharField(max_length=32, choices=QueueStatus.choices, default=QueueStatus.PENDING)
    priority = models.IntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    # The upgrade (0003)
    callback_id = models.CharField(max_length=191, null=True, blank=True)
    callback_scheduled_for = models.DateTimeField(null=True, blank=True)
    callback_reason = models.TextField(null=True, blank=True)
    # After the upgrade (0008)
    callback_agent = models.ForeignKey(
        "agents.HumanAgent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty: anyone may take the callback.",
        db_index=False,  # call_queue_callback_agent_idx: partial, most entries have none
    )
    callback_handed_over_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        "agents.HumanAgent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,  # call_queue_claimed_by_idx: partial, most entries have none
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The serving copy (0009, 0010): what the claim orders and filters on, copied from the person's score
    # row by scoring.services.queue.queue_entries_follow_score in every transaction that changes it, so
    # one index walks the queue (see scoring.services.queue).
    serving_score = models.IntegerField(default=0, help_text="The person's current score.")
    serving_active = models.BooleanField(default=True, help_text="The person's score row is active.")
    serving_time_zone = models.CharField(max_length=64, default="UTC", help_text="The person's time zone.")
    serving_call_attempts = models.PositiveIntegerField(default=0, help_text="The person's attempts.")
    serving_last_call_at = models.DateTimeField(null=True, blank=True, help_text="The person's last call.")

    class Meta:
        verbose_name_plural = "call queue entries"
        indexes = [
            # The claim's two walks (scoring.services.queue), in their ORDER BY, over the rows their WHERE can match.
            models.Index(
                fields=["queue_type", "-serving_score", "created_at", "id"],
                condition=Q(status="pending", callback_id__isnull=True, serving_active=True),
                name="call_queue_serving_idx",
            ),
            models.Index(
                F("queue_type"),
                callback_due_at(),
                F("serving_score").desc(),
                F("id"),
                condition=Q(status="pending", callback_id__isnull=False, serving_active=True),
                name="call_queue_cb_serving_idx",
            ),
            # The agent foreign keys, only where set (SET NULL on an agent's delete looks them up): a full
            # index of NULLs would be rewritten by every claim and by the upgrade's backfill for nothing.
            models.Index(
                fields=["callback_agent"],
                condition=Q(callback_agent__isnull=False),
                name="call_queue_callback_agent_idx",
            ),
            models.Index(
                fields=["claimed_by"], condition=Q(claimed_by__isnull=False), name="call_queue_claimed_by_idx"
            ),
            models.Index(fields=["callback_id"], name="call_queue_callback_id_idx"),
            models.Index(fields=["person", "queue_type", "status"], name="call_queue_person_type_idx"),
            models.Index(
                fields=["queue_type", "callback_scheduled_for"],
                condition=Q(status="pending", callback_id__isnull=False),
                name="call_queue_callbacks_due_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["callback_id"],
                condition=Q(callback_id__isnull=False),
                name="call_queue_callback_id_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.queue_type} entry {self.pk} ({self.status})"


class CallbackEvent(models.Model):
    """Every step of a callback: scheduled, claimed, handed over, completed, closed by a conversion."""

    queue_entry = models.ForeignKey(CallQueueEntry, on_delete=models.CASCADE, related_name="callback_events")
    kind = models.CharField(max_length=32, choices=CallbackEventKind.choices)
    agent = models.ForeignKey(
        "agents.HumanAgent", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(default=timezone.now)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["queue_entry", "at"], name="callback_event_entry_at_idx")]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%Y-%m-%d %H:%M}"


class CallSession(models.Model):
    """One outbound call (seed: call sessions)."""

    person = models.ForeignKey("routing.Lead", on_delete=models.PROTECT, related_name="call_sessions")
    agent = models.ForeignKey("agents.HumanAgent", on_delete=models.PROTECT, related_name="call_sessions")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=64, blank=True)
    notes = models.TextField(blank=True)
    # After the upgrade (0008)
    queue_entry = models.ForeignKey(
        CallQueueEntry, on_delete=models.SET_NULL, null=True, blank=True, related_name="call_sessions"
    )

    class Meta:
        indexes = [models.Index(fields=["person", "started_at"], name="call_session_person_idx")]

    def __str__(self) -> str:
        return f"call {self.pk} ({self.outcome or 'no outcome'})"


class Conversion(models.Model):
    """A person converted: signature obtained or requirements met (seed step 6: conversions)."""

    person = models.ForeignKey(
        "routing.Lead", on_delete=models.PROTECT, related_name="conversions", db_index=False
    )
    previous_queue_type = models.CharField(max_length=191)
    conversion_type = models.CharField(max_length=191, choices=ConversionType.choices)
    conversion_reason = models.TextField(null=True, blank=True)
    final_score = models.IntegerField(null=True, blank=True)
    total_call_attempts = models.PositiveIntegerField(default=0)
    last_call_at = models.DateTimeField(null=True, blank=True)
    converted_at = models.DateTimeField(default=timezone.now)
    primary_agent = models.ForeignKey(
        "agents.HumanAgent",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="primary_conversions",
        db_index=False,
    )
    # The seed's JSON list of agent ids is a foreign key in disguise: a many-to-many table keeps each link.
    contributing_agents = models.ManyToManyField(
        "agents.HumanAgent", blank=True, related_name="contributed_conversions"
    )
    documents_received = models.JSONField(null=True, blank=True)
    signature_obtained = models.BooleanField(default=False)
    requirements_met = models.JSONField(null=True, blank=True)
    claim_value = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    estimated_commission = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["person"], name="conversions_user_id_idx"),
            models.Index(fields=["conversion_type"], name="conversions_type_idx"),
            models.Index(fields=["converted_at"], name="conversions_converted_at_idx"),
            models.Index(fields=["primary_agent"], name="conversions_primary_agent_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(claim_value__isnull=True) | Q(claim_value__gte=0),
                name="conversion_claim_value_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(estimated_commission__isnull=True) | Q(estimated_commission__gte=0),
                name="conversion_commission_gte_0",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.conversion_type} conversion of lead {self.person_id}"
