"""What the routing API tests share: the URLs, a routing request's body, acting as the assignee, and the
ledger of everything a request may write (to show a refused request changed nothing)."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from agents.models import AgentAvailability
from routing.models import (
    CaseAssignment,
    EscalationQueueEntry,
    RoutingDecision,
    RoutingEvent,
    SupportCase,
)
from routing.services import CaseRequest

CASES = "/api/v1/routing/cases/"
QUEUE = "/api/v1/routing/queue/"


def case_url(case_id: str, action: str = "") -> str:
    return f"{CASES}{case_id}/{action + '/' if action else ''}"


def as_assignee(case_id: str) -> dict:
    """The body that names the case's latest assignment (start and complete ask which one)."""
    assignment = CaseAssignment.objects.filter(case_id=case_id).order_by("-assigned_at").first()
    return {"assignment_id": str(assignment.pk)} if assignment else {}


def act(client: APIClient, case_id: str, action: str, body: dict | None = None):
    """POST start or complete as the agent who holds the case."""
    return client.post(case_url(case_id, action), {**as_assignee(case_id), **(body or {})}, format="json")


def payload(**overrides: Any) -> dict[str, Any]:
    return {
        "case_id": "case_001",
        "customer_id": "cust_9",
        "priority": "high",
        "complexity": "medium",
        "required_skills": ["billing"],
        "customer_frustration": "moderate",
        "language": "en",
        "special_requirements": {},
        "estimated_resolution_minutes": 20,
        "max_wait_minutes": 30,
        **overrides,
    }


def case_request(**overrides: Any) -> CaseRequest:
    """The service's request for the API body with the overrides (the same validation behind both doors)."""
    fields = payload(**overrides)
    fields.pop("case_id")
    return CaseRequest(case_id=overrides.get("case_id", "case_001"), **fields)


def route(client: APIClient, **overrides: Any) -> Any:
    return client.post(CASES, payload(**overrides), format="json")


def assert_nothing_routed() -> None:
    assert not SupportCase.objects.exists()
    assert not CaseAssignment.objects.exists()
    assert not EscalationQueueEntry.objects.exists()
    assert not RoutingDecision.objects.exists()


def ledger() -> tuple:
    """Everything a routing request may write: row counts, each case/assignment/entry state, agent loads."""
    return (
        SupportCase.objects.count(),
        CaseAssignment.objects.count(),
        EscalationQueueEntry.objects.count(),
        RoutingDecision.objects.count(),
        RoutingEvent.objects.count(),
        sorted(SupportCase.objects.values_list("case_id", "status", "priority")),
        sorted(
            (str(pk), status, csat, str(started), str(completed))
            for pk, status, csat, started, completed in CaseAssignment.objects.values_list(
                "pk", "status", "csat_rating", "started_at", "completed_at"
            )
        ),
        sorted((str(pk), status) for pk, status in EscalationQueueEntry.objects.values_list("pk", "status")),
        sorted(AgentAvailability.objects.values_list("agent_id", "current_load", "status")),
    )
