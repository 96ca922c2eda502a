"""Logging a call: the session, the person's attempts and last call, the entry's next state, the score.

One transaction; the person's score row is locked first, then the entry (the documented order).
After the call a callback entry is done (completed); a regular entry goes back to pending unless the
outcome ends it (wrong number, not interested, signed, completed). The claim on the person is released.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from agents.models import HumanAgent
from routing.models import Lead
from scoring.errors import EntryNotClaimedByAgent, PersonNotFound, QueueEntryNotFound
from scoring.models import (
    CallbackEvent,
    CallbackEventKind,
    CallOutcome,
    CallQueueEntry,
    CallSession,
    QueueStatus,
    UserCallScore,
)
from scoring.services.scores import score_person

ENDING_OUTCOMES = {
    CallOutcome.WRONG_NUMBER,
    CallOutcome.NOT_INTERESTED,
    CallOutcome.SIGNED,
    CallOutcome.COMPLETED,
}


@transaction.atomic
def call_session_log(
    *,
    person_id: object,
    agent: HumanAgent,
    outcome: str,
    duration_seconds: int,
    notes: str = "",
    started_at: dt.datetime | None = None,
    queue_entry_id: int | None = None,
    now: dt.datetime | None = None,
) -> CallSession:
    now = now or timezone.now()
    if not Lead.objects.filter(pk=person_id).exists():
        raise PersonNotFound(person_id=person_id)
    started_at = started_at or now - dt.timedelta(seconds=duration_seconds)
    ended_at = started_at + dt.timedelta(seconds=duration_seconds)
    UserCallScore.objects.get_or_create(person_id=person_id, defaults={"created_at": now, "updated_at": now})
    score = UserCallScore.objects.select_for_update(of=("self",), no_key=True).get(person_id=person_id)
    entry = None
    if queue_entry_id is not None:
        entry = (
            CallQueueEntry.objects.select_for_update(of=("self",), no_key=True)
            .filter(pk=queue_entry_id, person_id=person_id)
            .first()
        )
        if entry is None:
            raise QueueEntryNotFound(entry_id=queue_entry_id)
        if entry.status == QueueStatus.IN_PROGRESS and entry.claimed_by_id not in (None, agent.pk):
            raise EntryNotClaimedByAgent(entry_id=queue_entry_id, agent_code=agent.code)
    session = CallSession.objects.create(
        person_id=person_id,
        agent=agent,
        started_at=started_at,
        ended_at=ended_at,
        outcome=outcome,
        notes=notes,
        queue_entry=entry,
    )
    changes: dict = {"call_attempts": F("call_attempts") + 1, "last_call_at": ended_at}
    if outcome == CallOutcome.SIGNED:
        changes["signature_obtained"] = True
    if entry is None or score.claimed_at is None or entry.claimed_by_id == agent.pk:
        changes.update(claimed_by=None, claimed_at=None)  # the call ends this agent's claim on the person
    UserCallScore.objects.filter(pk=score.pk).update(**changes)
    if entry is not None and entry.status != QueueStatus.COMPLETED:
        done = entry.callback_id is not None or outcome in ENDING_OUTCOMES
        entry.status = QueueStatus.COMPLETED if done else QueueStatus.PENDING
        entry.completed_at = now if done else None
        entry.claimed_by, entry.claimed_at = None, None
        entry.save(update_fields=["status", "completed_at", "claimed_by", "claimed_at"])
        if entry.callback_id is not None:
            CallbackEvent.objects.create(
                queue_entry=entry,
                kind=CallbackEventKind.COMPLETED,
                agent=agent,
                at=now,
                detail={"outcome": outcome},
            )
    score_person(person_id=person_id, now=now)
    return session
