"""Telemetry ingestion: a whole call in one request, or a call streamed as it happens.

Idempotency. A call is named by the voice platform's `call_id` (unique per organization). Sending a
whole call again with the same content returns the stored call and writes nothing; the same id with
different content is a conflict (409 `call_id_conflict`), never a silent overwrite or a second call.
"Same content" is a sha256 over the canonical form of what was validated (`call_fingerprint`), stored
on the call. Two concurrent first sends of one call race into the unique constraint; the loser reads
the winner's call and answers as a retry would.

Streaming. `call_open` starts a call in progress (sending the same opening again returns it),
`call_append_turns` and `call_append_events` add to it (a turn already stored under the same index
with the same content is skipped, a different one is a conflict; an event identical to a stored one
is skipped), and `call_close` ends it (closing again with the same outcome returns it). A closed call
takes nothing more. Each append locks the call's row (FOR NO KEY UPDATE: turns and events keep
referring to it), so concurrent appends to one call are serialised.

Each request is one transaction; turns and events are bulk-inserted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from voice.access import VoiceCaller
from voice.errors import CallClosed, CallIdConflict, TurnConflict
from voice.models import AgentConfig, Call, CallEvent, CallStatus, Location, Organization, Turn
from voice.schemas import validate_event_data


@dataclass(frozen=True)
class TurnInput:
    turn_index: int
    speaker: str
    text: str = ""
    asr_confidence: float | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    sentiment: float | None = None
    latency_asr_ms: int | None = None
    latency_llm_ms: int | None = None
    latency_tts_ms: int | None = None
    latency_total_ms: int | None = None
    interrupted: bool = False
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class EventInput:
    event_type: str
    event_data: dict[str, Any] = field(default_factory=dict)
    turn_index: int | None = None
    occurred_at: dt.datetime | None = None


@dataclass(frozen=True)
class CallOpening:
    call_id: str
    started_at: dt.datetime
    location: Location | None = None
    agent_config: AgentConfig | None = None
    caller_phone: str = ""


@dataclass(frozen=True)
class CallEnding:
    ended_at: dt.datetime
    status: str
    outcome: str = ""
    transcript: str = ""


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, Location | AgentConfig):
        return value.pk
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    return value


def call_fingerprint(
    opening: CallOpening, ending: CallEnding, turns: Sequence[TurnInput], events: Sequence[EventInput]
) -> str:
    document = {
        "opening": {name: _canonical(getattr(opening, name)) for name in opening.__dataclass_fields__},
        "ending": _canonical(asdict(ending)),
        "turns": [_canonical(asdict(turn)) for turn in turns],
        "events": [_canonical(asdict(event)) for event in events],
    }
    return hashlib.sha256(json.dumps(document, sort_keys=True, default=str).encode()).hexdigest()


def _check_links(organization: Organization, opening: CallOpening) -> None:
    errors = {}
    if opening.location is not None and opening.location.organization_id != organization.pk:
        errors["location"] = [f"No location with id {opening.location.pk}."]
    if opening.agent_config is not None and opening.agent_config.organization_id != organization.pk:
        errors["config_version"] = ["No such configuration version."]
    if errors:
        raise ValidationError(errors)


def _check_ending(opening: CallOpening, ending: CallEnding) -> None:
    if ending.status == CallStatus.IN_PROGRESS:
        raise ValidationError({"status": ["A finished call has a final status, not in_progress."]})
    if ending.ended_at < opening.started_at:
        raise ValidationError({"ended_at": ["The call cannot end before it started."]})


def _check_turn_indexes(turns: Sequence[TurnInput], events: Sequence[EventInput], known: set[int]) -> None:
    seen: set[int] = set()
    problems: dict[str, list[str]] = {}
    for position, turn in enumerate(turns):
        if turn.turn_index in seen:
            problems.setdefault("turns", []).append(
                f"[{position}]: turn index {turn.turn_index} given twice."
            )
        seen.add(turn.turn_index)
    indexes = known | seen
    for position, event in enumerate(events):
        if event.turn_index is not None and event.turn_index not in indexes:
            problems.setdefault("events", []).append(
                f"[{position}]: turn_index {event.turn_index} is not a turn of this call."
            )
        try:
            validate_event_data(event.event_type, event.event_data)
        except ValidationError as error:
            problems.setdefault("events", []).extend(f"[{position}].event_data: {m}" for m in error.messages)
    if problems:
        raise ValidationError(problems)


def _turn_rows(call: Call, turns: Sequence[TurnInput]) -> list[Turn]:
    return [
        Turn(
            organization_id=call.organization_id,
            call=call,
            **{**asdict(turn), "occurred_at": turn.occurred_at or call.started_at},
        )
        for turn in turns
    ]


def _event_rows(call: Call, events: Sequence[EventInput]) -> list[CallEvent]:
    return [
        CallEvent(
            organization_id=call.organization_id,
            call=call,
            event_type=event.event_type,
            event_data=event.event_data,
            turn_index=event.turn_index,
            occurred_at=event.occurred_at or call.started_at,
        )
        for event in events
    ]


def _organization(caller: VoiceCaller) -> Organization:
    return caller.organization_for_create("call")


@transaction.atomic
def call_ingest(
    *,
    caller: VoiceCaller,
    opening: CallOpening,
    ending: CallEnding,
    turns: Sequence[TurnInput] = (),
    events: Sequence[EventInput] = (),
) -> tuple[Call, bool]:
    """Store a whole finished call with its turns and events; (call, created)."""
    organization = _organization(caller)
    _check_links(organization, opening)
    _check_ending(opening, ending)
    _check_turn_indexes(turns, events, set())
    fingerprint = call_fingerprint(opening, ending, turns, events)
    existing = Call.objects.filter(organization=organization, call_id=opening.call_id).first()
    if existing is not None:
        return _replayed(existing, fingerprint), False
    call = Call(
        organization=organization,
        call_id=opening.call_id,
        location=opening.location,
        agent_config=opening.agent_config,
        caller_phone=opening.caller_phone,
        started_at=opening.started_at,
        ended_at=ending.ended_at,
        status=ending.status,
        outcome=ending.outcome,
        transcript=ending.transcript,
        ingest_fingerprint=fingerprint,
    )
    try:
        with transaction.atomic():
            call.save()
    except IntegrityError:
        # A concurrent first send of the same call won the unique constraint.
        winner = Call.objects.filter(organization=organization, call_id=opening.call_id).first()
        if winner is None:
            raise
        return _replayed(winner, fingerprint), False
    Turn.objects.bulk_create(_turn_rows(call, turns))
    CallEvent.objects.bulk_create(_event_rows(call, events))
    return call, True


def _replayed(existing: Call, fingerprint: str) -> Call:
    if existing.ingest_fingerprint != fingerprint:
        raise CallIdConflict(call_id=existing.call_id)
    return existing


@transaction.atomic
def call_open(*, caller: VoiceCaller, opening: CallOpening) -> tuple[Call, bool]:
    """Start a streamed call (in progress); (call, created). Re-sending the same opening returns it."""
    organization = _organization(caller)
    _check_links(organization, opening)
    existing = Call.objects.filter(organization=organization, call_id=opening.call_id).first()
    if existing is None:
        call = Call(
            organization=organization,
            call_id=opening.call_id,
            location=opening.location,
            agent_config=opening.agent_config,
            caller_phone=opening.caller_phone,
            started_at=opening.started_at,
            status=CallStatus.IN_PROGRESS,
        )
        try:
            with transaction.atomic():
                call.save()
            return call, True
        except IntegrityError:
            existing = Call.objects.filter(organization=organization, call_id=opening.call_id).first()
            if existing is None:
                raise
    same = (
        not existing.ingest_fingerprint
        and existing.started_at == opening.started_at
        and existing.location_id == (opening.location.pk if opening.location else None)
        and existing.agent_config_id == (opening.agent_config.pk if opening.agent_config else None)
        and existing.caller_phone == opening.caller_phone
    )
    if not same:
        raise CallIdConflict(call_id=opening.call_id)
    return existing, False


def _lock_open_call(caller: VoiceCaller, call: Call) -> Call:
    caller.require_write("call", call.organization)
    locked = Call.objects.select_for_update(no_key=True).get(pk=call.pk)
    if locked.status != CallStatus.IN_PROGRESS:
        raise CallClosed(call_id=locked.call_id)
    return locked


_TURN_FIELDS = [name for name in TurnInput.__dataclass_fields__ if name != "occurred_at"]


@transaction.atomic
def call_append_turns(*, caller: VoiceCaller, call: Call, turns: Sequence[TurnInput]) -> list[Turn]:
    """Add turns to an open call; returns the turns stored by this request (retries add nothing)."""
    call = _lock_open_call(caller, call)
    _check_turn_indexes(turns, [], set())
    stored = {
        turn.turn_index: turn for turn in call.turns.filter(turn_index__in=[t.turn_index for t in turns])
    }
    new = []
    for turn in turns:
        before = stored.get(turn.turn_index)
        if before is None:
            new.append(turn)
        elif any(getattr(before, name) != getattr(turn, name) for name in _TURN_FIELDS):
            raise TurnConflict(call_id=call.call_id, index=turn.turn_index)
    return Turn.objects.bulk_create(_turn_rows(call, new))


@transaction.atomic
def call_append_events(*, caller: VoiceCaller, call: Call, events: Sequence[EventInput]) -> list[CallEvent]:
    """Add events to an open call; an event identical to a stored one (a retry) is skipped."""
    call = _lock_open_call(caller, call)
    known = set(call.turns.values_list("turn_index", flat=True))
    _check_turn_indexes([], events, known)
    stored = {
        (row.event_type, row.turn_index, json.dumps(row.event_data, sort_keys=True), row.occurred_at)
        for row in call.events.all()
    }
    rows = [
        row
        for row in _event_rows(call, events)
        if (row.event_type, row.turn_index, json.dumps(row.event_data, sort_keys=True), row.occurred_at)
        not in stored
    ]
    return CallEvent.objects.bulk_create(rows)


@transaction.atomic
def call_close(*, caller: VoiceCaller, call: Call, ending: CallEnding) -> Call:
    """End a streamed call. Closing again with the same ending returns it; a different one is refused."""
    caller.require_write("call", call.organization)
    locked = Call.objects.select_for_update(no_key=True).get(pk=call.pk)
    if locked.status != CallStatus.IN_PROGRESS:
        same = (
            locked.ended_at == ending.ended_at
            and locked.status == ending.status
            and locked.outcome == ending.outcome
            and locked.transcript == ending.transcript
        )
        if same:
            return locked
        raise CallClosed(call_id=locked.call_id)
    opening = CallOpening(call_id=locked.call_id, started_at=locked.started_at)
    _check_ending(opening, ending)
    locked.ended_at, locked.status = ending.ended_at, ending.status
    locked.outcome, locked.transcript = ending.outcome, ending.transcript
    locked.save(update_fields=["ended_at", "status", "outcome", "transcript", "updated_at"])
    return locked
