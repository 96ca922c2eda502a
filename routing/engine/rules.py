"""The seed rules, each stated once.

Difficult case: complexity `high`, or customer frustration `high`/`critical`. The fatigue lockout
counts the agent's difficult streak: difficult cases completed since the last break (an easy case in
between does not reset it; agents.services.agent_set_status(BREAK) does) plus difficult cases assigned
and still open. At `lockout` or more the agent gets no difficult case until a break.

Widening rings (bullseye): a case that keeps waiting relaxes its requirements one ring at a time.
- ring 0: every required skill at the requested minimum proficiency
  (special_requirements["min_proficiency"], default `intermediate`);
- ring 1: every required skill, the minimum proficiency one level lower (never below `basic`);
- ring 2: optional skills dropped, ring 1's proficiency. Optional skills are those marked in
  special_requirements["optional_skills"]; a skill not marked optional is never dropped, so a case
  with none marked widens no further than ring 1 (no agent without a required skill gets it).
A dispatch at ring N tries rings 0..N in turn, so the innermost ring that matches wins.

Hard exclusions (no score can overcome them): not in a working status (busy by manual override
counts as not working), at capacity, outside a schedule window, not speaking the case's language,
missing a required skill at the ring's proficiency, low tolerance for critical frustration, fatigue
lockout for a difficult case, and agents the case must never be offered to again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from routing.engine.types import (
    PROFICIENCY_ORDER,
    TOLERANCE_ORDER,
    WORKING_STATUSES,
    AgentProfile,
    CaseProfile,
    Ring,
)

DEFAULT_MIN_PROFICIENCY = "intermediate"
MAX_RING = 2
OPTIONAL_SKILLS_RING = 2  # the first ring that may drop a required skill (one marked optional)
DIFFICULT_FRUSTRATION = frozenset({"high", "critical"})


def is_difficult(*, complexity: str, frustration: str) -> bool:
    return complexity == "high" or frustration in DIFFICULT_FRUSTRATION


def proficiency_rank(value: str) -> int:
    return PROFICIENCY_ORDER.index(value) + 1


def proficiencies_at_least(value: str) -> tuple[str, ...]:
    return PROFICIENCY_ORDER[PROFICIENCY_ORDER.index(value) :]


def parse_special_requirements(
    special: Any,
    required_skills: list[str] | tuple[str, ...],
    *,
    problems: list[str] | None = None,
) -> dict[str, Any]:
    """Read the keys routing understands: min_proficiency (a proficiency), optional_skills (a list of
    required skill codes), specializations (a list of names) or specialization (one name).

    Total: whatever the stored JSON holds (rows that predate validation, raw imports), a value of the
    wrong type is skipped and the default used, so routing and dispatch never fail on it. A caller that
    validates a new request passes `problems` and gets one message per value skipped and per unknown
    key (routing.services rejects the request with them; the API's SpecialRequirementsSerializer
    states the same rules). Null counts as not given.
    """
    keys = ("min_proficiency", "optional_skills", "specializations", "specialization")
    list_limit, name_limit = 50, 100  # name_limit: agents.AgentSpecialization.specialization
    report = problems.append if problems is not None else (lambda message: None)
    if not isinstance(special, Mapping):
        report(f'Expected a dictionary of items but got type "{type(special).__name__}".')
        special = {}
    unknown = sorted(str(key) for key in special if key not in keys)
    if unknown:
        report(f"Unknown key(s): {', '.join(unknown)}; routing reads {', '.join(keys)}.")

    min_proficiency = special.get("min_proficiency")
    if min_proficiency is not None and min_proficiency not in PROFICIENCY_ORDER:
        report(f"min_proficiency: one of {', '.join(PROFICIENCY_ORDER)}.")
        min_proficiency = None

    def names(key: str, *, max_length: int) -> list[str]:
        value = special.get(key)
        if value is None:
            return []
        if isinstance(value, str):  # a bare name: read as a list of one, still not valid input
            report(f'{key}: Expected a list of items but got type "str".')
            value = [value]
        if not isinstance(value, list | tuple):
            report(f'{key}: Expected a list of items but got type "{type(value).__name__}".')
            return []
        if len(value) > list_limit:
            report(f"{key}: Ensure this field has no more than {list_limit} elements.")
        good = [item for item in value if isinstance(item, str) and 0 < len(item) <= max_length]
        if len(good) != len(value):
            report(f"{key}: every item must be a string of 1 to {max_length} characters.")
        return good

    optional = names("optional_skills", max_length=50)
    stray = [skill for skill in optional if skill not in required_skills]
    if stray:
        report(f"optional_skills: {', '.join(stray)} not among required_skills.")
    wanted = names("specializations", max_length=name_limit)
    single = special.get("specialization")
    if single is not None and not (isinstance(single, str) and 0 < len(single) <= name_limit):
        report(f"specialization: a string of 1 to {name_limit} characters.")
        single = None
    if not wanted and single:
        wanted = [single]
    return {
        "min_proficiency": min_proficiency or DEFAULT_MIN_PROFICIENCY,
        "optional_skills": tuple(skill for skill in optional if skill in required_skills),
        "specializations": tuple(wanted),
    }


def ring_for(case: CaseProfile, level: int) -> Ring:
    level = max(0, min(level, MAX_RING))
    min_proficiency = case.min_proficiency
    if level >= 1:
        min_proficiency = PROFICIENCY_ORDER[max(PROFICIENCY_ORDER.index(min_proficiency) - 1, 0)]
    skills = case.required_skills
    if level >= OPTIONAL_SKILLS_RING:
        skills = tuple(skill for skill in skills if skill not in case.optional_skills)
    return Ring(level=level, skills=tuple(skills), min_proficiency=min_proficiency)


def rings_up_to(case: CaseProfile, level: int) -> list[Ring]:
    """Rings 0..level, innermost first, skipping a ring that asks exactly what the previous one did."""
    rings: list[Ring] = []
    for current in range(0, max(0, min(level, MAX_RING)) + 1):
        ring = ring_for(case, current)
        if rings and (ring.skills, ring.min_proficiency) == (rings[-1].skills, rings[-1].min_proficiency):
            continue
        rings.append(ring)
    return rings


def tolerance_excluded(*, frustration: str, tolerance: str) -> bool:
    """Low-tolerance agents are never given a critically frustrated customer."""
    return frustration == "critical" and tolerance == "low"


def fatigue_locked_out(*, agent: AgentProfile, case: CaseProfile, lockout: int) -> bool:
    return (
        is_difficult(complexity=case.complexity, frustration=case.frustration)
        and agent.difficult_streak >= lockout
    )


def tolerance_tier(*, frustration: str, tolerance: str) -> int:
    """0 is served first. For high/critical frustration high-tolerance agents come first, whatever
    the strategy; otherwise every agent is in one tier."""
    if frustration not in DIFFICULT_FRUSTRATION:
        return 0
    return len(TOLERANCE_ORDER) - 1 - TOLERANCE_ORDER.index(tolerance)


def exclusion_reason(*, agent: AgentProfile, case: CaseProfile, ring: Ring, lockout: int) -> str | None:
    """Why the agent may not take the case at this ring, or None if it may."""
    if agent.agent_id in case.excluded_agent_ids:
        return "excluded"
    if agent.status not in WORKING_STATUSES or (agent.status == "busy" and agent.manual_override):
        return "not_working"
    if agent.current_load >= agent.max_concurrent_cases:
        return "at_capacity"
    if not agent.in_schedule:
        return "outside_schedule"
    if case.language and case.language not in agent.languages:
        return "language"
    floor = proficiency_rank(ring.min_proficiency)
    for skill in ring.skills:
        held = agent.skills.get(skill)
        if held is None or proficiency_rank(held) < floor:
            return f"skill:{skill}"
    if tolerance_excluded(frustration=case.frustration, tolerance=agent.frustration_tolerance):
        return "frustration_tolerance"
    if fatigue_locked_out(agent=agent, case=case, lockout=lockout):
        return "fatigue_lockout"
    return None


def innermost_ring(
    *, agent: AgentProfile, case: CaseProfile, level: int, lockout: int
) -> tuple[Ring | None, str | None]:
    """The innermost ring (up to `level`) at which the agent may take the case, else the reason of
    the outermost ring's refusal."""
    reason: str | None = None
    for ring in rings_up_to(case, level):
        reason = exclusion_reason(agent=agent, case=case, ring=ring, lockout=lockout)
        if reason is None:
            return ring, None
    return None, reason


def routing_confidence(*, total: float, ring_level: int) -> float:
    """The winner's total, discounted 15 % per ring widened: a match found by relaxing the case's
    requirements is less certain to be a good one."""
    return round(max(0.0, min(1.0, total * (1 - 0.15 * ring_level))), 2)
