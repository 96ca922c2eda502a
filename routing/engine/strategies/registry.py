"""Strategy registry. Modules of this package register themselves when first imported."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Mapping
from typing import Any

from routing.engine.strategies.base import Strategy

_REGISTRY: dict[str, type[Strategy]] = {}
_BUILT: dict[tuple[str, str], Strategy] = {}
_LOADED = False


def register(cls: type[Strategy]) -> type[Strategy]:
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise ValueError(f"strategy {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _load() -> None:
    global _LOADED
    if _LOADED:
        return
    package = importlib.import_module("routing.engine.strategies")
    for module in pkgutil.iter_modules(package.__path__):
        if module.name not in {"base", "registry"}:
            importlib.import_module(f"routing.engine.strategies.{module.name}")
    _LOADED = True


def build(name: str, parameters: Mapping[str, Any] | None = None) -> Strategy:
    """The strategy called `name` built with `parameters`: KeyError if there is no such strategy,
    StrategyParameterError if a parameter is not valid. Built strategies are immutable and cached."""
    _load()
    cls = _REGISTRY[name]
    key = (name, json.dumps(dict(parameters or {}), sort_keys=True, default=str))
    strategy = _BUILT.get(key)
    if strategy is None:
        strategy = _BUILT[key] = cls(**dict(parameters or {}))
    return strategy


def get(name: str) -> Strategy:
    """The strategy called `name` with its default parameters; KeyError if there is none."""
    return build(name)


def names() -> list[str]:
    _load()
    return sorted(_REGISTRY)


def describe() -> list[dict[str, Any]]:
    """Every strategy with its docstring's first paragraph and its own parameters."""
    _load()
    return [
        {
            "name": name,
            "description": (cls.__doc__ or "").strip().split("\n\n")[0].replace("\n", " "),
            "parameters": {parameter.name: parameter.description for parameter in cls.parameters},
        }
        for name, cls in sorted(_REGISTRY.items())
    ]
