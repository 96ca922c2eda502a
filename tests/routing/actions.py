"""Start and complete a case as the agent who holds it (the services ask which assignment; the tests
that are not about that question answer it with the case's latest assignment)."""

from __future__ import annotations

from typing import Any

from routing.models import CaseAssignment
from routing.services import case_complete, case_start


def _latest_assignment_id(case_id: str):
    return (
        CaseAssignment.objects.filter(case_id=case_id)
        .order_by("-assigned_at")
        .values_list("pk", flat=True)
        .first()
    )


def start_as_assignee(*, case_id: str) -> CaseAssignment:
    return case_start(case_id=case_id, assignment_id=_latest_assignment_id(case_id))


def complete_as_assignee(*, case_id: str, **outcome: Any) -> CaseAssignment:
    return case_complete(case_id=case_id, assignment_id=_latest_assignment_id(case_id), **outcome)
