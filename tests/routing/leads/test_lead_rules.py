"""The lead routing rules engine: every operator, nesting, priority order, inactive rules skipped, and each
kind of invalid condition rejected with the path of the bad part."""

from __future__ import annotations

import pytest

from routing.engine.lead_rules import (
    LEAD_FIELDS,
    QUEUE_TYPES,
    RULE_TYPES,
    RuleDefinitionError,
    RuleSpec,
    condition_holds,
    evaluate_rules,
    validate_condition,
    validate_rule,
)
from routing.models import LeadSource, QueueType, RuleType

FACTS = {
    "insurance_line": "auto",
    "customer_segment": "enterprise",
    "language": "en",
    "territory": "US-CA",
    "source": "referral",
    "tier": "hot",
    "status": "new",
    "score": 82.5,
    "website_visits": 4,
    "email_opens": 0,
    "estimated_premium": None,
    "age_minutes": 3.0,
    "quote_requested": True,
    "callback_requested": False,
}


def test_the_engine_mirrors_the_model_choices():
    assert set(QUEUE_TYPES) == set(QueueType.values)
    assert set(RULE_TYPES) == set(RuleType.values)
    assert set(FACTS) == set(LEAD_FIELDS)
    assert LeadSource.values  # sources are free to grow: the rules test them as text


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"field": "insurance_line", "op": "eq", "value": "auto"}, True),
        ({"field": "insurance_line", "op": "eq", "value": "home"}, False),
        ({"field": "insurance_line", "op": "neq", "value": "home"}, True),
        ({"field": "customer_segment", "op": "in", "value": ["smb", "enterprise"]}, True),
        ({"field": "customer_segment", "op": "not_in", "value": ["smb", "enterprise"]}, False),
        ({"field": "score", "op": "gt", "value": 82.5}, False),
        ({"field": "score", "op": "gte", "value": 82.5}, True),
        ({"field": "score", "op": "lt", "value": 90}, True),
        ({"field": "score", "op": "lte", "value": 82}, False),
        ({"field": "territory", "op": "contains", "value": "us-"}, True),
        ({"field": "territory", "op": "contains", "value": "NY"}, False),
        ({"field": "estimated_premium", "op": "exists", "value": False}, True),
        ({"field": "territory", "op": "exists", "value": True}, True),
        ({"field": "estimated_premium", "op": "gt", "value": 0}, False),  # missing value: only negatives hold
        ({"field": "estimated_premium", "op": "neq", "value": 5}, True),
        ({"field": "quote_requested", "op": "eq", "value": True}, True),
        ({}, True),
    ],
)
def test_every_operator(condition, holds):
    validate_condition(condition)
    assert condition_holds(condition, FACTS) is holds


def test_nested_groups():
    condition = {
        "all": [
            {"field": "tier", "op": "eq", "value": "hot"},
            {
                "any": [
                    {"field": "source", "op": "eq", "value": "inbound_call"},
                    {"not": {"field": "website_visits", "op": "lt", "value": 3}},
                ]
            },
        ]
    }
    validate_condition(condition)
    assert condition_holds(condition, FACTS)
    assert not condition_holds(condition, {**FACTS, "website_visits": 1})


@pytest.mark.parametrize(
    ("condition", "path"),
    [
        ([], "condition"),
        ({"field": "nosuch", "op": "eq", "value": 1}, "condition.field"),
        ({"field": "tier", "op": "like", "value": "x"}, "condition.op"),
        ({"field": "tier", "op": "eq"}, "condition.value"),
        ({"field": "tier", "op": "eq", "value": 3}, "condition.value"),
        ({"field": "score", "op": "eq", "value": True}, "condition.value"),
        ({"field": "tier", "op": "gt", "value": 3}, "condition.op"),
        ({"field": "score", "op": "contains", "value": "8"}, "condition.op"),
        ({"field": "tier", "op": "in", "value": []}, "condition.value"),
        ({"field": "tier", "op": "in", "value": ["hot", 2]}, "condition.value[1]"),
        ({"field": "tier", "op": "exists", "value": "yes"}, "condition.value"),
        ({"field": "tier", "op": "eq", "value": "hot", "extra": 1}, "condition.extra"),
        ({"all": []}, "condition.all"),
        ({"all": [{"field": "tier", "op": "eq", "value": "hot"}], "any": []}, "condition"),
        (
            {
                "any": [
                    {"field": "tier", "op": "eq", "value": "hot"},
                    {"not": {"field": "x", "op": "eq", "value": 1}},
                ]
            },
            "condition.any[1].not.field",
        ),
        ({"not": {}}, "condition.not"),
    ],
)
def test_invalid_conditions_are_rejected_with_the_path(condition, path):
    with pytest.raises(RuleDefinitionError) as raised:
        validate_condition(condition)
    assert raised.value.path == path


@pytest.mark.parametrize(
    ("rule_type", "action", "path"),
    [
        ("assign_to_queue", {"queue_type": "vip"}, "action.queue_type"),
        ("assign_to_queue", {"queue_type": "hot", "sla_minutes": 0}, "action.sla_minutes"),
        ("require_specialization", {"min_proficiency": 6}, "action.min_proficiency"),
        ("set_priority", {"boost": "high"}, "action.boost"),
        ("route_to_agent_group", {}, "action.department"),
        ("exclude_agent", {"agents": []}, "action.agents"),
        ("exclude_agent", {"agents": ["a"], "why": 1}, "action.why"),
        ("teleport", {}, "rule_type"),
    ],
)
def test_invalid_actions_are_rejected_with_the_path(rule_type, action, path):
    with pytest.raises(RuleDefinitionError) as raised:
        validate_rule(rule_type=rule_type, condition={}, action=action)
    assert raised.value.path == path


def _rule(name, priority, rule_type, action, condition=None, active=True):
    return RuleSpec(name, name, rule_type, condition or {}, action, priority, active)


def test_rules_run_in_priority_order_the_first_queue_wins_and_inactive_rules_are_skipped():
    rules = [
        _rule("low", 10, "assign_to_queue", {"queue_type": "nurture"}),
        _rule("high", 90, "assign_to_queue", {"queue_type": "hot"}),
        _rule("off", 100, "assign_to_queue", {"queue_type": "waiting"}, active=False),
        _rule("boost a", 50, "set_priority", {"boost": 5}),
        _rule("boost b", 40, "set_priority", {"boost": -2}),
        _rule(
            "no match", 60, "exclude_agent", {"agents": ["x"]}, {"field": "tier", "op": "eq", "value": "cold"}
        ),
        _rule("exclude", 30, "exclude_agent", {"agents": ["agent_1"]}),
    ]
    outcome = evaluate_rules(rules, FACTS)
    assert [fired["rule"] for fired in outcome.fired] == ["high", "boost a", "boost b", "exclude", "low"]
    assert outcome.queue_type == "hot" and outcome.boost == 3
    assert outcome.fired[-1]["applied"] is False  # recorded, overridden by the higher rule
    assert outcome.excluded_agent_codes == {"agent_1"}


def test_a_stored_rule_that_no_longer_validates_is_skipped_and_reported_never_raised():
    rules = [
        _rule("broken", 90, "assign_to_queue", {"queue_type": "vip"}),
        _rule("ok", 10, "set_priority", {"boost": 1}),
    ]
    outcome = evaluate_rules(rules, FACTS)
    assert [fired["rule"] for fired in outcome.fired] == ["ok"]
    assert outcome.skipped[0]["rule"] == "broken"


def test_the_model_refuses_an_invalid_condition_on_save_validation(db):
    from django.core.exceptions import ValidationError

    from routing.models import RoutingRule

    rule = RoutingRule(
        name="bad", rule_type="assign_to_queue", condition={"field": "x"}, action={"queue_type": "hot"}
    )
    with pytest.raises(ValidationError) as raised:
        rule.full_clean()
    assert "condition.field" in str(raised.value)
