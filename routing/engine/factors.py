"""The score factors, by name. Each returns a value in 0..1 (higher is better) and the inputs it used, so
a decision record can show why an agent scored as it did.

A factor is a function of a FactorInput registered with `@factor("name")`; a strategy totals the factors
it has weights for. A kind of work with factors of its own (a lead's tier performance, territory,
licence) registers them in its own module; the five below serve every kind.

Missing performance data (a new agent) counts as neutral 0.5 rather than as the worst value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from routing.engine.rules import proficiency_rank
from routing.engine.types import PROFICIENCY_ORDER, AgentProfile, FactorScores, Ring, WorkProfile

NEUTRAL = 0.5
IDLE_SATURATION_SECONDS = 3600.0  # an hour idle is as idle as it gets for the balance factor

# How well a tolerance suits a frustration level (rows: frustration). Critical + low is a hard exclusion
# (rules.tolerance_excluded); its 0.0 here only matters if a caller scores an excluded agent.
FRUSTRATION_FIT: dict[str, dict[str, float]] = {
    "low": {"low": 1.0, "medium": 1.0, "high": 1.0},
    "moderate": {"low": 0.7, "medium": 0.9, "high": 1.0},
    "high": {"low": 0.3, "medium": 0.7, "high": 1.0},
    "critical": {"low": 0.0, "medium": 0.5, "high": 1.0},
}


@dataclass(frozen=True)
class FactorInput:
    agent: AgentProfile
    work: WorkProfile
    ring: Ring
    now: dt.datetime
    lockout: int


FactorFunction = Callable[[FactorInput], tuple[float, dict[str, float]]]
_FACTORS: dict[str, FactorFunction] = {}


def factor(name: str) -> Callable[[FactorFunction], FactorFunction]:
    """Register a factor under `name` (once)."""

    def register(function: FactorFunction) -> FactorFunction:
        if name in _FACTORS and _FACTORS[name] is not function:
            raise ValueError(f"factor {name!r} registered twice")
        _FACTORS[name] = function
        return function

    return register


def factor_names() -> list[str]:
    return sorted(_FACTORS)


def factor_scores(names: Iterable[str], inputs: FactorInput) -> FactorScores:
    """The named factors' values and their details (KeyError for an unknown name: strategies validate
    their weights when they are built, so this is a programming error)."""
    values: dict[str, float] = {}
    details: dict[str, float] = {}
    for name in names:
        value, used = _FACTORS[name](inputs)
        values[name] = _clamp(value)
        details.update(used)
    return FactorScores(values=values, details=details)


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


@factor("skill")
def skill_factor(inputs: FactorInput) -> tuple[float, dict[str, float]]:
    """80 % mean proficiency over the work's required skills (a skill the agent lacks counts 0),
    20 % the best specialization confidence among specializations that name a required skill or a
    requested specialization."""
    agent, work = inputs.agent, inputs.work
    skills = work.required_skills or inputs.ring.skills
    if skills:
        top = len(PROFICIENCY_ORDER)
        proficiency = sum(
            proficiency_rank(agent.skills[skill]) / top
            if agent.skills.get(skill) in PROFICIENCY_ORDER
            else 0.0
            for skill in skills
        ) / len(skills)
    else:
        proficiency = NEUTRAL
    wanted = set(work.required_skills) | set(work.specializations)
    specialization = max(
        (confidence for name, confidence in agent.specializations.items() if name in wanted), default=0.0
    )
    return 0.8 * proficiency + 0.2 * specialization, {
        "proficiency": proficiency,
        "specialization": specialization,
    }


@factor("performance")
def performance_factor(inputs: FactorInput) -> tuple[float, dict[str, float]]:
    """Mean of CSAT (1..5 mapped to 0..1), 1 - escalation rate and first-contact resolution."""
    agent = inputs.agent
    csat = NEUTRAL if agent.csat is None else (agent.csat - 1) / 4
    escalation = NEUTRAL if agent.escalation_rate is None else 1 - agent.escalation_rate
    fcr = NEUTRAL if agent.first_contact_resolution is None else agent.first_contact_resolution
    return (csat + escalation + fcr) / 3, {"csat": csat, "low_escalation": escalation, "fcr": fcr}


@factor("frustration_fit")
def frustration_fit_factor(inputs: FactorInput) -> tuple[float, dict[str, float]]:
    fit = FRUSTRATION_FIT.get(inputs.work.frustration, FRUSTRATION_FIT["low"])
    return fit.get(inputs.agent.frustration_tolerance, 0.5), {}


@factor("fatigue")
def fatigue_factor(inputs: FactorInput) -> tuple[float, dict[str, float]]:
    """1 for a rested agent; stress takes up to 0.6 off and the difficult-case streak (consecutive
    completions plus open difficult work) up to 0.4 (reaching the lockout takes the full 0.4)."""
    agent, lockout = inputs.agent, inputs.lockout
    streak = min(agent.difficult_streak / lockout, 1.0) if lockout > 0 else 0.0
    return 1 - 0.6 * _clamp(agent.stress) - 0.4 * streak, {"stress": agent.stress, "streak": streak}


@factor("load_balance")
def load_balance_factor(inputs: FactorInput) -> tuple[float, dict[str, float]]:
    """70 % spare capacity share, 30 % time idle since the last assignment (never assigned = fully idle)."""
    agent = inputs.agent
    spare = agent.spare_capacity / agent.max_concurrent_work if agent.max_concurrent_work else 0.0
    if agent.last_assigned_at is None:
        idle = 1.0
    else:
        idle = _clamp((inputs.now - agent.last_assigned_at).total_seconds() / IDLE_SATURATION_SECONDS)
    return 0.7 * spare + 0.3 * idle, {"spare_share": spare, "idle": idle}
