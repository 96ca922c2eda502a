"""Request and response shapes of the agents API.

Serializers validate and render; they never save. Views hand `validated_data` to agents.services.
Nested rows are validated here (including the model's CHECK constraints, which ModelSerializer does not
run) so that an invalid row is a 400 naming its field, never an IntegrityError.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from rest_framework import serializers

from agents.languages import ISO_639_1, LANGUAGE_CHOICES
from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentSchedule,
    AgentSkill,
    AgentSpecialization,
    HumanAgent,
    SkillDomain,
)


def _reject_duplicates(
    rows: list[dict[str, Any]], key: Callable[[dict[str, Any]], Hashable], what: str
) -> None:
    seen: set[Hashable] = set()
    for row in rows:
        value = key(row)
        if value in seen:
            raise serializers.ValidationError(f"{what} {value} is listed more than once.")
        seen.add(value)


def _validate_language_code(value: str) -> None:
    if value not in ISO_639_1:
        raise serializers.ValidationError(f"{value} is not an ISO 639-1 language code (e.g. en, es, zh).")


class AgentSkillSerializer(serializers.ModelSerializer):
    domain = serializers.SlugRelatedField(
        slug_field="code",
        queryset=SkillDomain.objects.all(),
        help_text="SkillDomain code, e.g. `billing`.",
        error_messages={"does_not_exist": "Unknown skill domain {value}."},
    )

    class Meta:
        model = AgentSkill
        fields = ["domain", "proficiency", "years_experience", "certification_level", "last_updated"]


class AgentLanguageSerializer(serializers.ModelSerializer):
    language_code = serializers.ChoiceField(choices=LANGUAGE_CHOICES, help_text="ISO 639-1 code, e.g. `en`.")

    class Meta:
        model = AgentLanguage
        fields = ["language_code", "proficiency"]


class AgentSpecializationSerializer(serializers.ModelSerializer):
    # Validated against the ISO list but not typed as an enum: the schema already names that choice set
    # once (AgentLanguage.language_code), and a second name for it is a spectacular warning.
    languages = serializers.ListField(
        child=serializers.CharField(max_length=2, validators=[_validate_language_code]),
        required=False,
        help_text="ISO 639-1 codes this line is served in.",
    )
    territories = serializers.ListField(
        child=serializers.CharField(max_length=10), required=False, help_text="Territory codes, e.g. US-CA."
    )

    class Meta:
        model = AgentSpecialization
        fields = [
            "specialization",
            "confidence",
            "case_count",
            "success_rate",
            "insurance_line",
            "customer_segment",
            "proficiency",
            "languages",
            "territories",
        ]


class AgentScheduleSerializer(serializers.ModelSerializer):
    class Meta:
        model = AgentSchedule
        fields = [
            "day_of_week",
            "start_time",
            "end_time",
            "timezone",
            "effective_from",
            "effective_until",
            "schedule_type",
        ]
        # `timezone` keeps the model's validator: "PST is not an IANA time zone (use e.g. America/...)".

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["end_time"] <= attrs["start_time"]:
            raise serializers.ValidationError({"end_time": ["Must be after start_time (same-day window)."]})
        until = attrs.get("effective_until")
        if until is not None and until < attrs["effective_from"]:
            raise serializers.ValidationError({"effective_until": ["Must not be before effective_from."]})
        return attrs


class AgentAvailabilitySerializer(serializers.ModelSerializer):
    """An agent's live status. Load and capacity are maintained by routing and are read-only here."""

    capacity = serializers.IntegerField(
        source="agent.max_concurrent_cases", read_only=True, help_text="The agent's max_concurrent_cases."
    )

    class Meta:
        model = AgentAvailability
        fields = [
            "status",
            "status_since",
            "override_reason",
            "manual_override",
            "expected_available_at",
            "current_load",
            "capacity",
            "last_assigned_at",
            "last_status_change",
        ]
        read_only_fields = ["status_since", "current_load", "last_assigned_at", "last_status_change"]
        extra_kwargs = {
            "manual_override": {
                "help_text": "Defaults to whether an override_reason is given; true needs a reason."
            }
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("manual_override") and "override_reason" in attrs and not attrs["override_reason"]:
            raise serializers.ValidationError(
                {"override_reason": ["Required when manual_override is set."]},
                code="override_reason_required",
            )
        return attrs


class AgentPerformanceSerializer(serializers.ModelSerializer):
    """The performance snapshot; recomputed from case history, never written through the API."""

    current_workload = serializers.IntegerField(read_only=True)

    class Meta:
        model = AgentPerformance
        fields = [
            "cases_today",
            "cases_this_week",
            "cases_this_month",
            "avg_resolution_minutes",
            "csat_score",
            "escalation_rate",
            "first_contact_resolution_rate",
            "consecutive_difficult_cases",
            "last_difficult_case_at",
            "last_break_at",
            "stress_score",
            "current_workload",
            "last_updated",
        ]
        read_only_fields = fields


class AgentSerializer(serializers.ModelSerializer):
    """An agent with its nested sets; availability and performance are read-only here.

    A nested list, when given, replaces that set (rows matched by skill domain, language code and
    specialization name; schedules by their full content). When omitted it is left alone; send `[]`
    to clear a set.
    """

    skills = AgentSkillSerializer(many=True, required=False)
    languages = AgentLanguageSerializer(many=True, required=False)
    specializations = AgentSpecializationSerializer(many=True, required=False)
    schedules = AgentScheduleSerializer(many=True, required=False)
    availability = AgentAvailabilitySerializer(read_only=True)
    performance = AgentPerformanceSerializer(read_only=True)

    class Meta:
        model = HumanAgent
        fields = [
            "code",
            "name",
            "email",
            "employee_id",
            "department",
            "hire_date",
            "skill_level",
            "base_hourly_rate",
            "max_concurrent_cases",
            "frustration_tolerance",
            "is_active",
            "skills",
            "languages",
            "specializations",
            "schedules",
            "availability",
            "performance",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["created_at", "updated_at"]

    def validate_skills(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _reject_duplicates(rows, lambda row: row["domain"].code, "Skill domain")
        return rows

    def validate_languages(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _reject_duplicates(rows, lambda row: row["language_code"], "Language")
        return rows

    def validate_specializations(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _reject_duplicates(rows, lambda row: row["specialization"], "Specialization")
        _reject_duplicates(
            # As the partial UNIQUE constraint sees it: NULLs are distinct.
            [row for row in rows if row.get("insurance_line") and row.get("customer_segment") is not None],
            lambda row: f"{row['insurance_line']}/{row['customer_segment']}",
            "Insurance line/segment",
        )
        return rows


class ApiErrorSerializer(serializers.Serializer):
    """The one error shape of the API (config.api.api_exception_handler), for the OpenAPI schema."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # Built here, not declared: a declared attribute named `fields` would shadow Serializer.fields.
        return {
            "detail": serializers.CharField(help_text="Human-readable summary."),
            "code": serializers.CharField(help_text="Stable machine code, e.g. not_found, invalid."),
            "fields": serializers.DictField(
                child=serializers.JSONField(),
                help_text="Per-field messages; nested rows are keyed by their index in the list.",
            ),
        }
