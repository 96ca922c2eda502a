"""Every write of the lead routing rules: create, edit, delete. A rule's condition and action are
validated by the pure rules engine (routing.engine.lead_rules) on every write, whichever door it comes
through (the API's serializer checks first to name the field; this is the check that always runs)."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from routing.engine.lead_rules import RuleDefinitionError, validate_rule
from routing.errors import InvalidRule, RuleNotFound
from routing.models import RoutingRule

RULE_FIELDS = ("name", "description", "rule_type", "condition", "action", "priority", "is_active")


def rule_definition_problem(*, rule_type: Any, condition: Any, action: Any) -> InvalidRule | None:
    """The engine's objection to a rule as a domain error naming the field and path, or None."""
    try:
        validate_rule(rule_type=rule_type, condition=condition, action=action)
    except RuleDefinitionError as error:
        return InvalidRule(
            reason=f"Invalid {error.field}: {error.path}: {error.message}",
            fields={error.field: [f"{error.path}: {error.message}"]},
        )
    return None


def _check(rule: RoutingRule) -> None:
    problem = rule_definition_problem(rule_type=rule.rule_type, condition=rule.condition, action=rule.action)
    if problem is not None:
        raise problem


@transaction.atomic
def rule_create(**values: Any) -> RoutingRule:
    rule = RoutingRule(**{key: value for key, value in values.items() if key in RULE_FIELDS})
    _check(rule)
    rule.save(force_insert=True)
    return rule


def _locked(rule_id: Any) -> RoutingRule:
    rule = RoutingRule.objects.select_for_update(no_key=True, of=("self",)).filter(pk=rule_id).first()
    if rule is None:
        raise RuleNotFound(rule_id=rule_id)
    return rule


@transaction.atomic
def rule_update(*, rule_id: Any, **values: Any) -> RoutingRule:
    """Change the given fields; the rule as a whole (old values plus new) must still validate."""
    rule = _locked(rule_id)
    changed = [key for key in values if key in RULE_FIELDS]
    for key in changed:
        setattr(rule, key, values[key])
    _check(rule)
    rule.save(update_fields=[*changed, "updated_at"])
    return rule


@transaction.atomic
def rule_delete(*, rule_id: Any) -> None:
    _locked(rule_id).delete()
