"""Every voice write: <entity>_<verb>(*, caller, ...), transactional, checking the caller's role."""

from voice.services.appointments import TRANSITIONS, appointment_book, appointment_check, appointment_update
from voice.services.configs import config_activate, config_deactivate, config_publish
from voice.services.knowledge import knowledge_create, knowledge_delete, knowledge_update
from voice.services.locations import (
    exceptions_validate,
    hours_validate,
    location_create,
    location_delete,
    location_update,
    provider_create,
    provider_delete,
    provider_update,
    service_create,
    service_delete,
    service_update,
)
from voice.services.retention import RetentionPeriods, StepResult, retention_run
from voice.services.telemetry import (
    CallEnding,
    CallOpening,
    EventInput,
    TurnInput,
    call_append_events,
    call_append_turns,
    call_close,
    call_fingerprint,
    call_ingest,
    call_open,
)

__all__ = [
    "TRANSITIONS",
    "CallEnding",
    "CallOpening",
    "EventInput",
    "RetentionPeriods",
    "StepResult",
    "TurnInput",
    "appointment_book",
    "appointment_check",
    "appointment_update",
    "call_append_events",
    "call_append_turns",
    "call_close",
    "call_fingerprint",
    "call_ingest",
    "call_open",
    "config_activate",
    "config_deactivate",
    "config_publish",
    "exceptions_validate",
    "hours_validate",
    "knowledge_create",
    "knowledge_delete",
    "knowledge_update",
    "location_create",
    "location_delete",
    "location_update",
    "provider_create",
    "provider_delete",
    "provider_update",
    "retention_run",
    "service_create",
    "service_delete",
    "service_update",
]
