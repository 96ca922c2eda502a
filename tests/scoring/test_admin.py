"""The outbound supervisor's admin pages: the queue in serving order with the breakdown, callbacks due and
overdue, conversions with totals per agent and week and a chart; constant queries whatever the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from scoring.models import Conversion, QueueType
from tests.factories.agents import HumanAgentFactory
from tests.factories.scoring import (
    CallQueueEntryFactory,
    CallSessionFactory,
    ScoringLeadFactory,
    UserCallScoreFactory,
)

pytestmark = pytest.mark.django_db

QUEUE = reverse("admin:scoring_callqueueentry_changelist")
CONVERSIONS = reverse("admin:scoring_conversion_changelist")


@pytest.fixture
def staff(client: Client, supervisor_user) -> Client:
    client.force_login(supervisor_user)
    return client


def _person(score: int, *, queue_type: str = QueueType.UNSIGNED_USERS, **entry: object):
    person = ScoringLeadFactory()
    UserCallScoreFactory(
        person=person,
        current_score=score,
        score_breakdown={
            "raw": score,
            "factors": [{"name": "freshness", "value": 0.5, "weight": 15, "points": 7.5}],
        },
    )
    return CallQueueEntryFactory(person=person, queue_type=queue_type, **entry)


def _conversion(agent, *, days_ago: int, claim: str, commission: str) -> Conversion:
    return Conversion.objects.create(
        person=ScoringLeadFactory(),
        previous_queue_type=QueueType.OUTSTANDING_REQUESTS,
        conversion_type="signature",
        primary_agent=agent,
        converted_at=timezone.now() - dt.timedelta(days=days_ago),
        claim_value=Decimal(claim),
        estimated_commission=Decimal(commission),
    )


def _names(html: str, entries) -> list[str]:
    return sorted((entry for entry in entries), key=lambda entry: html.index(entry.person.external_id))


def test_the_queue_shows_one_type_in_serving_order_due_callbacks_first(staff: Client) -> None:
    low, high = _person(20), _person(90)
    callback = _person(
        10, callback_id="cb-1", callback_scheduled_for=timezone.now() - dt.timedelta(minutes=1)
    )
    other_queue = _person(99, queue_type=QueueType.OUTSTANDING_REQUESTS)
    html = staff.get(QUEUE).content.decode()
    assert other_queue.person.external_id not in html  # unsigned users unless another type is chosen
    assert _names(html, [low, high, callback]) == [callback, high, low]
    assert "due" in html


def test_overdue_callbacks_are_highlighted_and_filtered(staff: Client) -> None:
    overdue = _person(
        10, callback_id="cb-late", callback_scheduled_for=timezone.now() - dt.timedelta(hours=3)
    )
    later = _person(10, callback_id="cb-later", callback_scheduled_for=timezone.now() + dt.timedelta(hours=3))
    html = staff.get(QUEUE, {"callback": "overdue"}).content.decode()
    assert overdue.person.external_id in html and later.person.external_id not in html
    assert "overdue</strong>" in html


def test_a_queue_entry_shows_the_score_breakdown(staff: Client) -> None:
    entry = _person(42)
    html = staff.get(reverse("admin:scoring_callqueueentry_change", args=[entry.pk])).content.decode()
    assert "<th>factor</th>" in html and "freshness" in html and "7.5" in html


def test_conversions_show_totals_per_agent_and_week_and_a_chart(staff: Client) -> None:
    ada, bo = HumanAgentFactory(name="Ada Closer"), HumanAgentFactory(name="Bo Helper")
    _conversion(ada, days_ago=1, claim="1000.00", commission="100.00")
    _conversion(bo, days_ago=1, claim="500.50", commission="50.05")
    _conversion(ada, days_ago=15, claim="250.00", commission="25.00")
    html = staff.get(CONVERSIONS).content.decode()
    assert "3 conversions, claim value 1750.50, estimated commission 175.05." in html
    assert "Ada Closer" in html and "Bo Helper" in html
    assert "<svg" in html and html.count("<rect") == 2  # two weeks
    filtered = staff.get(CONVERSIONS, {"primary_agent__id__exact": ada.pk}).content.decode()
    assert "2 conversions, claim value 1250.00, estimated commission 125.00." in filtered


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    "url",
    [
        QUEUE,
        CONVERSIONS,
        reverse("admin:scoring_usercallscore_changelist"),
        reverse("admin:scoring_callsession_changelist"),
    ],
)
def test_change_lists_cost_the_same_queries_for_2_or_20_rows(staff: Client, url: str) -> None:
    agent = HumanAgentFactory()

    def add(count: int) -> None:
        for n in range(count):
            entry = _person(n, callback_id=f"cb-{url}-{n}-{count}" if n % 2 else None)
            CallSessionFactory(person=entry.person, agent=agent)
            _conversion(agent, days_ago=n, claim="10.00", commission="1.00")

    add(2)
    few = _count(staff, url)
    add(18)
    assert _count(staff, url) == few
