"""The supervisor admin for routing: the escalation queue as it will be served, and the audit trail.

Nothing here writes routing state by itself. Cases, assignments, decisions and events are written only
by routing.services (one code path with the API), so their admins are read-only; the queue's actions
(assign to a chosen agent, cancel, requeue) call the queue services one entry at a time and show each
DomainError as an admin message, so one entry that cannot move does not undo the others.

The queue changelist shows waiting entries in serving order (routing.selectors.queue_serving_order:
overdue first, then priority, then age). Positions are the page offset plus the row index, so a page
costs the same queries for 3 entries or 300; for that reason the queue has no column sorting, search
or filters that would reorder or thin the list (the "state" filter switches to past entries, which have
no position).

The assignment changelist is built for a large table: no distinct-value filters (the strategy filter
reads the engine's registry, the agent filter is a typed code) and no full-table count.

Choosing an agent for the "assign" action is an autocomplete (select2, as the admin's own autocomplete
fields), fed by the queue admin's own JSON view: it searches only agents who could take a case now
(active, available or busy, spare capacity), twenty at a time, so the page costs the same with ten
agents or ten thousand. The form checks the posted id against that same set; the service then checks
again under the agent's row lock and its refusal (at capacity by now, inactive) is shown per entry.

Archiving moves finished assignments out of the live table and moves their routing decisions' link to
the archived row (RoutingDecision.archived_assignment; the live foreign key cannot point into the
archive). The archived assignment's page links its own decision and shows all the case's decisions with
their breakdowns, its own marked; the case page lists its archived assignments.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import ChangeList
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from agents.models import HumanAgent
from config.admin_display import short_time
from config.errors import DomainError
from routing.models import (
    CaseAssignment,
    CaseAssignmentArchive,
    EscalationQueueEntry,
    QueueStatus,
    RoutingDecision,
    RoutingEvent,
    SupportCase,
)
from routing.selectors import assignable_agents, queue_serving_order
from routing.services import queue_entry_assign, queue_entry_cancel, queue_entry_requeue

# --- shared ------------------------------------------------------------------------------------------


class ReadOnlyAdminMixin:
    """Rows written only by routing.services: viewable, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyTabularInline(ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


def _all_fields(model: type) -> tuple[str, ...]:
    return tuple(field.name for field in model._meta.concrete_fields if field.name != "id")


class StrategyFilter(admin.SimpleListFilter):
    """The registered strategies (no SELECT DISTINCT over the whole table)."""

    title = "routing strategy"
    parameter_name = "strategy"
    field_name = "routing_strategy"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from routing.engine.strategies import names

        return [(name, name.replace("_", " ")) for name in names()]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.field_name: self.value()}) if self.value() else queryset


class DecisionStrategyFilter(StrategyFilter):
    field_name = "strategy"


class AgentCodeFilter(admin.SimpleListFilter):
    """Filter by a typed agent code: a sidebar listing ten thousand agents would be useless."""

    title = "agent (code)"
    parameter_name = "agent_code"
    template = "admin/routing/input_filter.html"
    field_name = "agent__code"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("", "")]  # a filter with no lookups is not shown; the template renders an input instead

    def has_output(self) -> bool:
        return True

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:
        yield {
            "value": self.value() or "",
            "parameter_name": self.parameter_name,
            "hidden": [
                (key, value)
                for key, values in changelist.params.items()
                if key != self.parameter_name
                for value in (values if isinstance(values, list) else [values])
            ],
            "clear_query_string": changelist.get_query_string(remove=[self.parameter_name]),
        }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = (self.value() or "").strip()
        return queryset.filter(**{self.field_name: value}) if value else queryset


def event_data_html(data: Any) -> SafeString:
    """An event's data as "key: value" lines a supervisor reads, not JSON text."""
    if not data:
        return mark_safe("—")
    if not isinstance(data, dict):
        return format_html("{}", data)

    def readable(value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(str(item) for item in value) or "none"
        if isinstance(value, dict):
            return "; ".join(f"{key.replace('_', ' ')} {readable(item)}" for key, item in value.items())
        return "none" if value is None or value == "" else str(value)

    return format_html_join(
        mark_safe("<br>"),
        "<strong>{}</strong>: {}",
        ((str(key).replace("_", " "), readable(value)) for key, value in data.items()),
    )


def decision_breakdown_html(decision: RoutingDecision | None) -> str:
    """RoutingDecision.candidates as a table: one row per candidate, one column per factor."""
    from routing.api.serializers import candidate_as_dict

    if decision is None:
        return "—"
    candidates = [candidate_as_dict(candidate) for candidate in decision.candidates or []]
    factors: list[str] = []
    for candidate in candidates:
        factors.extend(name for name in candidate["factors"] if name not in factors)
    rows = [
        {
            **candidate,
            "scores": [candidate["factors"].get(name) for name in factors],
            "is_winner": decision.winner_id is not None and candidate["agent_id"] == decision.winner_id,
        }
        for candidate in candidates
    ]
    return render_to_string(
        "admin/routing/decision_breakdown.html",
        {"decision": decision, "factors": factors, "rows": rows},
    )


# --- the escalation queue ----------------------------------------------------------------------------


class QueueStateFilter(admin.SimpleListFilter):
    """Waiting entries (serving order, the default) or past ones (newest first)."""

    title = "state"
    parameter_name = "state"
    waiting = "waiting"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(self.waiting, "Waiting (serving order)")] + [
            (value, label) for value, label in QueueStatus.choices if value != QueueStatus.QUEUED
        ]

    def choices(self, changelist: ChangeList) -> Iterator[dict[str, Any]]:
        current = self.value() or self.waiting
        for lookup, title in self.lookup_choices:
            yield {
                "selected": current == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset  # EscalationQueueEntryAdmin.get_queryset already chose the set for the state


class QueueChangeList(ChangeList):
    """Numbers the waiting rows of the page by their place in the serving order."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        serving = _showing_waiting(request)
        first = 1 if self.show_all else (self.page_num - 1) * self.list_per_page + 1
        for offset, entry in enumerate(self.result_list):
            entry.position = first + offset if serving else None


def _showing_waiting(request: HttpRequest) -> bool:
    return (
        request.GET.get(QueueStateFilter.parameter_name, QueueStateFilter.waiting) == QueueStateFilter.waiting
    )


def assignable_agent_label(agent: HumanAgent) -> str:
    return (
        f"{agent.name} ({agent.code}) · {agent.availability.get_status_display()} · "
        f"{agent.availability.current_load}/{agent.max_concurrent_work}"
    )


AGENT_AUTOCOMPLETE_PAGE = 20


class AssignableAgentWidget(AutocompleteSelect):
    """The admin's select2 autocomplete, asking the queue admin's view (assignable agents only) instead
    of the site-wide one (every agent the agents admin can search)."""

    def get_url(self) -> str:
        return reverse(f"{self.admin_site.name}:routing_escalationqueueentry_assignable_agents")


class AssignToAgentForm(forms.Form):
    agent = forms.ModelChoiceField(
        queryset=HumanAgent.objects.none(),
        help_text="Type a code or name: active agents at work (available or busy) with spare capacity.",
    )
    override_reason = forms.CharField(
        max_length=500,
        required=False,
        label="Override reason",
        help_text="Only needed to break a never-rule: a critically frustrated customer to a low-tolerance "
        "agent, or a difficult case to an agent locked out after consecutive difficult cases. It is "
        "recorded with the decision.",
    )

    def __init__(self, *args: Any, admin_site: admin.AdminSite | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["agent"]
        field.queryset = assignable_agents()  # validates the posted id: one indexed lookup
        field.label_from_instance = assignable_agent_label
        field.widget = AssignableAgentWidget(
            EscalationQueueEntry._meta.get_field("assigned_agent"), admin_site or admin.site
        )
        field.widget.choices = field.choices
        field.widget.is_required = True


@admin.register(EscalationQueueEntry)
class EscalationQueueEntryAdmin(admin.ModelAdmin):
    assign_template = "admin/routing/escalationqueueentry/assign_to_agent.html"

    list_display = (
        "position",
        "case_link",
        "priority",
        "waiting_minutes",
        "sla_breached",
        "widen_level",
        "escalation_count",
        "complexity",
        "customer_frustration",
        "queued_at",
        "status",
        "assigned_agent",
    )
    list_display_links = ("case_link",)
    list_filter = (QueueStateFilter,)
    list_select_related = ("assigned_agent",)
    sortable_by: tuple[str, ...] = ()  # the serving order is the point; positions follow it
    show_full_result_count = False
    list_per_page = 50
    actions = ("assign_to_agent", "cancel_entries", "requeue_entries")
    readonly_fields = _all_fields(EscalationQueueEntry)

    def get_queryset(self, request: HttpRequest) -> QuerySet[EscalationQueueEntry]:
        if getattr(request, "_routing_queue_changelist", False):
            if _showing_waiting(request):
                return queue_serving_order(now=request._routing_queue_now)
            state = request.GET.get(QueueStateFilter.parameter_name)
            return EscalationQueueEntry.objects.filter(status=state).order_by("-queued_at")
        return super().get_queryset(request)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        request._routing_queue_changelist = True  # type: ignore[attr-defined]
        request._routing_queue_now = timezone.now()  # type: ignore[attr-defined]
        return super().changelist_view(request, extra_context)

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return QueueChangeList

    def get_urls(self) -> list[URLPattern]:
        opts = self.opts
        return [
            path(
                "assignable-agents/",
                self.admin_site.admin_view(self.assignable_agents_view),
                name=f"{opts.app_label}_{opts.model_name}_assignable_agents",
            ),
            *super().get_urls(),
        ]

    def assignable_agents_view(self, request: HttpRequest) -> JsonResponse:
        """select2's JSON for the assign action: assignable agents whose code starts with, or whose name
        contains, the typed term; one page of AGENT_AUTOCOMPLETE_PAGE per query."""
        if not self.has_work_queue_permission(request):
            raise PermissionDenied
        term = request.GET.get("term", "").strip()
        try:
            page = max(1, int(request.GET.get("page", 1)))
        except ValueError:
            page = 1
        agents = assignable_agents()
        if term:
            agents = agents.filter(Q(code__istartswith=term) | Q(name__icontains=term))
        start = (page - 1) * AGENT_AUTOCOMPLETE_PAGE
        found = list(agents[start : start + AGENT_AUTOCOMPLETE_PAGE + 1])
        return JsonResponse(
            {
                "results": [
                    {"id": str(agent.pk), "text": assignable_agent_label(agent)}
                    for agent in found[:AGENT_AUTOCOMPLETE_PAGE]
                ],
                "pagination": {"more": len(found) > AGENT_AUTOCOMPLETE_PAGE},
            }
        )

    # -- permissions: entries move only through the actions, which need `change`

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_work_queue_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    # -- columns

    @admin.display(description="#")
    def position(self, entry: EscalationQueueEntry) -> int | None:
        return getattr(entry, "position", None)

    @admin.display(description="case")
    def case_link(self, entry: EscalationQueueEntry) -> str:
        return entry.case_id

    @admin.display(description="waiting (min)")
    def waiting_minutes(self, entry: EscalationQueueEntry) -> int | None:
        if entry.status != QueueStatus.QUEUED:
            return None
        return max(0, int((timezone.now() - entry.queued_at).total_seconds() // 60))

    @admin.display(description="SLA breached")
    def sla_breached(self, entry: EscalationQueueEntry) -> str:
        if entry.status != QueueStatus.QUEUED:
            return "—"
        overdue = getattr(entry, "is_overdue", None)
        if overdue is None:
            overdue = timezone.now() >= entry.wait_deadline
        if overdue:
            return format_html(
                '<strong style="color:#ba2121" title="past {}">✗ breached</strong>', entry.wait_deadline
            )
        return format_html(
            '<span style="color:#2e7d32" title="due by {}">✓ within</span>', entry.wait_deadline
        )

    # -- actions

    def _each(self, request: HttpRequest, queryset: QuerySet, verb: str, call: Any) -> None:
        done = 0
        for entry in list(queryset):
            try:
                call(entry)
            except DomainError as error:
                self.message_user(request, f"{entry.case_id}: {error.detail}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(
                request, f"{verb} {done} queue entr{'y' if done == 1 else 'ies'}.", messages.SUCCESS
            )

    @admin.action(description="Assign selected entries to an agent…", permissions=["work_queue"])
    def assign_to_agent(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        if "apply" in request.POST:
            form = AssignToAgentForm(request.POST, admin_site=self.admin_site)
            if form.is_valid():
                agent = form.cleaned_data["agent"]
                reason = form.cleaned_data["override_reason"]
                self._each(
                    request,
                    queryset,
                    f"Assigned to {agent.code}:",
                    lambda entry: queue_entry_assign(
                        entry_id=entry.pk, agent_id=agent.pk, override_reason=reason
                    ),
                )
                return None
        else:
            form = AssignToAgentForm(admin_site=self.admin_site)
        context = {
            **self.admin_site.each_context(request),
            "title": "Assign to an agent",
            "opts": self.opts,
            "form": form,
            "entries": queryset,
            "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, self.assign_template, context)

    @admin.action(description="Cancel selected entries", permissions=["work_queue"])
    def cancel_entries(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "Cancelled", lambda entry: queue_entry_cancel(entry_id=entry.pk))

    @admin.action(description="Requeue selected entries", permissions=["work_queue"])
    def requeue_entries(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(request, queryset, "Requeued", lambda entry: queue_entry_requeue(entry_id=entry.pk))


# --- assignments -------------------------------------------------------------------------------------


@admin.register(CaseAssignment)
class CaseAssignmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    # Fits 1400 px beside the admin's menu and the filters: names and short times. Complexity, start
    # time, strategy and match score are on the row's page (the strategy is also a filter).
    list_display = (
        "case_link",
        "agent_name",
        "status",
        "priority",
        "assigned",
        "completed",
        "csat",
        "escalated",
    )
    list_display_links = ("case_link",)
    list_select_related = ("agent",)
    list_filter = ("status", "priority", StrategyFilter, AgentCodeFilter)
    search_fields = ("=case__case_id", "=customer_id")
    show_full_result_count = False
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("case", "agent", "status", "customer_id")}),
        (
            "Case",
            {"fields": ("priority", "complexity", "required_skills", "customer_frustration")},
        ),
        ("Timeline", {"fields": ("assigned_at", "started_at", "completed_at")}),
        ("Outcome", {"fields": ("resolution_minutes", "csat_rating", "escalated")}),
        (
            "Routing",
            {"fields": ("routing_strategy", "routing_confidence", "match_score", "decision_breakdown")},
        ),
    )
    readonly_fields = (*_all_fields(CaseAssignment), "decision_breakdown")

    @admin.display(description="case", ordering="case_id")
    def case_link(self, assignment: CaseAssignment) -> str:
        return assignment.case_id

    @admin.display(description="agent", ordering="agent__name")
    def agent_name(self, assignment: CaseAssignment) -> str:
        return assignment.agent.name

    @admin.display(description="assigned", ordering="assigned_at")
    def assigned(self, assignment: CaseAssignment) -> str:
        return short_time(assignment.assigned_at)

    @admin.display(description="completed", ordering="completed_at")
    def completed(self, assignment: CaseAssignment) -> str:
        return short_time(assignment.completed_at)

    @admin.display(description="CSAT", ordering="csat_rating")
    def csat(self, assignment: CaseAssignment) -> Any:
        return assignment.csat_rating if assignment.csat_rating is not None else "—"

    @admin.display(description="decision breakdown")
    def decision_breakdown(self, assignment: CaseAssignment) -> str:
        decision = assignment.decisions.order_by("-created_at").first()
        return decision_breakdown_html(decision)


def _decision_marks(decision: RoutingDecision, *, agent_id: int | None, archived_pk: Any) -> str:
    marks = []
    if archived_pk is not None and decision.archived_assignment_id == archived_pk:
        marks.append("this assignment's decision")
    if agent_id and decision.winner_id == agent_id:
        marks.append("chose this assignment's agent")
    return "".join(f" · {mark}" for mark in marks)


def case_decisions_html(
    decisions: list[RoutingDecision], *, agent_id: int | None = None, archived_pk: Any = None
) -> SafeString:
    """Every routing decision of a case, newest first, each with its breakdown; the decision that made
    the archived assignment `archived_pk` is marked, and so are those that chose `agent_id` (rows
    archived before decisions kept the link are recognised by their agent only)."""
    if not decisions:
        return mark_safe("—")
    return format_html_join(
        "",
        "<div><p><strong>{}</strong>{}</p>{}</div>",
        (
            (
                timezone.localtime(decision.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                _decision_marks(decision, agent_id=agent_id, archived_pk=archived_pk),
                mark_safe(decision_breakdown_html(decision)),  # rendered by a template: escaped there
            )
            for decision in decisions
        ),
    )


@admin.register(CaseAssignmentArchive)
class CaseAssignmentArchiveAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("case_id", "agent", "status", "priority", "assigned_at", "completed_at", "archived_at")
    list_select_related = ("agent",)
    list_filter = ("status", "priority")
    search_fields = ("=case__case_id",)
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("case", "agent", "status", "customer_id", "archived_at")}),
        ("Case", {"fields": ("priority", "complexity", "required_skills", "customer_frustration")}),
        ("Timeline", {"fields": ("assigned_at", "started_at", "completed_at")}),
        ("Outcome", {"fields": ("resolution_minutes", "csat_rating", "escalated")}),
        (
            "Routing",
            {
                "fields": (
                    "routing_strategy",
                    "routing_confidence",
                    "match_score",
                    "routing_decision",
                    "case_decisions",
                )
            },
        ),
    )
    readonly_fields = (*_all_fields(CaseAssignmentArchive), "routing_decision", "case_decisions")

    @admin.display(description="routing decision")
    def routing_decision(self, archived: CaseAssignmentArchive) -> SafeString:
        """The decision that made this assignment (RoutingDecision.archived_assignment, set on archiving)."""
        decision = archived.decisions.order_by("-created_at", "-id").first()
        if decision is None:
            return mark_safe("—")
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:routing_routingdecision_change", args=[decision.pk]),
            decision,
        )

    @admin.display(description="the case's routing decisions")
    def case_decisions(self, archived: CaseAssignmentArchive) -> SafeString:
        decisions = list(
            RoutingDecision.objects.filter(case__case_id=archived.case_id).order_by("-created_at", "-id")
        )
        return case_decisions_html(decisions, agent_id=archived.agent_id, archived_pk=archived.pk)


# --- cases -------------------------------------------------------------------------------------------


class CaseAssignmentInline(ReadOnlyTabularInline):
    model = CaseAssignment
    fields = (
        "agent",
        "status",
        "assigned_at",
        "started_at",
        "completed_at",
        "routing_strategy",
        "match_score",
        "csat_rating",
        "escalated",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("agent")


class QueueEntryInline(ReadOnlyTabularInline):
    model = EscalationQueueEntry
    fields = (
        "status",
        "priority",
        "queued_at",
        "wait_deadline",
        "widen_level",
        "escalation_count",
        "assigned_agent",
    )
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("assigned_agent").order_by("-queued_at")


class RoutingDecisionInline(ReadOnlyTabularInline):
    model = RoutingDecision
    fields = (
        "created_at",
        "strategy",
        "outcome",
        "winner",
        "candidate_count",
        "widen_level",
        "duration_ms",
        "reason",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("winner")


class RoutingEventInline(ReadOnlyTabularInline):
    model = RoutingEvent
    fields = ("created_at", "event_type", "agent", "details")
    readonly_fields = fields
    show_change_link = False

    @admin.display(description="details")
    def details(self, event: RoutingEvent) -> SafeString:
        return event_data_html(event.data)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("agent")


@admin.register(SupportCase)
class SupportCaseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        # Fits 1400 px beside the menu and filters; complexity and frustration are filters and on the page.
        "case_id",
        "customer",
        "status",
        "priority",
        "language",
        "created",
    )
    list_filter = ("status", "priority", "complexity", "customer_frustration")
    search_fields = ("=case_id", "=customer_id")
    show_full_result_count = False
    readonly_fields = (*_all_fields(SupportCase), "archived_assignments")
    inlines = (CaseAssignmentInline, QueueEntryInline, RoutingDecisionInline, RoutingEventInline)

    @admin.display(description="customer", ordering="customer_id")
    def customer(self, case: SupportCase) -> str:
        return case.customer_id

    @admin.display(description="frustration", ordering="customer_frustration")
    def frustration(self, case: SupportCase) -> str:
        return case.get_customer_frustration_display()

    @admin.display(description="received", ordering="created_at")
    def created(self, case: SupportCase) -> str:
        return short_time(case.created_at)

    @admin.display(description="archived assignments")
    def archived_assignments(self, case: SupportCase) -> SafeString:
        rows = case.archived_assignments.select_related("agent").order_by("-assigned_at")
        links = format_html_join(
            "",
            '<li><a href="{}">{} · {} · {} → {}</a></li>',
            (
                (
                    reverse("admin:routing_caseassignmentarchive_change", args=[row.pk]),
                    row.agent.code,
                    row.get_status_display(),
                    row.assigned_at,
                    row.completed_at,
                )
                for row in rows
            ),
        )
        return format_html("<ul>{}</ul>", links) if links else mark_safe("—")


# --- audit trail -------------------------------------------------------------------------------------


@admin.register(RoutingDecision)
class RoutingDecisionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "work_item",
        "decided",
        "strategy",
        "outcome",
        "winner_name",
        "candidates_scored",
        "duration",
    )
    list_select_related = ("winner", "case", "lead")
    list_filter = ("outcome", DecisionStrategyFilter)
    search_fields = ("=case__case_id",)
    show_full_result_count = False
    fields = (
        "case",
        "created_at",
        "strategy",
        "outcome",
        "winner",
        "assignment",
        "archived_assignment",
        "candidate_count",
        "widen_level",
        "duration_ms",
        "reason",
        "breakdown",
    )
    readonly_fields = fields

    @admin.display(description="candidates")
    def breakdown(self, decision: RoutingDecision) -> str:
        return decision_breakdown_html(decision)

    @admin.display(description="case or lead", ordering="case__case_id")
    def work_item(self, decision: RoutingDecision) -> str:
        return str(decision.case or decision.lead)

    @admin.display(description="decided", ordering="created_at")
    def decided(self, decision: RoutingDecision) -> str:
        return short_time(decision.created_at)

    @admin.display(description="candidates", ordering="candidate_count")
    def candidates_scored(self, decision: RoutingDecision) -> int:
        return decision.candidate_count

    @admin.display(description="took (ms)", ordering="duration_ms")
    def duration(self, decision: RoutingDecision) -> str:
        return f"{decision.duration_ms:.1f}"

    @admin.display(description="chosen agent", ordering="winner__name")
    def winner_name(self, decision: RoutingDecision) -> str:
        return decision.winner.name if decision.winner else "—"

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        # The page title names the case (or lead), joined here rather than fetched for the title.
        queryset = self.get_queryset(request).select_related("case", "lead", "winner")
        try:
            return queryset.get(pk=object_id)
        except (RoutingDecision.DoesNotExist, ValueError, TypeError):
            return None


@admin.register(RoutingEvent)
class RoutingEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("work_item", "created_at", "event_type", "agent_name", "details")
    list_select_related = ("agent", "case", "lead")
    list_filter = ("event_type",)
    search_fields = ("=case__case_id",)
    show_full_result_count = False
    fields = ("case", "lead", "event_type", "agent", "details", "created_at")
    readonly_fields = fields

    @admin.display(description="case or lead", ordering="case__case_id")
    def work_item(self, event: RoutingEvent) -> str:
        return str(event.case or event.lead)

    @admin.display(description="agent", ordering="agent__name")
    def agent_name(self, event: RoutingEvent) -> str:
        return event.agent.name if event.agent else "—"

    @admin.display(description="details")
    def details(self, event: RoutingEvent) -> SafeString:
        return event_data_html(event.data)


# Lead routing (issue 7) registers its admins in its own module.
from routing import admin_leads  # noqa: E402, F401
