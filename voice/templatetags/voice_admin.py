"""Small filters of the voice admin templates."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f} %"


@register.filter
def stage(values: dict[str, Any], name: str) -> Any:
    value = values.get(name)
    return None if value is None else f"{value:,.0f}"
