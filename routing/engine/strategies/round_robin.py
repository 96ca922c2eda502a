from __future__ import annotations

from routing.engine.strategies.base import Strategy
from routing.engine.strategies.registry import register
from routing.engine.types import ScoredCandidate


@register
class RoundRobin(Strategy):
    """Eligible agents take turns: the one whose last assignment is oldest (never assigned first) wins,
    ties by agent id. Durable across processes because the turn is AgentAvailability.last_assigned_at,
    not an in-memory pointer."""

    name = "round_robin"

    def sort_key(self, candidate: ScoredCandidate) -> tuple:
        agent = candidate.agent
        return (agent.last_assigned_at is not None, agent.last_assigned_at, agent.agent_id)
