"""The project's own app: it holds no models, only the system checks of project-wide wiring."""

from __future__ import annotations

from django.apps import AppConfig


class SwitchboardConfig(AppConfig):
    name = "config"
    label = "switchboard"
    verbose_name = "Switchboard"

    def ready(self) -> None:
        from config import checks  # noqa: F401  (registers the checks)
