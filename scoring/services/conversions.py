"""Recording a conversion: one transaction that writes the conversion, closes the person's open queue
entries (callbacks get a closed_by_conversion event) and deactivates their score. The score row is locked
first (the documented order), so a concurrent claim skips the person and a second conversion waits and
then fails with already_converted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from agents.models import HumanAgent
from scoring.errors import AlreadyConverted, ScoreNotFound
from scoring.models import (
    CallbackEvent,
    CallbackEventKind,
    CallQueueEntry,
    CallSession,
    Conversion,
    QueueStatus,
    UserCallScore,
)

OPEN = (QueueStatus.PENDING, QueueStatus.IN_PROGRESS)


@transaction.atomic
def conversion_record(
    *,
    person_id: object,
    conversion_type: str,
    conversion_reason: str | None = None,
    primary_agent: HumanAgent | None = None,
    contributing_agents: list[HumanAgent] | None = None,
    documents_received: Any = None,
    signature_obtained: bool = False,
    requirements_met: Any = None,
    claim_value: Decimal | None = None,
    estimated_commission: Decimal | None = None,
    now: dt.datetime | None = None,
) -> Conversion:
    now = now or timezone.now()
    score = (
        UserCallScore.objects.select_for_update(of=("self",), no_key=True).filter(person_id=person_id).first()
    )
    if score is None:
        raise ScoreNotFound(person_id=person_id)
    if not score.is_active:
        raise AlreadyConverted(person_id=person_id)
    open_entries = CallQueueEntry.objects.filter(person_id=person_id, status__in=OPEN)
    entries = list(open_entries.select_for_update(of=("self",), no_key=True).order_by("id"))
    previous = next((e.queue_type for e in entries if e.callback_id is None), None) or (
        entries[0].queue_type if entries else score.current_queue_type or ""
    )
    calls = CallSession.objects.filter(person_id=person_id).aggregate(n=Count("id"), last=Max("ended_at"))
    conversion = Conversion.objects.create(
        person_id=person_id,
        previous_queue_type=previous,
        conversion_type=conversion_type,
        conversion_reason=conversion_reason,
        final_score=score.current_score,
        total_call_attempts=calls["n"],
        last_call_at=calls["last"] or score.last_call_at,
        converted_at=now,
        primary_agent=primary_agent,
        documents_received=documents_received,
        signature_obtained=signature_obtained,
        requirements_met=requirements_met,
        claim_value=claim_value,
        estimated_commission=estimated_commission,
    )
    if contributing_agents:
        conversion.contributing_agents.set(contributing_agents)
    CallQueueEntry.objects.filter(id__in=[e.id for e in entries]).update(
        status=QueueStatus.COMPLETED,
        completed_at=now,
        claimed_by=None,
        claimed_at=None,
        serving_active=False,  # the serving copy follows the score row deactivated below
    )
    CallbackEvent.objects.bulk_create(
        [
            CallbackEvent(
                queue_entry=e,
                kind=CallbackEventKind.CLOSED_BY_CONVERSION,
                at=now,
                detail={"conversion": conversion.pk},
            )
            for e in entries
            if e.callback_id is not None
        ]
    )
    UserCallScore.objects.filter(pk=score.pk).update(
        is_active=False,
        claimed_by=None,
        claimed_at=None,
        signature_obtained=signature_obtained or score.signature_obtained,
        updated_at=now,
    )
    return conversion
