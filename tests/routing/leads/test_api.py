"""The lead routing API: leads, the assignment queue, rules and experiments over HTTP."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from routing.models import Lead, RoutingExperiment, RoutingRule
from routing.services.leads import lead_create, lead_record_outcome, lead_route
from tests.factories.leads import (
    AssignmentQueueFactory,
    LeadExperimentAssignmentFactory,
    LeadFactory,
    RoutingExperimentFactory,
    RoutingExperimentVariantFactory,
    RoutingRuleFactory,
    licensed_agent,
)

pytestmark = pytest.mark.usefixtures("lead_floor")

BASE = "/api/v1/routing"


def lead_body(**overrides: Any) -> dict[str, Any]:
    return {
        "external_id": "CRM-1",
        "name": "Ada Customer",
        "phone": "+15551230000",
        "email": "ada@example.com",
        "insurance_line": "auto",
        "customer_segment": "smb",
        "language": "en",
        "territory": "US-CA",
        "source": "inbound_call",
        "quote_requested": True,
        "callback_requested": True,
        **overrides,
    }


def experiment_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "lead fit vs skill",
        "variants": [
            {"name": "control", "strategy": "lead_fit", "allocation": 50, "is_control": True},
            {"name": "treatment", "strategy": "skill_based", "allocation": 50},
        ],
        **overrides,
    }


def new_lead(**overrides: Any) -> Lead:
    values = lead_body(**overrides)
    values.pop("phone"), values.pop("email")
    return lead_create(**values)


@pytest.fixture
def nobody_client(db) -> APIClient:
    """An authenticated staff user with no permission at all."""
    user = User.objects.create_user("nobody", "nobody@example.com", "correct-horse-battery", is_staff=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def queries_of(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


# --- leads ---------------------------------------------------------------------------------------------


def test_creating_a_lead_scores_it_and_answers_201(supervisor_client: APIClient):
    response = supervisor_client.post(f"{BASE}/leads/", lead_body(), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "new" and body["tier"] in {"hot", "warm", "cold"}
    assert 0 <= body["score"] <= 100 and body["score_breakdown"]
    assert body["agent"] is None
    assert Lead.objects.get(external_id="CRM-1").score is not None


def test_a_duplicate_external_id_is_409_unique(supervisor_client: APIClient):
    new_lead()

    response = supervisor_client.post(f"{BASE}/leads/", lead_body(), format="json")

    assert response.status_code == 409
    body = response.json()
    assert set(body) == {"detail", "code", "fields"}
    assert body["code"] == "unique" and "external_id" in body["fields"]


def test_an_unknown_key_is_400_naming_it(supervisor_client: APIClient):
    response = supervisor_client.post(f"{BASE}/leads/", lead_body(prority="high"), format="json")

    assert response.status_code == 400
    assert response.json()["fields"]["prority"][0].startswith("Unknown field")


def test_a_read_only_key_is_400_naming_it(supervisor_client: APIClient):
    response = supervisor_client.post(f"{BASE}/leads/", lead_body(status="converted"), format="json")

    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_the_lead_detail_has_score_breakdown_status_and_agent(supervisor_client: APIClient):
    agent = licensed_agent()
    lead = new_lead()
    lead_route(lead_id=lead.pk)

    body = supervisor_client.get(f"{BASE}/leads/{lead.pk}/").json()

    assert body["status"] == "assigned" and body["agent"]["code"] == agent.code
    assert body["score_breakdown"] and body["tier"]


def test_an_unknown_lead_is_a_404_in_the_error_shape(supervisor_client: APIClient):
    response = supervisor_client.get(f"{BASE}/leads/00000000-0000-0000-0000-000000000000/")

    assert response.status_code == 404
    assert response.json()["code"] == "lead_not_found"


def test_the_lead_list_filters_by_status_tier_line_and_segment(supervisor_client: APIClient):
    LeadFactory(insurance_line="auto", customer_segment="smb", tier="hot")
    LeadFactory(insurance_line="home", customer_segment="enterprise", tier="cold")
    LeadFactory(insurance_line="home", customer_segment="smb", tier="cold", status="queued")

    def ids(**params: str) -> int:
        response = supervisor_client.get(f"{BASE}/leads/", params)
        assert response.status_code == 200, response.json()
        return response.json()["count"]

    assert ids() == 3
    assert ids(insurance_line="home") == 2
    assert ids(customer_segment="enterprise") == 1
    assert ids(tier="cold", status="queued") == 1


def test_an_unknown_status_filter_is_400_naming_it(supervisor_client: APIClient):
    response = supervisor_client.get(f"{BASE}/leads/", {"status": "pending"})

    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_the_lead_list_query_count_does_not_grow_with_the_leads(
    supervisor_client: APIClient, django_assert_num_queries
):
    agent = licensed_agent()
    LeadFactory.create_batch(2, status="assigned", agent=agent)
    baseline = queries_of(supervisor_client, f"{BASE}/leads/")
    LeadFactory.create_batch(18, status="assigned", agent=agent)

    with django_assert_num_queries(baseline):
        assert len(supervisor_client.get(f"{BASE}/leads/").json()["results"]) == 20


def test_routing_a_lead_to_an_agent_answers_200_with_the_decision(supervisor_client: APIClient):
    agent = licensed_agent(proficiency=5)
    lead = new_lead()

    response = supervisor_client.post(f"{BASE}/leads/{lead.pk}/route/")

    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["agent"]["code"] == agent.code
    assert body["lead"]["status"] == "assigned"
    assert body["decision"]["outcome"] == "assigned"
    assert body["decision"]["candidates"][0]["agent_code"] == agent.code
    assert "specialization" in body["decision"]["candidates"][0]["factors"]
    assert body["routing"]["agent"]["code"] == agent.code
    assert isinstance(body["rules_fired"], list)


def test_routing_a_lead_nobody_can_take_answers_202_with_its_queue(supervisor_client: APIClient):
    licensed_agent(line="home")
    lead = new_lead()

    response = supervisor_client.post(f"{BASE}/leads/{lead.pk}/route/")

    assert response.status_code == 202, response.json()
    entry = response.json()["queue_entry"]
    assert entry["queue_type"] == "hot" and entry["position"] == 1
    assert entry["sla_expiry"] and entry["sla_breached"] is False
    assert response.json()["decision"]["outcome"] != "assigned"


def test_routing_an_assigned_lead_again_is_409(supervisor_client: APIClient):
    licensed_agent()
    lead = new_lead()
    lead_route(lead_id=lead.pk)

    response = supervisor_client.post(f"{BASE}/leads/{lead.pk}/route/")

    assert response.status_code == 409
    assert response.json()["code"] == "lead_not_routable"


def test_outcomes_move_the_lead_and_a_wrong_order_is_409(supervisor_client: APIClient):
    licensed_agent()
    lead = new_lead()
    lead_route(lead_id=lead.pk)
    url = f"{BASE}/leads/{lead.pk}/outcome/"

    assert (
        supervisor_client.post(url, {"outcome": "contacted"}, format="json").json()["status"] == "contacted"
    )
    assert (
        supervisor_client.post(url, {"outcome": "converted"}, format="json").json()["status"] == "converted"
    )
    again = supervisor_client.post(url, {"outcome": "contacted"}, format="json")

    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"


def test_an_unknown_outcome_is_400_naming_the_field(supervisor_client: APIClient):
    lead = new_lead()

    response = supervisor_client.post(f"{BASE}/leads/{lead.pk}/outcome/", {"outcome": "won"}, format="json")

    assert response.status_code == 400 and "outcome" in response.json()["fields"]


def test_the_events_and_the_history_are_the_leads_audit_trail(supervisor_client: APIClient):
    agent = licensed_agent()
    lead = new_lead()
    lead_route(lead_id=lead.pk)
    lead_record_outcome(lead_id=lead.pk, outcome="converted")

    events = supervisor_client.get(f"{BASE}/leads/{lead.pk}/events/").json()["results"]
    history = supervisor_client.get(f"{BASE}/leads/{lead.pk}/history/").json()["results"]

    assert {"scored", "routed", "converted"} <= {event["event_type"] for event in events}
    assert events[0]["event_type"] == "converted"  # newest first
    assert len(history) == 1 and history[0]["agent"]["code"] == agent.code
    assert history[0]["conversion_outcome"] == "converted"
    assert history[0]["assignment_factors"][0]["agent_code"] == agent.code


def test_the_events_of_an_unknown_lead_are_404(supervisor_client: APIClient):
    response = supervisor_client.get(f"{BASE}/leads/00000000-0000-0000-0000-000000000000/events/")

    assert response.status_code == 404


# --- the assignment queue ---------------------------------------------------------------------------------


def test_the_assignment_queue_is_in_serving_order_with_positions_and_breaches(supervisor_client: APIClient):
    now = timezone.now()
    low = AssignmentQueueFactory(queue_type="hot", lead_score=Decimal("60"), queued_at=now)
    high = AssignmentQueueFactory(
        queue_type="hot",
        lead_score=Decimal("90"),
        queued_at=now - dt.timedelta(minutes=10),
        sla_expiry=now - dt.timedelta(minutes=5),
    )
    AssignmentQueueFactory(queue_type="active")

    response = supervisor_client.get(f"{BASE}/assignment-queue/", {"queue_type": "hot"})

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [str(high.pk), str(low.pk)]
    assert [row["position"] for row in rows] == [1, 2]
    assert [row["sla_breached"] for row in rows] == [True, False]


def test_an_unknown_queue_type_is_400_naming_the_value(supervisor_client: APIClient):
    response = supervisor_client.get(f"{BASE}/assignment-queue/", {"queue_type": "lukewarm"})

    assert response.status_code == 400
    assert "lukewarm" in response.json()["fields"]["queue_type"][0]


def test_the_queue_query_count_does_not_grow_with_the_entries(
    supervisor_client: APIClient, django_assert_num_queries
):
    AssignmentQueueFactory.create_batch(2, queue_type="hot")
    baseline = queries_of(supervisor_client, f"{BASE}/assignment-queue/?queue_type=hot")
    AssignmentQueueFactory.create_batch(18, queue_type="hot")

    with django_assert_num_queries(baseline):
        response = supervisor_client.get(f"{BASE}/assignment-queue/?queue_type=hot")
    assert len(response.json()["results"]) == 20


# --- rules -----------------------------------------------------------------------------------------------


def rule_body(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "big auto to the hot queue",
        "rule_type": "assign_to_queue",
        "condition": {
            "all": [
                {"field": "insurance_line", "op": "eq", "value": "auto"},
                {"field": "estimated_premium", "op": "gte", "value": 1000},
            ]
        },
        "action": {"queue_type": "hot", "sla_minutes": 3},
        "priority": 500,
        **overrides,
    }


def test_rules_are_created_read_changed_and_deleted(supervisor_client: APIClient):
    created = supervisor_client.post(f"{BASE}/rules/", rule_body(), format="json")
    assert created.status_code == 201, created.json()
    url = f"{BASE}/rules/{created.json()['id']}/"

    assert supervisor_client.get(url).json()["priority"] == 500
    changed = supervisor_client.patch(url, {"is_active": False}, format="json")
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    replaced = supervisor_client.put(url, rule_body(priority=10), format="json")
    assert replaced.status_code == 200 and replaced.json()["priority"] == 10

    assert supervisor_client.delete(url).status_code == 204
    assert supervisor_client.get(url).status_code == 404


def test_a_bad_rule_condition_is_400_with_the_path_of_the_bad_part(supervisor_client: APIClient):
    body = rule_body(
        condition={
            "all": [
                {"field": "insurance_line", "op": "eq", "value": "auto"},
                {"field": "estimated_premium", "op": "gte", "value": "a lot"},
            ]
        }
    )

    response = supervisor_client.post(f"{BASE}/rules/", body, format="json")

    assert response.status_code == 400
    message = response.json()["fields"]["condition"][0]
    assert message.startswith("condition.all[1].value:")


def test_a_bad_rule_action_is_400_naming_action(supervisor_client: APIClient):
    response = supervisor_client.post(
        f"{BASE}/rules/", rule_body(action={"queue_type": "lukewarm"}), format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["action"][0].startswith("action.queue_type:")


def test_a_patch_is_validated_against_the_whole_rule(supervisor_client: APIClient):
    rule = RoutingRuleFactory(rule_type="assign_to_queue", action={"queue_type": "hot"})

    response = supervisor_client.patch(
        f"{BASE}/rules/{rule.pk}/", {"rule_type": "set_priority"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["action"][0].startswith("action.queue_type:")
    assert RoutingRule.objects.get(pk=rule.pk).rule_type == "assign_to_queue"


def test_a_rule_name_taken_is_409(supervisor_client: APIClient):
    RoutingRuleFactory(name="big auto to the hot queue")

    response = supervisor_client.post(f"{BASE}/rules/", rule_body(), format="json")

    assert response.status_code == 409 and response.json()["code"] == "unique"


def test_testing_a_rule_against_a_lead_says_whether_it_fires(supervisor_client: APIClient):
    rule = RoutingRuleFactory(
        condition={"field": "insurance_line", "op": "eq", "value": "auto"}, is_active=False
    )
    auto, home = new_lead(), new_lead(external_id="CRM-2", insurance_line="home")
    url = f"{BASE}/rules/{rule.pk}/test/"

    fires = supervisor_client.post(url, {"lead_id": str(auto.pk)}, format="json").json()
    quiet = supervisor_client.post(url, {"lead_id": str(home.pk)}, format="json").json()

    assert fires["matches"] is True and fires["fired"]["action"] == {"queue_type": "hot"}
    assert quiet["matches"] is False and quiet["fired"] is None
    assert quiet["facts"]["insurance_line"] == "home"


def test_the_rule_list_query_count_does_not_grow(supervisor_client: APIClient, django_assert_num_queries):
    RoutingRuleFactory.create_batch(2)
    baseline = queries_of(supervisor_client, f"{BASE}/rules/")
    RoutingRuleFactory.create_batch(18)

    with django_assert_num_queries(baseline):
        supervisor_client.get(f"{BASE}/rules/")


# --- experiments -----------------------------------------------------------------------------------------


def test_an_experiment_is_created_started_paused_and_completed(supervisor_client: APIClient):
    created = supervisor_client.post(f"{BASE}/experiments/", experiment_body(), format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "draft" and [v["allocation"] for v in body["variants"]] == [50.0, 50.0]
    url = f"{BASE}/experiments/{body['id']}"

    assert supervisor_client.post(f"{url}/start/").json()["status"] == "running"
    assert supervisor_client.post(f"{url}/pause/").json()["status"] == "paused"
    assert supervisor_client.post(f"{url}/complete/").json()["status"] == "completed"
    again = supervisor_client.post(f"{url}/start/")
    assert again.status_code == 409 and again.json()["code"] == "experiment_conflict"


def test_allocations_not_totalling_100_are_400_naming_variants(supervisor_client: APIClient):
    body = experiment_body()
    body["variants"][1]["allocation"] = 40

    response = supervisor_client.post(f"{BASE}/experiments/", body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_experiment"
    assert "variants" in response.json()["fields"]
    assert not RoutingExperiment.objects.filter(name=body["name"]).exists()


def test_two_controls_are_400(supervisor_client: APIClient):
    body = experiment_body()
    body["variants"][1]["is_control"] = True

    response = supervisor_client.post(f"{BASE}/experiments/", body, format="json")

    assert response.status_code == 400 and "variants" in response.json()["fields"]


def test_a_running_experiment_refuses_a_reshuffling_edit_with_409(supervisor_client: APIClient):
    created = supervisor_client.post(f"{BASE}/experiments/", experiment_body(), format="json").json()
    url = f"{BASE}/experiments/{created['id']}/"
    supervisor_client.post(f"{url}start/")
    reshuffled = experiment_body()
    reshuffled["variants"][0]["allocation"], reshuffled["variants"][1]["allocation"] = 70, 30

    response = supervisor_client.patch(url, {"variants": reshuffled["variants"]}, format="json")
    renamed = supervisor_client.patch(url, {"description": "still fine"}, format="json")

    assert response.status_code == 409 and response.json()["code"] == "experiment_conflict"
    assert renamed.status_code == 200 and renamed.json()["description"] == "still fine"


def test_only_a_draft_experiment_is_deleted(supervisor_client: APIClient):
    draft = supervisor_client.post(f"{BASE}/experiments/", experiment_body(), format="json").json()
    running = supervisor_client.post(
        f"{BASE}/experiments/", experiment_body(name="other"), format="json"
    ).json()
    supervisor_client.post(f"{BASE}/experiments/{running['id']}/start/")

    assert supervisor_client.delete(f"{BASE}/experiments/{draft['id']}/").status_code == 204
    assert supervisor_client.delete(f"{BASE}/experiments/{running['id']}/").status_code == 409


def test_experiment_results_give_rates_lifts_intervals_p_value_and_srm(supervisor_client: APIClient):
    experiment = RoutingExperimentFactory(status="running", start_at=timezone.now())
    control = RoutingExperimentVariantFactory(
        experiment=experiment, name="control", is_control=True, position=0
    )
    treatment = RoutingExperimentVariantFactory(experiment=experiment, name="treatment", position=1)
    for variant, converted in ((control, 2), (treatment, 6)):
        for index in range(10):
            lead = LeadFactory(status="converted" if index < converted else "lost", agent=licensed_agent())
            LeadExperimentAssignmentFactory(lead=lead, variant=variant)

    response = supervisor_client.get(f"{BASE}/experiments/{experiment.pk}/results/")

    assert response.status_code == 200, response.json()
    body = response.json()
    by_name = {variant["name"]: variant for variant in body["variants"]}
    assert body["total_units"] == 20
    assert by_name["control"]["rate"] == pytest.approx(0.2) and by_name["control"]["absolute_lift"] is None
    treated = by_name["treatment"]
    assert treated["units"] == 10 and treated["conversions"] == 6
    assert treated["absolute_lift"] == pytest.approx(0.4)
    assert treated["relative_lift"] == pytest.approx(2.0)
    assert treated["absolute_lift_ci"]["low"] < 0.4 < treated["absolute_lift_ci"]["high"]
    assert 0 < treated["p_value"] < 1
    assert body["sample_ratio_mismatch"]["judged"] is True
    assert body["sample_ratio_mismatch"]["mismatch"] is False


def test_the_experiment_list_query_count_does_not_grow(
    supervisor_client: APIClient, django_assert_num_queries
):
    def add(count: int) -> None:
        for _ in range(count):  # exactly one control each (a deferred constraint on PostgreSQL)
            experiment = RoutingExperimentFactory()
            RoutingExperimentVariantFactory(experiment=experiment, is_control=True, position=0)
            RoutingExperimentVariantFactory(experiment=experiment, position=1)

    add(2)
    baseline = queries_of(supervisor_client, f"{BASE}/experiments/")
    add(18)

    with django_assert_num_queries(baseline):
        assert len(supervisor_client.get(f"{BASE}/experiments/").json()["results"]) == 20


def test_an_unknown_experiment_is_404(supervisor_client: APIClient):
    response = supervisor_client.get(f"{BASE}/experiments/00000000-0000-0000-0000-000000000000/results/")

    assert response.status_code == 404 and response.json()["code"] == "experiment_not_found"


# --- permissions ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/leads/"),
        ("post", "/leads/"),
        ("get", "/leads/{lead}/"),
        ("post", "/leads/{lead}/route/"),
        ("post", "/leads/{lead}/outcome/"),
        ("get", "/leads/{lead}/events/"),
        ("get", "/leads/{lead}/history/"),
        ("get", "/assignment-queue/"),
        ("get", "/rules/"),
        ("post", "/rules/"),
        ("post", "/rules/{rule}/test/"),
        ("delete", "/rules/{rule}/"),
        ("get", "/experiments/"),
        ("post", "/experiments/{experiment}/start/"),
        ("get", "/experiments/{experiment}/results/"),
    ],
)
def test_a_user_without_the_model_permission_gets_403(nobody_client: APIClient, method: str, path: str):
    ids = {
        "lead": LeadFactory().pk,
        "rule": RoutingRuleFactory().pk,
        "experiment": RoutingExperimentFactory().pk,
    }

    response = getattr(nobody_client, method)(BASE + path.format(**ids), {}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_an_analyst_may_read_but_not_write(analyst_client: APIClient):
    lead = new_lead()

    assert analyst_client.get(f"{BASE}/leads/{lead.pk}/").status_code == 200
    assert analyst_client.post(f"{BASE}/leads/{lead.pk}/route/").status_code == 403
    assert analyst_client.post(f"{BASE}/rules/", rule_body(), format="json").status_code == 403


def test_an_anonymous_request_is_401(api_client: APIClient):
    assert api_client.get(f"{BASE}/leads/").status_code == 401


def test_the_events_and_history_query_counts_do_not_grow(
    supervisor_client: APIClient, django_assert_num_queries
):
    from routing.models import RoutingEvent
    from tests.factories.leads import LeadRoutingHistoryFactory

    agent = licensed_agent()
    lead = LeadFactory()

    def add(count: int) -> None:
        RoutingEvent.objects.bulk_create(
            RoutingEvent(lead=lead, event_type="contacted", agent=agent) for _ in range(count)
        )
        LeadRoutingHistoryFactory.create_batch(
            count, lead=lead, assigned_agent=agent, released_at=timezone.now()
        )

    add(2)
    events = queries_of(supervisor_client, f"{BASE}/leads/{lead.pk}/events/")
    history = queries_of(supervisor_client, f"{BASE}/leads/{lead.pk}/history/")
    add(18)

    with django_assert_num_queries(events):
        assert len(supervisor_client.get(f"{BASE}/leads/{lead.pk}/events/").json()["results"]) == 20
    with django_assert_num_queries(history):
        assert len(supervisor_client.get(f"{BASE}/leads/{lead.pk}/history/").json()["results"]) == 20


def test_routing_an_unknown_lead_is_404(supervisor_client: APIClient):
    response = supervisor_client.post(f"{BASE}/leads/00000000-0000-0000-0000-000000000000/route/")

    assert response.status_code == 404 and response.json()["code"] == "lead_not_found"


def test_the_rule_service_refuses_an_invalid_condition_whatever_the_door():
    from routing.errors import InvalidRule
    from routing.services.rules import rule_create, rule_update

    with pytest.raises(InvalidRule) as refused:
        rule_create(**rule_body(condition={"not": {}}))
    assert list(refused.value.fields) == ["condition"]
    assert refused.value.fields["condition"][0].startswith("condition.not: ")

    rule = RoutingRuleFactory()
    with pytest.raises(InvalidRule):
        rule_update(rule_id=rule.pk, action={"queue_type": "lukewarm"})
    assert RoutingRule.objects.get(pk=rule.pk).action == {"queue_type": "hot"}


def test_testing_a_stored_rule_that_no_longer_validates_says_why(supervisor_client: APIClient):
    rule = RoutingRuleFactory()
    RoutingRule.objects.filter(pk=rule.pk).update(condition={"field": "shoe_size", "op": "eq", "value": 9})
    lead = new_lead()

    body = supervisor_client.post(
        f"{BASE}/rules/{rule.pk}/test/", {"lead_id": str(lead.pk)}, format="json"
    ).json()

    assert body["matches"] is False and body["invalid_reason"].startswith("condition.field:")


def test_a_patched_variant_must_be_whole(supervisor_client: APIClient):
    created = supervisor_client.post(f"{BASE}/experiments/", experiment_body(), format="json").json()
    variants = experiment_body()["variants"]
    del variants[0]["allocation"]

    response = supervisor_client.patch(
        f"{BASE}/experiments/{created['id']}/", {"variants": variants}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["fields"]["variants"] == {"0": {"allocation": ["This field is required."]}}
