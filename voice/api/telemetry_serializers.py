"""Request and response shapes of the telemetry API (calls, turns, events, analytics)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from voice.api.fields import (
    EventDataField,
    NormalizedCharField,
    ScopedPrimaryKeyRelatedField,
    StrictSerializerMixin,
)
from voice.models import (
    FINAL_CALL_STATUS_CHOICES,
    AgentConfig,
    Call,
    CallEvent,
    CallEventType,
    Location,
    Speaker,
    Turn,
    validate_call_id,
)
from voice.models.common import phone_normalize, validate_phone
from voice.selectors.analytics import STAGES
from voice.services import CallEnding, CallOpening, EventInput, TurnInput

MAX_TURNS = 2_000
MAX_EVENTS = 2_000


def _locations(caller: Any) -> Any:
    return caller.scope(Location.objects.all())


class StrictSerializer(StrictSerializerMixin, serializers.Serializer):
    pass


class TurnInputSerializer(StrictSerializer):
    whole_row = True
    index = serializers.IntegerField(min_value=0, max_value=100_000, help_text="0 for the first turn.")
    speaker = serializers.ChoiceField(choices=Speaker.choices)
    text = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    asr_confidence = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=1,
        help_text="0..1; omit or null when the platform reports none (unknown, not 1.0).",
    )
    prompt_tokens = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)
    completion_tokens = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)
    sentiment = serializers.FloatField(
        required=False, allow_null=True, default=None, min_value=-1, max_value=1
    )
    latency_asr_ms = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)
    latency_llm_ms = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)
    latency_tts_ms = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)
    latency_total_ms = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)
    interrupted = serializers.BooleanField(required=False, default=False)
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def to_input(self, data: dict[str, Any]) -> TurnInput:
        values = dict(data)
        values["turn_index"] = values.pop("index")
        return TurnInput(**values)


class EventInputSerializer(StrictSerializer):
    whole_row = True
    type = serializers.ChoiceField(choices=CallEventType.choices)
    turn_index = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=0)
    data = EventDataField(
        required=False,
        default=dict,
        help_text="The event's data; e.g. a digression: originalIntent, digressionTopic, returnSuccessful.",
    )
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_data(self, value: Any) -> Any:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        return value

    @staticmethod
    def to_input(data: dict[str, Any]) -> EventInput:
        return EventInput(
            event_type=data["type"],
            event_data=data["data"],
            turn_index=data["turn_index"],
            occurred_at=data["occurred_at"],
        )


class CallOpeningSerializer(StrictSerializer):
    call_id = serializers.CharField(
        max_length=100, validators=[validate_call_id], help_text="The voice platform's id of the call."
    )
    location = ScopedPrimaryKeyRelatedField(
        model=Location, scoped=_locations, required=False, allow_null=True
    )
    config_version = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, help_text="The configuration version the agent ran."
    )
    caller_phone = NormalizedCharField(
        normalize=phone_normalize,
        max_length=20,
        validators=[validate_phone],
        required=False,
        allow_blank=True,
        default="",
    )
    started_at = serializers.DateTimeField()

    def validate_config_version(self, value: int | None) -> AgentConfig | None:
        if value is None:
            return None
        caller = self.context["caller"]
        if caller.organization is None:
            return None  # the service asks for the organization first
        config = AgentConfig.objects.filter(organization_id=caller.organization.pk, version=value).first()
        if config is None:
            raise serializers.ValidationError(f"No configuration version {value}.")
        return config

    def opening(self) -> CallOpening:
        data = self.validated_data
        return CallOpening(
            call_id=data["call_id"],
            started_at=data["started_at"],
            location=data.get("location"),
            agent_config=data.get("config_version"),
            caller_phone=data.get("caller_phone", ""),
        )


class CallEndingSerializer(StrictSerializer):
    ended_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=FINAL_CALL_STATUS_CHOICES)
    outcome = serializers.SlugField(
        max_length=50, required=False, allow_blank=True, default="", help_text="e.g. appointment_booked."
    )
    transcript = serializers.CharField(required=False, allow_blank=True, default="", max_length=500_000)

    def ending(self) -> CallEnding:
        return CallEnding(**self.validated_data)


class CallIngestSerializer(CallOpeningSerializer):
    """A whole finished call: the opening, the ending, its turns and events."""

    ended_at = serializers.DateTimeField()
    status = serializers.ChoiceField(choices=FINAL_CALL_STATUS_CHOICES)
    outcome = serializers.SlugField(max_length=50, required=False, allow_blank=True, default="")
    transcript = serializers.CharField(required=False, allow_blank=True, default="", max_length=500_000)
    turns = TurnInputSerializer(many=True, required=False, default=list, max_length=MAX_TURNS)
    events = EventInputSerializer(many=True, required=False, default=list, max_length=MAX_EVENTS)

    def ending(self) -> CallEnding:
        data = self.validated_data
        return CallEnding(
            ended_at=data["ended_at"],
            status=data["status"],
            outcome=data["outcome"],
            transcript=data["transcript"],
        )

    def turns_input(self) -> list[TurnInput]:
        return [TurnInputSerializer().to_input(row) for row in self.validated_data["turns"]]

    def events_input(self) -> list[EventInput]:
        return [EventInputSerializer.to_input(row) for row in self.validated_data["events"]]


class TurnsAppendSerializer(StrictSerializer):
    turns = TurnInputSerializer(many=True, allow_empty=False, max_length=MAX_TURNS)


class EventsAppendSerializer(StrictSerializer):
    events = EventInputSerializer(many=True, allow_empty=False, max_length=MAX_EVENTS)


# --- responses ------------------------------------------------------------------------------------------


class TurnSerializer(serializers.ModelSerializer):
    index = serializers.IntegerField(source="turn_index")

    class Meta:
        model = Turn
        fields = [
            "index",
            "speaker",
            "text",
            "asr_confidence",
            "prompt_tokens",
            "completion_tokens",
            "sentiment",
            "latency_asr_ms",
            "latency_llm_ms",
            "latency_tts_ms",
            "latency_total_ms",
            "interrupted",
            "occurred_at",
        ]
        read_only_fields = fields


class CallEventSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="event_type")
    data = EventDataField(source="event_data")

    class Meta:
        model = CallEvent
        fields = ["type", "turn_index", "data", "occurred_at"]
        read_only_fields = fields


class CallSerializer(serializers.ModelSerializer):
    organization = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    location_name = serializers.CharField(
        source="location.name", read_only=True, allow_null=True, default=None
    )
    config_version = serializers.IntegerField(
        source="agent_config.version", read_only=True, allow_null=True, default=None
    )
    turn_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "call_id",
            "organization",
            "location",
            "location_name",
            "config_version",
            "caller_phone",
            "started_at",
            "ended_at",
            "status",
            "outcome",
            "turn_count",
            "sanitized_at",
            "created_at",
        ]
        read_only_fields = fields


class CallDetailSerializer(CallSerializer):
    turns = TurnSerializer(many=True, read_only=True)
    events = CallEventSerializer(many=True, read_only=True)
    turn_count = serializers.SerializerMethodField()

    class Meta(CallSerializer.Meta):
        fields = [*CallSerializer.Meta.fields, "transcript", "turns", "events"]
        read_only_fields = fields

    def get_turn_count(self, call: Call) -> int:
        return len(call.turns.all())


@extend_schema_field(
    {"type": "object", "properties": {stage: {"type": "number", "nullable": True} for stage in STAGES}}
)
class StageLatencyField(serializers.DictField):
    pass


class AnalyticsRowSerializer(serializers.Serializer):
    key = serializers.IntegerField(allow_null=True, help_text="Configuration id or location id (null: none).")
    label = serializers.CharField()
    calls = serializers.IntegerField()
    completed = serializers.IntegerField()
    transferred = serializers.IntegerField()
    failed = serializers.IntegerField()
    abandoned = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    completion_rate = serializers.FloatField(allow_null=True, help_text="Completed / finished calls.")
    transfer_rate = serializers.FloatField(allow_null=True, help_text="Transferred / finished calls.")
    escalations = serializers.IntegerField(help_text="Escalation events.")
    escalated_calls = serializers.IntegerField()
    escalation_rate = serializers.FloatField(allow_null=True, help_text="Calls with an escalation / calls.")
    turns = serializers.IntegerField()
    interrupted_turns = serializers.IntegerField()
    interruption_rate = serializers.FloatField(allow_null=True)
    latency_mean_ms = StageLatencyField()
    latency_p95_ms = StageLatencyField(help_text="Nearest-rank 95th percentile per stage.")


class CallAnalyticsSerializer(serializers.Serializer):
    since = serializers.DateTimeField()
    until = serializers.DateTimeField()
    by_config_version = AnalyticsRowSerializer(many=True, source="by_config")
    by_location = AnalyticsRowSerializer(many=True)
