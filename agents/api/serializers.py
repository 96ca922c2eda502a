"""Request and response shapes of the agents API.

Serializers validate and render; they never save. Views hand `validated_data` to agents.services.
Nested rows are validated here (including the model's CHECK constraints, which ModelSerializer does not
run) so that an invalid row is a 400 naming its field, never an IntegrityError. A nested row is always
validated as a complete row, also inside a PATCH of its agent (see FullRowSerializer).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Hashable
from typing import Any

from django.core.validators import validate_slug
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.validators import UniqueValidator

from agents.languages import ISO_639_1, LANGUAGE_CHOICES
from agents.models import (
    TERRITORY_MAX_LENGTH,
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentSchedule,
    AgentSkill,
    AgentSpecialization,
    HumanAgent,
    SkillDomain,
    validate_language_codes,
    validate_territories,
)
from agents.services import AGENT_EDITABLE_FIELDS
from config.inputs import FullRowSerializer, IdentifierField, LookupSlugRelatedField, StrictInput


def _reject_duplicates(
    rows: list[dict[str, Any]],
    key: Callable[[dict[str, Any]], Hashable],
    what: str,
    label: Callable[[dict[str, Any]], str] | None = None,
) -> None:
    seen: set[Hashable] = set()
    for row in rows:
        value = key(row)
        if value in seen:
            shown = label(row) if label else value
            raise serializers.ValidationError(f"{what} {shown} is listed more than once.")
        seen.add(value)


class BlankAsNullCharField(serializers.CharField):
    """An optional text that stores NULL when blank (the model's CHECK refuses '')."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(required=False, allow_null=True, allow_blank=True, **kwargs)

    def run_validation(self, data: Any = empty) -> str | None:
        return super().run_validation(data) or None


def _validate_language_code(value: str) -> None:
    if value not in ISO_639_1:
        raise serializers.ValidationError(f"{value} is not an ISO 639-1 language code (e.g. en, es, zh).")


class AgentSkillSerializer(FullRowSerializer):
    domain = LookupSlugRelatedField(
        slug_field="code",
        queryset=SkillDomain.objects.all(),
        help_text="SkillDomain code, e.g. `billing`.",
        error_messages={"does_not_exist": "Unknown skill domain {value}."},
    )

    class Meta:
        model = AgentSkill
        fields = ["domain", "proficiency", "years_experience", "certification_level", "last_updated"]


class AgentLanguageSerializer(FullRowSerializer):
    language_code = serializers.ChoiceField(choices=LANGUAGE_CHOICES, help_text="ISO 639-1 code, e.g. `en`.")

    class Meta:
        model = AgentLanguage
        fields = ["language_code", "proficiency"]


class AgentSpecializationSerializer(FullRowSerializer):
    # Validated against the ISO list but not typed as an enum: the schema already names that choice set
    # once (AgentLanguage.language_code), and a second name for it is a spectacular warning. The list
    # validators are the model's, shared with the admin.
    languages = serializers.ListField(
        child=serializers.CharField(max_length=2, validators=[_validate_language_code]),
        required=False,
        validators=[validate_language_codes],
        help_text="ISO 639-1 codes this line is served in.",
    )
    territories = serializers.ListField(
        child=serializers.CharField(max_length=TERRITORY_MAX_LENGTH),
        required=False,
        validators=[validate_territories],
        help_text="Territory codes, e.g. US-CA.",
    )
    insurance_line = BlankAsNullCharField(
        max_length=50, help_text="Insurance line, e.g. auto; blank or null for none."
    )
    customer_segment = BlankAsNullCharField(
        max_length=50, help_text="Customer segment, e.g. smb; blank or null for every segment."
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


WALL_CLOCK_TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


@extend_schema_field(
    {
        "type": "string",
        "pattern": WALL_CLOCK_TIME_PATTERN,
        "example": "09:00:00",
        "description": "Local wall-clock time in the schedule's `timezone`, HH:MM[:SS[.ffffff]] "
        "(24-hour, no UTC offset: the offset follows from the time zone on each date).",
    }
)
class WallClockTimeField(serializers.TimeField):
    """A schedule time: a local wall-clock time in the row's IANA time zone, so it carries no offset.

    Declared with its pattern instead of OpenAPI's `format: time`, which is RFC 3339's full-time and
    requires an offset ("09:00:00Z"): the API has never sent one, and an offset here would be dropped
    (Django's time parser discards it), so one is refused instead.
    """

    default_error_messages = {
        "wall_clock": "Use a local time HH:MM[:SS[.ffffff]] (24-hour) without a UTC offset; the "
        "schedule's timezone gives the offset."
    }

    def to_internal_value(self, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(WALL_CLOCK_TIME_PATTERN, value):
            self.fail("wall_clock")
        return super().to_internal_value(value)


class AgentScheduleSerializer(FullRowSerializer):
    start_time = WallClockTimeField(help_text="When the shift starts, local time.")
    end_time = WallClockTimeField(
        help_text="When the shift ends, local time; at or before start_time it ends the next day (22:00-06:00, "
        "09:00-00:00 until midnight, 00:00-00:00 the whole day)."
    )

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
        # An end_time at or before start_time is a window that crosses midnight (routing.engine.schedule).

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        since, until = attrs.get("effective_from"), attrs.get("effective_until")
        if since is not None and until is not None and until < since:
            raise serializers.ValidationError({"effective_until": ["Must not be before effective_from."]})
        return attrs


class AgentAvailabilitySerializer(StrictInput, serializers.ModelSerializer):
    """An agent's live status. Load and capacity are maintained by routing and are read-only here."""

    capacity = serializers.IntegerField(
        source="agent.max_concurrent_work", read_only=True, help_text="The agent's max_concurrent_work."
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
        read_only_fields = [
            "status_since",
            "manual_override",
            "current_load",
            "last_assigned_at",
            "last_status_change",
        ]
        # PUT is a full replacement, so `status` is required there (PATCH is partial: nothing is). The
        # optional fields are reset when a PUT omits them; their help says to what.
        extra_kwargs = {
            "status": {"required": True},
            "manual_override": {
                "help_text": "True when a person or an integration set the status (any status but "
                "available): routing never gives such an agent work and never changes the status back. "
                "False when routing set it (busy at capacity, available again below it)."
            },
            "override_reason": {"help_text": "Why, optional; PUT without it: empty."},
            "expected_available_at": {"help_text": "When the agent is back; PUT without it: null."},
        }


class AgentPerformanceSerializer(serializers.ModelSerializer):
    """The performance snapshot; kept current by routing, never written through the API."""

    current_workload = serializers.IntegerField(read_only=True)
    # The period counters as of now (a counter from an earlier day reads 0): AgentPerformance.cases_in_periods.
    cases_today = serializers.IntegerField(source="current_cases_today", read_only=True)
    cases_this_week = serializers.IntegerField(source="current_cases_this_week", read_only=True)
    cases_this_month = serializers.IntegerField(source="current_cases_this_month", read_only=True)

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


class AgentSerializer(StrictInput, serializers.ModelSerializer):
    """An agent with its nested sets; availability and performance are read-only here.

    A nested list, when given, replaces that set (rows matched by skill domain, language code and
    specialization name; schedules by their full content). When omitted it is left alone; send `[]`
    to clear a set.
    """

    # Identifiers are taken exactly as sent: " agent_001" is a 400, not trimmed into another agent's code.
    code = IdentifierField(
        max_length=50,
        validators=[
            validate_slug,
            UniqueValidator(HumanAgent.objects.all(), message="An agent with this code already exists."),
        ],
        help_text=HumanAgent._meta.get_field("code").help_text,
    )
    employee_id = IdentifierField(
        max_length=50,
        required=False,
        allow_null=True,
        allow_blank=True,
        validators=[
            UniqueValidator(
                HumanAgent.objects.all(), message="An agent with this employee id already exists."
            )
        ],
        help_text="HR employee id, unique; blank or null for none (stored as null, so agents without one "
        "do not collide).",
    )
    skills = AgentSkillSerializer(many=True, required=False)
    languages = AgentLanguageSerializer(many=True, required=False)
    specializations = AgentSpecializationSerializer(many=True, required=False)
    schedules = AgentScheduleSerializer(many=True, required=False)
    availability = AgentAvailabilitySerializer(read_only=True)
    performance = AgentPerformanceSerializer(read_only=True)

    class Meta:
        model = HumanAgent
        fields = [
            *AGENT_EDITABLE_FIELDS,
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
        extra_kwargs = {
            "email": {
                "validators": [
                    UniqueValidator(
                        HumanAgent.objects.all(), message="An agent with this email already exists."
                    )
                ]
            }
        }

    def validate_employee_id(self, value: str | None) -> str | None:
        return value or None

    # Names an older version of the API used: refused with the new name rather than ignored.
    RENAMED = {"max_concurrent_cases": "max_concurrent_work"}

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            renamed = {old: new for old, new in self.RENAMED.items() if old in data}
            if renamed:
                raise serializers.ValidationError(
                    {
                        old: [f"Renamed: send {new} (an agent's capacity counts work of every kind)."]
                        for old, new in renamed.items()
                    },
                    code="renamed_field",
                )
        return super().to_internal_value(data)

    def validate_skills(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _reject_duplicates(rows, lambda row: row["domain"].code, "Skill domain")
        return rows

    def validate_languages(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        _reject_duplicates(rows, lambda row: row["language_code"], "Language")
        return rows

    def validate_specializations(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # As the unique indexes see them (seed 000: a name once among rows without a line; seed 001: a
        # line and segment once).
        _reject_duplicates(
            [row for row in rows if row.get("insurance_line") is None],
            lambda row: row["specialization"],
            "Specialization",
        )
        _reject_duplicates(
            # As the unique index sees it: rows with an insurance line, a missing segment ("every
            # segment") counting as one value. Blanks are already None (BlankAsNullCharField).
            [row for row in rows if row.get("insurance_line") is not None],
            lambda row: (row["insurance_line"], row.get("customer_segment")),
            "Insurance line/segment",
            label=lambda row: f"{row['insurance_line']}/{row.get('customer_segment') or '(every segment)'}",
        )
        return rows
