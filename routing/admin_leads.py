"""The supervisor admin for lead routing (issue 7): leads, rules, experiments, assignment queues, history.

Thin, as routing.admin: reads come from the selectors and the pure engines, writes from the services.
- Leads, their routing history and the queue entries are written only by routing.services (scoring,
  routing, outcomes, the sweep): read-only here. A lead's page shows its score breakdown and its events.
- Rules are configuration and are edited here; the form validates the condition and the action with the
  rules engine (routing.engine.lead_rules.validate_rule, through RoutingRule.clean), so an invalid
  condition is refused with the path of the bad part. "Test rules" evaluates the active rules (and the
  rule at hand, even inactive) against a sample lead or typed attributes with the pure engine; it
  writes nothing.
- Experiments are edited with their variants inline; the formset checks the allocations total 100 % and
  that exactly one variant is the control (routing.engine.experiments.allocation_problems, the check the
  services make). Once an experiment runs, is paused or has assigned leads, its variants are read-only
  here (editing them would reshuffle the leads already assigned; routing.services.experiments refuses it
  for the API too). Start, pause and complete are actions calling the services. The results page renders
  the statistics (routing.services.experiments.experiment_results_for) as a table and an inline SVG
  chart drawn on the server, readable without JavaScript.
- The assignment queue shows one queue type at a time in its serving order
  (routing.selectors.lead_queue_serving_order); positions are the page offset plus the row index.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from config.errors import DomainError
from routing.admin import ReadOnlyAdminMixin
from routing.engine.experiments import Arm, ExperimentResults, allocation_problems
from routing.engine.lead_rules import BOOLEAN, LEAD_FIELDS, NUMBER, RuleSpec, evaluate_rules
from routing.models import (
    AssignmentQueue,
    AssignmentQueueStatus,
    ExperimentStatus,
    Lead,
    LeadRoutingHistory,
    QueueType,
    RoutingEvent,
    RoutingExperiment,
    RoutingExperimentVariant,
    RoutingRule,
)
from routing.selectors.leads import lead_queue_serving_order
from routing.services.experiments import (
    VARIANT_FIELDS,
    experiment_complete,
    experiment_create,
    experiment_frozen,
    experiment_pause,
    experiment_results_for,
    experiment_start,
    experiment_update,
)
from routing.services.leads import active_rules, rule_facts

# --- leads -------------------------------------------------------------------------------------------


class WaitingQueueFilter(admin.SimpleListFilter):
    """Leads waiting in one queue type (one EXISTS on the partial unique index of waiting entries)."""

    title = "waiting in queue"
    parameter_name = "queue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return list(QueueType.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        waiting = AssignmentQueue.objects.filter(
            status=AssignmentQueueStatus.WAITING, queue_type=self.value()
        )
        return queryset.filter(pk__in=waiting.values("lead_id"))


def score_breakdown_html(breakdown: dict[str, Any] | None, score: Any = None) -> SafeString:
    """The stored score breakdown ({component: {value, weight, points}}) as a table."""
    if not breakdown:
        return mark_safe("—")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                name.replace("_", " "),
                f"{float(part.get('value', 0)):.2f}",
                f"{float(part.get('weight', 0)):.2f}",
                f"{float(part.get('points', 0)):.2f}",
            )
            for name, part in breakdown.items()
            if isinstance(part, dict)
        ),
    )
    total = "" if score is None else format_html("<tr><th colspan=3>score</th><th>{}</th></tr>", score)
    return format_html(
        "<table><thead><tr><th>component</th><th>value (0-1)</th><th>weight</th><th>points</th></tr>"
        "</thead><tbody>{}{}</tbody></table>",
        rows,
        total,
    )


class LeadEventInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RoutingEvent
    fk_name = "lead"
    extra = 0
    can_delete = False
    fields = ("created_at", "event_type", "agent", "data")
    readonly_fields = fields
    verbose_name_plural = "events"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("agent").order_by("-created_at", "-id")


@admin.register(Lead)
class LeadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "external_id",
        "name",
        "score",
        "tier",
        "status",
        "agent",
        "insurance_line",
        "customer_segment",
        "source",
        "created_at",
    )
    list_select_related = ("agent",)
    list_filter = ("tier", WaitingQueueFilter, "insurance_line", "customer_segment", "status", "source")
    search_fields = ("=external_id", "name", "=phone")
    show_full_result_count = False
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("external_id", "name", "phone", "email", "status", "agent", "assigned_at")}),
        ("Profile", {"fields": ("insurance_line", "customer_segment", "language", "territory", "source")}),
        (
            "Engagement",
            {
                "fields": (
                    "website_visits",
                    "email_opens",
                    "quote_requested",
                    "callback_requested",
                    "estimated_premium",
                    "last_contacted_at",
                )
            },
        ),
        ("Score", {"fields": ("score", "tier", "scored_at", "score_table")}),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )
    readonly_fields = (
        *(f.name for f in Lead._meta.concrete_fields if f.name not in ("id", "score_breakdown")),
        "score_table",
    )
    inlines = (LeadEventInline,)

    @admin.display(description="score breakdown")
    def score_table(self, lead: Lead) -> SafeString:
        return score_breakdown_html(lead.score_breakdown, lead.score)


# --- routing history ---------------------------------------------------------------------------------


def candidates_table_html(candidates: list[dict[str, Any]], *, winner_id: Any = None) -> str:
    """A stored candidate list ([{agent_id, agent_code, total, factors}]) as one row per candidate and one
    column per factor; the winner marked."""
    from routing.api.serializers import candidate_as_dict

    rows_in = [candidate_as_dict(candidate) for candidate in candidates or [] if isinstance(candidate, dict)]
    factors: list[str] = []
    for candidate in rows_in:
        factors.extend(name for name in candidate["factors"] if name not in factors)
    rows = [
        {
            **candidate,
            "scores": [candidate["factors"].get(name) for name in factors],
            "is_winner": winner_id is not None and candidate["agent_id"] == winner_id,
        }
        for candidate in rows_in
    ]
    return render_to_string("admin/routing/lead_candidates.html", {"factors": factors, "rows": rows})


@admin.register(LeadRoutingHistory)
class LeadRoutingHistoryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "lead",
        "assigned_agent",
        "strategy",
        "lead_score",
        "lead_tier",
        "experiment",
        "variant_name",
        "routed_at",
        "conversion_outcome",
    )
    list_select_related = ("lead", "assigned_agent", "experiment", "variant")
    list_filter = ("lead_tier", "conversion_outcome", "experiment")
    search_fields = ("=lead__external_id",)
    show_full_result_count = False
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("lead", "assigned_agent", "routed_at", "released_at")}),
        ("Routing", {"fields": ("strategy", "parameters", "lead_score", "lead_tier", "reasons")}),
        ("Experiment", {"fields": ("experiment", "variant")}),
        ("Outcome", {"fields": ("conversion_outcome", "outcome_at")}),
        ("Decision", {"fields": ("decision", "factors_table")}),
    )
    readonly_fields = (
        "lead",
        "assigned_agent",
        "routed_at",
        "released_at",
        "strategy",
        "parameters",
        "lead_score",
        "lead_tier",
        "reasons",
        "experiment",
        "variant",
        "conversion_outcome",
        "outcome_at",
        "decision",
        "factors_table",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("lead", "assigned_agent", "experiment", "variant")

    @admin.display(description="variant", ordering="variant__name")
    def variant_name(self, history: LeadRoutingHistory) -> str:
        return history.variant.name if history.variant else "—"

    @admin.display(description="strategy parameters")
    def parameters(self, history: LeadRoutingHistory) -> str:
        params = history.strategy_parameters or {}
        return ", ".join(f"{key} = {value}" for key, value in params.items()) or "—"

    @admin.display(description="why")
    def reasons(self, history: LeadRoutingHistory) -> SafeString:
        items = []
        for reason in history.assignment_reasons or []:
            if not isinstance(reason, dict):
                items.append(str(reason))
            elif "rule" in reason:
                items.append(
                    f"rule “{reason['rule']}” fired ({str(reason.get('rule_type', '')).replace('_', ' ')})"
                )
            elif "experiment" in reason:
                items.append(f"experiment “{reason['experiment']}”, variant “{reason.get('variant', '')}”")
            else:
                items.append(", ".join(f"{key}: {value}" for key, value in reason.items()))
        if not items:
            return mark_safe("—")
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((item,) for item in items)))

    @admin.display(description="candidates (per factor)")
    def factors_table(self, history: LeadRoutingHistory) -> str:
        return mark_safe(  # rendered by a template: escaped there
            candidates_table_html(history.assignment_factors, winner_id=history.assigned_agent_id)
        )


# --- the assignment queue ----------------------------------------------------------------------------

PAST = "past"


def _queue_choice(request: HttpRequest) -> str:
    value = request.GET.get("queue_type", QueueType.HOT)
    return value if value in QueueType.values or value == PAST else QueueType.HOT


class QueueTypeFilter(admin.SimpleListFilter):
    """One queue type's waiting entries in serving order (hot by default), or past entries."""

    title = "queue"
    parameter_name = "queue_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [*QueueType.choices, (PAST, "Past entries (newest first)")]

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:
        current = self.value() if self.value() in dict(self.lookup_choices) else QueueType.HOT
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset  # AssignmentQueueAdmin.get_queryset already chose the set


class LeadQueueChangeList(ChangeList):
    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        serving = _queue_choice(request) != PAST
        first = 1 if self.show_all else (self.page_num - 1) * self.list_per_page + 1
        for offset, entry in enumerate(self.result_list):
            entry.position = first + offset if serving else None


@admin.register(AssignmentQueue)
class AssignmentQueueAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "position",
        "lead",
        "queue_type",
        "lead_score",
        "waiting_minutes",
        "sla",
        "sla_expiry",
        "queued_at",
        "status",
        "escalated_from",
    )
    list_display_links = ("lead",)
    list_filter = (QueueTypeFilter,)
    list_select_related = ("lead",)
    sortable_by: tuple[str, ...] = ()  # the serving order is the point
    show_full_result_count = False
    list_per_page = 50
    readonly_fields = tuple(f.name for f in AssignmentQueue._meta.concrete_fields if f.name != "id")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        now = getattr(request, "_lead_queue_now", None)
        if now is None:
            return super().get_queryset(request).select_related("lead")
        choice = _queue_choice(request)
        if choice == PAST:
            return (
                AssignmentQueue.objects.exclude(status=AssignmentQueueStatus.WAITING)
                .select_related("lead")
                .order_by("-queued_at", "-id")
            )
        return lead_queue_serving_order(queue_type=choice, now=now)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        request._lead_queue_now = timezone.now()  # type: ignore[attr-defined]
        return super().changelist_view(request, extra_context)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return LeadQueueChangeList

    @admin.display(description="#")
    def position(self, entry: AssignmentQueue) -> int | None:
        return getattr(entry, "position", None)

    @admin.display(description="waiting (min)")
    def waiting_minutes(self, entry: AssignmentQueue) -> int | None:
        if entry.status != AssignmentQueueStatus.WAITING:
            return int(entry.time_in_queue.total_seconds() // 60) if entry.time_in_queue else None
        return max(0, int((timezone.now() - entry.queued_at).total_seconds() // 60))

    @admin.display(description="SLA")
    def sla(self, entry: AssignmentQueue) -> str:
        breached = getattr(entry, "sla_breached_now", None)
        if breached is None:
            breached = entry.sla_breached or (
                entry.status == AssignmentQueueStatus.WAITING and timezone.now() >= entry.sla_expiry
            )
        if breached or entry.sla_breached:
            return format_html(
                '<strong class="sla-breached" style="color:#ba2121" title="past {}">✗ breached</strong>',
                entry.sla_expiry,
            )
        return format_html('<span style="color:#2e7d32" title="due by {}">✓ within</span>', entry.sla_expiry)


# --- rules -------------------------------------------------------------------------------------------


class RoutingRuleForm(forms.ModelForm):
    """The condition and action are validated by the rules engine (RoutingRule.clean): an error names the
    path of the bad part, e.g. "condition.all[1].value: Must be a number."."""

    class Meta:
        model = RoutingRule
        fields = ("name", "description", "rule_type", "condition", "action", "priority", "is_active")
        widgets = {
            "condition": forms.Textarea(attrs={"rows": 6, "cols": 80}),
            "action": forms.Textarea(attrs={"rows": 3, "cols": 80}),
        }
        help_texts = {
            "condition": 'JSON: {"field": "customer_segment", "op": "eq", "value": "enterprise"}, or groups '
            '{"all": [...]}, {"any": [...]}, {"not": {...}}; {} always holds. Fields: '
            + ", ".join(LEAD_FIELDS),
            "action": 'JSON parameters of the rule type, e.g. {"queue_type": "hot"} to assign to a queue, '
            '{"min_proficiency": 4} to require a specialization, {"boost": 10} to set priority, '
            '{"department": "Sales"} for an agent group, {"agents": ["A001"]} to exclude agents.',
        }


def _sample_fields() -> dict[str, forms.Field]:
    fields: dict[str, forms.Field] = {}
    for name, kind in LEAD_FIELDS.items():
        label = name.replace("_", " ")
        if kind == NUMBER:
            fields[name] = forms.FloatField(required=False, label=label)
        elif kind == BOOLEAN:
            fields[name] = forms.NullBooleanField(required=False, label=label)
        else:
            fields[name] = forms.CharField(required=False, label=label, max_length=100)
    return fields


class RuleTestForm(forms.Form):
    """A sample lead by external id, or its attributes typed in (a typed value overrides the lead's)."""

    lead = forms.CharField(
        required=False,
        max_length=100,
        label="Sample lead (external id)",
        help_text="Optional: start from this lead's attributes; any attribute typed below overrides it.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.update(_sample_fields())

    def clean_lead(self) -> Lead | None:
        external_id = self.cleaned_data.get("lead") or ""
        if not external_id:
            return None
        lead = Lead.objects.filter(external_id=external_id).first()
        if lead is None:
            raise forms.ValidationError(
                "No lead has the external id %(external_id)s.", params={"external_id": external_id}
            )
        return lead

    def facts(self) -> dict[str, Any]:
        lead = self.cleaned_data.get("lead")
        facts: dict[str, Any] = rule_facts(lead, now=timezone.now()) if lead else dict.fromkeys(LEAD_FIELDS)
        for name in LEAD_FIELDS:
            value = self.cleaned_data.get(name)
            if value is None or value == "":
                continue
            facts[name] = value
        return facts


def _spec(rule: RoutingRule, *, force_active: bool = False) -> RuleSpec:
    return RuleSpec(
        rule_id=str(rule.pk),
        name=rule.name,
        rule_type=rule.rule_type,
        condition=rule.condition,
        action=rule.action,
        priority=rule.priority,
        is_active=True if force_active else rule.is_active,
    )


def describe_action(rule_type: str, action: dict[str, Any]) -> str:
    """What a rule does, in words."""
    if rule_type == "assign_to_queue":
        sla = f" (SLA {action['sla_minutes']:g} min)" if action.get("sla_minutes") else ""
        return f"put the lead in the {action.get('queue_type')} queue{sla}"
    if rule_type == "require_specialization":
        line = action.get("insurance_line") or "the lead's line"
        segment = action.get("customer_segment") or "the lead's segment"
        return f"only agents licensed for {line} / {segment} at proficiency {action.get('min_proficiency')} or more"
    if rule_type == "set_priority":
        return f"boost the lead's priority by {action.get('boost')}"
    if rule_type == "route_to_agent_group":
        return f"only agents of department {action.get('department')}"
    if rule_type == "exclude_agent":
        return f"never agents {', '.join(action.get('agents') or [])}"
    return str(action)


@admin.register(RoutingRule)
class RoutingRuleAdmin(admin.ModelAdmin):
    form = RoutingRuleForm
    list_display = (
        "name",
        "priority",
        "rule_type",
        "is_active",
        "condition_text",
        "action_text",
        "test_link",
    )
    list_display_links = ("name",)
    list_filter = ("is_active", "rule_type")
    search_fields = ("name",)
    ordering = ("-priority", "name")
    list_per_page = 100
    test_template = "admin/routing/routingrule/test_rules.html"

    @admin.display(description="condition")
    def condition_text(self, rule: RoutingRule) -> str:
        return condition_text(rule.condition)

    @admin.display(description="does")
    def action_text(self, rule: RoutingRule) -> str:
        return describe_action(rule.rule_type, rule.action or {})

    @admin.display(description="")
    def test_link(self, rule: RoutingRule) -> SafeString:
        url = reverse("admin:routing_routingrule_test", args=[rule.pk])
        return format_html('<a href="{}">test…</a>', url)

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "test/",
                self.admin_site.admin_view(self.test_view),
                name="routing_routingrule_test_all",
            ),
            path(
                "<uuid:rule_id>/test/",
                self.admin_site.admin_view(self.test_view),
                name="routing_routingrule_test",
            ),
            *super().get_urls(),
        ]

    def test_view(self, request: HttpRequest, rule_id: Any = None) -> HttpResponse:
        """Which rules would fire for a sample lead and what they would do (the pure engine; no writes)."""
        if not self.has_view_permission(request):
            raise Http404
        rule = None
        if rule_id is not None:
            rule = RoutingRule.objects.filter(pk=rule_id).first()
            if rule is None:
                raise Http404
        form = RuleTestForm(request.GET if request.GET else None)
        outcome = None
        facts = None
        rule_fires = None
        if form.is_bound and form.is_valid():
            facts = form.facts()
            rules = active_rules()
            if rule is not None and not rule.is_active:
                rules.append(_spec(rule, force_active=True))  # tested as if it were active
            outcome = evaluate_rules(rules, facts)
            for fired in outcome.fired:
                fired["does"] = describe_action(fired["rule_type"], fired["action"])
                fired["is_tested"] = rule is not None and fired["rule_id"] == str(rule.pk)
            rule_fires = rule is not None and any(fired["is_tested"] for fired in outcome.fired)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Test rule: {rule.name}" if rule else "Test the active rules",
            "opts": self.opts,
            "rule": rule,
            "rule_condition": condition_text(rule.condition) if rule else "",
            "form": form,
            "facts": facts,
            "outcome": outcome,
            "rule_fires": rule_fires,
            "requirements": outcome.requirements() if outcome else None,
        }
        return TemplateResponse(request, self.test_template, context)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra = {"test_all_url": reverse("admin:routing_routingrule_test_all"), **(extra_context or {})}
        return super().changelist_view(request, extra)


def condition_text(condition: Any) -> str:
    """A condition in words: `customer_segment eq "enterprise" and (score gte 70 or ...)`."""
    if not condition:
        return "always"
    if not isinstance(condition, dict):
        return str(condition)
    if "all" in condition or "any" in condition:
        key = "all" if "all" in condition else "any"
        joiner = " and " if key == "all" else " or "
        parts = [condition_text(item) for item in condition[key] or []]
        return "(" + joiner.join(parts) + ")" if len(parts) > 1 else "".join(parts)
    if "not" in condition:
        return f"not {condition_text(condition['not'])}"
    value = condition.get("value")
    shown = ", ".join(map(repr, value)) if isinstance(value, list) else repr(value)
    return f"{condition.get('field')} {condition.get('op')} {shown}"


# --- experiments -------------------------------------------------------------------------------------


class VariantFormSet(BaseInlineFormSet):
    """Allocations total exactly 100 % and exactly one variant is the control (the engine's check)."""

    def clean(self) -> None:
        super().clean()
        arms = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if form.cleaned_data.get("DELETE"):
                continue
            allocation = form.cleaned_data.get("allocation")
            if allocation is None:
                continue
            arms.append(
                Arm(
                    variant_id=str(form.cleaned_data.get("name") or len(arms)),
                    allocation=Decimal(allocation),
                    is_control=bool(form.cleaned_data.get("is_control")),
                )
            )
        problems = allocation_problems(arms)
        if problems:
            raise forms.ValidationError(problems)


class VariantInline(admin.TabularInline):
    model = RoutingExperimentVariant
    formset = VariantFormSet
    fields = ("position", "name", "strategy", "parameters", "allocation", "is_control")
    extra = 0
    min_num = 2

    def _frozen(self, obj: RoutingExperiment | None) -> bool:
        return obj is not None and (obj.status == ExperimentStatus.COMPLETED or experiment_frozen(obj))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_add_permission(request, obj) and not self._frozen(obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and not self._frozen(obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and not self._frozen(obj)


class ExperimentForm(forms.ModelForm):
    class Meta:
        model = RoutingExperiment
        fields = (
            "name",
            "description",
            "success_metric",
            "guardrail_metrics",
            "start_at",
            "end_at",
            "control_strategy",
        )


@admin.register(RoutingExperiment)
class RoutingExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    inlines = (VariantInline,)
    list_display = ("name", "status", "success_metric", "start_at", "end_at", "results_link")
    list_filter = ("status",)
    search_fields = ("name",)
    list_select_related = ()
    readonly_fields = ("status", "results_link")
    actions = ("start_experiments", "pause_experiments", "complete_experiments")
    results_template = "admin/routing/routingexperiment/results.html"

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["name", "description", "status", "success_metric", "guardrail_metrics", "start_at",
                "end_at", "control_strategy", *(["results_link"] if obj else [])]  # fmt: skip

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is not None and obj.status == ExperimentStatus.COMPLETED:
            return (*ExperimentForm.Meta.fields, "status", "results_link")
        return self.readonly_fields

    @admin.display(description="results")
    def results_link(self, experiment: RoutingExperiment) -> SafeString:
        if experiment.pk is None:
            return mark_safe("—")
        url = reverse("admin:routing_routingexperiment_results", args=[experiment.pk])
        return format_html('<a href="{}">results</a>', url)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Nothing yet: the experiment is written with its variants by save_related, through the
        experiments service (the API's write path: the same checks and the same frozen rules)."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        values = {
            name: form.cleaned_data[name] for name in ExperimentForm.Meta.fields if name in form.cleaned_data
        }
        variants_formset = next((fs for fs in formsets if fs.model is RoutingExperimentVariant), None)
        variants = None
        if variants_formset is not None and (not change or variants_formset.has_changed()):
            kept = [f for f in variants_formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
            variants = [
                {key: f.cleaned_data[key] for key in VARIANT_FIELDS if key in f.cleaned_data} for f in kept
            ]
            # what the admin's history message reads (formset.save() would have set these)
            variants_formset.new_objects = [f.instance for f in kept if f.instance._state.adding]
            variants_formset.changed_objects = [
                (f.instance, f.changed_data) for f in kept if not f.instance._state.adding and f.has_changed()
            ]
            variants_formset.deleted_objects = [
                f.instance for f in variants_formset.forms if f.cleaned_data.get("DELETE") and f.instance.pk
            ]
        elif variants_formset is not None:
            variants_formset.new_objects = variants_formset.changed_objects = (
                variants_formset.deleted_objects
            ) = []
        if change:
            saved = experiment_update(experiment_id=form.instance.pk, variants=variants, **values)
        else:
            saved = experiment_create(id=form.instance.pk, variants=variants or [], **values)
        # the admin goes on with its own instance (history message, redirect): make it the saved row
        for field in RoutingExperiment._meta.concrete_fields:
            setattr(form.instance, field.attname, getattr(saved, field.attname))
        form.instance._state.adding, form.instance._state.db = False, saved._state.db

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<uuid:experiment_id>/results/",
                self.admin_site.admin_view(self.results_view),
                name="routing_routingexperiment_results",
            ),
            *super().get_urls(),
        ]

    def results_view(self, request: HttpRequest, experiment_id: Any) -> HttpResponse:
        if not self.has_view_permission(request):
            raise Http404
        experiment = RoutingExperiment.objects.filter(pk=experiment_id).first()
        if experiment is None:
            raise Http404
        results = experiment_results_for(experiment)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Results: {experiment.name}",
            "opts": self.opts,
            "original": experiment,
            "experiment": experiment,
            "results": results,
            "rows": results_rows(results),
            "chart": rate_chart_svg(results),
        }
        return TemplateResponse(request, self.results_template, context)

    # -- actions: one service call per experiment, each refusal shown

    def _each(self, request: HttpRequest, queryset: QuerySet, verb: str, call: Any) -> None:
        done = 0
        for experiment in list(queryset):
            try:
                call(experiment_id=experiment.pk)
            except DomainError as error:
                self.message_user(request, f"{experiment.name}: {error.detail}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request, f"{verb} {done} experiment{'s' if done != 1 else ''}.", messages.SUCCESS
            )

    @admin.action(description="Start (or resume) selected experiments", permissions=["change"])
    def start_experiments(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "Started", experiment_start)

    @admin.action(description="Pause selected experiments", permissions=["change"])
    def pause_experiments(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "Paused", experiment_pause)

    @admin.action(description="Complete selected experiments", permissions=["change"])
    def complete_experiments(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "Completed", experiment_complete)

    def response_post_save_change(self, request: HttpRequest, obj: Any) -> HttpResponse:
        return redirect(reverse("admin:routing_routingexperiment_change", args=[obj.pk]))


def _pct(value: float | None, digits: int = 2) -> str:
    return "—" if value is None or math.isnan(value) else f"{100 * value:.{digits}f} %"


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.0001" if value < 0.0001 else f"{value:.4f}"


def results_rows(results: ExperimentResults) -> list[dict[str, Any]]:
    rows = []
    for variant in results.variants:
        totals, comparison = variant.totals, variant.comparison
        guard = totals.guardrails or {}
        contact = guard.get("time_to_first_contact_seconds")
        rows.append(
            {
                "name": totals.name,
                "is_control": totals.is_control,
                "allocation": f"{totals.allocation:g} %",
                "units": totals.units,
                "conversions": totals.conversions,
                "rate": _pct(variant.rate),
                "rate_ci": "—" if variant.rate_ci is None else f"{_pct(variant.rate_ci[0])} – {_pct(variant.rate_ci[1])}",
                "lift": "control" if totals.is_control else ("—" if comparison is None else f"{100 * comparison.absolute_lift:+.2f} pp"),
                "lift_ci": "" if comparison is None else f"{100 * comparison.absolute_ci[0]:+.2f} to {100 * comparison.absolute_ci[1]:+.2f} pp",
                "relative": "" if comparison is None or comparison.relative_lift is None else f"{100 * comparison.relative_lift:+.1f} %",
                "relative_ci": "" if comparison is None or comparison.relative_ci is None else f"{100 * comparison.relative_ci[0]:+.1f} to {100 * comparison.relative_ci[1]:+.1f} %",
                "p_value": "" if comparison is None else _p(comparison.p_value),
                "significant": comparison is not None and comparison.p_value is not None and comparison.p_value < 0.05,
                "sla_breach_rate": _pct(guard.get("sla_breach_rate"), 1),
                "time_to_first_contact": "—" if contact is None else f"{contact / 60:.1f} min",
            }
        )  # fmt: skip
    return rows


CHART_WIDTH, CHART_ROW, CHART_LEFT, CHART_RIGHT_PAD = 720, 34, 170, 90


def rate_chart_svg(results: ExperimentResults) -> SafeString:
    """Conversion rate per variant with its 95 % Wilson interval: a dot and a whisker on a shared axis,
    drawn on the server as inline SVG (no JavaScript)."""
    variants = [v for v in results.variants if v.rate is not None and v.rate_ci is not None]
    if not variants:
        return mark_safe("<p>No leads have been assigned yet: nothing to chart.</p>")
    top = max(v.rate_ci[1] for v in variants)
    scale_max = max(0.05, math.ceil(top * 20) / 20)  # the axis ends on the next 5 %
    plot_width = CHART_WIDTH - CHART_LEFT - CHART_RIGHT_PAD
    height = 40 + CHART_ROW * len(variants) + 30

    def x_of(rate: float) -> float:
        return round(CHART_LEFT + plot_width * min(rate, scale_max) / scale_max, 1)

    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
            'aria-label="Conversion rate per variant with 95 % interval" '
            'style="max-width:100%;font:12px sans-serif">',
            CHART_WIDTH,
            height,
            CHART_WIDTH,
            height,
        ),
        format_html('<text x="{}" y="16" fill="#333">conversion rate (95 % interval)</text>', CHART_LEFT),
    ]
    ticks = 5
    bottom = 30 + CHART_ROW * len(variants)
    for tick in range(ticks + 1):
        rate = scale_max * tick / ticks
        x = x_of(rate)
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="26" y2="{}" stroke="#ddd"/>'
                '<text x="{}" y="{}" text-anchor="middle" fill="#666">{}</text>',
                x,
                x,
                bottom,
                x,
                bottom + 16,
                f"{100 * rate:g} %",
            )
        )
    control = next((v for v in variants if v.totals.is_control), None)
    if control is not None:
        x = x_of(control.rate)
        parts.append(
            format_html(
                '<line x1="{}" x2="{}" y1="26" y2="{}" stroke="#999" stroke-dasharray="4 3"/>', x, x, bottom
            )
        )
    for index, variant in enumerate(variants):
        y = 30 + CHART_ROW * index + CHART_ROW / 2
        low, high = variant.rate_ci
        color = "#555" if variant.totals.is_control else "#417690"
        label = variant.totals.name + (" (control)" if variant.totals.is_control else "")
        parts.append(
            format_html(
                "<g><title>{}: {} ({} – {}), {} leads</title>"
                '<text x="{}" y="{}" text-anchor="end" dominant-baseline="middle" fill="#333">{}</text>'
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="2"/>'
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="2"/>'
                '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-width="2"/>'
                '<circle cx="{}" cy="{}" r="5" fill="{}"/>'
                '<text x="{}" y="{}" dominant-baseline="middle" fill="#333">{}</text></g>',
                label,
                _pct(variant.rate),
                _pct(low),
                _pct(high),
                variant.totals.units,
                CHART_LEFT - 10,
                y,
                label[:26],
                x_of(low),
                x_of(high),
                y,
                y,
                color,
                x_of(low),
                x_of(low),
                y - 6,
                y + 6,
                color,
                x_of(high),
                x_of(high),
                y - 6,
                y + 6,
                color,
                x_of(variant.rate),
                y,
                color,
                CHART_WIDTH - CHART_RIGHT_PAD + 8,
                y,
                _pct(variant.rate),
            )
        )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))
