"""The monthly assessment rules (seed 000's "update agent skill assessments"): pure, so the maths is
auditable and tested without a database.

Evidence is the agent's resolved work that asked for the skill or specialization, as routing matches it:
a skill is asked by a case's required skills; a specialization by name among a case's required skills or
its requested specializations. A case resolved without escalation is a success.

- Specialization confidence: the success rate shrunk towards 0.5 (no evidence) by PRIOR_CASES cases of
  prior: (successes + 0.5 x 10) / (cases + 10). 3 of 4 give 0.57, 46 of 50 give 0.85.
- Skill proficiency moves one level a month at most, on at least MIN_CASES cases in the month: up at a
  success rate of PROMOTE_AT or more (never above expert), down at DEMOTE_AT or less (never below basic).
"""

from __future__ import annotations

from routing.engine.types import PROFICIENCY_ORDER

PRIOR_CASES = 10
PRIOR_CONFIDENCE = 0.5
MIN_CASES = 20
PROMOTE_AT = 0.90
DEMOTE_AT = 0.60


def specialization_confidence(*, cases: int, successes: int) -> float:
    return round((successes + PRIOR_CONFIDENCE * PRIOR_CASES) / (cases + PRIOR_CASES), 2)


def reassessed_proficiency(*, current: str, cases: int, successes: int) -> str:
    """The proficiency after a month with `cases` resolved cases asking the skill, `successes` of them
    without escalation."""
    if current not in PROFICIENCY_ORDER or cases < MIN_CASES:
        return current
    rate = successes / cases
    level = PROFICIENCY_ORDER.index(current)
    if rate >= PROMOTE_AT:
        level = min(level + 1, len(PROFICIENCY_ORDER) - 1)
    elif rate <= DEMOTE_AT:
        level = max(level - 1, 0)
    return PROFICIENCY_ORDER[level]
