"""Agent configurations: the version history (the change list), publishing, activation, diffs.

A version is published from the add form (optionally prefilled from an existing version: "New
version from this one") through config_publish; it is never edited afterwards, so its change page is
read-only, with "Activate this version" (config_activate: a rollback when it is older) and diffs
against the active and the previous version of its scope. The "Activate" action does the same from
the change list.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from config.admin_display import short_time
from config.errors import DomainError
from voice.admin.base import (
    JSONTextarea,
    LocationFilter,
    OrganizationFilter,
    VoiceAdminMixin,
    admin_caller,
)
from voice.models import AgentConfig
from voice.selectors import config_diff, config_get, config_list
from voice.services import config_activate, config_publish


class ScopeFilter(admin.SimpleListFilter):
    title = "scope"
    parameter_name = "scope"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("organization", "Organization-wide"), ("location", "Location overrides")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        if self.value() in ("organization", "location"):
            return queryset.filter(location__isnull=self.value() == "organization")
        return queryset


class PublishForm(forms.ModelForm):
    activate = forms.BooleanField(
        required=False, initial=True, help_text="Make it the active configuration of its scope now."
    )

    class Meta:
        model = AgentConfig
        fields = ["organization", "location", "policies", "script_overrides", "notes"]
        widgets = {"policies": JSONTextarea(rows=14), "script_overrides": JSONTextarea(rows=6)}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        organization, location = data.get("organization"), data.get("location")
        if organization and location and location.organization_id != organization.pk:
            self.add_error("location", "Choose a location of the selected organization.")
        return data

    def _post_clean(self) -> None:
        # Version and activation are the service's: validating the unsaved row's uniqueness now would
        # compare it with the active version it is about to replace.
        self._validate_unique = False
        self._validate_constraints = False
        super()._post_clean()


@admin.register(AgentConfig)
class AgentConfigAdmin(VoiceAdminMixin, admin.ModelAdmin):
    selector = staticmethod(config_list)
    change_form_template = "admin/voice/agentconfig/change_form.html"
    list_display = (
        "version_label",
        "organization",
        "scope",
        "is_active",
        "created_by",
        "created",
        "short_notes",
    )
    list_display_links = ("version_label",)
    list_select_related = ("organization", "location", "created_by")
    list_filter = (OrganizationFilter, ScopeFilter, LocationFilter, "is_active")

    @admin.display(description="created", ordering="created_at")
    def created(self, config: AgentConfig) -> str:
        return short_time(config.created_at)

    search_fields = ("notes",)
    ordering = ("organization__name", "-version")
    actions = ("activate_selected",)
    readonly_fields = (
        "organization",
        "version",
        "scope",
        "is_active",
        "pretty_policies",
        "pretty_script_overrides",
        "notes",
        "created_by",
        "created_at",
        "activated_at",
    )

    @admin.display(description="version", ordering="version")
    def version_label(self, config: AgentConfig) -> str:
        return f"v{config.version}"

    @admin.display(description="scope")
    def scope(self, config: AgentConfig) -> str:
        return config.scope_label

    @admin.display(description="notes")
    def short_notes(self, config: AgentConfig) -> str:
        return config.notes if len(config.notes) <= 80 else config.notes[:77] + "..."

    @admin.display(description="policies")
    def pretty_policies(self, config: AgentConfig) -> str:
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>',
            json.dumps(config.policies, indent=2, sort_keys=True),
        )

    @admin.display(description="script overrides")
    def pretty_script_overrides(self, config: AgentConfig) -> str:
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>',
            json.dumps(config.script_overrides, indent=2, sort_keys=True),
        )

    # -- publishing (add) and reading (change)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = PublishForm
            kwargs["fields"] = [*PublishForm.Meta.fields, "activate"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return [(None, {"fields": [*PublishForm.Meta.fields, "activate"]})]
        return [(None, {"fields": self.readonly_fields})]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ()

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """ "New version from this one": ?from=<id> prefills the form from that version."""
        initial = super().get_changeform_initial_data(request)
        source = request.GET.get("from")
        if source:
            try:
                config = config_get(caller=admin_caller(request), pk=source)
            except DomainError:
                raise Http404("No such configuration.") from None
            initial.update(
                organization=config.organization_id,
                location=config.location_id,
                policies=config.policies,
                script_overrides=config.script_overrides,
                notes="",
            )
        return initial

    def save_model(self, request: HttpRequest, obj: AgentConfig, form: Any, change: bool) -> None:
        if change:
            raise PermissionDenied  # published versions never change
        data = form.cleaned_data
        created = config_publish(
            caller=admin_caller(request),
            organization=data["organization"],
            location=data.get("location"),
            policies=data.get("policies") or {},
            script_overrides=data.get("script_overrides") or {},
            notes=data.get("notes", ""),
            activate=bool(data.get("activate")),
        )
        obj.pk, obj.version, obj._state.adding, obj._state.db = (
            created.pk,
            created.version,
            False,
            created._state.db,
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the version history is kept; calls refer to the versions they ran

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> Any:
        config = self.get_object(request, unquote(object_id))
        if config is None:
            raise Http404("No such configuration.")
        active = (
            config_list(caller=admin_caller(request))
            .filter(organization_id=config.organization_id, location_id=config.location_id, is_active=True)
            .exclude(pk=config.pk)
            .first()
        )
        previous = (
            config_list(caller=admin_caller(request))
            .filter(
                organization_id=config.organization_id,
                location_id=config.location_id,
                version__lt=config.version,
            )
            .order_by("-version")
            .first()
        )
        context = {
            "config": config,
            "active_version": active,
            "previous_version": previous,
            "may_activate": self.has_change_permission(request, config) and not config.is_active,
            "may_publish": self.has_add_permission(request),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra_context=context)

    # -- activation and diffs

    @admin.action(description="Activate the selected version (roll back or forward)", permissions=["change"])
    def activate_selected(self, request: HttpRequest, queryset: Any) -> None:
        configs = list(queryset[:2])
        if len(configs) != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.WARNING)
            return
        self._activate(request, configs[0])

    def _activate(self, request: HttpRequest, config: AgentConfig) -> None:
        try:
            activated = config_activate(caller=admin_caller(request), config=config)
        except DomainError as error:
            self.message_user(request, str(error.detail), messages.ERROR)
            return
        self.message_user(
            request,
            f"Version v{activated.version} is now the active configuration ({activated.scope_label}) of "
            f"{activated.organization}.",
            messages.SUCCESS,
        )

    def get_urls(self) -> list[Any]:
        info = self.model._meta.app_label, self.model._meta.model_name
        custom = [
            path("diff/", self.admin_site.admin_view(self.diff_view), name="{}_{}_diff".format(*info)),
            path(
                "<path:object_id>/activate/",
                self.admin_site.admin_view(self.activate_view),
                name="{}_{}_activate".format(*info),
            ),
        ]
        for pattern in custom:
            pattern.callback = self._feature_guard(pattern.callback)
        return custom + super().get_urls()

    def activate_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        config = self.get_object(request, unquote(object_id))
        if config is None:
            raise Http404("No such configuration.")
        if not self.has_change_permission(request, config):
            raise PermissionDenied
        self._activate(request, config)
        return HttpResponseRedirect(reverse("admin:voice_agentconfig_change", args=[config.pk]))

    def diff_view(self, request: HttpRequest) -> HttpResponse:
        """Two versions side by side, path by path: ?old=<id>&new=<id> (same organization)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        caller = admin_caller(request)
        try:
            old = config_get(caller=caller, pk=request.GET.get("old"))
            new = config_get(caller=caller, pk=request.GET.get("new"))
        except DomainError:
            raise Http404("No such configuration.") from None
        if old.organization_id != new.organization_id:
            raise Http404("Versions of one organization are compared.")
        diff = config_diff(old=old, new=new)
        versions = config_list(caller=caller).filter(organization_id=old.organization_id).order_by("-version")
        context = {
            **self.admin_site.each_context(request),
            "title": f"{old.organization}: v{old.version} → v{new.version}",
            "opts": self.model._meta,
            "diff": diff,
            "changes": [
                {
                    "path": change.path,
                    "kind": change.kind,
                    "old": json.dumps(change.old, sort_keys=True),
                    "new": json.dumps(change.new, sort_keys=True),
                }
                for change in diff.changes
            ],
            "versions": versions,
        }
        return TemplateResponse(request, "admin/voice/agentconfig/diff.html", context)
