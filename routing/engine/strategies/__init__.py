"""Routing strategies: one small class per file, registered by name, built with parameters.

To add one, drop a module here with a `Strategy` subclass decorated with `@register`; the registry
imports every module of this package on first use.
"""

from routing.engine.strategies.base import Parameter, Strategy, StrategyParameterError
from routing.engine.strategies.registry import build, describe, get, names, register

__all__ = ["Parameter", "Strategy", "StrategyParameterError", "build", "describe", "get", "names", "register"]
