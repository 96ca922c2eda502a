"""Routing API outputs: they only render.

The output side never queries: every object arrives already joined/prefetched by routing.selectors or
returned by a service, and values that depend on "now" (waiting time, SLA breach) or on the page (queue
position) are computed once by the view and passed in (`context["now"]`, `entry.position`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.models import HumanAgent
from config.api import rendered
from routing.api.serializers.fields import ComplexityField
from routing.models import (
    FINISHED_ASSIGNMENT_STATUSES,
    CaseAssignment,
    CaseAssignmentArchive,
    EscalationQueueEntry,
    RoutingDecision,
    RoutingEvent,
    SupportCase,
)
from routing.selectors.cases import CASE_EVENTS_SHOWN

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
    """How wide the search for this decision was: how many eligible agents the pool held and how many
    were scored. Empty for a decision made without a search (a supervisor's assignment)."""

    # RoutingDecision.prerank, as routing.selectors.CandidateSearch.as_record writes it.

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
    """A finished assignment older than the retention window, moved to the archive (the same fields as
    a live assignment, plus `archived_at`). `decision_id` names the routing decision that made it among
    the case's `decisions`."""

    # Archived by run_maintenance, which moves the decision's link from the live assignment to the
    # archived row (RoutingDecision.archived_assignment).

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
    """A waiting case with its place in the serving order, how long it has waited and whether it is past
    its SLA. Every entry of a page is computed at the same instant."""

    # `position` is set on each entry by the view (page offset + index, or queue_position for one entry);
    # `context["now"]` is the one instant the page is computed at.

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

    `events` holds the newest 100 events; `events_truncated` is true when older ones exist (a case that
    waits long collects an event per escalation and widening).
    """

    # CASE_EVENTS_SHOWN bounds the events; routing.selectors.case_detail prefetches one more than it
    # shows, to know whether older ones exist.

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
