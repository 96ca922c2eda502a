"""Writes of messages between automated agents: send, deliver, acknowledge, failed deliveries, expiry.

Life of a message (AgentMessage.status):
- `message_send` stores it `sent` (in the recipient's inbox) or, when the recipient is offline,
  `pending` with `next_attempt_at` = now;
- `message_deliver` (the recipient took it) makes it `delivered`; `message_acknowledge` (processed)
  `acknowledged`, stamping delivered_at too when the recipient acknowledges straight away;
- `message_delivery_failed` counts a retry and puts it back to `pending`, due again after an exponential
  backoff (MESSAGE_RETRY_BASE_SECONDS x 2^(retry - 1), at most MESSAGE_RETRY_MAX_SECONDS), or makes it
  `failed` once its `max_retries` retries are spent;
- `messages_resend_due` (the sweep) sends again the pending messages that are due, to recipients that
  are not offline; `messages_expire` (expire_messages, the sweep) expires the open ones past expires_at.
A message past `expires_at` can no longer be delivered or acknowledged (409 `message_expired`), whether or
not the sweep has marked it yet. The set-based passes work in batches of MESSAGE_SWEEP_BATCH rows, one
transaction each, skipping rows another transaction holds.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from agents.automation.errors import MessageExpired, MessageNotFound, MessageTransitionInvalid
from agents.models import (
    OPEN_MESSAGE_STATUSES,
    AgentMessage,
    AutomatedAgent,
    AutomatedAgentStatus,
    MessagePriority,
    MessageStatus,
)

MESSAGE_SWEEP_BATCH = 1000


def retry_delay(*, retry: int, base_seconds: int, max_seconds: int) -> dt.timedelta:
    """The wait before attempt `retry` + 1 (retry >= 1): base x 2^(retry - 1), capped."""
    return dt.timedelta(seconds=min(max_seconds, base_seconds * 2 ** max(retry - 1, 0)))


@transaction.atomic
def message_send(
    *,
    sender: AutomatedAgent,
    recipient: AutomatedAgent,
    message_type: str,
    subject: str = "",
    payload: dict[str, Any] | None = None,
    priority: str = MessagePriority.NORMAL,
    correlation_id: uuid.UUID | None = None,
    conversation_id: uuid.UUID | None = None,
    max_retries: int = 3,
    expires_at: dt.datetime | None = None,
) -> AgentMessage:
    """Store a message from `sender` to `recipient`; the types are the agents' types."""
    now = timezone.now()
    offline = recipient.status == AutomatedAgentStatus.OFFLINE
    return AgentMessage.objects.create(
        sender=sender,
        recipient=recipient,
        sender_type=sender.agent_type,
        recipient_type=recipient.agent_type,
        message_type=message_type,
        subject=subject,
        payload=payload or {},
        priority=priority,
        correlation_id=correlation_id,
        conversation_id=conversation_id,
        max_retries=max_retries,
        expires_at=expires_at,
        status=MessageStatus.PENDING if offline else MessageStatus.SENT,
        next_attempt_at=now if offline else None,
        created_at=now,
    )


def _message_locked(message_id: Any) -> AgentMessage:
    """By its public `message_id`, locked (nothing points at messages: a plain FOR UPDATE)."""
    try:
        return AgentMessage.objects.select_for_update(of=("self",)).get(message_id=message_id)
    except AgentMessage.DoesNotExist:
        raise MessageNotFound(message_id=message_id) from None


def _require_open(message: AgentMessage, action: str, allowed: tuple[str, ...], now: dt.datetime) -> None:
    if message.status not in allowed:
        raise MessageTransitionInvalid(message_id=message.message_id, status=message.status, action=action)
    if message.expires_at is not None and message.expires_at <= now:
        raise MessageExpired(message_id=message.message_id, expires_at=message.expires_at.isoformat())


@transaction.atomic
def message_deliver(*, message_id: Any) -> AgentMessage:
    """The recipient has the message: pending or sent -> delivered."""
    message = _message_locked(message_id)
    now = timezone.now()
    _require_open(message, "delivered", (MessageStatus.PENDING, MessageStatus.SENT), now)
    message.status = MessageStatus.DELIVERED
    message.delivered_at = now
    message.next_attempt_at = None
    message.save(update_fields=["status", "delivered_at", "next_attempt_at"])
    return message


@transaction.atomic
def message_acknowledge(*, message_id: Any) -> AgentMessage:
    """The recipient processed the message: any open status -> acknowledged."""
    message = _message_locked(message_id)
    now = timezone.now()
    _require_open(message, "acknowledged", OPEN_MESSAGE_STATUSES, now)
    message.status = MessageStatus.ACKNOWLEDGED
    message.delivered_at = message.delivered_at or now
    message.acknowledged_at = now
    message.next_attempt_at = None
    message.save(update_fields=["status", "delivered_at", "acknowledged_at", "next_attempt_at"])
    return message


@transaction.atomic
def message_delivery_failed(*, message_id: Any, error: str) -> AgentMessage:
    """A delivery attempt failed: retry after the backoff, or fail for good after max_retries retries."""
    message = _message_locked(message_id)
    now = timezone.now()
    _require_open(message, "retried", (MessageStatus.PENDING, MessageStatus.SENT), now)
    message.last_error = error
    if message.retry_count >= message.max_retries:
        message.status = MessageStatus.FAILED
        message.next_attempt_at = None
    else:
        message.retry_count += 1
        message.status = MessageStatus.PENDING
        message.next_attempt_at = now + retry_delay(
            retry=message.retry_count,
            base_seconds=int(settings.AUTOMATION["MESSAGE_RETRY_BASE_SECONDS"]),
            max_seconds=int(settings.AUTOMATION["MESSAGE_RETRY_MAX_SECONDS"]),
        )
    message.save(update_fields=["last_error", "status", "retry_count", "next_attempt_at"])
    return message


def _batched_update(rows: Any, **changes: Any) -> int:
    done = 0
    while True:
        with transaction.atomic():
            ids = list(
                rows.select_for_update(skip_locked=True, of=("self",))
                .order_by("pk")
                .values_list("pk", flat=True)[:MESSAGE_SWEEP_BATCH]
            )
            if not ids:
                return done
            done += AgentMessage.objects.filter(pk__in=ids).update(**changes)


def messages_expire(*, now: dt.datetime | None = None) -> int:
    """Expire every open message whose expires_at has passed; returns how many."""
    now = now or timezone.now()
    return _batched_update(
        AgentMessage.objects.filter(status__in=OPEN_MESSAGE_STATUSES, expires_at__lte=now),
        status=MessageStatus.EXPIRED,
        next_attempt_at=None,
    )


def messages_resend_due(*, now: dt.datetime | None = None) -> int:
    """Send again the pending messages that are due, to recipients that are not offline."""
    now = now or timezone.now()
    due = (
        AgentMessage.objects.filter(status=MessageStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .exclude(recipient__status=AutomatedAgentStatus.OFFLINE)
    )
    return _batched_update(due, status=MessageStatus.SENT, next_attempt_at=None)
