"""The outbound supervisor's admin: the queues in serving order with each person's score breakdown, callbacks
due and overdue, people with their attempts and last call, call sessions, and conversions with their totals
(claim value, commission) per agent and per week, drawn as a chart without JavaScript.

Everything here is written by scoring.services (the claim, the call log, the conversion): the admin reads.
Every change list costs a fixed number of queries whatever its rows (list_select_related, one aggregate
for the totals).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import admin
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from routing.admin import ReadOnlyAdminMixin
from scoring.models import CallQueueEntry, CallSession, Conversion, QueueStatus, QueueType, UserCallScore
from scoring.selectors import SCORE, conversion_totals, conversion_totals_by_agent_week, queue_cutoffs


def breakdown_table(breakdown: dict[str, Any]) -> SafeString:
    """The stored score breakdown as a table: factor, value 0..1, weight, points."""
    factors = (breakdown or {}).get("factors") or []
    if not factors:
        return mark_safe("—")
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                factor.get("name", ""),
                factor.get("value", ""),
                factor.get("weight", ""),
                factor.get("points", ""),
            )
            for factor in factors
        ),
    )
    return format_html(
        "<table><thead><tr><th>factor</th><th>value</th><th>weight</th><th>points</th></tr></thead>"
        "<tbody>{}</tbody><tfoot><tr><th colspan='3'>raw total</th><th>{}</th></tr></tfoot></table>",
        rows,
        breakdown.get("raw", ""),
    )


@admin.register(UserCallScore)
class UserCallScoreAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "person",
        "current_score",
        "current_queue_type",
        "is_active",
        "call_attempts",
        "last_call_at",
        "claimed_by",
        "time_zone",
    )
    list_filter = ("is_active", "current_queue_type", "signature_obtained")
    list_select_related = ("person", "claimed_by")
    search_fields = ("person__external_id", "person__name", "=person__phone")
    ordering = ("-current_score", "id")
    readonly_fields = ("breakdown",)

    @admin.display(description="score breakdown")
    def breakdown(self, score: UserCallScore) -> SafeString:
        return breakdown_table(score.score_breakdown)


class CallbackFilter(admin.SimpleListFilter):
    """Callbacks due now (scheduled time reached or none recorded) and overdue (past the hand-over delay)."""

    title = "callback"
    parameter_name = "callback"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("due", "due now"),
            ("today", "due today"),
            ("overdue", "overdue"),
            ("none", "not a callback"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[CallQueueEntry]) -> QuerySet[CallQueueEntry]:
        if self.value() is None:
            return queryset
        if self.value() == "none":
            return queryset.filter(callback_id__isnull=True)
        cutoffs = queue_cutoffs()
        pending = queryset.filter(callback_id__isnull=False, status=QueueStatus.PENDING)
        if self.value() == "today":
            end_of_day = timezone.localtime(cutoffs.now).replace(hour=0, minute=0, second=0, microsecond=0)
            end_of_day += dt.timedelta(days=1)
            return pending.filter(
                Q(callback_scheduled_for__isnull=True) | Q(callback_scheduled_for__lt=end_of_day)
            )
        limit = cutoffs.handover_scheduled_before if self.value() == "overdue" else cutoffs.now
        return pending.filter(Q(callback_scheduled_for__isnull=True) | Q(callback_scheduled_for__lte=limit))


@admin.register(CallQueueEntry)
class CallQueueEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """One queue type at a time (unsigned users unless chosen) in serving order: due callbacks first, then
    the highest score, then the oldest entry, as the claim takes them."""

    list_display = (
        "person",
        "queue_type",
        "status",
        "score",
        "callback_state",
        "callback_agent",
        "claimed_by",
        "created_at",
    )
    list_filter = ("queue_type", "status", CallbackFilter)
    list_select_related = ("person", "person__call_score", "callback_agent", "claimed_by")
    search_fields = ("person__external_id", "person__name", "=callback_id")
    readonly_fields = ("breakdown",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[CallQueueEntry]:
        now = timezone.now()
        return (
            super()
            .get_queryset(request)
            .annotate(
                serving_group=Case(
                    When(
                        Q(callback_id__isnull=False)
                        & (Q(callback_scheduled_for__isnull=True) | Q(callback_scheduled_for__lte=now)),
                        then=Value(0),
                    ),
                    default=Value(1),
                    output_field=IntegerField(),
                )
            )
            .order_by(
                "serving_group",
                F("callback_scheduled_for").asc(nulls_first=True),
                F(f"{SCORE}current_score").desc(nulls_last=True),
                "created_at",
                "id",
            )
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        if "queue_type__exact" not in request.GET and not request.GET.get("q"):
            query = request.GET.copy()
            query["queue_type__exact"] = QueueType.UNSIGNED_USERS
            request.GET = query
            request.META["QUERY_STRING"] = query.urlencode()
        return super().changelist_view(request, extra_context)

    def get_ordering(self, request: HttpRequest) -> tuple[str, ...]:
        return ()  # the serving order of get_queryset

    @admin.display(description="score")
    def score(self, entry: CallQueueEntry) -> Any:
        score = getattr(entry.person, "call_score", None)
        return score.current_score if score else None

    @admin.display(description="callback")
    def callback_state(self, entry: CallQueueEntry) -> SafeString | str:
        if entry.callback_id is None:
            return ""
        now = timezone.now()
        if entry.callback_scheduled_for is None or entry.callback_scheduled_for <= now:
            overdue = (
                entry.callback_scheduled_for is None
                or entry.callback_scheduled_for <= queue_cutoffs(now).handover_scheduled_before
            )
            label = "overdue" if overdue else "due"
            return format_html('<strong style="color:#ba2121">{}</strong>', label) if overdue else label
        return f"at {timezone.localtime(entry.callback_scheduled_for):%Y-%m-%d %H:%M}"

    @admin.display(description="score breakdown")
    def breakdown(self, entry: CallQueueEntry) -> SafeString:
        score = getattr(entry.person, "call_score", None)
        return breakdown_table(score.score_breakdown if score else {})


@admin.register(CallSession)
class CallSessionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("person", "agent", "started_at", "ended_at", "outcome")
    list_filter = ("outcome",)
    list_select_related = ("person", "agent")
    search_fields = ("person__external_id", "person__name", "agent__code", "agent__name")
    date_hierarchy = "started_at"
    ordering = ("-started_at", "-id")


def weekly_chart_svg(weeks: list[dict[str, Any]]) -> SafeString:
    """Claim value per week as bars (server-side SVG, readable without JavaScript)."""
    per_week: dict[Any, Decimal] = {}
    for row in weeks:
        per_week[row["week"]] = per_week.get(row["week"], Decimal("0")) + (row["claim_value"] or Decimal("0"))
    if not per_week:
        return mark_safe("")
    width, height, bar = 60 * len(per_week) + 20, 180, 40
    top = max(per_week.values()) or Decimal("1")
    parts = [
        format_html(
            '<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img" '
            'aria-label="Claim value per week">',
            width,
            height,
        )
    ]
    for index, (week, value) in enumerate(sorted(per_week.items())):
        bar_height = int(130 * value / top)
        x = 20 + index * 60
        label = f"{week:%Y-%m-%d}" if hasattr(week, "strftime") else str(week)
        parts.append(
            format_html(
                '<rect x="{}" y="{}" width="{}" height="{}" fill="#417690"><title>week of {}: {}</title></rect>'
                '<text x="{}" y="{}" font-size="10">{}</text>',
                x,
                150 - bar_height,
                bar,
                bar_height,
                label,
                value,
                x,
                165,
                label[5:],
            )
        )
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


@admin.register(Conversion)
class ConversionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Conversions newest first; above the list, the totals of what the filters select (count, claim value,
    commission), per agent and week, and a chart of claim value per week."""

    change_list_template = "admin/scoring/conversion/change_list.html"
    list_display = (
        "person",
        "conversion_type",
        "converted_at",
        "primary_agent",
        "claim_value",
        "estimated_commission",
        "total_call_attempts",
        "final_score",
    )
    list_filter = ("conversion_type", "signature_obtained", "primary_agent")
    list_select_related = ("person", "primary_agent")
    search_fields = ("person__external_id", "person__name")
    date_hierarchy = "converted_at"
    ordering = ("-converted_at", "-id")

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if changelist is not None:
            selected = changelist.queryset
            weeks = conversion_totals_by_agent_week(selected)
            response.context_data.update(
                totals=conversion_totals(selected), weeks=weeks, weekly_chart=weekly_chart_svg(weeks)
            )
        return response
