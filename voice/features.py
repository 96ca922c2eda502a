"""Feature flags of the voice app, from the environment (settings.VOICE_FEATURES; all on by default).

ENABLE_LOCATIONS (locations, services, providers, appointments, free slots), ENABLE_AGENT_CONFIGS,
ENABLE_TELEMETRY (calls, turns, events, analytics), ENABLE_KNOWLEDGE_BASE. A disabled feature's API
answers 404 (in the API's error shape) and its admin pages are gone from the index and answer 404;
its data stays as it is, and comes back when the flag is turned on again. Read per request, so a
test's override_settings (or a restart with a new environment) takes effect.

The seed's flags were off unless set to 'true'; the issue asks for on by default, which is what an
existing deployment needs to keep working.
"""

from __future__ import annotations

from enum import StrEnum

from django.conf import settings


class Feature(StrEnum):
    LOCATIONS = "locations"
    AGENT_CONFIGS = "agent_configs"
    TELEMETRY = "telemetry"
    KNOWLEDGE_BASE = "knowledge_base"


# The feature each voice model belongs to; organizations and memberships are always on.
MODEL_FEATURES: dict[str, Feature] = {
    "location": Feature.LOCATIONS,
    "locationhours": Feature.LOCATIONS,
    "locationexception": Feature.LOCATIONS,
    "service": Feature.LOCATIONS,
    "provider": Feature.LOCATIONS,
    "appointment": Feature.LOCATIONS,
    "agentconfig": Feature.AGENT_CONFIGS,
    "call": Feature.TELEMETRY,
    "turn": Feature.TELEMETRY,
    "callevent": Feature.TELEMETRY,
    "knowledgeentry": Feature.KNOWLEDGE_BASE,
    "historicalknowledgeentry": Feature.KNOWLEDGE_BASE,
}


def feature_enabled(feature: Feature) -> bool:
    return bool(settings.VOICE_FEATURES.get(feature.value, True))


def model_enabled(model_name: str) -> bool:
    feature = MODEL_FEATURES.get(model_name)
    return feature is None or feature_enabled(feature)
