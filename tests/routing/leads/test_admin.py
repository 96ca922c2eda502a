"""The lead routing admin: pages render, the rule test form shows what fires, the experiment formset
refuses allocations not totalling 100, the results page shows its table and an SVG chart, the actions
call the services, and the changelists' query counts do not grow with the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from routing.models import ExperimentStatus, RoutingExperiment, RoutingRule
from routing.services.experiments import experiment_update
from tests.factories.agents import HumanAgentFactory
from tests.factories.leads import (
    AssignmentQueueFactory,
    LeadExperimentAssignmentFactory,
    LeadFactory,
    LeadRoutingHistoryFactory,
    RoutingExperimentFactory,
    RoutingExperimentVariantFactory,
    RoutingRuleFactory,
)

pytestmark = pytest.mark.django_db

LEADS = reverse("admin:routing_lead_changelist")
RULES = reverse("admin:routing_routingrule_changelist")
EXPERIMENTS = reverse("admin:routing_routingexperiment_changelist")
QUEUE = reverse("admin:routing_assignmentqueue_changelist")
HISTORY = reverse("admin:routing_leadroutinghistory_changelist")


@pytest.fixture
def staff(client: Client, django_user_model: type[User]) -> Client:
    user = django_user_model.objects.create_superuser("boss", "boss@example.com", "correct-horse-battery")
    client.force_login(user)
    return client


@pytest.fixture
def analyst(client: Client, analyst_user: User) -> Client:
    client.force_login(analyst_user)
    return client


def page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def experiment_with_variants(**kwargs: Any) -> RoutingExperiment:
    experiment = RoutingExperimentFactory(**kwargs)
    RoutingExperimentVariantFactory(experiment=experiment, name="control", is_control=True, position=0)
    RoutingExperimentVariantFactory(experiment=experiment, name="challenger", position=1)
    return experiment


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# --- leads ---------------------------------------------------------------------------------------------


def test_lead_changelist_filters_by_tier_and_waiting_queue(staff: Client) -> None:
    # given
    hot = LeadFactory(external_id="L-HOT", tier="hot", score=Decimal("80"))
    LeadFactory(external_id="L-COLD", tier="cold", score=Decimal("10"))
    AssignmentQueueFactory(lead=LeadFactory(external_id="L-WAIT", tier="warm"), queue_type="active")
    # when / then
    assert "L-HOT" in page(staff.get(LEADS))
    by_tier = page(staff.get(LEADS, {"tier": "hot"}))
    assert "L-HOT" in by_tier and "L-COLD" not in by_tier
    waiting = page(staff.get(LEADS, {"queue": "active"}))
    assert "L-WAIT" in waiting and "L-HOT" not in waiting
    assert "L-HOT" in page(staff.get(LEADS, {"q": "L-HOT"}))
    assert hot.pk


def test_lead_page_shows_the_score_breakdown_as_a_table(staff: Client) -> None:
    lead = LeadFactory(
        score=Decimal("72.5"),
        tier="hot",
        score_breakdown={"engagement": {"value": 0.9, "weight": 0.3, "points": 27.0}},
    )
    html = page(staff.get(reverse("admin:routing_lead_change", args=[lead.pk])))
    assert "score breakdown" in html.lower()
    assert "<td>engagement</td>" in html and "<td>27.00</td>" in html


def test_analyst_sees_the_lead_pages(analyst: Client) -> None:
    lead = LeadFactory()
    assert page(analyst.get(LEADS))
    assert page(analyst.get(reverse("admin:routing_lead_change", args=[lead.pk])))


# --- rules ---------------------------------------------------------------------------------------------


def test_rules_are_listed_in_priority_order(staff: Client) -> None:
    RoutingRule.objects.all().delete()
    RoutingRuleFactory(name="low one", priority=10)
    RoutingRuleFactory(name="high one", priority=500)
    html = page(staff.get(RULES))
    assert html.index("high one") < html.index("low one")
    assert "Test the active rules" in html


def test_rule_form_refuses_an_invalid_condition_naming_its_path(staff: Client) -> None:
    response = staff.post(
        reverse("admin:routing_routingrule_add"),
        {
            "name": "bad rule",
            "rule_type": "assign_to_queue",
            "condition": '{"all": [{"field": "score", "op": "gte", "value": "high"}]}',
            "action": '{"queue_type": "hot"}',
            "priority": 100,
            "is_active": "on",
        },
    )
    html = page(response)
    assert "condition.all[0].value" in html
    assert not RoutingRule.objects.filter(name="bad rule").exists()


def test_rule_form_saves_a_valid_rule(staff: Client) -> None:
    response = staff.post(
        reverse("admin:routing_routingrule_add"),
        {
            "name": "enterprise first",
            "rule_type": "set_priority",
            "condition": '{"field": "customer_segment", "op": "eq", "value": "enterprise"}',
            "action": '{"boost": 15}',
            "priority": 100,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert RoutingRule.objects.get(name="enterprise first").action == {"boost": 15}


def test_rule_test_form_shows_what_fires_for_typed_attributes(staff: Client) -> None:
    # given
    RoutingRule.objects.all().delete()
    rule = RoutingRuleFactory(name="hot to hot queue", priority=200)
    RoutingRuleFactory(
        name="enterprise boost",
        rule_type="set_priority",
        condition={"field": "customer_segment", "op": "eq", "value": "enterprise"},
        action={"boost": 10},
        priority=100,
    )
    url = reverse("admin:routing_routingrule_test", args=[rule.pk])
    # when
    fires = page(staff.get(url, {"tier": "hot", "customer_segment": "enterprise"}))
    quiet = page(staff.get(url, {"tier": "cold"}))
    # then
    assert "This rule fires for the sample." in fires
    assert "put the lead in the hot queue" in fires and "boost the lead&#x27;s priority by 10" in fires
    assert "This rule does not fire for the sample." in quiet
    assert "No active rule fires" in quiet


def test_rule_test_form_takes_a_sample_lead_and_an_inactive_rule(staff: Client) -> None:
    RoutingRule.objects.all().delete()
    rule = RoutingRuleFactory(
        name="auto only",
        condition={"field": "insurance_line", "op": "eq", "value": "auto"},
        is_active=False,
    )
    LeadFactory(external_id="L-SAMPLE", insurance_line="auto")
    html = page(staff.get(reverse("admin:routing_routingrule_test", args=[rule.pk]), {"lead": "L-SAMPLE"}))
    assert "tested as if it were active" in html
    assert "This rule fires for the sample." in html
    missing = page(staff.get(reverse("admin:routing_routingrule_test_all"), {"lead": "NOPE"}))
    assert "No lead has the external id NOPE." in missing
    assert RoutingRule.objects.count() == 1  # nothing written


# --- experiments ---------------------------------------------------------------------------------------


def _experiment_post(variants: list[tuple[str, str, bool]], **values: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "new strategy",
        "description": "",
        "success_metric": "conversion",
        "guardrail_metrics": "[]",
        "variants-TOTAL_FORMS": str(len(variants)),
        "variants-INITIAL_FORMS": "0",
        "variants-MIN_NUM_FORMS": "2",
        "variants-MAX_NUM_FORMS": "1000",
        **values,
    }
    for index, (name, allocation, control) in enumerate(variants):
        data.update(
            {
                f"variants-{index}-position": str(index),
                f"variants-{index}-name": name,
                f"variants-{index}-strategy": "lead_fit",
                f"variants-{index}-parameters": "{}",
                f"variants-{index}-allocation": allocation,
            }
        )
        if control:
            data[f"variants-{index}-is_control"] = "on"
    return data


def test_variant_formset_refuses_allocations_not_totalling_100(staff: Client) -> None:
    response = staff.post(
        reverse("admin:routing_routingexperiment_add"),
        _experiment_post([("control", "60", True), ("challenger", "30", False)]),
    )
    html = page(response)
    assert "Allocations total 90 %, not 100 %." in html
    assert not RoutingExperiment.objects.filter(name="new strategy").exists()


def test_variant_formset_refuses_two_controls(staff: Client) -> None:
    response = staff.post(
        reverse("admin:routing_routingexperiment_add"),
        _experiment_post([("control", "50", True), ("challenger", "50", True)]),
    )
    assert "Exactly one variant must be the control (there are 2)." in page(response)


def test_experiment_is_created_with_its_variants(staff: Client) -> None:
    response = staff.post(
        reverse("admin:routing_routingexperiment_add"),
        _experiment_post([("control", "50", True), ("challenger", "50", False)]),
    )
    assert response.status_code == 302
    experiment = RoutingExperiment.objects.get(name="new strategy")
    assert experiment.status == ExperimentStatus.DRAFT
    assert sorted(experiment.variants.values_list("name", "is_control")) == [
        ("challenger", False),
        ("control", True),
    ]


def test_editing_a_draft_rewrites_its_variants_through_the_service(staff: Client) -> None:
    experiment = experiment_with_variants(name="draft A")
    control, challenger = experiment.variants.order_by("position")
    data = _experiment_post([("control", "30", False), ("challenger", "70", True)], name="draft A")
    data.update(
        {"variants-INITIAL_FORMS": "2", "variants-0-id": str(control.pk), "variants-1-id": str(challenger.pk)}
    )
    data.update({"variants-0-experiment": str(experiment.pk), "variants-1-experiment": str(experiment.pk)})

    with mock.patch("routing.admin_leads.experiment_update", wraps=experiment_update) as update:
        response = staff.post(reverse("admin:routing_routingexperiment_change", args=[experiment.pk]), data)

    assert response.status_code == 302, page(response)
    assert update.call_count == 1
    assert sorted(experiment.variants.values_list("name", "allocation", "is_control")) == [
        ("challenger", Decimal("70.00"), True),
        ("control", Decimal("30.00"), False),
    ]
    assert "Changed" in LogEntry.objects.get(object_id=str(experiment.pk)).get_change_message()


def test_experiment_actions_start_pause_and_complete_through_the_services(staff: Client) -> None:
    experiment = experiment_with_variants(name="exp A")

    def act(action: str) -> None:
        staff.post(EXPERIMENTS, {"action": action, ACTION_CHECKBOX_NAME: [str(experiment.pk)]})
        experiment.refresh_from_db()

    act("start_experiments")
    assert experiment.status == ExperimentStatus.RUNNING and experiment.start_at is not None
    act("pause_experiments")
    assert experiment.status == ExperimentStatus.PAUSED
    act("complete_experiments")
    assert experiment.status == ExperimentStatus.COMPLETED
    response = staff.post(
        EXPERIMENTS, {"action": "pause_experiments", ACTION_CHECKBOX_NAME: [str(experiment.pk)]}, follow=True
    )
    assert "cannot pause while completed" in page(response)


def test_running_experiment_shows_its_variants_read_only(staff: Client) -> None:
    experiment = experiment_with_variants(status=ExperimentStatus.RUNNING, start_at=timezone.now())
    html = page(staff.get(reverse("admin:routing_routingexperiment_change", args=[experiment.pk])))
    assert 'name="variants-0-allocation"' not in html
    assert "challenger" in html


def test_results_page_shows_the_table_and_an_svg_chart(staff: Client) -> None:
    # given: 30 leads per variant, 6 vs 12 converted
    experiment = experiment_with_variants(status=ExperimentStatus.RUNNING, start_at=timezone.now())
    control, challenger = experiment.variants.order_by("position")
    for variant, converted in ((control, 6), (challenger, 12)):
        for index in range(30):
            lead = LeadFactory(status="converted" if index < converted else "lost")
            LeadExperimentAssignmentFactory(lead=lead, variant=variant, experiment=experiment)
    # when
    html = page(staff.get(reverse("admin:routing_routingexperiment_results", args=[experiment.pk])))
    # then
    assert 'id="experiment-results"' in html
    assert "20.00 %" in html and "40.00 %" in html  # the two rates
    assert "+20.00 pp" in html  # the absolute lift
    assert "<svg" in html and "<circle" in html
    assert "Sample ratio check passed" in html


def test_results_page_warns_of_a_sample_ratio_mismatch(staff: Client) -> None:
    experiment = experiment_with_variants(status=ExperimentStatus.RUNNING, start_at=timezone.now())
    control, challenger = experiment.variants.order_by("position")
    for variant, count in ((control, 60), (challenger, 10)):
        for _ in range(count):
            LeadExperimentAssignmentFactory(lead=LeadFactory(), variant=variant, experiment=experiment)
    html = page(staff.get(reverse("admin:routing_routingexperiment_results", args=[experiment.pk])))
    assert 'id="srm-warning"' in html


def test_results_page_of_an_experiment_without_leads_renders(staff: Client) -> None:
    experiment = experiment_with_variants()
    html = page(staff.get(reverse("admin:routing_routingexperiment_results", args=[experiment.pk])))
    assert "nothing to chart" in html


# --- the assignment queue and the history ---------------------------------------------------------------


def test_queue_lists_one_type_in_serving_order_with_breaches_highlighted(staff: Client) -> None:
    now = timezone.now()
    AssignmentQueueFactory(
        queue_type="hot",
        lead_score=Decimal("60"),
        lead=LeadFactory(external_id="L-SECOND", status="queued"),
        queued_at=now - dt.timedelta(minutes=2),
    )
    AssignmentQueueFactory(
        queue_type="hot",
        lead_score=Decimal("90"),
        lead=LeadFactory(external_id="L-FIRST", status="queued"),
        queued_at=now - dt.timedelta(minutes=20),
        sla_expiry=now - dt.timedelta(minutes=15),
    )
    AssignmentQueueFactory(queue_type="nurture", lead=LeadFactory(external_id="L-NURTURE", status="queued"))
    html = page(staff.get(QUEUE))
    assert html.index("L-FIRST") < html.index("L-SECOND")
    assert "L-NURTURE" not in html
    assert html.count("sla-breached") == 1
    assert "L-NURTURE" in page(staff.get(QUEUE, {"queue_type": "nurture"}))


def test_history_page_shows_the_breakdown_per_candidate_and_factor(staff: Client) -> None:
    agent = HumanAgentFactory(code="A-WIN")
    experiment = experiment_with_variants(name="exp B")
    variant = experiment.variants.get(name="challenger")
    history = LeadRoutingHistoryFactory(
        assigned_agent=agent,
        experiment=experiment,
        variant=variant,
        assignment_reasons=[
            {"rule": "hot leads", "rule_type": "assign_to_queue"},
            {"experiment": "exp B", "variant": "challenger"},
        ],
        assignment_factors=[
            {"agent_id": agent.pk, "agent_code": "A-WIN", "total": 0.81, "factors": {"specialization": 0.9}},
            {"agent_id": 999999, "agent_code": "A-LOSE", "total": 0.4, "factors": {"specialization": 0.2}},
        ],
    )
    html = page(staff.get(reverse("admin:routing_leadroutinghistory_change", args=[history.pk])))
    assert "A-WIN ★ assigned" in html and "A-LOSE" in html
    assert "<th>specialization</th>" in html
    assert "rule “hot leads” fired" in html
    assert "variant “challenger”" in html
    listing = page(staff.get(HISTORY))
    assert "exp B" in listing and "challenger" in listing


# --- query counts ---------------------------------------------------------------------------------------


def _leads(count: int) -> None:
    for _ in range(count):
        LeadFactory(agent=HumanAgentFactory(), status="assigned", tier="hot", score=Decimal("75"))


def _rules(count: int) -> None:
    RoutingRuleFactory.create_batch(count)


def _experiments(count: int) -> None:
    for _ in range(count):
        experiment_with_variants()


def _queue(count: int) -> None:
    AssignmentQueueFactory.create_batch(count, queue_type="hot")


def _history(count: int) -> None:
    experiment = experiment_with_variants()
    variant = experiment.variants.first()
    for _ in range(count):
        LeadRoutingHistoryFactory(experiment=experiment, variant=variant)


@pytest.mark.parametrize(
    ("url", "make"),
    [
        (LEADS, _leads),
        (RULES, _rules),
        (EXPERIMENTS, _experiments),
        (QUEUE, _queue),
        (HISTORY, _history),
    ],
    ids=["leads", "rules", "experiments", "queue", "history"],
)
def test_changelist_query_count_does_not_grow_with_rows(staff: Client, url: str, make: Any) -> None:
    make(2)
    few = queries_for(staff, url)
    make(18)
    assert queries_for(staff, url) == few
