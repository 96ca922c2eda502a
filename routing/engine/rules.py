"""The seed rules, each stated once.

Difficult work: complexity `high`, or customer frustration `high`/`critical`.

Fatigue (seed 000's consecutive_difficult_cases). The streak counts consecutive difficult cases an agent
completed: a difficult completion adds one; an easy completion resets it to 0 while no lockout is in
force. Once the streak reaches `lockout` the agent is locked out: no difficult work until rested, and
easy completions no longer reset it, because only rest does. Rest is a stretch of at least
`ROUTING_FATIGUE_REST_MINUTES` (default 15) on break, offline, or off shift (outside every schedule
window): `streak_after_completion` and `streak_after_rest` below are the rule; agents.services applies
rest when an agent comes back from break or offline, and the queue sweep applies it to agents off shift
or still away. For eligibility the difficult work the agent holds open counts too (`difficult_streak`),
so a tired agent is not handed several at once.

Widening rings (bullseye): a case that keeps waiting relaxes its requirements one ring at a time.
- ring 0: every required skill at the requested minimum proficiency
  (special_requirements["min_proficiency"], default `intermediate`);
- ring 1: every required skill, the minimum proficiency one level lower (never below `basic`);
- ring 2: optional skills dropped, ring 1's proficiency. Optional skills are those marked in
  special_requirements["optional_skills"]; a skill not marked optional is never dropped, so a case
  with none marked widens no further than ring 1 (no agent without a required skill gets it).
A dispatch at ring N tries rings 0..N in turn, so the innermost ring that matches wins.

Eligibility (hard rules: no score can overcome them) is the list ELIGIBILITY_RULES, in the order the
queue funnel reports them. Each rule is stated here once, as a predicate over the pure profiles; the
candidate search states the same rules in SQL (routing.selectors.agent_sql.RULE_SQL, keyed by these
names, which must cover every rule) and the queue scan narrows waiting entries by them
(routing.services.queue). tests/routing/test_rules_agree.py proves the SQL and this list agree over
random agents and work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from routing.engine.lead_work import covering_rows, is_lead
from routing.engine.types import (
    PROFICIENCY_ORDER,
    TOLERANCE_ORDER,
    AgentProfile,
    Ring,
    WorkProfile,
)

DEFAULT_MIN_PROFICIENCY = "intermediate"
MAX_RING = 2
OPTIONAL_SKILLS_RING = 2  # the first ring that may drop a required skill (one marked optional)
DIFFICULT_FRUSTRATION = frozenset({"high", "critical"})


def is_difficult(*, complexity: str, frustration: str) -> bool:
    return complexity == "high" or frustration in DIFFICULT_FRUSTRATION


def work_is_difficult(work: WorkProfile) -> bool:
    return is_difficult(complexity=work.complexity, frustration=work.frustration)


def proficiency_rank(value: str) -> int:
    return PROFICIENCY_ORDER.index(value) + 1


def proficiencies_at_least(value: str) -> tuple[str, ...]:
    return PROFICIENCY_ORDER[PROFICIENCY_ORDER.index(value) :]


# --- fatigue ---------------------------------------------------------------------------------------


def locked_out(*, streak: int, lockout: int) -> bool:
    """A completed streak at the lockout: no difficult work until rested."""
    return lockout > 0 and streak >= lockout


def streak_after_completion(*, streak: int, difficult: bool, lockout: int) -> int:
    """The consecutive difficult cases after one more completion."""
    if difficult:
        return streak + 1
    return streak if locked_out(streak=streak, lockout=lockout) else 0


def streak_after_rest(*, streak: int, rested: dt.timedelta, min_rest: dt.timedelta) -> int:
    """Rest of at least `min_rest` (break, offline or off shift) ends the streak, lockout included."""
    return 0 if rested >= min_rest else streak


# --- working status --------------------------------------------------------------------------------


def takes_work(*, status: str, manual_override: bool) -> bool:
    """Whether the status lets routing give the agent work: `available`, or `busy` that routing set
    itself at capacity. A status a person or an integration set (manual_override) is their decision:
    their `busy` takes no work until they lift it."""
    return status == "available" or (status == "busy" and not manual_override)


# --- special requirements ----------------------------------------------------------------------------


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
        good = [item for item in value if is_printable_name(item, max_length=max_length)]
        if len(good) != len(value):
            report(f"{key}: every item must be a string of 1 to {max_length} printable characters.")
        return good

    optional = names("optional_skills", max_length=50)
    stray = [skill for skill in optional if skill not in required_skills]
    if stray:
        report(f"optional_skills: {', '.join(stray)} not among required_skills.")
    wanted = names("specializations", max_length=name_limit)
    single = special.get("specialization")
    if single is not None and not is_printable_name(single, max_length=name_limit):
        report(f"specialization: a string of 1 to {name_limit} printable characters.")
        single = None
    if not wanted and single:
        wanted = [single]
    return {
        "min_proficiency": min_proficiency or DEFAULT_MIN_PROFICIENCY,
        "optional_skills": tuple(skill for skill in optional if skill in required_skills),
        "specializations": tuple(wanted),
    }


def is_printable_name(value: object, *, max_length: int) -> bool:
    """A name routing may match on: a string of 1..max_length characters, none of them a control
    character (a NUL or a separator in a name broke every search that met it)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= max_length
        and value.isprintable()
        and value.strip() == value
    )


# --- rings ---------------------------------------------------------------------------------------------


def ring_for(work: WorkProfile, level: int) -> Ring:
    level = max(0, min(level, MAX_RING))
    min_proficiency = work.min_proficiency
    if level >= 1:
        min_proficiency = PROFICIENCY_ORDER[max(PROFICIENCY_ORDER.index(min_proficiency) - 1, 0)]
    skills = work.required_skills
    if level >= OPTIONAL_SKILLS_RING:
        skills = tuple(skill for skill in skills if skill not in work.optional_skills)
    return Ring(level=level, skills=tuple(skills), min_proficiency=min_proficiency)


def rings_up_to(work: WorkProfile, level: int) -> list[Ring]:
    """Rings 0..level, innermost first, skipping a ring that asks exactly what the previous one did."""
    rings: list[Ring] = []
    for current in range(0, max(0, min(level, MAX_RING)) + 1):
        ring = ring_for(work, current)
        if rings and (ring.skills, ring.min_proficiency) == (rings[-1].skills, rings[-1].min_proficiency):
            continue
        rings.append(ring)
    return rings


# --- eligibility ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Eligibility:
    """What a rule is judged with besides the agent, the work and the ring."""

    lockout: int


@dataclass(frozen=True)
class EligibilityRule:
    """One hard rule. `in_force` says whether the rule applies to this work at this ring (the language
    rule only when the work names a language); `refusal` names the first failing part (a skill rule
    says which skill) or None when the agent passes. `nobody` explains, for a queued case's reason,
    that no agent passed the rule."""

    name: str
    in_force: Callable[[WorkProfile, Ring], bool]
    refusal: Callable[[AgentProfile, WorkProfile, Ring, Eligibility], str | None]
    nobody: str


def _always(work: WorkProfile, ring: Ring) -> bool:
    return True


def _check(name: str, passes: Callable[[AgentProfile, WorkProfile, Ring, Eligibility], bool]):
    return lambda agent, work, ring, ctx: None if passes(agent, work, ring, ctx) else name


def _missing_skill(agent: AgentProfile, work: WorkProfile, ring: Ring, ctx: Eligibility) -> str | None:
    floor = proficiency_rank(ring.min_proficiency)
    for skill in ring.skills:
        held = agent.skills.get(skill)
        if held is None or held not in PROFICIENCY_ORDER or proficiency_rank(held) < floor:
            return f"skill:{skill}"
    return None


def tolerance_excluded(*, frustration: str, tolerance: str) -> bool:
    """Low-tolerance agents are never given a critically frustrated customer."""
    return frustration == "critical" and tolerance == "low"


ELIGIBILITY_RULES: tuple[EligibilityRule, ...] = (
    EligibilityRule("active", _always, _check("active", lambda a, w, r, c: a.is_active), "no active agent"),
    EligibilityRule(
        "working_status",
        _always,
        _check(
            "working_status",
            lambda a, w, r, c: takes_work(status=a.status, manual_override=a.manual_override),
        ),
        "no active agent is available (all on break, offline, busy by a supervisor or otherwise away)",
    ),
    EligibilityRule(
        "in_schedule",
        _always,
        _check("in_schedule", lambda a, w, r, c: a.in_schedule),
        "no available agent is inside a schedule window now",
    ),
    EligibilityRule(
        "language",
        lambda w, r: bool(w.language),
        _check("language", lambda a, w, r, c: w.language in a.languages),
        "no agent in schedule speaks the customer's language",
    ),
    EligibilityRule(
        "skills",
        lambda w, r: bool(r.skills),
        _missing_skill,
        "no agent in schedule holds every required skill at the ring's proficiency",
    ),
    EligibilityRule(
        "frustration_tolerance",
        lambda w, r: w.frustration == "critical",
        _check(
            "frustration_tolerance",
            lambda a, w, r, c: (
                not tolerance_excluded(frustration=w.frustration, tolerance=a.frustration_tolerance)
            ),
        ),
        "only low-tolerance agents remain and the customer's frustration is critical",
    ),
    EligibilityRule(
        "fatigue_lockout",
        lambda w, r: work_is_difficult(w),
        _check(
            "fatigue_lockout", lambda a, w, r, c: not locked_out(streak=a.difficult_streak, lockout=c.lockout)
        ),
        "every remaining agent is locked out after consecutive difficult cases",
    ),
    EligibilityRule(
        "excluded",
        lambda w, r: bool(w.excluded_agent_ids),
        _check("excluded", lambda a, w, r, c: a.agent_id not in w.excluded_agent_ids),
        "the remaining agents already timed out on this case",
    ),
    # Lead work only (routing.engine.lead_work): a specialization row covering the lead, the agent group.
    EligibilityRule(
        "lead_specialization",
        lambda w, r: is_lead(w),
        _check("lead_specialization", lambda a, w, r, c: bool(covering_rows(a, w))),
        "no agent in schedule holds a specialization for the lead's line, segment and territory",
    ),
    EligibilityRule(
        "agent_group",
        lambda w, r: is_lead(w) and bool(w.department),
        _check("agent_group", lambda a, w, r, c: a.department == w.department),
        "no agent of the agent group the rules route the lead to is free",
    ),
    # Last: the agents who pass everything else could serve the work once they free up.
    EligibilityRule(
        "spare_capacity",
        _always,
        _check("spare_capacity", lambda a, w, r, c: a.current_load < a.max_concurrent_work),
        "every agent who could take it is at capacity",
    ),
)
RULES_BY_NAME: dict[str, EligibilityRule] = {rule.name: rule for rule in ELIGIBILITY_RULES}


def rules_in_force(work: WorkProfile, ring: Ring) -> list[EligibilityRule]:
    return [rule for rule in ELIGIBILITY_RULES if rule.in_force(work, ring)]


def exclusion_reason(*, agent: AgentProfile, work: WorkProfile, ring: Ring, lockout: int) -> str | None:
    """The first rule (in ELIGIBILITY_RULES order) the agent fails for the work at this ring, or None."""
    context = Eligibility(lockout=lockout)
    for rule in rules_in_force(work, ring):
        reason = rule.refusal(agent, work, ring, context)
        if reason is not None:
            return reason
    return None


def never_rules_broken(*, agent: AgentProfile, work: WorkProfile, lockout: int) -> list[str]:
    """The seed's "never" rules a supervisor's hand assignment would break: a critically frustrated
    customer to a low-tolerance agent, difficult work to a locked-out agent. Skills, schedule and the
    soft rules are the supervisor's judgement; these two need an explicit override reason."""
    broken = []
    if tolerance_excluded(frustration=work.frustration, tolerance=agent.frustration_tolerance):
        broken.append("frustration_tolerance")
    if work_is_difficult(work) and locked_out(streak=agent.difficult_streak, lockout=lockout):
        broken.append("fatigue_lockout")
    return broken


def innermost_ring(
    *, agent: AgentProfile, work: WorkProfile, level: int, lockout: int
) -> tuple[Ring | None, str | None]:
    """The innermost ring (up to `level`) at which the agent may take the work, else the reason of
    the outermost ring's refusal."""
    reason: str | None = None
    for ring in rings_up_to(work, level):
        reason = exclusion_reason(agent=agent, work=work, ring=ring, lockout=lockout)
        if reason is None:
            return ring, None
    return None, reason


def tolerance_tier(*, frustration: str, tolerance: str) -> int:
    """0 is served first. For high/critical frustration high-tolerance agents come first, whatever
    the strategy; otherwise every agent is in one tier."""
    if frustration not in DIFFICULT_FRUSTRATION:
        return 0
    return len(TOLERANCE_ORDER) - 1 - TOLERANCE_ORDER.index(tolerance)


def routing_confidence(*, total: float, ring_level: int) -> float:
    """The winner's total, discounted 15 % per ring widened: a match found by relaxing the case's
    requirements is less certain to be a good one."""
    return round(max(0.0, min(1.0, total * (1 - 0.15 * ring_level))), 2)
