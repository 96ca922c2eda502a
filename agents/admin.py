"""The supervisor admin for agents: thin list configuration, inlines, and actions that call agents.services.

One code path: the change form saves through agents.services like the API does. The agent's own fields
go through agent_create / agent_update (so unticking "active" takes the agent offline), and the inline
skills, languages, specializations and schedules are handed to agent_update as whole sets (rows matched
by natural key, as for a nested PUT). Errors the service raises at save time come back as a message.

Live state is not edited in place: an agent's availability changes through the "Set status" action
(agent_set_status applies the override-reason rule and signals freed capacity) and its load belongs to
routing, so the availability and performance inlines are read-only.

Agents are deactivated, not deleted, here as in the API (DELETE deactivates): cases, routing decisions and
history keep pointing at the agent, so the delete button and the bulk delete action are not offered.

The agent's history page merges the agent's own records (simple-history's list, with revert) with the
history of its inline rows, newest first, at a constant number of queries: one query per related model
(with the id of each record's predecessor and whether the row still exists as subqueries) and one to
fetch those predecessors for diffing. A deleted inline row can be restored from there (agent_row_restore).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from agents.languages import LANGUAGE_CHOICES
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
    Weekday,
)
from agents.resources import HumanAgentResource
from agents.selectors import RESTORABLE_ROWS, agent_inline_history, languages_in_use
from agents.services import (
    AGENT_EDITABLE_FIELDS,
    NESTED_SETS,
    agent_create,
    agent_row_restore,
    agent_update,
    agents_set_active,
    agents_set_status,
)
from config.errors import DomainError

# --- inlines -----------------------------------------------------------------------------------------

# Compact widgets keep the tabular inlines inside a 1400 px screen (the admin's text inputs are 20em).
NARROW_NUMBER = forms.NumberInput(attrs={"style": "width: 5.5em"})


def narrow_text(size: int) -> forms.TextInput:
    return forms.TextInput(attrs={"size": size})


class ListOfCodesField(forms.CharField):
    """A JSON list of short codes edited as one line of text: "US-CA, US-NY" reads and writes
    ["US-CA", "US-NY"]. The model field's validators check the codes themselves."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[str]:
        if isinstance(value, list | tuple):
            return [str(item).strip() for item in value if str(item).strip()]
        text = super().to_python(value)
        return [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]


class AgentSkillInline(admin.TabularInline):
    model = AgentSkill
    extra = 0
    verbose_name = "skill"
    verbose_name_plural = "skills"
    fields = ("domain", "proficiency", "years_experience", "certification_level", "last_updated")
    widgets = {"years_experience": NARROW_NUMBER, "certification_level": narrow_text(16)}

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        return super().get_formset(request, obj, widgets=self.widgets, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("domain")  # the row labels name the domain


class AgentLanguageInline(admin.TabularInline):
    model = AgentLanguage
    extra = 0
    verbose_name = "language"
    verbose_name_plural = "languages"
    fields = ("language_code", "proficiency")


class AgentSpecializationFormSet(BaseInlineFormSet):
    """Two rows of one agent may not name the same insurance line and segment, nor (without a line) the
    same specialization (the seeds' unique indexes).

    Each form checks its row against the database, but not against the other rows of the same post, and
    the formset's own unique check skips conditional and expression constraints such as these.
    """

    def clean(self) -> None:
        super().clean()
        seen: set[tuple[str, str | None]] = set()
        names: set[str] = set()
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data or self._should_delete_form(form):
                continue
            line = form.cleaned_data.get("insurance_line")
            if not line:
                name = form.cleaned_data.get("specialization")
                if name in names:
                    raise ValidationError(
                        "Two specializations without an insurance line are both called “%(name)s”.",
                        code="duplicate_specialization",
                        params={"name": name},
                    )
                names.add(name)
                continue
            segment = form.cleaned_data.get("customer_segment") or None
            if (line, segment) in seen:
                raise ValidationError(
                    "Two specializations name insurance line “%(line)s” with %(segment)s; each line and "
                    "segment may appear once per agent.",
                    code="duplicate_line_segment",
                    params={"line": line, "segment": f"segment “{segment}”" if segment else "every segment"},
                )
            seen.add((line, segment))


class AgentSpecializationForm(forms.ModelForm):
    """Languages and territories are JSON lists in the database; here a supervisor picks languages from
    the list and types territories as "US-CA, US-NY", never JSON."""

    languages = forms.MultipleChoiceField(
        choices=LANGUAGE_CHOICES,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 5, "style": "width: 12em; height: 7em"}),
        help_text="The languages this line is served in (Ctrl or ⌘ + click to pick several).",
    )
    territories = ListOfCodesField(
        required=False,
        widget=narrow_text(14),
        help_text="Territory codes separated by commas, e.g. US-CA, US-NY; empty for everywhere.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The picked languages first, so the box shows them without scrolling through the alphabet.
        picked = set(self.initial.get("languages") or [])
        if picked:
            self.fields["languages"].choices = sorted(
                LANGUAGE_CHOICES, key=lambda choice: choice[0] not in picked
            )

    class Meta:
        model = AgentSpecialization
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
        widgets = {
            "specialization": narrow_text(24),
            "confidence": NARROW_NUMBER,
            "case_count": NARROW_NUMBER,
            "success_rate": NARROW_NUMBER,
            "insurance_line": narrow_text(10),
            "customer_segment": narrow_text(10),
            "proficiency": NARROW_NUMBER,
        }
        labels = {"case_count": "cases", "success_rate": "success rate", "customer_segment": "segment"}
        help_texts = {
            "confidence": "0 to 1: how sure we are of this specialization.",
            "success_rate": "0 to 1: share of its cases resolved well.",
            "proficiency": "1 (new) to 5 (expert); for insurance lines.",
            "insurance_line": "Empty for a general specialization.",
            "customer_segment": "Empty for every segment.",
        }


class AgentSpecializationInline(admin.StackedInline):
    """Stacked, three short lines a row: nine columns side by side do not fit a 1400 px screen."""

    model = AgentSpecialization
    form = AgentSpecializationForm
    formset = AgentSpecializationFormSet
    extra = 0
    verbose_name = "specialization"
    verbose_name_plural = "specializations"
    fields = (
        ("specialization", "insurance_line", "customer_segment"),
        ("confidence", "success_rate", "case_count", "proficiency"),
        ("languages", "territories"),
    )


class AgentScheduleInline(admin.TabularInline):
    model = AgentSchedule
    extra = 0
    verbose_name = "schedule"
    verbose_name_plural = "weekly schedule (each agent's own time zone)"
    fields = (
        "day_of_week",
        "start_time",
        "end_time",
        "timezone",
        "effective_from",
        "effective_until",
        "schedule_type",
    )
    widgets = {"timezone": narrow_text(14)}
    help_texts = {"timezone": "The agent's IANA time zone, e.g. Europe/Berlin; the hours are its local time."}

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        return super().get_formset(request, obj, widgets=self.widgets, help_texts=self.help_texts, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # In the order of the week, Monday first (the stored day names sort alphabetically).
        return super().get_queryset(request).order_by(Weekday.week_position(), "start_time", "pk")


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
    verbose_name = "availability"
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
    """The snapshot as of now: a period counter last updated in an earlier period reads 0."""

    model = AgentPerformance
    verbose_name = "performance snapshot"
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

    @admin.display(description="cases today")
    def cases_today(self, performance: AgentPerformance) -> int:
        return performance.current_cases_today

    @admin.display(description="cases this week")
    def cases_this_week(self, performance: AgentPerformance) -> int:
        return performance.current_cases_this_week

    @admin.display(description="cases this month")
    def cases_this_month(self, performance: AgentPerformance) -> int:
        return performance.current_cases_this_month


# --- change list filters -----------------------------------------------------------------------------


class LanguageInUseFilter(admin.SimpleListFilter):
    """The languages some agent speaks (not the ~180 of ISO 639-1)."""

    title = "language"
    parameter_name = "languages__language_code__exact"  # the parameter Django's field filter used
    field_name = "languages__language_code"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return languages_in_use()

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(**{self.field_name: self.value()}) if self.value() else queryset


class LanguageRowInUseFilter(LanguageInUseFilter):
    parameter_name = "language_code__exact"
    field_name = "language_code"


class SkillDomainFilter(admin.RelatedOnlyFieldListFilter):
    """The skill domains some agent holds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = "skill domain"


# --- "Set status" action -----------------------------------------------------------------------------


class SetStatusForm(forms.Form):
    status = forms.ChoiceField(choices=AvailabilityStatus.choices)
    override_reason = forms.CharField(
        max_length=200,
        required=False,
        help_text="Optional: why. The status you set holds (routing leaves it alone) until someone sets "
        "another; set Available to hand the agents back to routing.",
    )
    expected_available_at = forms.DateTimeField(
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text="When the agents are expected back (e.g. the end of a break); empty for unknown.",
    )


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
        LanguageInUseFilter,
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
                    "max_concurrent_work",
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

    # Help for supervisors on the change form (the models' own help texts speak to developers and the API).
    help_texts = {
        "code": "The agent's fixed identifier, used by integrations and reports (e.g. agent_001): letters, "
        "digits, _ and -. It cannot be reused by another agent.",
        "employee_id": "The HR system's number, if any.",
        "is_active": "Untick when the agent leaves: they go offline and get no more work; their history stays.",
        "skill_level": "The agent's overall seniority (routing matches on each skill's proficiency).",
        "max_concurrent_work": "The most cases the agent works at once; routing gives no more.",
        "frustration_tolerance": "How well the agent copes with upset customers: routing prefers agents "
        "with high tolerance for frustrated customers.",
        "base_hourly_rate": "Optional: the agent's pay per hour.",
    }

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        return super().get_form(request, obj, change, help_texts=self.help_texts, **kwargs)

    # -- columns

    @admin.display(description="status", ordering="availability__status")
    def availability_status(self, agent: HumanAgent) -> str | None:
        availability = _one_to_one(agent, "availability")
        return availability.get_status_display() if availability else None

    @admin.display(description="load / capacity", ordering="availability__current_load")
    def load(self, agent: HumanAgent) -> str:
        availability = _one_to_one(agent, "availability")
        current = availability.current_load if availability else 0
        return f"{current} / {agent.max_concurrent_work}"

    @admin.display(description="CSAT", ordering="performance__csat_score")
    def csat(self, agent: HumanAgent) -> Any:
        performance = _one_to_one(agent, "performance")
        return performance.csat_score if performance else None

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The language filter's parameter is a lookup across the languages relation, which Django
        # allows only for field filters; it keeps the URLs the field filter made.
        return lookup == LanguageInUseFilter.parameter_name or super().lookup_allowed(lookup, value, request)

    # -- saving: through agents.services, like the API

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deactivate instead (the "active" box or the action): see the module docstring.
        return False

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: Any = None,
    ) -> Any:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            # Raised by a service at save time (a conflict the forms could not foresee); the admin's
            # transaction has rolled back, so nothing of the post was saved.
            self.message_user(request, f"Nothing was saved: {error.detail}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request: HttpRequest, obj: HumanAgent, form: Any, change: bool) -> None:
        # Every editable field is handed over; agent_update writes only those that differ from the
        # database (no empty history record), which also makes a history revert a plain update.
        attributes = {name: getattr(obj, name) for name in AGENT_EDITABLE_FIELDS}
        if change:
            agent_update(agent=obj, **attributes)
            return
        created = agent_create(**attributes)  # with its availability and performance rows
        obj.pk = created.pk
        obj.created_at, obj.updated_at = created.created_at, created.updated_at
        obj._state.adding, obj._state.db = False, created._state.db

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        form.save_m2m()
        set_names = {model: name for name, (model, _) in NESTED_SETS.items()}
        nested: dict[str, list[dict[str, Any]]] = {}
        for formset in formsets:
            name = set_names.get(formset.model)
            if name is None or not self._may_edit_set(request, formset, form.instance):
                self.save_formset(request, form, formset, change=change)  # read-only inlines: no-op
                continue
            nested[name] = _formset_rows(formset)
        if nested:
            agent_update(agent=form.instance, **nested)

    def _may_edit_set(self, request: HttpRequest, formset: Any, agent: HumanAgent) -> bool:
        """Whole-set replacement needs add, change and delete on the rows; else Django saves the forms."""
        inline = next(
            (i for i in self.get_inline_instances(request, agent) if i.model is formset.model), None
        )
        return inline is not None and all(
            check(request, agent)
            for check in (
                inline.has_add_permission,
                inline.has_change_permission,
                inline.has_delete_permission,
            )
        )

    # -- import / export: importing writes agents, exporting reads them

    def has_import_permission(self, request: HttpRequest) -> bool:
        return self.has_add_permission(request) and self.has_change_permission(request)

    def has_export_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def process_result(self, result: Any, request: HttpRequest) -> HttpResponse:
        """After the confirm step: a file that failed was rolled back whole, so say so and list why.

        A row can turn invalid between preview and confirm (someone took its e-mail meanwhile);
        import-export would still log the rows and announce "Import finished".
        """
        if result.has_errors() or result.has_validation_errors():
            self.message_user(request, _import_failure_message(result), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:agents_humanagent_import"))
        return super().process_result(result, request)

    # -- actions

    @admin.action(description="Set status of selected agents…", permissions=["change"])
    def set_status(self, request: HttpRequest, queryset: QuerySet[HumanAgent]) -> HttpResponse | None:
        if "apply" in request.POST:
            form = SetStatusForm(request.POST)
            if form.is_valid():
                agents = list(queryset.values_list("pk", flat=True))
                try:
                    agents_set_status(
                        agent_ids=agents,
                        status=form.cleaned_data["status"],
                        override_reason=form.cleaned_data["override_reason"],
                        expected_available_at=form.cleaned_data["expected_available_at"],
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

    # -- history: the agent's own records plus those of its inline rows, and restoring deleted rows

    def get_urls(self) -> list[Any]:
        restore = path(
            "<path:object_id>/history/restore/<str:model_name>/<int:history_id>/",
            self.admin_site.admin_view(self.restore_row_view),
            name="agents_humanagent_restore_row",
        )
        return [restore, *super().get_urls()]

    def restore_row_view(
        self, request: HttpRequest, object_id: str, model_name: str, history_id: int
    ) -> HttpResponse:
        """POST: re-create a deleted skill, language, specialization or schedule from its history record."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        agent = self.get_object(request, unquote(object_id))
        model = next((m for m in RESTORABLE_ROWS if m._meta.model_name == model_name), None)
        if agent is None or model is None:
            raise Http404
        opts = model._meta
        if not (
            self.has_change_permission(request, agent)
            and request.user.has_perm(f"{opts.app_label}.add_{opts.model_name}")
        ):
            raise PermissionDenied
        try:
            row = agent_row_restore(agent=agent, model=model, history_id=history_id)
        except DomainError as error:
            self.message_user(request, str(error.detail), messages.ERROR)
        else:
            self.message_user(request, f"Restored {opts.verbose_name} “{row}”.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:agents_humanagent_history", args=[agent.pk]))

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> Any:
        try:
            agent_id = int(object_id)
        except ValueError:
            agent_id = 0  # simple-history answers 404 for an unknown object
        inline_changes, inline_more = agent_inline_history(agent_id=agent_id, limit=self.inline_history_limit)
        may_change = self.has_change_permission(request)
        context = {
            "inline_changes": inline_changes,
            "inline_changes_more": inline_more,
            "inline_history_limit": self.inline_history_limit,
            "agent_pk": agent_id,
            # Deleted rows the user may bring back: change on the agent and add on the row's model.
            "restorable_models": {
                model._meta.model_name
                for model in RESTORABLE_ROWS
                if may_change and request.user.has_perm(f"agents.add_{model._meta.model_name}")
            },
            **(extra_context or {}),
        }
        return super().history_view(request, object_id, extra_context=context)


def _import_failure_message(result: Any) -> str:
    problems = []
    for invalid in result.invalid_rows:
        messages_by_field = [
            f"{field}: {' '.join(errors)}" if field != "__all__" else " ".join(errors)
            for field, errors in invalid.error_dict.items()
        ]
        problems.append(f"row {invalid.number}: {'; '.join(messages_by_field)}")
    for number, errors in result.row_errors():
        problems.append(f"row {number}: {'; '.join(str(error.error) for error in errors)}")
    problems.extend(str(error.error) for error in result.base_errors)
    return "Import failed and nothing was imported (the file is applied whole or not at all). " + (
        " | ".join(problems) or "Unknown error."
    )


def _formset_rows(formset: Any) -> list[dict[str, Any]]:
    """The rows an inline formset asks for, as agent_update's nested rows (model field values).

    Deleted forms and untouched extra forms are left out: the set becomes exactly the remaining rows.
    The admin log's change message is built from new/changed/deleted objects, which formset.save() would
    have set; they are set here from the forms instead.
    """
    model_fields = {
        field.name
        for field in formset.model._meta.concrete_fields
        if field.editable and not field.primary_key and field.name != formset.fk.name
    }
    rows: list[dict[str, Any]] = []
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    for form in formset.forms:
        is_new = form in formset.extra_forms
        if formset.can_delete and formset._should_delete_form(form):
            if not is_new:
                formset.deleted_objects.append(form.instance)
            continue
        if is_new and not form.has_changed():
            continue
        rows.append({name: value for name, value in form.cleaned_data.items() if name in model_fields})
        if is_new:
            formset.new_objects.append(form.instance)
        elif form.has_changed():
            formset.changed_objects.append((form.instance, form.changed_data))
    return rows


def _one_to_one(agent: HumanAgent, name: str) -> Any:
    try:
        return getattr(agent, name)
    except ObjectDoesNotExist:
        return None


# --- the rest of the agents app ----------------------------------------------------------------------


class AgentNameColumn:
    """The agent as a column: the name a supervisor knows (the code is on the agent's page)."""

    @admin.display(description="agent", ordering="agent__name")
    def agent_name(self, row: Any) -> str:
        return row.agent.name


@admin.register(SkillDomain)
class SkillDomainAdmin(SimpleHistoryAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name", "description")


@admin.register(AgentAvailability)
class AgentAvailabilityAdmin(AgentNameColumn, SimpleHistoryAdmin):
    """The live board. Status changes go through the agent's "Set status" action, so rows are read-only."""

    list_display = (
        "agent_name",
        "status",
        "current_load",
        "manual_override",
        "override_reason",
        "status_since",
    )
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
class AgentSkillAdmin(AgentNameColumn, SimpleHistoryAdmin):
    list_display = ("agent_name", "domain", "proficiency", "years_experience", "certification_level")
    list_select_related = ("agent", "domain")
    list_filter = ("domain", "proficiency")
    search_fields = ("agent__code", "agent__name")
    raw_id_fields = ("agent",)


@admin.register(AgentLanguage)
class AgentLanguageAdmin(AgentNameColumn, SimpleHistoryAdmin):
    list_display = ("agent_name", "language_code", "proficiency")
    list_select_related = ("agent",)
    list_filter = (LanguageRowInUseFilter, "proficiency")
    search_fields = ("agent__code", "agent__name")
    raw_id_fields = ("agent",)


@admin.register(AgentSpecialization)
class AgentSpecializationAdmin(AgentNameColumn, SimpleHistoryAdmin):
    """Also edited inline on the agent; here each row has its own history, so a change can be reverted."""

    list_display = (
        "agent_name",
        "specialization",
        "line",
        "segment",
        "proficiency",
        "confidence",
        "success",
    )

    @admin.display(description="insurance line", ordering="insurance_line")
    def line(self, row: AgentSpecialization) -> str:
        return row.insurance_line or "—"

    @admin.display(description="segment", ordering="customer_segment")
    def segment(self, row: AgentSpecialization) -> str:
        return row.customer_segment or "every"

    @admin.display(description="success", ordering="success_rate")
    def success(self, row: AgentSpecialization) -> str:
        return f"{row.success_rate:.0%}"

    list_select_related = ("agent",)
    list_filter = ("insurance_line", "customer_segment", "proficiency")
    search_fields = ("agent__code", "agent__name", "specialization")
    raw_id_fields = ("agent",)


@admin.register(AgentSchedule)
class AgentScheduleAdmin(AgentNameColumn, SimpleHistoryAdmin):
    """Also edited inline on the agent; here each row has its own history, so a change can be reverted."""

    list_display = ("agent_name", "day_of_week", "hours", "timezone", "schedule_type", "effective_from")

    @admin.display(description="hours", ordering="start_time")
    def hours(self, row: AgentSchedule) -> str:
        return f"{row.start_time:%H:%M}–{row.end_time:%H:%M}"

    list_select_related = ("agent",)
    list_filter = ("day_of_week", "schedule_type", "timezone")
    search_fields = ("agent__code", "agent__name")
    raw_id_fields = ("agent",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # Each agent's week from Monday (a column sort the supervisor clicks still takes precedence).
        return super().get_queryset(request).order_by("agent__name", Weekday.week_position(), "start_time")


@admin.register(AgentPeriodMetrics)
class AgentPeriodMetricsAdmin(AgentNameColumn, SimpleHistoryAdmin):
    list_display = (
        "agent_name",
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


# The automated agents' admin (its own module; registers on import).
from agents import admin_automated  # noqa: E402, F401
