"""Call telemetry: calls, their turns (with the latency breakdown) and their events.

A call is identified by the voice platform's own id (`call_id`, unique per organization), which makes
ingestion idempotent: the same call sent twice is stored once (voice.services.telemetry).

Retention and sanitization (voice.services.retention) run across tenants by age, so each table has an
index on its timestamp alone, and the sanitization passes have partial indexes over the rows still
holding personal data: once a row is sanitized it leaves the index, so a rerun reads nothing.

`asr_confidence` is nullable: a platform that reports none has an unknown confidence, not 1.0.
"""

from __future__ import annotations

import re

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q

from voice.models.common import IsJSONObject, validate_phone
from voice.models.configs import AgentConfig
from voice.models.locations import Location
from voice.models.tenancy import Organization

CALL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
validate_call_id = RegexValidator(
    re.compile(CALL_ID_PATTERN),
    "A call id is 1-100 letters, digits, '.', '_', ':' or '-', starting with a letter or digit.",
    code="invalid_call_id",
)


class CallStatus(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    ABANDONED = "abandoned", "Abandoned"
    TRANSFERRED = "transferred", "Transferred"


FINAL_CALL_STATUSES = [status for status in CallStatus.values if status != CallStatus.IN_PROGRESS]
FINAL_CALL_STATUS_CHOICES = [(status, CallStatus(status).label) for status in FINAL_CALL_STATUSES]


class Speaker(models.TextChoices):
    CALLER = "caller", "Caller"
    AGENT = "agent", "Agent"


class CallEventType(models.TextChoices):
    DIGRESSION = "digression", "Digression"
    CONFIRMATION = "confirmation", "Confirmation"
    BARGE_IN = "barge_in", "Barge-in"
    ESCALATION = "escalation", "Escalation"
    TOOL_CALL = "tool_call", "Tool call"
    ERROR = "error", "Error"


class Call(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="calls")
    call_id = models.CharField(
        max_length=100, validators=[validate_call_id], help_text="The voice platform's id of the call."
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="calls"
    )
    agent_config = models.ForeignKey(
        AgentConfig,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="calls",
        help_text="The configuration version the agent ran with.",
    )
    caller_phone = models.CharField(
        max_length=20, blank=True, validators=[validate_phone], help_text="Emptied by sanitization."
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=CallStatus.choices, default=CallStatus.IN_PROGRESS)
    outcome = models.CharField(
        max_length=50, blank=True, help_text="What the call achieved, e.g. appointment_booked."
    )
    transcript = models.TextField(blank=True)
    # sha256 of a whole-call ingestion's canonical body; empty for a call opened by streaming.
    ingest_fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    sanitized_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="When the transcript and phone number were removed."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "call_id"], name="voice_call_id_unique"),
            models.CheckConstraint(condition=Q(status__in=CallStatus.values), name="voice_call_status_valid"),
            models.CheckConstraint(
                condition=Q(status=CallStatus.IN_PROGRESS, ended_at__isnull=True)
                | (~Q(status=CallStatus.IN_PROGRESS) & Q(ended_at__isnull=False)),
                name="voice_call_open_iff_not_ended",
                violation_error_message="A call in progress has no end; a finished call has one.",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | Q(ended_at__gte=F("started_at")),
                name="voice_call_ends_after_start",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "started_at"], name="voice_call_org_started_idx"),
            models.Index(
                fields=["organization", "agent_config", "started_at"], name="voice_call_org_config_idx"
            ),
            models.Index(
                fields=["organization", "location", "started_at"], name="voice_call_org_location_idx"
            ),
            models.Index(fields=["started_at"], name="voice_call_started_idx"),
            models.Index(
                fields=["started_at"],
                condition=Q(sanitized_at__isnull=True),
                name="voice_call_unsanitized_idx",
            ),
            models.Index(
                fields=["started_at"], condition=Q(status=CallStatus.FAILED), name="voice_call_failed_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.call_id


class Turn(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="turns")
    turn_index = models.PositiveIntegerField(help_text="0 for the first turn of the call.")
    speaker = models.CharField(max_length=10, choices=Speaker.choices)
    text = models.TextField(blank=True, help_text="Emptied by sanitization.")
    asr_confidence = models.FloatField(null=True, blank=True, help_text="0..1; empty when not reported.")
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    sentiment = models.FloatField(null=True, blank=True, help_text="-1 (negative) .. 1 (positive).")
    latency_asr_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_llm_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_tts_ms = models.PositiveIntegerField(null=True, blank=True)
    latency_total_ms = models.PositiveIntegerField(null=True, blank=True)
    interrupted = models.BooleanField(default=False, help_text="The caller barged in on this turn.")
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["call_id", "turn_index"]
        constraints = [
            models.UniqueConstraint(fields=["call", "turn_index"], name="voice_turn_index_unique"),
            models.CheckConstraint(condition=Q(speaker__in=Speaker.values), name="voice_turn_speaker_valid"),
            models.CheckConstraint(
                condition=Q(asr_confidence__isnull=True) | Q(asr_confidence__gte=0, asr_confidence__lte=1),
                name="voice_turn_confidence_range",
            ),
            models.CheckConstraint(
                condition=Q(sentiment__isnull=True) | Q(sentiment__gte=-1, sentiment__lte=1),
                name="voice_turn_sentiment_range",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "occurred_at"], name="voice_turn_org_idx"),
            models.Index(fields=["occurred_at"], name="voice_turn_occurred_idx"),
            models.Index(fields=["occurred_at"], condition=~Q(text=""), name="voice_turn_with_text_idx"),
        ]

    def __str__(self) -> str:
        return f"turn {self.turn_index} ({self.get_speaker_display().lower()})"


class CallEvent(models.Model):
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    call = models.ForeignKey(Call, on_delete=models.CASCADE, related_name="events")
    turn_index = models.PositiveIntegerField(null=True, blank=True)
    event_type = models.CharField(max_length=20, choices=CallEventType.choices)
    event_data = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField()

    class Meta:
        ordering = ["call_id", "occurred_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(event_type__in=CallEventType.values), name="voice_event_type_valid"
            ),
            models.CheckConstraint(condition=IsJSONObject("event_data"), name="voice_event_data_object"),
        ]
        indexes = [
            models.Index(
                fields=["organization", "event_type", "occurred_at"], name="voice_event_org_type_idx"
            ),
            models.Index(fields=["call", "turn_index"], name="voice_event_call_turn_idx"),
            models.Index(fields=["occurred_at"], name="voice_event_occurred_idx"),
        ]

    def __str__(self) -> str:
        at = f" at turn {self.turn_index}" if self.turn_index is not None else ""
        return f"{self.get_event_type_display()}{at}"
