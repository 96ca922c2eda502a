"""How every app's admin shows a value in a narrow change-list column."""

from __future__ import annotations

from typing import Any

from django.utils import timezone


def short_time(value: Any) -> str:
    """A timestamp as a narrow change-list column shows it (Dec 03, 16:57, server time zone): the
    admin's long form ("Dec. 3, 2026, 4:57 p.m.") pushed the change lists past a 1400 px screen."""
    return timezone.localtime(value).strftime("%b %d, %H:%M") if value else "—"
