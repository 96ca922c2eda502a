"""The scoring app's domain errors (rendered by config.api's handler as {"detail", "code", "fields"})."""

from __future__ import annotations

from config.errors import ConflictError, DomainError, NotFoundError


class PersonNotFound(NotFoundError):
    code = "person_not_found"
    default_detail = "No lead {person_id}."


class ScoreNotFound(NotFoundError):
    code = "score_not_found"
    default_detail = "Lead {person_id} has no call score."


class QueueEmpty(NotFoundError):
    code = "queue_empty"
    default_detail = "Nobody in the {queue_type} queue can be called now."


class QueueEntryNotFound(NotFoundError):
    code = "queue_entry_not_found"
    default_detail = "No queue entry {entry_id}."


class CallbackNotFound(NotFoundError):
    code = "callback_not_found"
    default_detail = "No callback {callback_id}."


class AlreadyConverted(ConflictError):
    code = "already_converted"
    default_detail = "Lead {person_id} is already converted (its score is inactive)."


class EntryNotClaimedByAgent(ConflictError):
    code = "entry_not_claimed_by_agent"
    default_detail = "Queue entry {entry_id} is not claimed by agent {agent_code}."


class InvalidTimeZone(DomainError):
    code = "invalid_time_zone"
    http_status = 400
    default_detail = "{time_zone!r} is not an IANA time zone."
