"""The lead routing rules engine: structured JSON conditions, validated and evaluated. Pure: no ORM.

A condition is either empty (`{}`: always true), a comparison or a group:

    {"field": "customer_segment", "op": "eq", "value": "enterprise"}
    {"all": [cond, ...]}   {"any": [cond, ...]}   {"not": cond}

`field` is one of LEAD_FIELDS (a fixed list of lead attributes with their types); `op` one of
OPERATORS. The value must have the field's type: a string for a text field, a number (not a boolean)
for a numeric one, a list of those for `in`/`not_in`, a boolean for `exists`. `gt`/`gte`/`lt`/`lte` take
numeric fields only, `contains` text fields only.

Validation (`validate_condition`, `validate_rule`) runs at every door (the model's clean, the API's
serializer) and raises RuleDefinitionError with the path of the bad part, e.g. `condition.all[1].value`.
Evaluation (`evaluate_rules`) is total, as the hot path must be: a stored rule that no longer validates
is skipped and reported, never raised, so one bad rule cannot stop routing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# Mirrors of the model choices (tests/routing/leads/test_lead_rules.py keeps them in step).
QUEUE_TYPES: tuple[str, ...] = ("hot", "active", "nurture", "waiting", "reassignment")
RULE_TYPES: tuple[str, ...] = (
    "assign_to_queue",
    "require_specialization",
    "set_priority",
    "route_to_agent_group",
    "exclude_agent",
)
TIERS: tuple[str, ...] = ("hot", "warm", "cold")

TEXT, NUMBER, BOOLEAN = "text", "number", "boolean"

# The lead attributes a condition may test, with their types. `age_minutes` is minutes since the lead
# was created; `score` and `tier` are the lead's current scoring.
LEAD_FIELDS: dict[str, str] = {
    "insurance_line": TEXT,
    "customer_segment": TEXT,
    "language": TEXT,
    "territory": TEXT,
    "source": TEXT,
    "tier": TEXT,
    "status": TEXT,
    "score": NUMBER,
    "website_visits": NUMBER,
    "email_opens": NUMBER,
    "estimated_premium": NUMBER,
    "age_minutes": NUMBER,
    "quote_requested": BOOLEAN,
    "callback_requested": BOOLEAN,
}

OPERATORS: tuple[str, ...] = ("eq", "neq", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists")
GROUPS: tuple[str, ...] = ("all", "any", "not")
MAX_DEPTH = 10


class RuleDefinitionError(ValueError):
    """An invalid rule: `field` is the rule's field at fault (condition or action), `path` where in it."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message

    @property
    def field(self) -> str:
        return self.path.split(".", 1)[0].split("[", 1)[0]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _value_fits(kind: str, value: Any) -> bool:
    if kind == TEXT:
        return isinstance(value, str)
    if kind == NUMBER:
        return _is_number(value)
    return isinstance(value, bool)


def validate_condition(condition: Any, path: str = "condition", depth: int = 0) -> None:
    """Raise RuleDefinitionError at the first bad part of `condition` (see the module docstring)."""
    if not isinstance(condition, dict):
        raise RuleDefinitionError(path, "Must be an object.")
    if depth > MAX_DEPTH:
        raise RuleDefinitionError(path, f"Nested deeper than {MAX_DEPTH} groups.")
    if not condition:
        if depth:
            raise RuleDefinitionError(path, "An empty condition is only allowed as the whole condition.")
        return
    groups = [key for key in GROUPS if key in condition]
    if groups:
        if len(condition) != 1:
            raise RuleDefinitionError(path, f"A group has exactly one key ({', '.join(GROUPS)}).")
        key = groups[0]
        inner = condition[key]
        if key == "not":
            validate_condition(inner, f"{path}.not", depth + 1)
            if not inner:
                raise RuleDefinitionError(f"{path}.not", "Must not be empty.")
            return
        if not isinstance(inner, list) or not inner:
            raise RuleDefinitionError(f"{path}.{key}", "Must be a non-empty list of conditions.")
        for index, item in enumerate(inner):
            validate_condition(item, f"{path}.{key}[{index}]", depth + 1)
            if not item:
                raise RuleDefinitionError(f"{path}.{key}[{index}]", "Must not be empty.")
        return
    unknown = sorted(set(condition) - {"field", "op", "value"})
    if unknown:
        raise RuleDefinitionError(f"{path}.{unknown[0]}", "Unknown key (a comparison has field, op, value).")
    name = condition.get("field")
    if name not in LEAD_FIELDS:
        raise RuleDefinitionError(
            f"{path}.field", f"Must be one of: {', '.join(LEAD_FIELDS)} (got {name!r})."
        )
    op = condition.get("op")
    if op not in OPERATORS:
        raise RuleDefinitionError(f"{path}.op", f"Must be one of: {', '.join(OPERATORS)} (got {op!r}).")
    if "value" not in condition:
        raise RuleDefinitionError(f"{path}.value", "Required.")
    kind = LEAD_FIELDS[name]
    value = condition["value"]
    value_path = f"{path}.value"
    if op == "exists":
        if not isinstance(value, bool):
            raise RuleDefinitionError(value_path, "Must be true or false for exists.")
    elif op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise RuleDefinitionError(value_path, f"Must be a non-empty list for {op}.")
        for index, item in enumerate(value):
            if not _value_fits(kind, item):
                raise RuleDefinitionError(f"{value_path}[{index}]", f"Must be a {kind} ({name} is {kind}).")
    elif op in ("gt", "gte", "lt", "lte"):
        if kind != NUMBER:
            raise RuleDefinitionError(f"{path}.op", f"{op} needs a numeric field ({name} is {kind}).")
        if not _is_number(value):
            raise RuleDefinitionError(value_path, "Must be a number.")
    elif op == "contains":
        if kind != TEXT:
            raise RuleDefinitionError(f"{path}.op", f"contains needs a text field ({name} is {kind}).")
        if not isinstance(value, str) or not value:
            raise RuleDefinitionError(value_path, "Must be a non-empty string.")
    elif not _value_fits(kind, value):
        raise RuleDefinitionError(value_path, f"Must be a {kind} ({name} is {kind}).")


def _text_list(action: Mapping[str, Any], key: str, path: str) -> None:
    value = action.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise RuleDefinitionError(f"{path}.{key}", "Must be a non-empty list of non-empty strings.")


def validate_action(rule_type: Any, action: Any, path: str = "action") -> None:
    """Raise RuleDefinitionError if `action` is not the parameters `rule_type` takes:

    - assign_to_queue: {"queue_type": one of QUEUE_TYPES, "sla_minutes": optional positive number}
    - require_specialization: {"insurance_line": optional text, "customer_segment": optional text,
      "min_proficiency": 1-5} (line and segment default to the lead's own)
    - set_priority: {"boost": number between -100 and 100}, added to the lead's score in the queue's
      serving order and the routing's priority
    - route_to_agent_group: {"department": text}: only agents of that department
    - exclude_agent: {"agents": [agent code, ...]}
    """
    if rule_type not in RULE_TYPES:
        raise RuleDefinitionError("rule_type", f"Must be one of: {', '.join(RULE_TYPES)}.")
    if not isinstance(action, dict):
        raise RuleDefinitionError(path, "Must be an object.")
    allowed = {
        "assign_to_queue": {"queue_type", "sla_minutes"},
        "require_specialization": {"insurance_line", "customer_segment", "min_proficiency"},
        "set_priority": {"boost"},
        "route_to_agent_group": {"department"},
        "exclude_agent": {"agents"},
    }[rule_type]
    unknown = sorted(set(action) - allowed)
    if unknown:
        raise RuleDefinitionError(
            f"{path}.{unknown[0]}", f"Unknown parameter for {rule_type} (takes {', '.join(sorted(allowed))})."
        )
    if rule_type == "assign_to_queue":
        if action.get("queue_type") not in QUEUE_TYPES:
            raise RuleDefinitionError(f"{path}.queue_type", f"Must be one of: {', '.join(QUEUE_TYPES)}.")
        if "sla_minutes" in action and not (_is_number(action["sla_minutes"]) and action["sla_minutes"] > 0):
            raise RuleDefinitionError(f"{path}.sla_minutes", "Must be a positive number.")
    elif rule_type == "require_specialization":
        for key in ("insurance_line", "customer_segment"):
            if key in action and not (isinstance(action[key], str) and action[key]):
                raise RuleDefinitionError(f"{path}.{key}", "Must be a non-empty string.")
        level = action.get("min_proficiency")
        if not (isinstance(level, int) and not isinstance(level, bool) and 1 <= level <= 5):
            raise RuleDefinitionError(f"{path}.min_proficiency", "Must be an integer from 1 to 5.")
    elif rule_type == "set_priority":
        boost = action.get("boost")
        if not (_is_number(boost) and -100 <= boost <= 100):
            raise RuleDefinitionError(f"{path}.boost", "Must be a number from -100 to 100.")
    elif rule_type == "route_to_agent_group":
        if not (isinstance(action.get("department"), str) and action["department"]):
            raise RuleDefinitionError(f"{path}.department", "Must be a non-empty string.")
    else:
        _text_list(action, "agents", path)


def validate_rule(*, rule_type: Any, condition: Any, action: Any) -> None:
    validate_condition(condition)
    validate_action(rule_type, action)


# --- evaluation ------------------------------------------------------------------------------------------


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "exists":
        present = actual is not None and actual != ""
        return present is expected
    if actual is None:
        # A missing value satisfies only the negative operators.
        return op in ("neq", "not_in")
    if op == "eq":
        return actual == expected
    if op == "neq":
        return actual != expected
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    if op == "contains":
        return isinstance(actual, str) and expected.casefold() in actual.casefold()
    if not _is_number(actual):
        return False
    if op == "gt":
        return actual > expected
    if op == "gte":
        return actual >= expected
    if op == "lt":
        return actual < expected
    return actual <= expected


def condition_holds(condition: Mapping[str, Any], facts: Mapping[str, Any]) -> bool:
    """Whether a *valid* condition holds for `facts` (lead field -> value)."""
    if not condition:
        return True
    if "all" in condition:
        return all(condition_holds(item, facts) for item in condition["all"])
    if "any" in condition:
        return any(condition_holds(item, facts) for item in condition["any"])
    if "not" in condition:
        return not condition_holds(condition["not"], facts)
    return _compare(condition["op"], facts.get(condition["field"]), condition["value"])


@dataclass(frozen=True)
class RuleSpec:
    rule_id: str
    name: str
    rule_type: str
    condition: Mapping[str, Any]
    action: Mapping[str, Any]
    priority: int
    is_active: bool = True


@dataclass(frozen=True)
class SpecializationRequirement:
    insurance_line: str
    customer_segment: str
    min_proficiency: int


@dataclass
class RulesOutcome:
    """What the rules decided for one lead; `fired` lists each rule that fired, in order."""

    fired: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[dict[str, Any]] = field(default_factory=list)  # invalid stored rules, with the reason
    queue_type: str | None = None
    sla_minutes: float | None = None
    boost: float = 0.0
    specialization: SpecializationRequirement | None = None
    department: str | None = None
    excluded_agent_codes: frozenset[str] = frozenset()

    def requirements(self) -> dict[str, Any]:
        """The agent requirements as JSON (stored on a queue entry so a dispatch asks the same)."""
        out: dict[str, Any] = {}
        if self.specialization is not None:
            out["specialization"] = {
                "insurance_line": self.specialization.insurance_line,
                "customer_segment": self.specialization.customer_segment,
                "min_proficiency": self.specialization.min_proficiency,
            }
        if self.department is not None:
            out["department"] = self.department
        if self.excluded_agent_codes:
            out["excluded_agents"] = sorted(self.excluded_agent_codes)
        if self.boost:
            out["boost"] = self.boost
        return out


def order_rules(rules: Sequence[RuleSpec]) -> list[RuleSpec]:
    """Active rules in the order they run: higher priority first, then by name (stable, documented)."""
    return sorted((rule for rule in rules if rule.is_active), key=lambda rule: (-rule.priority, rule.name))


def evaluate_rules(rules: Sequence[RuleSpec], facts: Mapping[str, Any]) -> RulesOutcome:
    """Run the active rules in priority order against `facts`. Every matching rule fires and is recorded;
    for single-valued decisions (the queue, the specialization, the agent group) the first (highest
    priority) rule that sets it wins and later ones are recorded as fired but overridden. Boosts add up;
    exclusions accumulate."""
    outcome = RulesOutcome()
    excluded: set[str] = set()
    for rule in order_rules(rules):
        try:
            validate_rule(rule_type=rule.rule_type, condition=rule.condition, action=rule.action)
        except RuleDefinitionError as error:
            outcome.skipped.append({"rule": rule.name, "reason": str(error)})
            continue
        if not condition_holds(rule.condition, facts):
            continue
        applied = True
        action = rule.action
        if rule.rule_type == "assign_to_queue":
            if outcome.queue_type is None:
                outcome.queue_type = action["queue_type"]
                outcome.sla_minutes = action.get("sla_minutes")
            else:
                applied = False
        elif rule.rule_type == "require_specialization":
            if outcome.specialization is None:
                outcome.specialization = SpecializationRequirement(
                    insurance_line=action.get("insurance_line") or str(facts.get("insurance_line") or ""),
                    customer_segment=action.get("customer_segment")
                    or str(facts.get("customer_segment") or ""),
                    min_proficiency=action["min_proficiency"],
                )
            else:
                applied = False
        elif rule.rule_type == "set_priority":
            outcome.boost += float(action["boost"])
        elif rule.rule_type == "route_to_agent_group":
            if outcome.department is None:
                outcome.department = action["department"]
            else:
                applied = False
        else:
            excluded.update(action["agents"])
        outcome.fired.append(
            {
                "rule_id": rule.rule_id,
                "rule": rule.name,
                "rule_type": rule.rule_type,
                "priority": rule.priority,
                "action": dict(action),
                "applied": applied,
            }
        )
    outcome.excluded_agent_codes = frozenset(excluded)
    return outcome
