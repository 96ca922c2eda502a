"""The documented JSON shapes of the voice app, as JSON Schema (draft 2020-12), and their validators.

- POLICIES_SCHEMA: an agent configuration's policies: `business_rules`, `escalation_policy`, `behavior`.
- SCRIPT_OVERRIDES_SCHEMA: the lines a configuration replaces (greeting, closing, ...).
- EVENT_DATA_SCHEMAS: a call event's data per event type; the digression shape is the seed's example
  (`originalIntent`, `digressionTopic`, `returnSuccessful`).

Every key is optional (an absent one means the platform's default), but unknown keys are rejected so a
misspelt setting is an error rather than silently ignored. Event data may carry extra keys (platforms
add their own); the documented ones are required and typed. The OpenAPI schema shows these schemas, so
integrators read the same definition the server enforces.

Errors name the path of the offending value, e.g. `escalation_policy.max_failed_attempts: 0 is less
than the minimum of 1`.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator

LANGUAGE_PATTERN = "^[a-z]{2}(-[A-Z]{2})?$"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"

POLICIES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "business_rules": {
            "type": "object",
            "additionalProperties": False,
            "description": "What the agent may agree to when booking.",
            "properties": {
                "booking_lead_time_minutes": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 10080,
                    "description": "Earliest booking, in minutes from now.",
                },
                "max_booking_days_ahead": {"type": "integer", "minimum": 1, "maximum": 365},
                "cancellation_notice_hours": {"type": "integer", "minimum": 0, "maximum": 720},
                "allow_same_day_booking": {"type": "boolean"},
                "require_confirmation": {
                    "type": "boolean",
                    "description": "Booked appointments start as scheduled and need a confirmation.",
                },
                "services_bookable": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": 120},
                    "uniqueItems": True,
                    "description": "Names of the services the agent may book; absent: all.",
                },
            },
        },
        "escalation_policy": {
            "type": "object",
            "additionalProperties": False,
            "description": "When and where the agent hands the call to a person.",
            "properties": {
                "escalate_on_request": {"type": "boolean"},
                "max_failed_attempts": {"type": "integer", "minimum": 1, "maximum": 10},
                "sentiment_threshold": {"type": "number", "minimum": -1, "maximum": 1},
                "transfer_number": {"type": "string", "pattern": E164_PATTERN},
                "after_hours_action": {"enum": ["voicemail", "callback", "message", "transfer"]},
                "keywords": {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": 60},
                    "uniqueItems": True,
                },
            },
        },
        "behavior": {
            "type": "object",
            "additionalProperties": False,
            "description": "How the agent speaks and listens.",
            "properties": {
                "voice": {"type": "string", "minLength": 1, "maxLength": 60},
                "language": {"type": "string", "pattern": LANGUAGE_PATTERN},
                "speaking_rate": {"type": "number", "minimum": 0.5, "maximum": 2.0},
                "interruption_sensitivity": {"enum": ["low", "medium", "high"]},
                "max_call_minutes": {"type": "integer", "minimum": 1, "maximum": 120},
                "confirm_before_booking": {"type": "boolean"},
                "small_talk": {"type": "boolean"},
            },
        },
    },
}

SCRIPT_KEYS = ("greeting", "closing", "after_hours", "hold", "transfer", "voicemail", "fallback")

SCRIPT_OVERRIDES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {key: {"type": "string", "minLength": 1, "maxLength": 2000} for key in SCRIPT_KEYS},
}

_TEXT = {"type": "string", "minLength": 1, "maxLength": 200}

EVENT_DATA_SCHEMAS: dict[str, dict[str, Any]] = {
    "digression": {
        "type": "object",
        "required": ["originalIntent", "digressionTopic", "returnSuccessful"],
        "properties": {
            "originalIntent": _TEXT,
            "digressionTopic": _TEXT,
            "returnSuccessful": {"type": "boolean"},
        },
    },
    "confirmation": {
        "type": "object",
        "required": ["subject", "confirmed"],
        "properties": {
            "subject": _TEXT,
            "confirmed": {"type": "boolean"},
            "attempts": {"type": "integer", "minimum": 1},
        },
    },
    "barge_in": {
        "type": "object",
        "properties": {
            "agentUtteranceCutMs": {"type": "integer", "minimum": 0},
            "recovered": {"type": "boolean"},
        },
    },
    "escalation": {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": _TEXT, "target": {"type": "string", "maxLength": 200}},
    },
    "tool_call": {
        "type": "object",
        "required": ["tool", "success"],
        "properties": {
            "tool": _TEXT,
            "success": {"type": "boolean"},
            "latencyMs": {"type": "integer", "minimum": 0},
            "arguments": {"type": "object"},
        },
    },
    "error": {
        "type": "object",
        "required": ["code"],
        "properties": {"code": _TEXT, "message": {"type": "string", "maxLength": 2000}},
    },
}

_VALIDATORS: dict[str, Draft202012Validator] = {}


def _validator(key: str, schema: dict[str, Any]) -> Draft202012Validator:
    if key not in _VALIDATORS:
        Draft202012Validator.check_schema(schema)
        _VALIDATORS[key] = Draft202012Validator(schema)
    return _VALIDATORS[key]


def schema_errors(key: str, schema: dict[str, Any], value: Any) -> list[str]:
    """Every violation as 'path: message', sorted by path (the top level first)."""
    messages: list[tuple[str, str]] = []
    for error in _validator(key, schema).iter_errors(value):
        path = ".".join(str(part) for part in error.absolute_path)
        if error.validator == "additionalProperties":
            # jsonschema says "Additional properties are not allowed ('x' was unexpected)"; say which.
            unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
            known = ", ".join(error.schema.get("properties", {}))
            message = f"unknown key(s) {', '.join(unknown)}; known: {known}"
        else:
            message = error.message
        messages.append((path, f"{path}: {message}" if path else message))
    return [message for _, message in sorted(messages)]


def _raise(messages: list[str], code: str) -> None:
    if messages:
        raise ValidationError([ValidationError(message, code=code) for message in messages])


def validate_policies(value: Any) -> None:
    _raise(schema_errors("policies", POLICIES_SCHEMA, value), "invalid_policies")


def validate_script_overrides(value: Any) -> None:
    _raise(schema_errors("scripts", SCRIPT_OVERRIDES_SCHEMA, value), "invalid_script_overrides")


def validate_event_data(event_type: str, value: Any) -> None:
    schema = EVENT_DATA_SCHEMAS.get(event_type)
    if schema is None:
        return  # the event type itself is validated by its choices
    _raise(schema_errors(f"event:{event_type}", schema, value), "invalid_event_data")
