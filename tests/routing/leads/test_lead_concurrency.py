"""16 threads routing leads and cases to the same agents on PostgreSQL, converting leads and completing
cases at random: no agent over capacity (checked under the row lock in every load raise), no lead or case
in two agents' hands, every lead accounted for, loads equal to the open work of both kinds."""

from __future__ import annotations

import random

import pytest
from django.db.models import Count

from agents.models import AgentAvailability
from routing.models import (
    OPEN_ASSIGNMENT_STATUSES,
    OPEN_LEAD_STATUSES,
    AssignmentQueue,
    CaseAssignment,
    Lead,
    LeadRoutingHistory,
)
from routing.services import CaseRequest, case_route
from routing.services.leads import lead_create, lead_record_outcome, lead_route
from tests.factories import AgentSpecializationFactory, SkillDomainFactory
from tests.factories.routing import retire_seed_roster, routable_agent
from tests.routing.actions import complete_as_assignee
from tests.routing.concurrency import analyze, run_concurrently, watch_take_load

THREADS = 16
ITEMS = 480  # leads and cases each
AGENTS = 30


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("seed_rows_back_after_flush")
def test_leads_and_cases_racing_for_the_same_agents(monkeypatch):
    # given
    retire_seed_roster()
    SkillDomainFactory(code="billing")
    rng = random.Random(11)
    capacities = {}
    for _ in range(AGENTS):
        agent = routable_agent(skills={"billing": "advanced"}, capacity=rng.randint(1, 4))
        AgentSpecializationFactory(
            agent=agent, specialization="auto", insurance_line="auto", customer_segment=None, proficiency=4
        )
        capacities[agent.pk] = agent.max_concurrent_work
    leads = [
        lead_create(
            external_id=f"CL-{n:04d}",
            name="x",
            insurance_line="auto",
            customer_segment="smb",
            language="en",
            territory="",
            source=rng.choice(["web_form", "inbound_call", "other"]),
        ).pk
        for n in range(ITEMS)
    ]
    analyze()

    def over_capacity(agent_id: int) -> str | None:
        open_work = (
            CaseAssignment.objects.filter(agent_id=agent_id, status__in=OPEN_ASSIGNMENT_STATUSES).count()
            + Lead.objects.filter(agent_id=agent_id, status__in=OPEN_LEAD_STATUSES).count()
        )
        return (
            f"agent {agent_id}: {open_work} > {capacities[agent_id]}"
            if open_work > capacities[agent_id]
            else None
        )

    violations = watch_take_load(monkeypatch, over_capacity)

    def work(index: int) -> None:
        local = random.Random(index)
        my_cases, my_leads = [], []
        for n in range(index, ITEMS, THREADS):
            outcome = lead_route(lead_id=leads[n])
            if outcome.assigned:
                my_leads.append(leads[n])
            case = case_route(
                request=CaseRequest(
                    case_id=f"CC-{n:04d}",
                    priority="medium",
                    complexity="low",
                    required_skills=["billing"],
                    language="en",
                )
            )
            if case.assignment is not None:
                my_cases.append(f"CC-{n:04d}")
            if my_leads and local.random() < 0.4:
                lead_record_outcome(
                    lead_id=my_leads.pop(local.randrange(len(my_leads))),
                    outcome=local.choice(["converted", "lost"]),
                )
            if my_cases and local.random() < 0.4:
                complete_as_assignee(case_id=my_cases.pop(local.randrange(len(my_cases))), csat_rating=4)

    # when
    errors = run_concurrently(work, THREADS)

    # then
    assert not errors, errors[:3]
    assert not violations, violations[:5]
    assert (
        not LeadRoutingHistory.objects.filter(released_at__isnull=True)
        .values("lead")
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .exists()
    )
    statuses = dict(Lead.objects.filter(pk__in=leads).values_list("status").annotate(n=Count("pk")))
    assert sum(statuses.values()) == ITEMS and "new" not in statuses
    queued = set(Lead.objects.filter(pk__in=leads, status="queued").values_list("pk", flat=True))
    assert queued == set(AssignmentQueue.objects.filter(status="waiting").values_list("lead_id", flat=True))
    open_cases = dict(
        CaseAssignment.objects.filter(status__in=OPEN_ASSIGNMENT_STATUSES)
        .values_list("agent_id")
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    open_leads = dict(
        Lead.objects.filter(status__in=OPEN_LEAD_STATUSES)
        .values_list("agent_id")
        .annotate(n=Count("pk"))
        .values_list("agent_id", "n")
    )
    for agent_id, load in AgentAvailability.objects.filter(agent_id__in=capacities).values_list(
        "agent_id", "current_load"
    ):
        assert load == open_cases.get(agent_id, 0) + open_leads.get(agent_id, 0) <= capacities[agent_id]
