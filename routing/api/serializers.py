"""Routing API shapes: input serializers validate and name the bad field; output serializers only render.

The output side never queries: every object arrives already joined/prefetched by routing.selectors or
returned by a service, and values that depend on "now" (waiting time, SLA breach) or on the page
(queue position) are computed once by the view and passed in (`context["now"]`, `entry.position`).

Enum-valued fields keep one choice set per property name across components (`status` is rendered
only by one component per set), so drf-spectacular names the enums without collisions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.core.validators import validate_slug
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail
from rest_framework.fields import empty

from agents.languages import LANGUAGE_CHOICES
from agents.models import HumanAgent, Proficiency, SkillDomain
from config.api import rendered
from config.inputs import IdentifierField, StrictJsonTypes
from routing.models import (
    CASE_ID_MAX_LENGTH,
    CASE_ID_MESSAGE,
    FINISHED_ASSIGNMENT_STATUSES,
    CaseAssignment,
    CaseAssignmentArchive,
    Complexity,
    EscalationQueueEntry,
    Frustration,
    Priority,
    RoutingDecision,
    RoutingEvent,
    SupportCase,
    validate_case_id,
)
from routing.selectors.cases import CASE_EVENTS_SHOWN

# --- enum fields shared with the agents API --------------------------------------------------------
#
# Complexity has the same values and labels as agents' FrustrationTolerance, and the case language the
# same choices as AgentLanguage.language_code. drf-spectacular names an enum by its (value, label) set, so
# it would give each of those sets two names and warn (which fails `spectacular --fail-on-warn` and
# `check --deploy`). Declaring these two fields' schema as a plain enum of values gives them their own
# set: ComplexityEnum and LanguageEnum. (An ENUM_NAME_OVERRIDES entry in settings would do the same.)


@extend_schema_field({"type": "string", "enum": list(Complexity.values)})
class ComplexityField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Complexity.choices, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "enum": ["", *(code for code, _ in LANGUAGE_CHOICES)],
        "description": "ISO 639-1 code the customer speaks, e.g. en, es, zh; empty when unknown.",
    }
)
class CaseLanguageField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=LANGUAGE_CHOICES, allow_blank=True, **kwargs)


# --- case ids ----------------------------------------------------------------------------------------
#
# What a case id may be is stated once, in routing.models (validate_case_id, also the model field's
# validator, the service's check and the URL converter's pattern); this field gives its message here.


def case_id_field(**kwargs: Any) -> serializers.CharField:
    # Taken exactly as sent: whitespace around a case id is a 400, not trimmed into another case's id.
    return IdentifierField(
        max_length=CASE_ID_MAX_LENGTH, validators=[validate_case_id], help_text=CASE_ID_MESSAGE, **kwargs
    )


# --- special requirements ------------------------------------------------------------------------------


def _flat_messages(detail: Any, prefix: str = "") -> list[ErrorDetail]:
    """Nested DRF errors as one list of "key: message" strings, keeping each message's code, so a bad
    special requirement reads `{"special_requirements": ["specializations[0]: Not a valid string."]}`,
    the `{field: [messages]}` shape config.api documents (and the service's own check produces)."""
    if isinstance(detail, Mapping):
        messages: list[ErrorDetail] = []
        for key, value in detail.items():
            name = f"{prefix}[{key}]" if str(key).isdigit() else (f"{prefix}.{key}" if prefix else str(key))
            if key == "non_field_errors":
                name = prefix
            messages += _flat_messages(value, name)
        return messages
    if isinstance(detail, list):
        return [message for item in detail for message in _flat_messages(item, prefix)]
    code = getattr(detail, "code", "invalid")
    return [ErrorDetail(f"{prefix}: {detail}" if prefix else str(detail), code=code)]


class FlatListField(serializers.ListField):
    """A ListField whose item errors read "[index]: message" in one list, like the other fields'."""

    def run_validation(self, data: Any = empty) -> Any:
        try:
            return super().run_validation(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError(_flat_messages(error.detail)) from None


@extend_schema_field({"type": "string", "enum": list(Proficiency.values)})
class MinProficiencyField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=Proficiency.choices, **kwargs)


class SpecialRequirementsSerializer(StrictJsonTypes, serializers.Serializer):
    """The keys routing reads (routing.engine.rules.parse_special_requirements), each with its type.

    Any other key is rejected rather than stored and ignored: a misspelt `min_proficency` would otherwise
    route the case as if nothing had been asked. A key sent as null counts as not sent.
    """

    min_proficiency = MinProficiencyField(
        required=False,
        allow_null=True,
        help_text="Lowest proficiency accepted in each required skill (default intermediate).",
    )
    optional_skills = serializers.ListField(
        child=serializers.SlugField(max_length=50, trim_whitespace=False),
        required=False,
        allow_null=True,
        max_length=50,
        help_text="Required skills that may be dropped when the wait widens; each must be in "
        "required_skills.",
    )
    specializations = serializers.ListField(
        child=serializers.CharField(max_length=100),
        required=False,
        allow_null=True,
        max_length=50,
        help_text="Agent specializations that raise an agent's skill score (e.g. enterprise_accounts).",
    )
    specialization = serializers.CharField(
        max_length=100,
        required=False,
        allow_null=True,
        help_text="One specialization; the same as specializations: [name].",
    )

    def run_validation(self, data: Any = empty) -> Any:
        if data is not empty and data is not None and not isinstance(data, Mapping):
            raise serializers.ValidationError(
                f'Expected a dictionary of items but got type "{type(data).__name__}".', code="not_a_dict"
            )
        try:
            return super().run_validation(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError(_flat_messages(error.detail)) from None

    def to_internal_value(self, data: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(str(key) for key in data if key not in self.fields)
        if unknown:
            raise serializers.ValidationError(
                f"Unknown key(s): {', '.join(unknown)}; routing reads {', '.join(self.fields)}.",
                code="unknown_key",
            )
        values = super().to_internal_value(data)
        return {key: value for key, value in values.items() if value is not None}


# --- input -------------------------------------------------------------------------------------------


def strategy_choices() -> list[str]:
    """The registered strategy names (the engine's registry is the one list)."""
    from routing.engine.strategies import names

    return sorted(names())


class CaseInputSerializer(StrictJsonTypes, serializers.Serializer):
    """A new case to route. Mirrors routing.services.CaseRequest."""

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


class AssignmentActionInputSerializer(StrictJsonTypes, serializers.Serializer):
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


# --- output: pieces ----------------------------------------------------------------------------------


class AgentBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = HumanAgent
        fields = ["id", "code", "name"]
        read_only_fields = fields


class CandidateSerializer(serializers.Serializer):
    """One candidate agent of a routing decision with its weighted total and per-factor scores."""

    agent_id = serializers.IntegerField()
    agent_code = serializers.CharField(required=False)
    total = serializers.FloatField()
    factors = serializers.DictField(
        child=serializers.FloatField(), help_text="Factor name -> score 0..1 (skill, performance, ...)."
    )
    details = serializers.DictField(
        child=serializers.FloatField(), required=False, help_text="Inputs behind the factor scores."
    )

    def to_representation(self, candidate: dict[str, Any]) -> dict[str, Any]:
        return candidate_as_dict(candidate)


def candidate_as_dict(candidate: dict[str, Any]) -> dict[str, Any]:
    """Normalise one stored candidate (RoutingDecision.candidates item) to the documented shape."""
    agent = candidate.get("agent")
    agent_id = candidate.get("agent_id", agent if isinstance(agent, int) else None)
    agent_code = candidate.get("agent_code", candidate.get("code", agent if isinstance(agent, str) else ""))
    return {
        "agent_id": agent_id,
        "agent_code": agent_code or "",
        "total": candidate.get("total", candidate.get("score")),
        "factors": dict(candidate.get("factors") or {}),
        "details": dict(candidate.get("details") or {}),
    }


class CandidatePoolSerializer(serializers.Serializer):
    """RoutingDecision.prerank (routing.selectors.CandidateSearch.as_record); empty for decisions made
    without a search (a supervisor's assignment)."""

    pool_limit = serializers.IntegerField(required=False, help_text="Pool size asked for; 0 = every agent.")
    pool_size = serializers.IntegerField(required=False, help_text="Eligible agents the pool held.")
    pool_full = serializers.BooleanField(required=False)
    scored = serializers.IntegerField(required=False, help_text="Candidates the engine scored.")


class RoutingDecisionSerializer(serializers.ModelSerializer):
    winner_id = serializers.IntegerField(allow_null=True, read_only=True)
    assignment_id = serializers.UUIDField(allow_null=True, read_only=True)
    archived_assignment_id = serializers.UUIDField(
        allow_null=True,
        read_only=True,
        help_text="The assignment this decision made, once archived (then assignment_id is null).",
    )
    candidates = CandidateSerializer(many=True, read_only=True)
    ring = serializers.IntegerField(
        source="widen_level", read_only=True, help_text="Requirement ring that matched (0 = as asked)."
    )
    prerank = CandidatePoolSerializer(
        read_only=True,
        help_text="How the candidates were found: the pool of least-loaded eligible agents the search "
        "ranked (pool_full: eligible agents beyond it were not considered).",
    )

    class Meta:
        model = RoutingDecision
        fields = [
            "id",
            "strategy",
            "strategy_parameters",
            "outcome",
            "winner_id",
            "assignment_id",
            "archived_assignment_id",
            "candidate_count",
            "candidates",
            "prerank",
            "ring",
            "reason",
            "duration_ms",
            "created_at",
        ]
        read_only_fields = fields


class CaseAssignmentSerializer(serializers.ModelSerializer):
    case_id = serializers.CharField(read_only=True)
    agent = AgentBriefSerializer(read_only=True)

    complexity = ComplexityField(read_only=True)

    class Meta:
        model = CaseAssignment
        fields = [
            "id",
            "case_id",
            "agent",
            "status",
            "priority",
            "complexity",
            "required_skills",
            "customer_frustration",
            "assigned_at",
            "started_at",
            "completed_at",
            "resolution_minutes",
            "csat_rating",
            "escalated",
            "routing_strategy",
            "routing_confidence",
            "match_score",
        ]
        read_only_fields = fields


@extend_schema_field({"type": "string", "enum": [status.value for status in FINISHED_ASSIGNMENT_STATUSES]})
class ArchivedStatusField(serializers.CharField):
    """Only finished assignments are archived. A set of its own, so the `status` enums stay one per
    component (see the module docstring)."""


class ArchivedAssignmentSerializer(serializers.ModelSerializer):
    """A finished assignment moved to the archive by run_maintenance (same columns, plus archived_at).

    Archiving moves the routing decision's link from the live assignment to the archived row (the
    decision's `archived_assignment_id`); `decision_id` names that decision among the case's `decisions`.
    """

    # The archived rows' decisions arrive prefetched, newest first (routing.selectors.case_detail).

    case_id = serializers.CharField(read_only=True)
    agent = AgentBriefSerializer(read_only=True)
    status = ArchivedStatusField(read_only=True)
    decision_id = serializers.SerializerMethodField(
        help_text="The routing decision that made this assignment (newest, if several); null when it was "
        "archived before decisions kept the link."
    )

    complexity = ComplexityField(read_only=True)

    class Meta:
        model = CaseAssignmentArchive
        fields = [*CaseAssignmentSerializer.Meta.fields, "archived_at", "decision_id"]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_decision_id(self, archived: CaseAssignmentArchive) -> int | None:
        newest = next(iter(archived.decisions.all()), None)
        return newest.pk if newest is not None else None


class RoutingEventSerializer(serializers.ModelSerializer):
    agent_id = serializers.IntegerField(allow_null=True, read_only=True)

    class Meta:
        model = RoutingEvent
        fields = ["id", "event_type", "agent_id", "data", "created_at"]
        read_only_fields = fields


class QueueEntrySerializer(serializers.ModelSerializer):
    """A queue entry as history (any status), as shown on a case."""

    case_id = serializers.CharField(read_only=True)
    assigned_agent_id = serializers.IntegerField(allow_null=True, read_only=True)

    complexity = ComplexityField(read_only=True)

    class Meta:
        model = EscalationQueueEntry
        fields = [
            "id",
            "case_id",
            "status",
            "priority",
            "complexity",
            "required_skills",
            "customer_frustration",
            "queued_at",
            "max_wait_minutes",
            "wait_deadline",
            "estimated_assignment_at",
            "widen_level",
            "escalation_count",
            "routing_strategy",
            "assigned_agent_id",
            "assigned_at",
        ]
        read_only_fields = fields


class WaitingEntrySerializer(serializers.ModelSerializer):
    """A waiting entry with its place in the serving order, waiting time and SLA state.

    `position` is set on each entry by the view (page offset + index, or queue_position for one entry);
    `context["now"]` is the one instant the page is computed at.
    """

    case_id = serializers.CharField(read_only=True)
    position = serializers.IntegerField(read_only=True, help_text="1-based place in the serving order.")
    waiting_seconds = serializers.SerializerMethodField()
    waiting_minutes = serializers.SerializerMethodField()
    sla_breached = serializers.SerializerMethodField(
        help_text="Waited past queued_at + max_wait_minutes; such entries are served first."
    )

    complexity = ComplexityField(read_only=True)

    class Meta:
        model = EscalationQueueEntry
        fields = [
            "id",
            "case_id",
            "position",
            "priority",
            "complexity",
            "required_skills",
            "customer_frustration",
            "queued_at",
            "max_wait_minutes",
            "wait_deadline",
            "waiting_seconds",
            "waiting_minutes",
            "sla_breached",
            "widen_level",
            "escalation_count",
        ]
        read_only_fields = fields

    def _now(self) -> dt.datetime:
        now = self.context.get("now")
        if now is None:
            now = self.context["now"] = timezone.now()
        return now

    @extend_schema_field(serializers.IntegerField())
    def get_waiting_seconds(self, entry: EscalationQueueEntry) -> int:
        return max(0, int((self._now() - entry.queued_at).total_seconds()))

    @extend_schema_field(serializers.IntegerField())
    def get_waiting_minutes(self, entry: EscalationQueueEntry) -> int:
        return self.get_waiting_seconds(entry) // 60

    @extend_schema_field(serializers.BooleanField())
    def get_sla_breached(self, entry: EscalationQueueEntry) -> bool:
        overdue = getattr(entry, "is_overdue", None)
        return bool(overdue) if overdue is not None else self._now() >= entry.wait_deadline


# --- output: responses -------------------------------------------------------------------------------


class AssignedOutcomeSerializer(serializers.Serializer):
    """201: the case went to an agent (the case's status is `assigned`)."""

    case_id = serializers.CharField(source="case.case_id")
    assignment = CaseAssignmentSerializer()
    decision = RoutingDecisionSerializer()


class QueuedOutcomeSerializer(serializers.Serializer):
    """202: no agent can take the case now; it waits in the escalation queue (case status `queued`)."""

    case_id = serializers.CharField(source="case.case_id")
    queue_entry = WaitingEntrySerializer()
    decision = RoutingDecisionSerializer()


class SupportCaseDetailSerializer(serializers.ModelSerializer):
    """A case with its assignments (live and archived), queue entries, routing decisions and its most
    recent routing events, newest first.

    Events are bounded: the newest CASE_EVENTS_SHOWN (100); `events_truncated` says older ones exist
    (routing.selectors.case_detail prefetches one more than it shows to know). A case that waited a long time collects an event per
    escalation and widening, so an unbounded list would grow with the wait.
    """

    assignments = CaseAssignmentSerializer(many=True, read_only=True)
    archived_assignments = ArchivedAssignmentSerializer(
        many=True,
        read_only=True,
        help_text="Finished assignments older than the retention window, moved to the archive.",
    )
    queue_entries = QueueEntrySerializer(many=True, read_only=True)
    decisions = RoutingDecisionSerializer(many=True, read_only=True)
    events = serializers.SerializerMethodField()
    events_truncated = serializers.SerializerMethodField()

    complexity = ComplexityField(read_only=True)

    class Meta:
        model = SupportCase
        fields = [
            "case_id",
            "customer_id",
            "status",
            "priority",
            "complexity",
            "required_skills",
            "customer_frustration",
            "language",
            "special_requirements",
            "estimated_resolution_minutes",
            "max_wait_minutes",
            "created_at",
            "updated_at",
            "assignments",
            "archived_assignments",
            "queue_entries",
            "decisions",
            "events",
            "events_truncated",
        ]
        read_only_fields = fields

    @staticmethod
    def _events(case: SupportCase) -> list[RoutingEvent]:
        """case_detail prefetches `recent_events` (newest CASE_EVENTS_SHOWN + 1); one query otherwise."""
        events = getattr(case, "recent_events", None)
        if events is None:
            events = case.events.order_by("-created_at", "-id")[: CASE_EVENTS_SHOWN + 1]
        return list(events)

    @extend_schema_field(RoutingEventSerializer(many=True))
    def get_events(self, case: SupportCase) -> list[dict[str, Any]]:
        return rendered(RoutingEventSerializer, self._events(case)[:CASE_EVENTS_SHOWN], many=True)

    @extend_schema_field(serializers.BooleanField())
    def get_events_truncated(self, case: SupportCase) -> bool:
        return len(self._events(case)) > CASE_EVENTS_SHOWN
