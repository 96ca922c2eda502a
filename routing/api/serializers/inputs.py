"""Routing API inputs: each validates and names the bad field (the services check again for every other
door)."""

from __future__ import annotations

from typing import Any

from django.core.validators import validate_slug
from rest_framework import serializers

from agents.models import SkillDomain
from config.inputs import IdentifierField, StrictInput
from routing.api.serializers.fields import (
    CaseLanguageField,
    ComplexityField,
    FlatListField,
    SpecialRequirementsSerializer,
    case_id_field,
)
from routing.models import (
    Frustration,
    Priority,
)

# --- input -------------------------------------------------------------------------------------------


def strategy_choices() -> list[str]:
    """The registered strategy names (the engine's registry is the one list)."""
    from routing.engine.strategies import names

    return sorted(names())


class CaseInputSerializer(StrictInput, serializers.Serializer):
    """A new case to route: who it is for, how urgent and hard it is, and what it needs (skills, language,
    special requirements). The answer says whether it went to an agent (201) or waits in the queue (202)."""

    # Mirrors routing.services.CaseRequest.

    case_id = case_id_field()
    customer_id = IdentifierField(max_length=50, required=False, allow_blank=True, default="")
    priority = serializers.ChoiceField(choices=Priority.choices)
    complexity = ComplexityField()
    required_skills = FlatListField(
        child=serializers.SlugField(max_length=50, trim_whitespace=False),
        allow_empty=True,
        max_length=50,
        help_text="Skill domain codes (see the agents' skill domains); an unknown code is rejected.",
    )
    customer_frustration = serializers.ChoiceField(
        choices=Frustration.choices, required=False, default=Frustration.LOW
    )
    language = CaseLanguageField(required=False, default="")
    special_requirements = SpecialRequirementsSerializer(required=False, default=dict)
    estimated_resolution_minutes = serializers.IntegerField(
        min_value=1, max_value=100_000, required=False, allow_null=True, default=None
    )
    max_wait_minutes = serializers.IntegerField(min_value=1, max_value=100_000, required=False, default=30)
    strategy = serializers.ChoiceField(
        choices=[],
        required=False,
        allow_null=True,
        default=None,
        help_text="Routing strategy; the configured default when omitted.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["strategy"].choices = strategy_choices()

    def validate_required_skills(self, codes: list[str]) -> list[str]:
        # One query for the whole list; the service checks again under its transaction.
        codes = list(dict.fromkeys(codes))
        known = set(SkillDomain.objects.filter(code__in=codes).values_list("code", flat=True))
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise serializers.ValidationError(
                f"Unknown skill domain(s): {', '.join(unknown)}.", code="unknown_skill_domain"
            )
        return codes

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        optional = attrs.get("special_requirements", {}).get("optional_skills") or []
        stray = [skill for skill in optional if skill not in attrs.get("required_skills", [])]
        if stray:
            raise serializers.ValidationError(
                {"special_requirements": [f"optional_skills: {', '.join(stray)} not among required_skills."]},
                code="optional_skill_not_required",
            )
        return attrs


class AssignmentActionInputSerializer(StrictInput, serializers.Serializer):
    """Which assignment a start or completion acts on: its id, or the acting agent's code (or both,
    which must agree); one of them is required (400 `assignment_not_identified`, checked by the service
    after the case is found). A late action on an assignment that is no longer open answers 409."""

    assignment_id = serializers.UUIDField(
        required=False,
        allow_null=True,
        default=None,
        help_text="The assignment's id (from the routing answer).",
    )
    agent = IdentifierField(
        max_length=50,
        required=False,
        allow_null=True,
        default=None,
        validators=[validate_slug],
        help_text="The acting agent's code.",
    )


class CaseCompleteInputSerializer(AssignmentActionInputSerializer):
    resolution_minutes = serializers.IntegerField(
        min_value=0, max_value=100_000, required=False, allow_null=True, default=None
    )
    csat_rating = serializers.IntegerField(
        min_value=1, max_value=5, required=False, allow_null=True, default=None, help_text="1 to 5."
    )
    escalated = serializers.BooleanField(required=False, default=False)
