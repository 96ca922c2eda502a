"""Lead routing API shapes: leads, their routing answers, history and events, the assignment queue, rules
and experiments with their results.

Inputs mix in config.inputs.StrictInput (an unknown or read-only key is a 400 naming it; values have the
JSON type the schema states). Outputs only render: objects arrive joined by routing.selectors.leads or
returned by a service; "now"-dependent values (waiting time, SLA breach) and queue positions are set by the
view (`context["now"]`, `entry.position`).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from agents.languages import LANGUAGE_CHOICES
from agents.models import validate_printable_name
from config.inputs import FullRowSerializer, IdentifierField, StrictInput
from routing.api.serializers.inputs import strategy_choices
from routing.api.serializers.outputs import (
    AgentBriefSerializer,
    CandidateSerializer,
    RoutingDecisionSerializer,
)
from routing.engine.lead_rules import GROUPS, LEAD_FIELDS, OPERATORS
from routing.models import (
    AssignmentQueue,
    ExperimentStatus,
    GuardrailMetric,
    Lead,
    LeadRoutingHistory,
    QueueType,
    RoutingExperiment,
    RoutingExperimentVariant,
    RoutingRule,
)
from routing.services.leads import OUTCOMES
from routing.services.rules import rule_definition_problem

# --- leads -----------------------------------------------------------------------------------------------


class LeadSerializer(StrictInput, serializers.ModelSerializer):
    """A lead: what the CRM sends, and the score, tier, status and agent routing gives it."""

    external_id = IdentifierField(
        max_length=100,
        validators=[validate_printable_name],
        help_text="Your CRM's id for the lead; unique (a second lead with the same id is a 409 `unique`).",
    )
    language = serializers.ChoiceField(choices=LANGUAGE_CHOICES, help_text="ISO 639-1 code, e.g. en.")
    score = serializers.FloatField(
        read_only=True, allow_null=True, help_text="0-100, from the lead's attributes and engagement."
    )
    score_breakdown = serializers.DictField(
        child=serializers.JSONField(),
        read_only=True,
        help_text="Per factor (segment, line, source, recency, engagement...): its value, weight and points.",
    )
    agent = AgentBriefSerializer(
        read_only=True,
        allow_null=True,
        help_text="The agent holding the lead (assigned or contacted), or who worked it once closed.",
    )

    class Meta:
        model = Lead
        fields = [
            "id",
            "external_id",
            "name",
            "phone",
            "email",
            "insurance_line",
            "customer_segment",
            "language",
            "territory",
            "source",
            "website_visits",
            "email_opens",
            "quote_requested",
            "callback_requested",
            "estimated_premium",
            "score",
            "tier",
            "score_breakdown",
            "scored_at",
            "status",
            "agent",
            "assigned_at",
            "last_contacted_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "id",
            "score",
            "tier",
            "score_breakdown",
            "scored_at",
            "status",
            "agent",
            "assigned_at",
            "last_contacted_at",
            "created_at",
            "updated_at",
        ]


class LeadBriefSerializer(serializers.ModelSerializer):
    score = serializers.FloatField(read_only=True, allow_null=True)

    class Meta:
        model = Lead
        fields = [
            "id",
            "external_id",
            "name",
            "insurance_line",
            "customer_segment",
            "tier",
            "score",
            "status",
        ]
        read_only_fields = fields


class LeadOutcomeInputSerializer(StrictInput, serializers.Serializer):
    outcome = serializers.ChoiceField(
        choices=list(OUTCOMES),
        help_text="`contacted` (the agent reached the lead; it keeps its slot), `converted` or `lost` (the "
        "lead is closed and the agent's slot is offered to the waiting leads and cases).",
    )


class AssignmentQueueEntrySerializer(serializers.ModelSerializer):
    """A lead waiting in an assignment queue, with its place in the serving order and SLA state."""

    lead = LeadBriefSerializer(read_only=True)
    position = serializers.IntegerField(read_only=True, help_text="1-based place in the serving order.")
    lead_score = serializers.FloatField(read_only=True, help_text="The score the lead was queued with.")
    waiting_seconds = serializers.SerializerMethodField()
    sla_breached = serializers.SerializerMethodField(
        help_text="The SLA expiry has passed (the periodic sweep escalates such leads)."
    )
    escalated_from = serializers.ChoiceField(
        choices=QueueType.choices,
        allow_blank=True,
        read_only=True,
        help_text="The queue the lead was escalated from after an SLA breach; empty if it was not escalated.",
    )

    class Meta:
        model = AssignmentQueue
        fields = [
            "id",
            "lead",
            "queue_type",
            "position",
            "lead_score",
            "queued_at",
            "sla_expiry",
            "sla_breached",
            "waiting_seconds",
            "escalated_from",
            "requirements",
        ]
        read_only_fields = fields

    def _now(self) -> dt.datetime:
        now = self.context.get("now")
        if now is None:
            now = self.context["now"] = timezone.now()
        return now

    @extend_schema_field(serializers.IntegerField())
    def get_waiting_seconds(self, entry: AssignmentQueue) -> int:
        return max(0, int((self._now() - entry.queued_at).total_seconds()))

    @extend_schema_field(serializers.BooleanField())
    def get_sla_breached(self, entry: AssignmentQueue) -> bool:
        breached = getattr(entry, "sla_breached_now", None)
        return (
            bool(breached) if breached is not None else entry.sla_breached or self._now() >= entry.sla_expiry
        )


class LeadRoutingHistorySerializer(serializers.ModelSerializer):
    """One routing of the lead: to whom, by which strategy, why (rules, experiment) and how each candidate
    agent scored; the conversion outcome once known."""

    agent = AgentBriefSerializer(source="assigned_agent", read_only=True)
    lead_score = serializers.FloatField(read_only=True, allow_null=True)
    assignment_factors = CandidateSerializer(
        many=True, read_only=True, help_text="Every candidate agent with its per-factor scores, best first."
    )
    decision_id = serializers.IntegerField(read_only=True, allow_null=True)
    experiment_id = serializers.UUIDField(read_only=True, allow_null=True)
    variant_id = serializers.UUIDField(read_only=True, allow_null=True)

    class Meta:
        model = LeadRoutingHistory
        fields = [
            "id",
            "agent",
            "strategy",
            "strategy_parameters",
            "lead_score",
            "lead_tier",
            "assignment_reasons",
            "assignment_factors",
            "decision_id",
            "routed_at",
            "experiment_id",
            "variant_id",
            "conversion_outcome",
            "outcome_at",
            "released_at",
        ]
        read_only_fields = fields


class RuleFiredSerializer(serializers.Serializer):
    rule_id = serializers.CharField()
    rule = serializers.CharField(help_text="The rule's name.")
    rule_type = serializers.CharField()
    priority = serializers.IntegerField()
    action = serializers.DictField(child=serializers.JSONField())
    applied = serializers.BooleanField(
        help_text="false: it matched, but a higher-priority rule had already decided the same thing."
    )


class ExperimentChoiceSerializer(serializers.Serializer):
    experiment_id = serializers.UUIDField()
    experiment = serializers.CharField(help_text="The experiment's name.")
    variant_id = serializers.UUIDField()
    variant = serializers.CharField(help_text="The variant's name.")
    strategy = serializers.CharField()
    parameters = serializers.DictField(child=serializers.JSONField())
    bucket = serializers.FloatField(help_text="The lead's sticky position in [0, 1) on the allocation line.")


class LeadAssignedOutcomeSerializer(serializers.Serializer):
    """200: the lead went to an agent (its status is `assigned`)."""

    lead = LeadSerializer()
    agent = AgentBriefSerializer(source="lead.agent")
    routing = LeadRoutingHistorySerializer(source="history", help_text="The routing history row written.")
    decision = RoutingDecisionSerializer(help_text="Why this agent: every candidate with its factor scores.")
    rules_fired = RuleFiredSerializer(
        many=True, help_text="The active rules that matched, in priority order."
    )
    experiment = ExperimentChoiceSerializer(
        allow_null=True, help_text="The running experiment's variant the lead drew, if one runs."
    )


class LeadQueuedOutcomeSerializer(serializers.Serializer):
    """202: no eligible agent has room; the lead waits in its queue type (status `queued`)."""

    lead = LeadSerializer()
    queue_entry = AssignmentQueueEntrySerializer(
        help_text="Where it waits: queue type, position, SLA expiry."
    )
    decision = RoutingDecisionSerializer(help_text="Why nobody took it: the candidates considered, if any.")
    rules_fired = RuleFiredSerializer(many=True)
    experiment = ExperimentChoiceSerializer(allow_null=True)


# --- rules -----------------------------------------------------------------------------------------------

CONDITION_HELP = (
    'Empty (`{}`) matches every lead. A comparison is `{"field", "op", "value"}` with field one of '
    f"{', '.join(LEAD_FIELDS)}; op one of {', '.join(OPERATORS)}; groups are "
    f"{', '.join(f'`{{{group!r}: ...}}`' for group in GROUPS)} (all/any take a list). An invalid "
    "condition is a 400 whose message gives the path of the bad part, e.g. `condition.all[1].value`."
)
ACTION_HELP = (
    "The rule type's parameters: assign_to_queue `{queue_type, sla_minutes?}`; require_specialization "
    "`{insurance_line?, customer_segment?, min_proficiency 1-5}`; set_priority `{boost -100..100}`; "
    "route_to_agent_group `{department}`; exclude_agent `{agents: [agent code, ...]}`."
)


class RoutingRuleSerializer(StrictInput, serializers.ModelSerializer):
    condition = serializers.JSONField(required=False, help_text=CONDITION_HELP)
    action = serializers.JSONField(required=False, help_text=ACTION_HELP)

    class Meta:
        model = RoutingRule
        fields = [
            "id",
            "name",
            "description",
            "rule_type",
            "condition",
            "action",
            "priority",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance

        def value(name: str, default: Any) -> Any:
            if name in attrs:
                return attrs[name]
            return getattr(current, name) if current is not None else default

        problem = rule_definition_problem(
            rule_type=value("rule_type", ""), condition=value("condition", {}), action=value("action", {})
        )
        if problem is not None:
            raise serializers.ValidationError(problem.fields, code="invalid_rule")
        return attrs


class RuleTestInputSerializer(StrictInput, serializers.Serializer):
    lead_id = serializers.UUIDField(help_text="The lead to test the rule against (nothing is written).")


class RuleTestResultSerializer(serializers.Serializer):
    rule_id = serializers.UUIDField()
    lead_id = serializers.UUIDField()
    matches = serializers.BooleanField(help_text="The rule's condition holds for the lead now.")
    fired = RuleFiredSerializer(
        allow_null=True, help_text="What the rule would do for this lead (null when it does not match)."
    )
    facts = serializers.DictField(
        child=serializers.JSONField(), help_text="The lead attributes the condition was tested against."
    )
    invalid_reason = serializers.CharField(
        allow_null=True,
        help_text="Set when the stored rule no longer validates: routing skips it (and says why here).",
    )


# --- experiments -------------------------------------------------------------------------------------------


class ExperimentVariantSerializer(FullRowSerializer):
    strategy = serializers.ChoiceField(choices=[], help_text="The routing strategy this variant routes with.")
    parameters = serializers.DictField(
        child=serializers.JSONField(), required=False, help_text="The strategy's parameters (e.g. weights)."
    )
    allocation = serializers.FloatField(
        min_value=0, max_value=100, help_text="Percent of the experiment's leads; the variants total 100."
    )
    is_control = serializers.BooleanField(
        required=False, default=False, help_text="Exactly one per experiment."
    )

    class Meta:
        model = RoutingExperimentVariant
        fields = ["id", "name", "strategy", "parameters", "allocation", "is_control", "position"]
        read_only_fields = ["id"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["strategy"].choices = strategy_choices()

    def validate_allocation(self, value: float) -> Decimal:
        allocation = Decimal(str(value))
        if allocation != allocation.quantize(Decimal("0.01")):
            raise serializers.ValidationError("At most two decimal places.")
        return allocation.quantize(Decimal("0.01"))


class RoutingExperimentSerializer(StrictInput, serializers.ModelSerializer):
    """An experiment with its variants. `variants`, when given on an edit, replaces the set (matched by
    name); a running or paused experiment, or one with assigned leads, refuses any change to the variants'
    allocations, order, strategies or control (409 `experiment_conflict`)."""

    status = serializers.ChoiceField(
        choices=ExperimentStatus.choices,
        read_only=True,
        help_text="draft, running, paused or completed; changed by start, pause, complete.",
    )
    guardrail_metrics = serializers.ListField(
        child=serializers.ChoiceField(choices=GuardrailMetric.choices),
        required=False,
        max_length=len(GuardrailMetric.choices),
        help_text="Shown beside the results; they do not decide the winner.",
    )
    control_strategy = serializers.PrimaryKeyRelatedField(
        queryset=RoutingExperiment.objects.all(),
        required=False,
        allow_null=True,
        help_text="An earlier experiment whose strategy is this one's baseline (optional).",
    )
    variants = ExperimentVariantSerializer(
        many=True, help_text="The arms; allocations total 100 and exactly one is the control."
    )

    class Meta:
        model = RoutingExperiment
        fields = [
            "id",
            "name",
            "description",
            "status",
            "start_at",
            "end_at",
            "success_metric",
            "guardrail_metrics",
            "control_strategy",
            "variants",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "status", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance
        start = attrs.get("start_at", getattr(current, "start_at", None))
        end = attrs.get("end_at", getattr(current, "end_at", None))
        if start is not None and end is not None and end <= start:
            raise serializers.ValidationError({"end_at": ["Must be after start_at."]})
        if current is not None and attrs.get("control_strategy") == current:
            raise serializers.ValidationError(
                {"control_strategy": ["An experiment cannot be its own baseline."]}
            )
        return attrs


# --- experiment results --------------------------------------------------------------------------------------


class IntervalSerializer(serializers.Serializer):
    low = serializers.FloatField()
    high = serializers.FloatField()


class VariantResultSerializer(serializers.Serializer):
    variant_id = serializers.UUIDField()
    name = serializers.CharField()
    allocation = serializers.FloatField(help_text="Percent of the traffic it was given.")
    is_control = serializers.BooleanField()
    units = serializers.IntegerField(help_text="Leads assigned to the variant.")
    conversions = serializers.IntegerField(help_text="Of those, leads converted.")
    rate = serializers.FloatField(allow_null=True, help_text="conversions / units; null without units.")
    rate_ci = IntervalSerializer(allow_null=True, help_text="95 % Wilson interval of the rate.")
    absolute_lift = serializers.FloatField(
        allow_null=True, help_text="rate - control rate; null for the control or without units."
    )
    absolute_lift_ci = IntervalSerializer(allow_null=True, help_text="95 % interval of the absolute lift.")
    relative_lift = serializers.FloatField(
        allow_null=True, help_text="absolute lift / control rate; null when the control rate is 0."
    )
    relative_lift_ci = IntervalSerializer(allow_null=True, help_text="95 % interval of the relative lift.")
    p_value = serializers.FloatField(
        allow_null=True, help_text="Two-sided two-proportion z-test against the control."
    )
    guardrails = serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text="sla_breach_rate (share of its leads that breached an SLA) and "
        "time_to_first_contact_seconds (mean, contacted leads).",
    )


class SampleRatioSerializer(serializers.Serializer):
    statistic = serializers.FloatField(
        allow_null=True, help_text="Pearson's chi-square against the allocation."
    )
    p_value = serializers.FloatField(allow_null=True)
    judged = serializers.BooleanField(help_text="Every variant had enough units (8) to judge.")
    mismatch = serializers.BooleanField(
        help_text="Flagged (p < 0.001): the split differs from the allocation; do not trust the results."
    )


class ExperimentResultsSerializer(serializers.Serializer):
    experiment_id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.CharField()
    success_metric = serializers.CharField()
    total_units = serializers.IntegerField()
    variants = VariantResultSerializer(many=True)
    sample_ratio_mismatch = SampleRatioSerializer()


def _interval(pair: tuple[float, float] | None) -> dict[str, float] | None:
    return None if pair is None else {"low": pair[0], "high": pair[1]}


def experiment_results_as_dict(experiment: RoutingExperiment, results: Any) -> dict[str, Any]:
    """routing.engine.experiments.ExperimentResults in the documented shape."""
    variants = []
    for result in results.variants:
        totals, comparison = result.totals, result.comparison
        variants.append(
            {
                "variant_id": totals.variant_id,
                "name": totals.name,
                "allocation": float(totals.allocation),
                "is_control": totals.is_control,
                "units": totals.units,
                "conversions": totals.conversions,
                "rate": result.rate,
                "rate_ci": _interval(result.rate_ci),
                "absolute_lift": comparison.absolute_lift if comparison else None,
                "absolute_lift_ci": _interval(comparison.absolute_ci) if comparison else None,
                "relative_lift": comparison.relative_lift if comparison else None,
                "relative_lift_ci": _interval(comparison.relative_ci) if comparison else None,
                "p_value": comparison.p_value if comparison else None,
                "guardrails": dict(totals.guardrails),
            }
        )
    srm = results.srm
    return {
        "experiment_id": experiment.pk,
        "name": experiment.name,
        "status": experiment.status,
        "success_metric": experiment.success_metric,
        "total_units": results.total_units,
        "variants": variants,
        "sample_ratio_mismatch": {
            "statistic": srm.statistic,
            "p_value": srm.p_value,
            "judged": srm.judged,
            "mismatch": srm.mismatch,
        },
    }


__all__ = [
    "AssignmentQueueEntrySerializer",
    "ExperimentChoiceSerializer",
    "ExperimentResultsSerializer",
    "ExperimentVariantSerializer",
    "LeadAssignedOutcomeSerializer",
    "LeadBriefSerializer",
    "LeadQueuedOutcomeSerializer",
    "LeadOutcomeInputSerializer",
    "LeadRoutingHistorySerializer",
    "LeadSerializer",
    "QueueType",
    "RoutingExperimentSerializer",
    "RoutingRuleSerializer",
    "RuleFiredSerializer",
    "RuleTestInputSerializer",
    "RuleTestResultSerializer",
    "experiment_results_as_dict",
]
