"""One function per score factor, each returning a value in 0..1 (higher is better) and the inputs it
used, so a decision record can show why an agent scored as it did.

Missing performance data (a new agent) counts as neutral 0.5 rather than as the worst value.
"""

from __future__ import annotations

import datetime as dt

from routing.engine.rules import proficiency_rank
from routing.engine.types import PROFICIENCY_ORDER, AgentProfile, CaseProfile, Ring

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


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def skill_factor(*, agent: AgentProfile, case: CaseProfile, ring: Ring) -> tuple[float, dict[str, float]]:
    """80 % mean proficiency over the case's required skills (a skill the agent lacks counts 0),
    20 % the best specialization confidence among specializations that name a required skill or a
    requested specialization."""
    skills = case.required_skills or ring.skills
    if skills:
        top = len(PROFICIENCY_ORDER)
        proficiency = sum(
            proficiency_rank(agent.skills[skill]) / top if skill in agent.skills else 0.0 for skill in skills
        ) / len(skills)
    else:
        proficiency = NEUTRAL
    wanted = set(case.required_skills) | set(case.specializations)
    specialization = max(
        (confidence for name, confidence in agent.specializations.items() if name in wanted), default=0.0
    )
    value = 0.8 * proficiency + 0.2 * specialization
    return _clamp(value), {"proficiency": proficiency, "specialization": specialization}


def performance_factor(*, agent: AgentProfile) -> tuple[float, dict[str, float]]:
    """Mean of CSAT (1..5 mapped to 0..1), 1 - escalation rate and first-contact resolution."""
    csat = NEUTRAL if agent.csat is None else (agent.csat - 1) / 4
    escalation = NEUTRAL if agent.escalation_rate is None else 1 - agent.escalation_rate
    fcr = NEUTRAL if agent.first_contact_resolution is None else agent.first_contact_resolution
    value = (csat + escalation + fcr) / 3
    return _clamp(value), {"csat": csat, "low_escalation": escalation, "fcr": fcr}


def frustration_fit_factor(*, agent: AgentProfile, case: CaseProfile) -> tuple[float, dict[str, float]]:
    value = FRUSTRATION_FIT.get(case.frustration, FRUSTRATION_FIT["low"]).get(
        agent.frustration_tolerance, 0.5
    )
    return value, {}


def fatigue_factor(*, agent: AgentProfile, lockout: int) -> tuple[float, dict[str, float]]:
    """1 for a rested agent; stress takes up to 0.6 off and the difficult-case streak (completed since
    the last break plus open) up to 0.4 (reaching the lockout takes the full 0.4)."""
    streak = min(agent.difficult_streak / lockout, 1.0) if lockout > 0 else 0.0
    value = 1 - 0.6 * _clamp(agent.stress) - 0.4 * streak
    return _clamp(value), {"stress": agent.stress, "streak": streak}


def load_balance_factor(*, agent: AgentProfile, now: dt.datetime) -> tuple[float, dict[str, float]]:
    """70 % spare capacity share, 30 % time idle since the last assignment (never assigned = fully idle)."""
    spare = agent.spare_capacity / agent.max_concurrent_cases if agent.max_concurrent_cases else 0.0
    if agent.last_assigned_at is None:
        idle = 1.0
    else:
        idle = _clamp((now - agent.last_assigned_at).total_seconds() / IDLE_SATURATION_SECONDS)
    value = 0.7 * spare + 0.3 * idle
    return _clamp(value), {"spare_share": spare, "idle": idle}
