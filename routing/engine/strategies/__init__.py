"""Routing strategies: one small class per file, registered by name.

To add one, drop a module here with a `Strategy` subclass decorated with `@register`; the registry
imports every module of this package on first use.
"""

from routing.engine.strategies.base import Strategy
from routing.engine.strategies.registry import get, names, register

__all__ = ["Strategy", "get", "names", "register"]
