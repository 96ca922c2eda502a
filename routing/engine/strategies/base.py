"""The interface every strategy implements.

A strategy decides two things: the total of a candidate (0..1, stored as the match score) and the
order of candidates. The total is the weighted mean of the factors the strategy has weights for
(routing.engine.factors, by name). A strategy is built with parameters (`registry.build(name,
parameters)`), so an experiment's variant can carry "strategy and parameters":

- every strategy takes `weights`, a mapping of factor name to weight that overrides the configured
  weights (settings ROUTING_WEIGHT_*) for the factors it names; a weight of 0 leaves a factor out;
- a strategy may declare parameters of its own (`Parameter`), validated when it is built.

The seed rule that high/critical frustration goes to high-tolerance agents first is applied by the
scorer on top of every strategy, not by each strategy.
"""

from __future__ import annotations

import datetime as dt
import math
from abc import ABC
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from routing.engine.factors import factor_names
from routing.engine.types import FactorScores, ScoredCandidate, Weights

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


class StrategyParameterError(ValueError):
    """A strategy's parameters are not valid; `problems` maps each parameter to its message."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name}: {message}" for name, message in problems.items()))


@dataclass(frozen=True)
class Parameter:
    """A strategy parameter: its name, what it means, and how a value is checked (returns the value to
    use, or raises ValueError with the message)."""

    name: str
    description: str
    parse: Callable[[Any], Any]


def _weights_parameter(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping) or not value:
        raise ValueError("a non-empty mapping of factor name to weight")
    known = set(factor_names())
    parsed: dict[str, float] = {}
    for name, weight in value.items():
        if name not in known:
            raise ValueError(f"unknown factor {name!r}; factors are {', '.join(sorted(known))}")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise ValueError(f"the weight of {name} must be a number")
        if weight < 0:
            raise ValueError(f"the weight of {name} must not be negative")
        parsed[str(name)] = float(weight)
    return parsed


WEIGHTS = Parameter(
    "weights",
    "Factor name -> weight, overriding the configured weights for the factors it names (0 leaves one out).",
    _weights_parameter,
)


class Strategy(ABC):
    name: ClassVar[str]
    parameters: ClassVar[tuple[Parameter, ...]] = ()

    def __init__(self, **values: Any) -> None:
        accepted = {parameter.name: parameter for parameter in (WEIGHTS, *self.parameters)}
        problems = {name: "not a parameter of this strategy" for name in values if name not in accepted}
        parsed: dict[str, Any] = {}
        for name, value in values.items():
            if name in accepted:
                try:
                    parsed[name] = accepted[name].parse(value)
                except ValueError as error:
                    problems[name] = str(error)
        if problems:
            raise StrategyParameterError(problems)
        self.values: dict[str, Any] = parsed

    @property
    def spec(self) -> dict[str, Any]:
        """What a decision records: the strategy's name and the parameters it was built with."""
        return {"name": self.name, "parameters": dict(self.values)}

    def weights(self, configured: Weights) -> dict[str, float]:
        """The weights this strategy totals with: the configured ones, overridden by `weights`, then
        adjusted by the strategy (`adjust_weights`). Factors weighted 0 are left out."""
        merged = {**configured, **self.values.get("weights", {})}
        adjusted = self.adjust_weights(merged)
        return {name: weight for name, weight in adjusted.items() if weight > 0}

    def adjust_weights(self, weights: dict[str, float]) -> dict[str, float]:
        return weights

    @staticmethod
    def total(factors: FactorScores, weights: Weights) -> float:
        """The weighted mean of the factors (0 when no factor has weight)."""
        weight_sum = sum(weights.values())
        if weight_sum <= 0:
            return 0.0
        return sum(factors[name] * weight for name, weight in weights.items()) / weight_sum

    def sort_key(self, candidate: ScoredCandidate) -> tuple:
        """Smaller sorts first. Default: best total, then spare capacity, then longest idle."""
        return (-candidate.total, *self.tie_break(candidate))

    @staticmethod
    def tie_break(candidate: ScoredCandidate) -> tuple:
        agent = candidate.agent
        return (-agent.spare_capacity, agent.last_assigned_at or _EPOCH, agent.agent_id)
