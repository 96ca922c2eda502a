"""The request contract of routing and its validation: what a caller sends, what it gets back, the
service-side checks every door goes through (the serializer validates too), and the routing settings
as the services read them."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from agents.languages import ISO_639_1
from agents.models import SkillDomain
from routing.engine.rules import parse_special_requirements
from routing.engine.strategies import Strategy, StrategyParameterError, build
from routing.engine.strategies import names as strategy_names
from routing.engine.types import WorkProfile
from routing.errors import RoutingValidationError, UnknownSkillDomain, UnknownStrategy
from routing.models import (
    CASE_ID_MESSAGE,
    CaseAssignment,
    Complexity,
    EscalationQueueEntry,
    Frustration,
    Priority,
    RoutingDecision,
    SupportCase,
    is_valid_case_id,
)

logger = logging.getLogger(__name__)

# --- contract types ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRequest:
    case_id: str
    priority: str
    complexity: str
    required_skills: list[str]
    customer_id: str = ""
    customer_frustration: str = "low"
    language: str = ""
    special_requirements: dict = field(default_factory=dict)
    estimated_resolution_minutes: int | None = None
    max_wait_minutes: int = 30
    strategy: str | None = None
    strategy_parameters: dict | None = None


@dataclass
class RoutingOutcome:
    case: SupportCase
    decision: RoutingDecision
    assignment: CaseAssignment | None
    queue_entry: EscalationQueueEntry | None

    @property
    def http_status(self) -> int:
        return 201 if self.assignment is not None else 202


# --- settings --------------------------------------------------------------------------------------


def lockout() -> int:
    """Consecutive difficult cases after which an agent gets no difficult work until rested."""
    return int(settings.ROUTING["DIFFICULT_CASE_LOCKOUT"])


def fatigue_rest() -> dt.timedelta:
    """The rest (break, offline or off shift) that ends a difficult streak (routing.engine.rules)."""
    return dt.timedelta(minutes=float(settings.ROUTING["FATIGUE_REST_MINUTES"]))


def configured_weights() -> dict[str, float]:
    return {name: float(weight) for name, weight in settings.ROUTING["WEIGHTS"].items()}


def strategy_for(name: str | None, parameters: Mapping[str, Any] | None = None) -> Strategy:
    """The strategy `name` (the configured default when empty) built with `parameters`."""
    name = name or settings.ROUTING["DEFAULT_STRATEGY"]
    try:
        return build(name, parameters)
    except KeyError:
        choices = ", ".join(strategy_names())
        raise UnknownStrategy(
            strategy=name,
            choices=choices,
            fields={"strategy": [f"Unknown strategy {name!r}; choose one of {choices}."]},
        ) from None
    except StrategyParameterError as error:
        raise RoutingValidationError(
            f"Invalid parameters for strategy {name}: {error}",
            fields={"strategy_parameters": [f"{key}: {message}" for key, message in error.problems.items()]},
        ) from None


def stored_strategy(
    name: str | None, parameters: Mapping[str, Any] | None, *, item: str
) -> tuple[Strategy, str]:
    """The strategy waiting work was queued with, and a note for its decision's reason: "" or, when the
    stored name or parameters no longer build a strategy (one unregistered or changed since), the
    configured default and why. Logged: one such row must not stop the queue (dispatch raised for
    every agent that walked to it)."""
    try:
        return strategy_for(name or None, parameters or None), ""
    except (UnknownStrategy, RoutingValidationError) as error:
        fallback = strategy_for(None)
        logger.warning(
            "routing: %s has an unusable stored strategy (%s); using %s", item, error, fallback.name
        )
        return fallback, f" (its stored strategy {name!r} is unusable, {fallback.name} used)"


# --- validation ------------------------------------------------------------------------------------


def validate_case_request(request: CaseRequest) -> WorkProfile:
    """Service-side validation (the serializer validates too; this guards every other door)."""
    errors: dict[str, list[str]] = {}

    def check(name: str, ok: bool, message: str) -> None:
        if not ok:
            errors.setdefault(name, []).append(message)

    check("case_id", is_valid_case_id(request.case_id), CASE_ID_MESSAGE)
    check("priority", request.priority in Priority.values, f"One of {', '.join(Priority.values)}.")
    check("complexity", request.complexity in Complexity.values, f"One of {', '.join(Complexity.values)}.")
    check(
        "customer_frustration",
        request.customer_frustration in Frustration.values,
        f"One of {', '.join(Frustration.values)}.",
    )
    check("language", not request.language or request.language in ISO_639_1, "An ISO 639-1 code, e.g. en.")
    check(
        "max_wait_minutes",
        isinstance(request.max_wait_minutes, int) and request.max_wait_minutes > 0,
        "A positive number of minutes.",
    )
    check(
        "estimated_resolution_minutes",
        request.estimated_resolution_minutes is None or request.estimated_resolution_minutes >= 0,
        "Not negative.",
    )
    skills_ok = isinstance(request.required_skills, list | tuple) and all(
        isinstance(skill, str) for skill in request.required_skills
    )
    check("required_skills", skills_ok, "A list of skill domain codes.")
    special = request.special_requirements
    problems: list[str] = []
    parse_special_requirements(special, list(request.required_skills) if skills_ok else [], problems=problems)
    for problem in problems:
        check("special_requirements", False, problem)
    if errors:
        raise RoutingValidationError(fields=errors)
    strategy_for(request.strategy, request.strategy_parameters)
    skills = list(dict.fromkeys(request.required_skills))
    known = set(SkillDomain.objects.filter(code__in=skills).values_list("code", flat=True))
    unknown = [skill for skill in skills if skill not in known]
    if unknown:
        raise UnknownSkillDomain(
            codes=", ".join(unknown),
            fields={"required_skills": [f"Unknown skill domain: {code}." for code in unknown]},
        )
    return case_work_profile(
        case_id=request.case_id,
        priority=request.priority,
        complexity=request.complexity,
        frustration=request.customer_frustration,
        required_skills=skills,
        language=request.language,
        special_requirements=special,
    )


def case_work_profile(
    *,
    case_id: str,
    priority: str,
    complexity: str,
    frustration: str,
    required_skills: list[str],
    language: str,
    special_requirements: dict,
    excluded: list[int] | None = None,
) -> WorkProfile:
    parsed = parse_special_requirements(special_requirements or {}, required_skills)
    return WorkProfile(
        kind="case",
        work_id=case_id,
        priority=priority,
        complexity=complexity,
        frustration=frustration,
        required_skills=tuple(required_skills),
        language=language,
        min_proficiency=parsed["min_proficiency"],
        optional_skills=parsed["optional_skills"],
        specializations=parsed["specializations"],
        excluded_agent_ids=frozenset(int(agent_id) for agent_id in excluded or () if _is_int(agent_id)),
    )


def _is_int(value: Any) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


def entry_work_profile(entry: EscalationQueueEntry) -> WorkProfile:
    """The work a waiting entry asks for (entries carry their case's facts, escalated priority included)."""
    return case_work_profile(
        case_id=entry.case_id,
        priority=entry.priority,
        complexity=entry.complexity,
        frustration=entry.customer_frustration,
        required_skills=[skill for skill in entry.required_skills if isinstance(skill, str)]
        if isinstance(entry.required_skills, list)
        else [],
        language=entry.language,
        special_requirements=entry.special_requirements,
        excluded=entry.excluded_agents if isinstance(entry.excluded_agents, list) else [],
    )
