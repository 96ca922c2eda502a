"""The voice channel's models, one module per part; every name is re-exported here (voice.models.X)."""

from voice.models.configs import AgentConfig
from voice.models.knowledge import MAX_PRIORITY, KnowledgeCategory, KnowledgeEntry
from voice.models.locations import (
    OPEN_APPOINTMENT_STATUSES,
    Appointment,
    AppointmentStatus,
    Location,
    LocationException,
    LocationHours,
    Provider,
    Service,
)
from voice.models.telemetry import (
    CALL_ID_PATTERN,
    FINAL_CALL_STATUS_CHOICES,
    FINAL_CALL_STATUSES,
    Call,
    CallEvent,
    CallEventType,
    CallStatus,
    Speaker,
    Turn,
    validate_call_id,
)
from voice.models.tenancy import Membership, MembershipRole, Organization

__all__ = [
    "AgentConfig",
    "Appointment",
    "AppointmentStatus",
    "CALL_ID_PATTERN",
    "Call",
    "CallEvent",
    "CallEventType",
    "CallStatus",
    "FINAL_CALL_STATUS_CHOICES",
    "FINAL_CALL_STATUSES",
    "KnowledgeCategory",
    "KnowledgeEntry",
    "Location",
    "LocationException",
    "LocationHours",
    "MAX_PRIORITY",
    "Membership",
    "MembershipRole",
    "OPEN_APPOINTMENT_STATUSES",
    "Organization",
    "Provider",
    "Service",
    "Speaker",
    "Turn",
    "validate_call_id",
]
