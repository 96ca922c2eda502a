"""One model of work (issue 6): load and capacity of every kind, an audit trail of any work item, the
engine's factors by name and strategies built with parameters, and the seeds' own constraints."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import AgentAvailability
from routing import work as work_registry
from routing.engine import factors as factor_registry
from routing.engine.rules import ring_for
from routing.engine.scoring import rank_candidates
from routing.engine.strategies import StrategyParameterError, build
from routing.engine.types import DEFAULT_WEIGHTS
from routing.errors import RoutingValidationError
from routing.integrity import integrity_run
from routing.metrics import availability_loads_reconcile
from routing.models import CaseAssignmentArchive, EscalationQueueEntry, RoutingDecision, RoutingEvent
from routing.services import CaseRequest, case_route
from tests.factories import SkillDomainFactory
from tests.factories.routing import (
    CaseAssignmentArchiveFactory,
    EscalationQueueEntryFactory,
    SupportCaseFactory,
    retire_seed_roster,
    routable_agent,
)
from tests.routing.engine_builders import agent as profile
from tests.routing.engine_builders import case as work

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


# --- load and capacity: open work of every kind ------------------------------------------------------


def test_the_reconcile_and_the_checks_count_open_work_of_every_registered_kind(monkeypatch):
    # given: a second kind of work whose open rows are (for this test) archived assignments
    retire_seed_roster()
    agent = routable_agent(capacity=3)
    CaseAssignmentArchiveFactory.create_batch(2, agent=agent)
    kinds = {
        **work_registry.WORK_KINDS,
        "other": work_registry.WorkKind(
            name="other", audit_field="case", open_work=lambda: CaseAssignmentArchive.objects.all()
        ),
    }
    monkeypatch.setattr(work_registry, "WORK_KINDS", kinds)
    # then: the stored load (0) disagrees with the open work (2); the reconcile sets it to 2
    assert "availability_load_mismatch" in {result.name for result in integrity_run() if not result.ok}
    assert availability_loads_reconcile().corrected == 1
    assert AgentAvailability.objects.get(agent=agent).current_load == 2


def test_the_capacity_field_says_work_in_the_api(supervisor_client):
    retire_seed_roster()
    agent = routable_agent(capacity=4)
    body = supervisor_client.get(f"/api/v1/agents/{agent.code}/").json()
    assert body["max_concurrent_work"] == 4 and "max_concurrent_cases" not in body
    assert (
        supervisor_client.patch(f"/api/v1/agents/{agent.code}/", {"max_concurrent_work": 6}).status_code
        == 200
    )


# --- the audit trail belongs to exactly one work item -----------------------------------------------


@pytest.mark.parametrize("model", [RoutingDecision, RoutingEvent])
def test_a_decision_or_event_belongs_to_exactly_one_work_item(model):
    extra = (
        {"strategy": "skill_based", "outcome": "queued"}
        if model is RoutingDecision
        else {"event_type": "queued"}
    )
    with pytest.raises(IntegrityError, match="one_work_item"), transaction.atomic():
        model.objects.create(case=None, **extra)
    model.objects.create(case=SupportCaseFactory(), **extra)


@pytest.mark.parametrize(
    ("model", "factory", "field", "value", "constraint"),
    [
        ("assignment", None, "customer_frustration", "furious", "assignment_frustration_valid"),
        ("queue", EscalationQueueEntryFactory, "complexity", "extreme", "queue_complexity_valid"),
        ("queue", EscalationQueueEntryFactory, "customer_frustration", "furious", "queue_frustration_valid"),
    ],
)
def test_assignment_and_queue_columns_have_the_cases_checks(model, factory, field, value, constraint):
    from tests.factories.routing import CaseAssignmentFactory

    row = (factory or CaseAssignmentFactory)()
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        type(row).objects.filter(pk=row.pk).update(**{field: value})


# --- the engine: factors by name, weights as a mapping, strategies with parameters --------------------


def test_a_kind_can_add_a_factor_by_name_and_a_strategy_weights_it(monkeypatch):
    # given: a factor the five do not have (as a lead's "territory" would be)
    monkeypatch.setitem(
        factor_registry._FACTORS, "tenure", lambda inputs: (1.0 if inputs.agent.agent_id == 2 else 0.0, {})
    )
    agents = [
        profile(agent_id=1, skills={"billing": "expert"}),
        profile(agent_id=2, skills={"billing": "intermediate"}),
    ]
    case = work()

    def winner(strategy):
        ranking = rank_candidates(
            work=case,
            ring=ring_for(case, 0),
            agents=agents,
            strategy=strategy,
            weights=DEFAULT_WEIGHTS,
            now=NOW,
            lockout=3,
        )
        return ranking.winner

    # when weighted in by a strategy's parameters, it decides; the breakdown names it
    assert winner(build("skill_based")).agent.agent_id == 1
    tenured = winner(build("skill_based", {"weights": {"tenure": 5.0}}))
    assert tenured.agent.agent_id == 2 and tenured.factors.as_dict()["tenure"] == 1.0


def test_strategy_parameters_are_validated_and_recorded_with_the_decision():
    with pytest.raises(StrategyParameterError) as bad:
        build("skill_based", {"weights": {"charm": 1.0}, "speed": 3})
    assert set(bad.value.problems) == {"weights", "speed"}
    with pytest.raises(StrategyParameterError):
        build("performance_based", {"performance_share": 1.5})
    strategy = build("performance_based", {"performance_share": 0.8})
    weights = strategy.weights(DEFAULT_WEIGHTS)
    assert weights["performance"] / sum(weights.values()) == pytest.approx(0.8)
    # and through the service: invalid parameters are a 400 naming them; valid ones are recorded
    retire_seed_roster()
    SkillDomainFactory(code="billing")
    routable_agent(skills={"billing": "advanced"})
    with pytest.raises(RoutingValidationError) as refused:
        case_route(
            request=CaseRequest(
                case_id="P-0",
                priority="low",
                complexity="low",
                required_skills=["billing"],
                strategy="skill_based",
                strategy_parameters={"weights": {"skill": -1}},
            )
        )
    assert "strategy_parameters" in refused.value.fields
    outcome = case_route(
        request=CaseRequest(
            case_id="P-1",
            priority="low",
            complexity="low",
            required_skills=["billing"],
            strategy="performance_based",
            strategy_parameters={"performance_share": 0.8},
        )
    )
    assert (outcome.decision.strategy, outcome.decision.strategy_parameters) == (
        "performance_based",
        {"performance_share": 0.8},
    )


def test_a_waiting_case_keeps_its_strategy_and_parameters_for_its_dispatch():
    retire_seed_roster()
    SkillDomainFactory(code="billing")
    queued = case_route(
        request=CaseRequest(
            case_id="Q-1",
            priority="low",
            complexity="low",
            required_skills=["billing"],
            strategy="skill_based",
            strategy_parameters={"weights": {"skill": 1.0}},
        )
    )
    entry = EscalationQueueEntry.objects.get(pk=queued.queue_entry.pk)
    assert (entry.routing_strategy, entry.strategy_parameters) == ("skill_based", {"weights": {"skill": 1.0}})
    agent = routable_agent(skills={"billing": "advanced"})
    from routing.services import queue_dispatch_for_agent

    [assignment] = queue_dispatch_for_agent(agent_id=agent.pk, now=timezone.now())
    decision = RoutingDecision.objects.get(assignment=assignment)
    assert decision.strategy_parameters == {"weights": {"skill": 1.0}}


# --- seed 001: specializations unique per (agent, insurance line, customer segment) --------------------


def test_an_agent_may_hold_one_line_in_two_segments_under_one_name(supervisor_client):
    retire_seed_roster()
    agent = routable_agent()
    rows = [
        {"specialization": "auto", "insurance_line": "auto", "customer_segment": "smb", "proficiency": 4},
        {
            "specialization": "auto",
            "insurance_line": "auto",
            "customer_segment": "enterprise",
            "proficiency": 2,
        },
    ]
    response = supervisor_client.patch(
        f"/api/v1/agents/{agent.code}/", {"specializations": rows}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert sorted(row["customer_segment"] for row in response.json()["specializations"]) == [
        "enterprise",
        "smb",
    ]
    # the same line and segment twice is still refused, naming the rows
    twice = [rows[0], {**rows[0], "specialization": "auto again"}]
    response = supervisor_client.patch(
        f"/api/v1/agents/{agent.code}/", {"specializations": twice}, format="json"
    )
    assert response.status_code == 400 and "specializations" in response.json()["fields"]
