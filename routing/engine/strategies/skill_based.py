from __future__ import annotations

from routing.engine.strategies.base import Strategy
from routing.engine.strategies.registry import register


@register
class SkillBased(Strategy):
    """The configured weighted sum of all five factors; skill carries the most weight by default."""

    name = "skill_based"
