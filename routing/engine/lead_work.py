"""A sales lead as work for the engine: the facts lead routing adds to a WorkProfile. Pure.

The eligibility rules that read them (routing.engine.rules: `lead_specialization`, `agent_group`) are in
force only for work of kind "lead"; the lead factors (routing.engine.lead_factors) read them too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from routing.engine.types import AgentProfile, SpecializationFact, WorkProfile

# The priority a lead of each tier carries in the shared engine (serving order, fatigue are case notions;
# the priority is recorded and used by strategies that look at it).
TIER_PRIORITY: dict[str, str] = {"hot": "high", "warm": "medium", "cold": "low"}


@dataclass(frozen=True)
class LeadProfile(WorkProfile):
    """What a lead asks of an agent: a specialization row for its insurance line and segment (a row
    without a segment covers every segment) at `min_specialization` or better, covering its territory (a
    row with no territories covers all), the lead's language among the agent's languages (the shared
    `language` rule), in `department` when a rule routes to an agent group, and not an excluded agent."""

    kind: str = "lead"
    insurance_line: str = ""
    customer_segment: str = ""
    territory: str = ""
    min_specialization: int = 1
    department: str = ""
    tier: str = ""
    # Agent id -> conversion rate for this lead's tier (latest period), gathered for the candidates.
    tier_conversion: Mapping[int, float] = field(default_factory=dict)


def is_lead(work: WorkProfile) -> bool:
    return isinstance(work, LeadProfile)


def covering_rows(agent: AgentProfile, work: LeadProfile) -> list[SpecializationFact]:
    """The agent's specialization rows that qualify it for the lead."""
    return [
        row
        for row in agent.specialization_rows
        if row.insurance_line == work.insurance_line
        and (row.customer_segment is None or row.customer_segment == work.customer_segment)
        and row.proficiency is not None
        and row.proficiency >= work.min_specialization
        and (not work.territory or not row.territories or work.territory in row.territories)
    ]


def best_proficiency(agent: AgentProfile, work: LeadProfile) -> int:
    return max((row.proficiency or 0 for row in covering_rows(agent, work)), default=0)
