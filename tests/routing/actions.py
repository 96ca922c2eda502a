"""Start and complete a case as the agent who holds it (the services ask which assignment; the tests
that are not about that question answer it with the case's latest assignment)."""

from __future__ import annotations

from typing import Any

from routing.models import CaseAssignment
from routing.services import CaseRequest, case_complete, case_start


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


def request_for(case_id: str = "C-1", **overrides: Any) -> CaseRequest:
    """A case request that any routable_agent with billing at intermediate or better can take."""
    values = {
        "case_id": case_id,
        "priority": "medium",
        "complexity": "medium",
        "required_skills": ["billing"],
        "language": "en",
    }
    values.update(overrides)
    return CaseRequest(**values)


def load_of(agent) -> int:
    from agents.models import AgentAvailability

    return AgentAvailability.objects.get(agent=agent).current_load
