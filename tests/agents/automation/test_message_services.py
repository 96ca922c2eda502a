"""Messages: send, deliver, acknowledge, retries with backoff, expiry (service and command), resend."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from agents.automation.errors import MessageExpired, MessageTransitionInvalid
from agents.automation.services import (
    message_acknowledge,
    message_deliver,
    message_delivery_failed,
    message_send,
    messages_expire,
    messages_resend_due,
    retry_delay,
)
from agents.models import AgentMessage, MessageStatus
from tests.factories.automation import AgentMessageFactory, AutomatedAgentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair():
    return AutomatedAgentFactory(agent_type="chief_of_staff"), AutomatedAgentFactory(
        agent_type="master_operator"
    )


def test_send_stores_it_sent_with_both_agents_types(pair):
    sender, recipient = pair

    message = message_send(sender=sender, recipient=recipient, message_type="task_request", payload={"a": 1})

    assert (message.status, message.sender_type, message.recipient_type) == (
        "sent",
        "chief_of_staff",
        "master_operator",
    )
    assert message.message_id != message.pk


def test_a_message_to_an_offline_agent_waits_pending_and_is_resent_once_it_is_back(pair):
    sender, recipient = pair
    recipient.status = "offline"
    recipient.save()
    message = message_send(sender=sender, recipient=recipient, message_type="ping")
    assert message.status == MessageStatus.PENDING

    assert messages_resend_due() == 0  # still offline
    recipient.status = "idle"
    recipient.save()
    assert messages_resend_due() == 1

    message.refresh_from_db()
    assert (message.status, message.next_attempt_at) == (MessageStatus.SENT, None)


def test_deliver_then_acknowledge_stamps_both_times(pair):
    message = message_send(sender=pair[0], recipient=pair[1], message_type="ping")

    delivered = message_deliver(message_id=message.message_id)
    acknowledged = message_acknowledge(message_id=message.message_id)

    assert delivered.status == MessageStatus.DELIVERED
    assert acknowledged.status == MessageStatus.ACKNOWLEDGED
    assert acknowledged.delivered_at == delivered.delivered_at <= acknowledged.acknowledged_at
    with pytest.raises(MessageTransitionInvalid):
        message_deliver(message_id=message.message_id)


def test_acknowledging_straight_away_stamps_delivery_too(pair):
    message = message_send(sender=pair[0], recipient=pair[1], message_type="ping")

    acknowledged = message_acknowledge(message_id=message.message_id)

    assert acknowledged.delivered_at == acknowledged.acknowledged_at


def test_backoff_doubles_from_the_base_and_is_capped():
    delays = [retry_delay(retry=n, base_seconds=30, max_seconds=200).total_seconds() for n in range(1, 6)]
    assert delays == [30, 60, 120, 200, 200]


def test_failed_deliveries_are_retried_with_backoff_until_max_retries_then_fail(pair, settings):
    settings.AUTOMATION = {
        **settings.AUTOMATION,
        "MESSAGE_RETRY_BASE_SECONDS": 10,
        "MESSAGE_RETRY_MAX_SECONDS": 1000,
    }
    message = message_send(sender=pair[0], recipient=pair[1], message_type="ping", max_retries=2)

    first = message_delivery_failed(message_id=message.message_id, error="recipient busy")
    waited = (first.next_attempt_at - timezone.now()).total_seconds()
    assert (first.status, first.retry_count, first.last_error) == ("pending", 1, "recipient busy")
    assert 8 <= waited <= 10
    second = message_delivery_failed(message_id=message.message_id, error="still busy")
    assert (second.retry_count, 18 <= (second.next_attempt_at - timezone.now()).total_seconds() <= 20) == (
        2,
        True,
    )

    final = message_delivery_failed(message_id=message.message_id, error="gone")

    assert (final.status, final.retry_count, final.next_attempt_at) == ("failed", 2, None)


def test_a_retry_is_sent_again_only_when_due(pair):
    message = message_send(sender=pair[0], recipient=pair[1], message_type="ping")
    message_delivery_failed(message_id=message.message_id, error="busy")

    assert messages_resend_due() == 0
    assert messages_resend_due(now=timezone.now() + dt.timedelta(hours=2)) == 1


def test_expiry_marks_only_open_messages_past_their_time(pair):
    past = timezone.now() - dt.timedelta(minutes=1)
    due = [AgentMessageFactory(status=status, expires_at=past) for status in ("pending", "sent")]
    due.append(AgentMessageFactory(status="delivered", expires_at=past, delivered_at=past))
    AgentMessageFactory(status="sent", expires_at=timezone.now() + dt.timedelta(hours=1))
    AgentMessageFactory(status="acknowledged", expires_at=past, delivered_at=past, acknowledged_at=past)
    AgentMessageFactory(status="sent", expires_at=None)

    assert messages_expire() == 3

    assert set(AgentMessage.objects.filter(status="expired").values_list("pk", flat=True)) == {
        m.pk for m in due
    }
    assert messages_expire() == 0  # idempotent


def test_an_expired_message_cannot_be_delivered_even_before_the_sweep_marks_it(pair):
    message = message_send(
        sender=pair[0],
        recipient=pair[1],
        message_type="ping",
        expires_at=timezone.now() + dt.timedelta(seconds=1),
    )
    AgentMessage.objects.filter(pk=message.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    with pytest.raises(MessageExpired):
        message_deliver(message_id=message.message_id)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_expire_messages_command_prints_what_it_did(capsys):
    AgentMessageFactory(status="sent", expires_at=timezone.now() - dt.timedelta(seconds=5))

    call_command("expire_messages")

    assert "expired 1 message(s); 1 expired in all" in capsys.readouterr().out
