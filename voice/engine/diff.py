"""A readable path-by-path difference between two JSON-like documents (agent configurations).

Objects are compared key by key and lists index by index, down to the leaves; each difference is one
`Change` with its dotted path (`policies.escalation_policy.max_failed_attempts`, `...keywords[1]`), what
happened (added, removed, changed) and the values before and after. A value whose type changes (a
number becoming an object) is one change at that path. Changes come sorted by path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ADDED, REMOVED, CHANGED = "added", "removed", "changed"
_MISSING = object()


@dataclass(frozen=True)
class Change:
    path: str
    kind: str
    old: Any = None
    new: Any = None

    def describe(self) -> str:
        if self.kind == ADDED:
            return f"{self.path}: added {self.new!r}"
        if self.kind == REMOVED:
            return f"{self.path}: removed (was {self.old!r})"
        return f"{self.path}: {self.old!r} -> {self.new!r}"


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _walk(old: Any, new: Any, path: str, out: list[Change]) -> None:
    if old is _MISSING:
        out.append(Change(path, ADDED, None, new))
    elif new is _MISSING:
        out.append(Change(path, REMOVED, old, None))
    elif isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            _walk(old.get(key, _MISSING), new.get(key, _MISSING), _join(path, str(key)), out)
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            _walk(
                old[index] if index < len(old) else _MISSING,
                new[index] if index < len(new) else _MISSING,
                f"{path}[{index}]",
                out,
            )
    elif type(old) is not type(new) or old != new:
        out.append(Change(path, CHANGED, old, new))


def document_diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    changes: list[Change] = []
    _walk(old, new, "", changes)
    return sorted(changes, key=lambda change: change.path)
