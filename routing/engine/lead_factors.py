"""The factors lead work adds to the engine's registry (routing.engine.factors). Pure.

- `specialization`: the best proficiency (1-5) among the agent's specialization rows covering the lead,
  mapped to 0..1 ((p - 1) / 4);
- `tier_performance`: the agent's conversion rate for the lead's tier in its latest period metrics
  (agents.AgentPeriodMetrics), normalised against TIER_CONVERSION_CEILING; no figures yet: neutral 0.5.
For work that is not a lead both are neutral (0.5), so any strategy may name them.
"""

from __future__ import annotations

from routing.engine.factors import NEUTRAL, FactorInput, factor
from routing.engine.lead_work import best_proficiency, is_lead

# A conversion rate at or above this counts as the best (few floors convert more than half their leads).
TIER_CONVERSION_CEILING = 0.5


@factor("specialization")
def specialization_factor(inputs: FactorInput) -> tuple[float, dict[str, float]]:
    work = inputs.work
    if not is_lead(work):
        return NEUTRAL, {}
    proficiency = best_proficiency(inputs.agent, work)
    return (max(proficiency, 1) - 1) / 4 if proficiency else 0.0, {"proficiency": float(proficiency)}


@factor("tier_performance")
def tier_performance_factor(inputs: FactorInput) -> tuple[float, dict[str, float]]:
    work = inputs.work
    if not is_lead(work):
        return NEUTRAL, {}
    rate = work.tier_conversion.get(inputs.agent.agent_id)
    if rate is None:
        return NEUTRAL, {}
    return min(rate / TIER_CONVERSION_CEILING, 1.0), {"tier_conversion_rate": rate}
