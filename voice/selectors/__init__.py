"""Every voice read that matters, scoped to the caller (voice.access.VoiceCaller.scope)."""

from voice.selectors.analytics import STAGES, AnalyticsRow, CallAnalytics, Percentile, call_analytics
from voice.selectors.configs import (
    ActiveConfig,
    ConfigDiff,
    config_active,
    config_by_version,
    config_diff,
    config_document,
    config_get,
    config_list,
)
from voice.selectors.knowledge import (
    MAX_LOOKUP,
    TagsOverlap,
    knowledge_get,
    knowledge_list,
    knowledge_lookup,
    knowledge_search,
    search_fallback_groups,
)
from voice.selectors.locations import (
    MAX_SLOT_DAYS,
    appointment_get,
    appointment_list,
    location_free_slots,
    location_get,
    location_list,
    location_opening_hours,
    provider_get,
    provider_list,
    service_get,
    service_list,
)
from voice.selectors.telemetry import call_get, call_list
from voice.selectors.tenancy import organization_list

__all__ = [
    "STAGES",
    "MAX_LOOKUP",
    "MAX_SLOT_DAYS",
    "ActiveConfig",
    "AnalyticsRow",
    "CallAnalytics",
    "ConfigDiff",
    "Percentile",
    "TagsOverlap",
    "appointment_get",
    "appointment_list",
    "call_analytics",
    "call_get",
    "call_list",
    "config_active",
    "config_by_version",
    "config_diff",
    "config_document",
    "config_get",
    "config_list",
    "knowledge_get",
    "knowledge_list",
    "knowledge_lookup",
    "knowledge_search",
    "location_free_slots",
    "location_get",
    "location_list",
    "location_opening_hours",
    "organization_list",
    "provider_get",
    "provider_list",
    "search_fallback_groups",
    "service_get",
    "service_list",
]
