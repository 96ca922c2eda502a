"""Strategy registry. Modules of this package register themselves when first imported."""

from __future__ import annotations

import importlib
import pkgutil

from routing.engine.strategies.base import Strategy

_REGISTRY: dict[str, Strategy] = {}
_LOADED = False


def register(cls: type[Strategy]) -> type[Strategy]:
    if cls.name in _REGISTRY and type(_REGISTRY[cls.name]) is not cls:
        raise ValueError(f"strategy {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls()
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


def get(name: str) -> Strategy:
    """The strategy called `name`; KeyError if there is none."""
    _load()
    return _REGISTRY[name]


def names() -> list[str]:
    _load()
    return sorted(_REGISTRY)
