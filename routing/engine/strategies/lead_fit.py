from __future__ import annotations

import routing.engine.lead_factors  # noqa: F401  (registers the lead factors)
from routing.engine.strategies.base import Strategy
from routing.engine.strategies.registry import register

LEAD_FIT_WEIGHTS: dict[str, float] = {
    "specialization": 0.35,
    "tier_performance": 0.30,
    "load_balance": 0.20,
    "fatigue": 0.15,
}


@register
class LeadFit(Strategy):
    """The sales floor's default: the weighted mean of specialization proficiency for the lead's line
    (0.35), conversion rate for the lead's tier (0.30), spare capacity and idle time (0.20) and fatigue
    (0.15). The configured case weights do not apply; `weights` overrides these."""

    name = "lead_fit"

    def weights(self, configured):  # noqa: ANN001, ANN201 - the base signature
        merged = {**LEAD_FIT_WEIGHTS, **self.values.get("weights", {})}
        return {name: weight for name, weight in merged.items() if weight > 0}
