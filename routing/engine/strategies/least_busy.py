from __future__ import annotations

from routing.engine.strategies.base import Strategy
from routing.engine.strategies.registry import register
from routing.engine.types import ScoredCandidate


@register
class LeastBusy(Strategy):
    """The agent with the smallest share of capacity in use; ties go to the longest idle, then the
    best total. The total is still the weighted sum, recorded as the match score."""

    name = "least_busy"

    def sort_key(self, candidate: ScoredCandidate) -> tuple:
        agent = candidate.agent
        ratio = agent.current_load / agent.max_concurrent_work if agent.max_concurrent_work else 1.0
        return (
            ratio,
            agent.last_assigned_at is not None,
            agent.last_assigned_at,
            -candidate.total,
            agent.agent_id,
        )
