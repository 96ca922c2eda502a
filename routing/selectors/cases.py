"""Reads of one case."""

from __future__ import annotations

from django.db.models import Prefetch

from routing.errors import CaseNotFound
from routing.models import CaseAssignment, SupportCase


def case_detail(*, case_id: str) -> SupportCase:
    """A case with its assignments (and their agents), queue entries and decisions prefetched."""
    try:
        return SupportCase.objects.prefetch_related(
            Prefetch("assignments", queryset=CaseAssignment.objects.select_related("agent")),
            "queue_entries",
            "decisions",
        ).get(case_id=case_id)
    except SupportCase.DoesNotExist:
        raise CaseNotFound(case_id=case_id) from None
