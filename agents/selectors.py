"""Reads of agents, already joined and prefetched so that a page costs the same queries for 3 rows or 300.

An agent page is one query for the agents joined to their availability and performance (one-to-one,
so `select_related`), plus one query per nested set (skills with their domain, languages,
specializations, schedules). Nothing here locks; the locking reads live in agents.services.
"""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from agents.models import AgentAvailability, AgentSkill, HumanAgent
from config.errors import ConflictError, NotFoundError


class AgentNotFound(NotFoundError):
    default_detail = "No agent with code {code}."


class AvailabilityMissing(ConflictError):
    code = "availability_missing"
    default_detail = "Agent {code} has no availability record yet; set a status (PUT or PATCH) to create it."


def agent_list() -> QuerySet[HumanAgent]:
    """Every agent with what the API shows of it; filter and order it further as needed."""
    return HumanAgent.objects.select_related("availability", "performance").prefetch_related(
        Prefetch("skills", queryset=AgentSkill.objects.select_related("domain")),
        "languages",
        "specializations",
        "schedules",
    )


def agent_detail(*, code: str) -> HumanAgent:
    """One agent by its code, joined and prefetched like `agent_list`; unknown code -> AgentNotFound."""
    try:
        return agent_list().get(code=code)
    except HumanAgent.DoesNotExist:
        raise AgentNotFound(code=code) from None


def agent_availability_get(*, code: str) -> AgentAvailability:
    """An agent's live availability, looked up by agent code in one query (joined to the agent).

    An unknown code is AgentNotFound; a known agent without the row (written around agent_create) is
    AvailabilityMissing, since a read does not write. Setting a status creates the row.
    """
    try:
        return AgentAvailability.objects.select_related("agent").get(agent__code=code)
    except AgentAvailability.DoesNotExist:
        if HumanAgent.objects.filter(code=code).exists():
            raise AvailabilityMissing(code=code) from None
        raise AgentNotFound(code=code) from None
