"""The knowledge base: category, tag and location filters, search, and an audited history.

Edits go through voice.services (knowledge_create / knowledge_update), which record the user in the
entry's history (django-simple-history); the history page lists who changed what and reverts a
version (the revert is saved through the same service). The history pages answer 404 for an entry of
another organization, also once it is deleted (simple-history would otherwise find it through its
historical records).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.http import Http404, HttpRequest, HttpResponse
from simple_history.admin import SimpleHistoryAdmin

from config.admin_display import short_time
from voice.admin.base import LocationFilter, OrganizationFilter, VoiceAdminMixin, admin_caller
from voice.models import KnowledgeEntry
from voice.models.common import tags_normalize, validate_tags
from voice.selectors import knowledge_list, knowledge_tags
from voice.selectors.knowledge import TagsOverlap
from voice.services import knowledge_create, knowledge_delete, knowledge_update
from voice.services.knowledge import KNOWLEDGE_FIELDS


class TagFilter(admin.SimpleListFilter):
    title = "tag"
    parameter_name = "tag"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(tag, tag) for tag in knowledge_tags(caller=admin_caller(request))]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        return queryset.filter(TagsOverlap("tags", [value])) if value else queryset


class TagsField(forms.CharField):
    """Tags typed as words separated by commas, stored as the JSON list the model holds."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(value)
        if isinstance(value, str) and value.startswith("["):
            import json

            try:
                return ", ".join(json.loads(value))
            except (ValueError, TypeError):
                return value
        return value

    def to_python(self, value: Any) -> list[str]:
        text = super().to_python(value) or ""
        return tags_normalize([part for part in text.split(",") if part.strip()])

    def validate(self, value: Any) -> None:
        super().validate(value)
        validate_tags(value)


class KnowledgeEntryForm(forms.ModelForm):
    tags = TagsField(required=False, help_text="Words separated by commas, e.g. hours, parking.")

    class Meta:
        model = KnowledgeEntry
        fields = ["organization", "location", "category", "title", "content", "tags", "priority", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        organization = data.get("organization") or getattr(self.instance, "organization", None)
        location = data.get("location")
        if location is not None and organization is not None and location.organization_id != organization.pk:
            self.add_error("location", "Choose a location of the entry's organization.")
        return data


@admin.register(KnowledgeEntry)
class KnowledgeEntryAdmin(VoiceAdminMixin, SimpleHistoryAdmin):
    form = KnowledgeEntryForm
    selector = staticmethod(knowledge_list)
    # Fits 1400 px beside the menu and filters; the priority is on the entry's page.
    list_display = (
        "title",
        "organization",
        "location",
        "category",
        "is_active",
        "tag_list",
        "updated",
    )
    list_select_related = ("organization", "location")
    list_filter = (OrganizationFilter, "category", TagFilter, LocationFilter, "is_active")

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, entry: KnowledgeEntry) -> str:
        return short_time(entry.updated_at)

    search_fields = ("title", "content")
    ordering = ("organization__name", "category", "-priority", "pk")
    list_per_page = 50

    @admin.display(description="tags")
    def tag_list(self, entry: KnowledgeEntry) -> str:
        return ", ".join(entry.tags)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("organization",) if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: KnowledgeEntry, form: Any, change: bool) -> None:
        caller = admin_caller(request)
        attributes = {name: getattr(obj, name) for name in KNOWLEDGE_FIELDS}
        if change:
            current = KnowledgeEntry.objects.get(pk=obj.pk)
            knowledge_update(caller=caller, entry=current, **attributes)
            return
        created = knowledge_create(caller=caller, organization=obj.organization, **attributes)
        obj.pk, obj._state.adding, obj._state.db = created.pk, False, created._state.db

    def delete_model(self, request: HttpRequest, obj: KnowledgeEntry) -> None:
        knowledge_delete(caller=admin_caller(request), entry=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        caller = admin_caller(request)
        for entry in queryset:  # each deletion leaves its own historical record (the user, the time)
            knowledge_delete(caller=caller, entry=entry)

    # -- history pages: scoped like everything else

    def _history_in_scope(self, request: HttpRequest, object_id: str) -> None:
        record = (
            KnowledgeEntry.history.filter(id=unquote(object_id))
            .order_by("-history_date")
            .values("organization_id")
            .first()
            if str(unquote(object_id)).isdigit()
            else None
        )
        if record is None or not admin_caller(request).reaches(record["organization_id"]):
            raise Http404("No such knowledge base entry.")

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        self._history_in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context=extra_context)

    def history_form_view(
        self, request: HttpRequest, object_id: str, version_id: str, extra_context: Any = None
    ) -> HttpResponse:
        self._history_in_scope(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context=extra_context)
