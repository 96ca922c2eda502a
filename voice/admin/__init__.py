"""The voice admin for organization staff (see voice.admin.base for scoping and permissions)."""

from voice.admin import configs, knowledge, locations, telemetry, tenancy  # noqa: F401
