"""The voice app's domain errors (config.errors): each has a stable code and an HTTP status.

Tenant isolation shows in which errors exist: a row of another organization is `VoiceNotFound`, the
same answer as a row that does not exist, so a caller never learns that it exists. `RoleForbidden` is
only ever about the caller's own organization.
"""

from __future__ import annotations

from config.errors import ConflictError, DomainError, NotFoundError


class VoiceNotFound(NotFoundError):
    default_detail = "No {kind} with id {pk}."


class OrganizationRequired(DomainError):
    code = "organization_required"
    http_status = 400
    default_detail = (
        "You belong to several organizations: name one with the `organization` parameter (its slug)."
    )


class OrganizationUnknown(DomainError):
    code = "invalid"
    http_status = 400
    default_detail = "None of your organizations has the slug {slug}."


class RoleForbidden(DomainError):
    code = "role_forbidden"
    http_status = 403
    default_detail = "Your role in {organization} ({role}) does not allow changing {kind}."


class FeatureDisabled(NotFoundError):
    default_detail = "Not found."


class OutsideOpeningHours(DomainError):
    code = "outside_opening_hours"
    http_status = 400


class BookingRefused(DomainError):
    """The service, provider or location cannot take this booking (inactive, not offered there...)."""

    code = "booking_refused"
    http_status = 400


class DoubleBooked(ConflictError):
    code = "provider_double_booked"
    default_detail = "{provider} already has an appointment from {start} to {end}."


class InvalidTransition(ConflictError):
    code = "invalid_transition"
    default_detail = "An appointment that is {current} cannot become {target}."


class CallIdConflict(ConflictError):
    code = "call_id_conflict"
    default_detail = "Call {call_id} was already received with different content; a call id names one call."


class CallClosed(ConflictError):
    code = "call_closed"
    default_detail = "Call {call_id} has ended; nothing can be added to it."


class TurnConflict(ConflictError):
    code = "turn_conflict"
    default_detail = "Call {call_id} already has a different turn {index}."
