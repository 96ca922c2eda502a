"""Calls, read-only, with their turns (the latency breakdown) and events inline; and the analytics
report (per configuration version and per location) with a server-rendered SVG chart."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.html import format_html

from config.admin_display import short_time
from voice.admin.base import (
    LocationFilter,
    OrganizationFilter,
    ReadOnlyInline,
    VoiceAdminMixin,
    admin_caller,
)
from voice.engine.chart import bar_chart
from voice.models import Call, CallEvent, Location, Turn
from voice.selectors import STAGES, call_analytics, call_list


class TurnInline(ReadOnlyInline):
    model = Turn
    fields = (
        "turn_index",
        "speaker",
        "text",
        "asr_confidence",
        "latency_asr_ms",
        "latency_llm_ms",
        "latency_tts_ms",
        "latency_total_ms",
        "prompt_tokens",
        "completion_tokens",
        "sentiment",
        "interrupted",
    )
    readonly_fields = fields
    ordering = ("turn_index",)
    verbose_name_plural = "turns (latency in ms: ASR, LLM, TTS, total)"


class CallEventInline(ReadOnlyInline):
    model = CallEvent
    fields = ("occurred_at", "turn_index", "event_type", "data")
    readonly_fields = fields
    ordering = ("occurred_at", "pk")

    @admin.display(description="data")
    def data(self, event: CallEvent) -> str:
        return format_html("<code>{}</code>", json.dumps(event.event_data, sort_keys=True))


@admin.register(Call)
class CallAdmin(VoiceAdminMixin, admin.ModelAdmin):
    selector = staticmethod(call_list)
    change_list_template = "admin/voice/call/change_list.html"
    # Fits 1400 px beside the menu and filters: the organization is a filter and on the call's page.
    list_display = (
        "call_id",
        "location",
        "config_version",
        "started",
        "duration",
        "status",
        "outcome_words",
        "turn_count",
    )
    list_select_related = ("organization", "location", "agent_config")
    list_filter = (OrganizationFilter, LocationFilter, "status")

    date_hierarchy = "started_at"
    search_fields = ("call_id", "outcome")
    ordering = ("-started_at", "-pk")
    list_per_page = 100
    inlines = (TurnInline, CallEventInline)
    fields = (
        "call_id",
        "organization",
        "location",
        "agent_config",
        "caller_phone",
        ("started_at", "ended_at"),
        ("status", "outcome"),
        "transcript",
        "sanitized_at",
    )
    readonly_fields = (
        "call_id",
        "organization",
        "location",
        "agent_config",
        "caller_phone",
        "started_at",
        "ended_at",
        "status",
        "outcome",
        "transcript",
        "sanitized_at",
    )

    @admin.display(description="config", ordering="agent_config__version")
    def config_version(self, call: Call) -> str:
        return f"v{call.agent_config.version}" if call.agent_config_id else "-"

    @admin.display(description="started", ordering="started_at")
    def started(self, call: Call) -> str:
        return short_time(call.started_at)

    @admin.display(description="duration")
    def duration(self, call: Call) -> str:
        if call.ended_at is None:
            return "in progress"
        seconds = int((call.ended_at - call.started_at).total_seconds())
        return f"{seconds // 60}:{seconds % 60:02d}"

    @admin.display(description="outcome", ordering="outcome")
    def outcome_words(self, call: Call) -> str:
        # Integrations send outcomes as identifiers (appointment_booked); a supervisor reads words.
        return call.outcome.replace("_", " ") if call.outcome else "—"

    @admin.display(description="turns", ordering="turn_count")
    def turn_count(self, call: Call) -> int:
        return call.turn_count

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return False  # telemetry arrives from the voice platform (the API)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # retention_cleanup removes calls

    def get_urls(self) -> list[Any]:
        analytics = path(
            "analytics/", self.admin_site.admin_view(self.analytics_view), name="voice_call_analytics"
        )
        analytics.callback = self._feature_guard(analytics.callback)
        return [analytics, *super().get_urls()]

    def analytics_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        caller = admin_caller(request)
        form = AnalyticsForm(request.GET or None, caller=caller)
        until = timezone.now()
        since = until - dt.timedelta(days=30)
        location = None
        if form.is_bound and form.is_valid():
            if form.cleaned_data.get("since"):
                since = dt.datetime.combine(form.cleaned_data["since"], dt.time.min, tzinfo=dt.UTC)
            if form.cleaned_data.get("until"):
                until = dt.datetime.combine(
                    form.cleaned_data["until"] + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC
                )
            location = form.cleaned_data.get("location")
        report = call_analytics(
            caller=caller, since=since, until=until, location_id=location.pk if location else None
        )
        context = {
            **self.admin_site.each_context(request),
            "title": "Call analytics",
            "opts": self.model._meta,
            "form": form,
            "report": report,
            "stages": STAGES,
            "latency_chart": _latency_chart(report.by_config),
            "calls_chart": _calls_chart(report.by_location),
        }
        return TemplateResponse(request, "admin/voice/call/analytics.html", context)


class AnalyticsForm(forms.Form):
    since = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="UTC date"
    )
    until = forms.DateField(
        required=False, widget=forms.DateInput(attrs={"type": "date"}), help_text="inclusive"
    )
    location = forms.ModelChoiceField(queryset=Location.objects.none(), required=False)

    def __init__(self, *args: Any, caller: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = caller.scope(Location.objects.all()).order_by("name")


STAGE_LABELS = {"asr": "ASR", "llm": "LLM", "tts": "TTS", "total": "Total"}


def _latency_chart(rows: list[Any]) -> Any:
    categories = [row.label for row in rows]
    series = [f"p95 {STAGE_LABELS[stage]}" for stage in STAGES]
    values = {
        (row.label, f"p95 {STAGE_LABELS[stage]}"): row.latency_p95_ms[stage]
        for row in rows
        for stage in STAGES
    }
    return bar_chart(categories=categories, series=series, values=values, unit="ms")


def _calls_chart(rows: list[Any]) -> Any:
    categories = [row.label for row in rows]
    series = ["completed", "transferred", "failed", "abandoned"]
    values = {(row.label, name): float(getattr(row, name)) for row in rows for name in series}
    return bar_chart(categories=categories, series=series, values=values, unit="calls", integers=True)
