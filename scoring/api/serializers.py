"""Scoring API serializers: inputs (StrictInput: unknown keys and wrong JSON types are a 400 naming the
field) and outputs (read only, rendered from what the scoring services and selectors return)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from agents.models import HumanAgent
from config.inputs import LookupSlugRelatedField, StrictInput
from scoring.models import CallOutcome, ConversionType, QueueType

# --- inputs ------------------------------------------------------------------------------------------


def agent_field(**kwargs: Any) -> LookupSlugRelatedField:
    kwargs.setdefault("help_text", "The agent's code.")
    return LookupSlugRelatedField(queryset=HumanAgent.objects.all(), slug_field="code", **kwargs)


def person_field(**kwargs: Any) -> serializers.UUIDField:
    return serializers.UUIDField(help_text="The person's lead id (a UUID).", **kwargs)


class ScoreInputSerializer(StrictInput, serializers.Serializer):
    person = person_field()


class QueueQuerySerializer(StrictInput, serializers.Serializer):
    check_json_types = False  # query parameters are strings

    queue_type = serializers.ChoiceField(choices=QueueType.choices)
    page = serializers.CharField(required=False)  # checked by the paginator
    page_size = serializers.CharField(required=False)


class QueueClaimInputSerializer(StrictInput, serializers.Serializer):
    queue_type = serializers.ChoiceField(choices=QueueType.choices, help_text="The queue to take from.")
    agent = agent_field(help_text="The code of the agent who will call the person.")


class CallbackInputSerializer(StrictInput, serializers.Serializer):
    person = person_field()
    queue_type = serializers.ChoiceField(choices=QueueType.choices, help_text="The queue the callback joins.")
    scheduled_for = serializers.DateTimeField(help_text="When the person asked to be called back.")
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    agent = agent_field(
        required=False,
        allow_null=True,
        default=None,
        help_text="The agent who promised the callback (recorded with it).",
    )
    agent_only = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Keep the callback for `agent` alone until the hand-over delay has passed; after that "
        "anyone may take it. Needs `agent`.",
    )
    priority = serializers.IntegerField(required=False, default=0, min_value=-1000, max_value=1000)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["agent_only"] and attrs["agent"] is None:
            raise serializers.ValidationError({"agent_only": ["Name the `agent` the callback is kept for."]})
        return attrs


class CallbackQuerySerializer(StrictInput, serializers.Serializer):
    check_json_types = False

    due = serializers.ChoiceField(choices=["true", "false"], required=False)
    overdue = serializers.ChoiceField(choices=["true", "false"], required=False)
    page = serializers.CharField(required=False)
    page_size = serializers.CharField(required=False)


class CallSessionInputSerializer(StrictInput, serializers.Serializer):
    person = person_field()
    agent = agent_field(help_text="The code of the agent who made the call.")
    outcome = serializers.ChoiceField(choices=CallOutcome.choices)
    duration_seconds = serializers.IntegerField(
        min_value=0, max_value=86_400, help_text="Length of the call."
    )
    notes = serializers.CharField(max_length=10_000, required=False, allow_blank=True, default="")
    started_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the call started; by default, `duration_seconds` before now.",
    )
    queue_entry = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        help_text="The queue entry the call worked (from the claim); the call completes it when it ends "
        "the person's work.",
    )


class ConversionInputSerializer(StrictInput, serializers.Serializer):
    person = person_field()
    conversion_type = serializers.ChoiceField(choices=ConversionType.choices)
    conversion_reason = serializers.CharField(max_length=2000, required=False, allow_null=True, default=None)
    primary_agent = agent_field(required=False, allow_null=True, default=None)
    contributing_agents = serializers.ListField(
        child=agent_field(), required=False, default=list, max_length=50, help_text="Agents' codes."
    )
    documents_received = serializers.JSONField(required=False, allow_null=True, default=None)
    signature_obtained = serializers.BooleanField(required=False, default=False)
    requirements_met = serializers.JSONField(required=False, allow_null=True, default=None)
    claim_value = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
    )
    estimated_commission = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True, default=None
    )


class ConversionQuerySerializer(StrictInput, serializers.Serializer):
    check_json_types = False

    converted_from = serializers.DateTimeField(required=False)
    converted_to = serializers.DateTimeField(required=False)
    conversion_type = serializers.ChoiceField(choices=ConversionType.choices, required=False)
    agent = agent_field(required=False)
    page = serializers.CharField(required=False)
    page_size = serializers.CharField(required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        start, end = attrs.get("converted_from"), attrs.get("converted_to")
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"converted_to": ["Must be after `converted_from`."]})
        return attrs


# --- outputs -----------------------------------------------------------------------------------------


class CallScoreBreakdownSerializer(serializers.Serializer):
    score = serializers.IntegerField(help_text="The score, 0-100.")
    raw = serializers.FloatField(help_text="The weighted sum before rounding and clamping.")
    factors = serializers.ListField(
        child=serializers.DictField(), help_text="Each factor's value and points."
    )


class CallScoreSerializer(serializers.Serializer):
    person = serializers.UUIDField(source="score.person_id")
    score = serializers.IntegerField(source="score.current_score", help_text="The stored score, 0-100.")
    breakdown = CallScoreBreakdownSerializer(source="score.score_breakdown")
    scored_at = serializers.DateTimeField(source="score.scored_at")
    queue_type = serializers.CharField(source="score.current_queue_type", allow_null=True)
    is_active = serializers.BooleanField(source="score.is_active", help_text="False once converted.")
    created = serializers.BooleanField(help_text="True when this was the person's first score.")


class _CallEntryBaseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    person = serializers.UUIDField(source="person_id")
    person_name = serializers.CharField(source="person.name")
    queue_type = serializers.CharField()
    status = serializers.CharField()
    priority = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    callback_id = serializers.CharField(allow_null=True, help_text="Set when the entry is a callback.")
    callback_scheduled_for = serializers.DateTimeField(allow_null=True)
    callback_reason = serializers.CharField(allow_null=True)
    callback_agent = serializers.CharField(
        source="callback_agent.code",
        allow_null=True,
        default=None,
        help_text="The agent an agent-only callback is kept for (until the hand-over delay).",
    )


class CallbackEntrySerializer(_CallEntryBaseSerializer):
    pass


class CallQueueEntrySerializer(_CallEntryBaseSerializer):
    score = serializers.IntegerField(source="person.call_score.current_score")
    score_breakdown = serializers.JSONField(source="person.call_score.score_breakdown")
    call_attempts = serializers.IntegerField(source="person.call_score.call_attempts")
    last_call_at = serializers.DateTimeField(source="person.call_score.last_call_at", allow_null=True)
    time_zone = serializers.CharField(source="person.call_score.time_zone")


class QueuedCallSerializer(CallQueueEntrySerializer):
    position = serializers.IntegerField(help_text="1 is the next person to call.")


class CallQueueClaimSerializer(serializers.Serializer):
    entry = CallQueueEntrySerializer(help_text="The entry now in progress for the agent.")
    claimed_by = serializers.CharField(source="entry.claimed_by.code")
    claimed_at = serializers.DateTimeField(source="entry.claimed_at")
    is_callback = serializers.BooleanField()
    handed_over = serializers.BooleanField(
        help_text="True when the agent took another agent's callback past the hand-over delay."
    )


class CallSessionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    person = serializers.UUIDField(source="person_id")
    agent = serializers.CharField(source="agent.code")
    started_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    outcome = serializers.CharField()
    notes = serializers.CharField()
    queue_entry = serializers.IntegerField(source="queue_entry_id", allow_null=True)


class CallConversionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    person = serializers.UUIDField(source="person_id")
    person_name = serializers.CharField(source="person.name")
    previous_queue_type = serializers.CharField()
    conversion_type = serializers.CharField()
    conversion_reason = serializers.CharField(allow_null=True)
    final_score = serializers.IntegerField(allow_null=True)
    total_call_attempts = serializers.IntegerField()
    last_call_at = serializers.DateTimeField(allow_null=True)
    converted_at = serializers.DateTimeField()
    primary_agent = serializers.CharField(source="primary_agent.code", allow_null=True, default=None)
    contributing_agents = serializers.SerializerMethodField()
    documents_received = serializers.JSONField(allow_null=True)
    signature_obtained = serializers.BooleanField()
    requirements_met = serializers.JSONField(allow_null=True)
    claim_value = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)
    estimated_commission = serializers.DecimalField(max_digits=10, decimal_places=2, allow_null=True)

    def get_contributing_agents(self, conversion: Any) -> list[str]:
        return sorted(agent.code for agent in conversion.contributing_agents.all())


class CallConversionTotalsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Conversions matching the filters (all pages).")
    claim_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    estimated_commission = serializers.DecimalField(max_digits=14, decimal_places=2)


class CallConversionPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    totals = CallConversionTotalsSerializer(help_text="Totals over every conversion the filters match.")
    results = CallConversionSerializer(many=True)


class CallbackPageSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = CallbackEntrySerializer(many=True)
