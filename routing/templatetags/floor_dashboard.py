"""`{% floor_dashboard %}`: the floor dashboard for the admin index (routing.dashboard)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from routing.dashboard import floor_fragment_html, floor_sections

register = template.Library()


@register.simple_tag(takes_context=True)
def floor_dashboard(context: dict[str, Any]) -> SafeString:
    request = context.get("request")
    sections = floor_sections(request) if request is not None else frozenset()
    if not sections:
        return mark_safe("")
    return mark_safe(floor_fragment_html(request, sections=sections))  # rendered by a template: escaped there
