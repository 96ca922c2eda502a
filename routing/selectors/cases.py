"""Reads of one case."""

from __future__ import annotations

from django.db.models import Prefetch

from routing.errors import CaseNotFound
from routing.models import CaseAssignment, CaseAssignmentArchive, RoutingDecision, RoutingEvent, SupportCase

# A case that waited long collects an event per escalation and widening, so its page shows the newest
# ones only (routing.api.serializers.SupportCaseDetailSerializer).
CASE_EVENTS_SHOWN = 100


def case_detail(*, case_id: str) -> SupportCase:
    """A case with everything its page shows, one query per relation whatever the case's history.

    Prefetched: assignments (with agents), queue entries, decisions, archived assignments (with agents
    and the decisions that made them, newest first) and, as `recent_events`, the newest
    CASE_EVENTS_SHOWN + 1 routing events (one more than shown, so the page knows older ones exist).
    """
    try:
        return SupportCase.objects.prefetch_related(
            Prefetch("assignments", queryset=CaseAssignment.objects.select_related("agent")),
            "queue_entries",
            "decisions",
            Prefetch(
                "archived_assignments",
                queryset=CaseAssignmentArchive.objects.select_related("agent").prefetch_related(
                    Prefetch("decisions", queryset=RoutingDecision.objects.order_by("-created_at", "-id"))
                ),
            ),
            Prefetch(
                "events",
                queryset=RoutingEvent.objects.order_by("-created_at", "-id")[: CASE_EVENTS_SHOWN + 1],
                to_attr="recent_events",
            ),
        ).get(case_id=case_id)
    except SupportCase.DoesNotExist:
        raise CaseNotFound(case_id=case_id) from None
