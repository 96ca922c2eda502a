"""The supervisor admin for agents: thin list configuration, inlines, and actions that call agents.services.

Live state is not edited in place: an agent's availability changes through the "Set status" action
(agent_set_status applies the override-reason rule and signals freed capacity) and its load belongs to
routing, so the availability and performance inlines are read-only.

The agent's history page merges the agent's own records (simple-history's list, with revert) with the
history of its inline rows, newest first, at a constant number of queries: one query per related model
(with the id of each record's predecessor as a subquery) and one to fetch those predecessors for diffing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from django.db import models, transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentPeriodMetrics,
    AgentSchedule,
    AgentSkill,
    AgentSpecialization,
    AvailabilityStatus,
    HumanAgent,
    SkillDomain,
)
from agents.resources import HumanAgentResource
from agents.services import agent_ensure_live_rows, agent_set_status, agents_set_active
from config.errors import DomainError

# --- inlines -----------------------------------------------------------------------------------------


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    extra = 0
    fields = ("domain", "proficiency", "years_experience", "certification_level", "last_updated")


class AgentLanguageInline(admin.TabularInline):
    model = AgentLanguage
    extra = 0
    fields = ("language_code", "proficiency")


class AgentSpecializationInline(admin.TabularInline):
    model = AgentSpecialization
    extra = 0
    fields = (
        "specialization",
        "confidence",
        "case_count",
        "success_rate",
        "insurance_line",
        "customer_segment",
        "proficiency",
        "languages",
        "territories",
    )


class AgentScheduleInline(admin.TabularInline):
    model = AgentSchedule
    extra = 0
    fields = (
        "day_of_week",
        "start_time",
        "end_time",
        "timezone",
        "effective_from",
        "effective_until",
        "schedule_type",
    )


class ReadOnlyInline(admin.StackedInline):
    """A one-to-one row shown beside the editable inlines; never added, changed or deleted here."""

    extra = 0
    max_num = 1
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class AgentAvailabilityInline(ReadOnlyInline):
    model = AgentAvailability
    verbose_name_plural = "availability (change it with the “Set status” action)"
    fields = (
        ("status", "status_since", "expected_available_at"),
        ("manual_override", "override_reason"),
        ("current_load", "last_assigned_at", "last_status_change"),
    )
    readonly_fields = (
        "status",
        "status_since",
        "expected_available_at",
        "manual_override",
        "override_reason",
        "current_load",
        "last_assigned_at",
        "last_status_change",
    )


class AgentPerformanceInline(ReadOnlyInline):
    model = AgentPerformance
    verbose_name_plural = "performance snapshot (rebuilt from case history)"
    fields = (
        ("cases_today", "cases_this_week", "cases_this_month"),
        ("csat_score", "avg_resolution_minutes", "escalation_rate", "first_contact_resolution_rate"),
        ("stress_score", "consecutive_difficult_cases", "last_difficult_case_at", "last_break_at"),
        "last_updated",
    )
    readonly_fields = (
        "cases_today",
        "cases_this_week",
        "cases_this_month",
        "csat_score",
        "avg_resolution_minutes",
        "escalation_rate",
        "first_contact_resolution_rate",
        "stress_score",
        "consecutive_difficult_cases",
        "last_difficult_case_at",
        "last_break_at",
        "last_updated",
    )


# --- change list filters -----------------------------------------------------------------------------


class LanguageFilter(admin.ChoicesFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = "language"


class SkillDomainFilter(admin.RelatedFieldListFilter):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = "skill domain"


# --- "Set status" action -----------------------------------------------------------------------------


class SetStatusForm(forms.Form):
    status = forms.ChoiceField(choices=AvailabilityStatus.choices)
    override_reason = forms.CharField(
        max_length=200,
        required=False,
        help_text="With a reason the status is a manual override; leave it empty to set the status "
        "without overriding.",
    )


# --- history of the inline rows ----------------------------------------------------------------------

INLINE_HISTORY_MODELS: tuple[type[models.Model], ...] = (
    AgentSkill,
    AgentLanguage,
    AgentSpecialization,
    AgentSchedule,
    AgentAvailability,
)


@dataclasses.dataclass(frozen=True)
class RelatedChange:
    """One historical record of an inline row, ready for the history template."""

    kind: str
    row: str
    history_date: dt.datetime
    history_id: int
    action: str
    user: AbstractBaseUser | None
    changes: list[dict[str, Any]]


def _previous_record_id(history_model: type[models.Model], pk_name: str) -> Subquery:
    earlier = Q(history_date__lt=OuterRef("history_date")) | Q(
        history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id")
    )
    return Subquery(
        history_model.objects.filter(earlier, **{pk_name: OuterRef(pk_name)})
        .order_by("-history_date", "-history_id")
        .values("history_id")[:1]
    )


def _creation_changes(model: type[models.Model], record: Any, field_names: list[str]) -> list[dict[str, Any]]:
    changes = []
    for name in field_names:
        value = getattr(record, name)
        if value in (None, "", []):
            continue
        field = model._meta.get_field(name)
        display = getattr(record, f"get_{name}_display")() if field.choices else value
        changes.append({"field": str(field.verbose_name).capitalize(), "old": "", "new": display})
    return changes


def _row_label(record: Any) -> str:
    # AgentSkill's own __str__ names the domain by id; the history query already joined the domain.
    if record.instance_type is AgentSkill:
        domain = getattr(record, "domain", None)
        return f"{domain.code if domain else record.domain_id}: {record.get_proficiency_display()}"
    return str(record.history_object)


def agent_inline_history(*, agent_id: int, limit: int) -> tuple[list[RelatedChange], bool]:
    """The newest `limit` changes to an agent's inline rows, newest first, and whether older ones exist.

    Two queries per related model whatever the number of records: the records (with the user, the
    tracked foreign keys and the id of each record's predecessor) and the predecessors themselves.
    """
    entries: list[RelatedChange] = []
    more = False
    for model in INLINE_HISTORY_MODELS:
        history_model = model.history.model
        pk_name = model._meta.pk.attname
        related = [
            field.name
            for field in history_model.tracked_fields
            if isinstance(field, models.ForeignKey) and field.name != "agent"
        ]
        diffed = [
            field.name
            for field in history_model.tracked_fields
            if field.editable and not field.primary_key and field.name not in ("id", "agent")
        ]
        records = list(
            history_model.objects.filter(agent_id=agent_id)
            .select_related("history_user", *related)
            .annotate(previous_history_id=_previous_record_id(history_model, pk_name))
            .order_by("-history_date", "-history_id")[: limit + 1]
        )
        if len(records) > limit:
            more = True
            records = records[:limit]
        previous_ids = [
            r.previous_history_id for r in records if r.history_type == "~" and r.previous_history_id
        ]
        previous = (
            history_model.objects.select_related(*related).in_bulk(previous_ids) if previous_ids else {}
        )
        for record in records:
            if record.history_type == "+":
                changes = _creation_changes(model, record, diffed)
            elif record.previous_history_id in previous:
                delta = record.diff_against(
                    previous[record.previous_history_id], included_fields=diffed, foreign_keys_are_objs=True
                )
                changes = HistoricalRecordContextHelper(model, record).context_for_delta_changes(delta)
            else:
                changes = []
            entries.append(
                RelatedChange(
                    kind=str(model._meta.verbose_name),
                    row=_row_label(record),
                    history_date=record.history_date,
                    history_id=record.history_id,
                    action=record.get_history_type_display(),
                    user=record.history_user,
                    changes=changes,
                )
            )
    entries.sort(key=lambda entry: (entry.history_date, entry.history_id), reverse=True)
    return entries[:limit], more or len(entries) > limit


# --- agents ------------------------------------------------------------------------------------------


@admin.register(HumanAgent)
class HumanAgentAdmin(ImportExportModelAdmin, SimpleHistoryAdmin):
    resource_classes = [HumanAgentResource]
    object_history_template = "admin/agents/humanagent/object_history.html"
    set_status_template = "admin/agents/humanagent/set_status.html"
    inline_history_limit = 100

    list_display = (
        "name",
        "code",
        "skill_level",
        "availability_status",
        "load",
        "csat",
        "is_active",
    )
    list_display_links = ("name", "code")
    list_select_related = ("availability", "performance")
    list_filter = (
        "department",
        "skill_level",
        "availability__status",
        "is_active",
        ("languages__language_code", LanguageFilter),
        ("skills__domain", SkillDomainFilter),
    )
    search_fields = ("name", "email", "code", "employee_id")
    list_per_page = 50
    actions = ("set_status", "activate", "deactivate")
    readonly_fields = ("created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("code", "name", "email", "employee_id", "is_active")}),
        (
            "Work",
            {
                "fields": (
                    "department",
                    "hire_date",
                    "skill_level",
                    "max_concurrent_cases",
                    "frustration_tolerance",
                    "base_hourly_rate",
                )
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at"), "classes": ("collapse",)}),
    )
    inlines = (
        AgentAvailabilityInline,
        AgentPerformanceInline,
        AgentSkillInline,
        AgentLanguageInline,
        AgentSpecializationInline,
        AgentScheduleInline,
    )

    # -- columns

    @admin.display(description="status", ordering="availability__status")
    def availability_status(self, agent: HumanAgent) -> str | None:
        availability = _one_to_one(agent, "availability")
        return availability.get_status_display() if availability else None

    @admin.display(description="load / capacity", ordering="availability__current_load")
    def load(self, agent: HumanAgent) -> str:
        availability = _one_to_one(agent, "availability")
        current = availability.current_load if availability else 0
        return f"{current} / {agent.max_concurrent_cases}"

    @admin.display(description="CSAT", ordering="performance__csat_score")
    def csat(self, agent: HumanAgent) -> Any:
        performance = _one_to_one(agent, "performance")
        return performance.csat_score if performance else None

    # -- saving

    def save_model(self, request: HttpRequest, obj: HumanAgent, form: Any, change: bool) -> None:
        if change and not form.has_changed() and not getattr(request, "agent_history_revert", False):
            # An edit of inline rows only: saving the unchanged agent would write an empty "Changed"
            # record (only updated_at moves) into its history. A revert posts the old version's values,
            # so its form looks unchanged against that version and must still be saved.
            return
        super().save_model(request, obj, form, change)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> Any:
        request.agent_history_revert = True  # type: ignore[attr-defined]
        return super().history_form_view(request, object_id, version_id, extra_context)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        if not change:
            agent_ensure_live_rows(agent=form.instance)

    # -- import / export: importing writes agents, exporting reads them

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    # -- actions

    @admin.action(description="Set status of selected agents…", permissions=["change"])
    def set_status(self, request: HttpRequest, queryset: QuerySet[HumanAgent]) -> HttpResponse | None:
        if "apply" in request.POST:
            form = SetStatusForm(request.POST)
            if form.is_valid():
                agents = list(queryset.order_by("pk"))  # the lock order: ascending agent id
                try:
                    with transaction.atomic():
                        for agent in agents:
                            agent_ensure_live_rows(agent=agent)
                            agent_set_status(
                                agent=agent,
                                status=form.cleaned_data["status"],
                                override_reason=form.cleaned_data["override_reason"],
                            )
                except DomainError as error:
                    self.message_user(request, str(error.detail), messages.ERROR)
                    return None
                label = AvailabilityStatus(form.cleaned_data["status"]).label
                self.message_user(request, f"Set {len(agents)} agent(s) to {label}.", messages.SUCCESS)
                return None
        else:
            form = SetStatusForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Set status",
            "opts": self.model._meta,
            "form": form,
            "agents": queryset,
            "selected_ids": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "select_across": request.POST.get("select_across", "0"),
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "media": self.media + form.media,
        }
        return TemplateResponse(request, self.set_status_template, context)

    @admin.action(description="Activate selected agents", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[HumanAgent]) -> None:
        changed = agents_set_active(agent_ids=list(queryset.values_list("pk", flat=True)), active=True)
        self.message_user(request, f"Activated {changed} agent(s).", messages.SUCCESS)

    @admin.action(description="Deactivate selected agents (they go offline)", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[HumanAgent]) -> None:
        changed = agents_set_active(agent_ids=list(queryset.values_list("pk", flat=True)), active=False)
        self.message_user(request, f"Deactivated {changed} agent(s).", messages.SUCCESS)

    # -- history: the agent's own records plus those of its inline rows

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> Any:
        try:
            agent_id = int(object_id)
        except ValueError:
            agent_id = 0  # simple-history answers 404 for an unknown object
        inline_changes, inline_more = agent_inline_history(agent_id=agent_id, limit=self.inline_history_limit)
        context = {
            "inline_changes": inline_changes,
            "inline_changes_more": inline_more,
            "inline_history_limit": self.inline_history_limit,
            **(extra_context or {}),
        }
        return super().history_view(request, object_id, extra_context=context)


def _one_to_one(agent: HumanAgent, name: str) -> Any:
    try:
        return getattr(agent, name)
    except ObjectDoesNotExist:
        return None


# --- the rest of the agents app ----------------------------------------------------------------------


@admin.register(SkillDomain)
class SkillDomainAdmin(admin.ModelAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name", "description")


@admin.register(AgentAvailability)
class AgentAvailabilityAdmin(SimpleHistoryAdmin):
    """The live board. Status changes go through the agent's "Set status" action, so rows are read-only."""

    list_display = ("agent", "status", "current_load", "manual_override", "override_reason", "status_since")
    list_select_related = ("agent",)
    list_filter = ("status", "manual_override")
    search_fields = ("agent__code", "agent__name")
    ordering = ("agent__code",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AgentSkill)
class AgentSkillAdmin(SimpleHistoryAdmin):
    list_display = ("agent", "domain", "proficiency", "years_experience", "certification_level")
    list_select_related = ("agent", "domain")
    list_filter = ("domain", "proficiency")
    search_fields = ("agent__code", "agent__name")
    raw_id_fields = ("agent",)


@admin.register(AgentLanguage)
class AgentLanguageAdmin(SimpleHistoryAdmin):
    list_display = ("agent", "language_code", "proficiency")
    list_select_related = ("agent",)
    list_filter = ("language_code", "proficiency")
    search_fields = ("agent__code", "agent__name")
    raw_id_fields = ("agent",)


@admin.register(AgentPeriodMetrics)
class AgentPeriodMetricsAdmin(admin.ModelAdmin):
    list_display = (
        "agent",
        "period_date",
        "csat_score",
        "conversion_rate_hot",
        "conversion_rate_warm",
        "conversion_rate_cold",
        "avg_handling_seconds",
    )
    list_select_related = ("agent",)
    list_filter = ("period_date",)
    date_hierarchy = "period_date"
    search_fields = ("agent__code", "agent__name")
    raw_id_fields = ("agent",)
