"""16 agents taking the next person to call at once, on PostgreSQL: nobody handed out twice (a person in two
queues included), nobody callable left behind, every claim recorded on the person's score row."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter

import pytest

from scoring.errors import QueueEmpty
from scoring.models import CallQueueEntry, QueueStatus, QueueType, UserCallScore
from scoring.services.queue import queue_claim_next
from tests.factories.agents import HumanAgentFactory
from tests.factories.scoring import CallQueueEntryFactory, ScoringLeadFactory, UserCallScoreFactory
from tests.routing.concurrency import analyze, run_concurrently

THREADS = 16
NOON = dt.datetime(2026, 6, 3, 12, 0, tzinfo=dt.UTC)  # inside every person's calling window (UTC)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("seed_rows_back_after_flush")
def test_sixteen_agents_claiming_at_once_never_get_the_same_person():
    # given 120 people: 60 only unsigned, 40 in both queues, 20 only outstanding; a few due callbacks
    people = []
    for n in range(120):
        person = ScoringLeadFactory()
        UserCallScoreFactory(person=person, current_score=n % 100, created_at=NOON - dt.timedelta(days=2))
        queues = (
            [QueueType.UNSIGNED_USERS]
            if n < 60
            else [QueueType.UNSIGNED_USERS, QueueType.OUTSTANDING_REQUESTS]
            if n < 100
            else [QueueType.OUTSTANDING_REQUESTS]
        )
        for queue_type in queues:
            callback = (
                {
                    "callback_id": f"cb-{n}-{queue_type}",
                    "callback_scheduled_for": NOON - dt.timedelta(minutes=5),
                }
                if n % 15 == 0
                else {}
            )
            CallQueueEntryFactory(person=person, queue_type=queue_type, **callback)
        people.append(person.pk)
    agents = [HumanAgentFactory() for _ in range(THREADS)]
    analyze()
    claims: list[tuple[int, object, int]] = []
    lock = threading.Lock()

    def work(index: int) -> None:
        agent = agents[index]
        queue_types = [QueueType.UNSIGNED_USERS, QueueType.OUTSTANDING_REQUESTS]
        empty: set[str] = set()
        turn = index
        while len(empty) < len(queue_types):
            queue_type = queue_types[turn % 2]
            turn += 1
            if queue_type in empty:
                continue
            try:
                claim = queue_claim_next(agent=agent, queue_type=queue_type, now=NOON)
            except QueueEmpty:
                empty.add(queue_type)
                continue
            with lock:
                claims.append((agent.pk, claim.entry.person_id, claim.entry.pk))

    # when
    errors = run_concurrently(work, THREADS)

    # then
    assert errors == []
    handed_out = Counter(person for _, person, _ in claims)
    assert [person for person, times in handed_out.items() if times > 1] == []
    assert set(handed_out) == set(people)  # nobody callable left behind
    scores = {score.person_id: score for score in UserCallScore.objects.all()}
    for agent_id, person, entry_id in claims:
        assert scores[person].claimed_by_id == agent_id and scores[person].claimed_at == NOON
        entry = CallQueueEntry.objects.get(pk=entry_id)
        assert (entry.status, entry.claimed_by_id) == (QueueStatus.IN_PROGRESS, agent_id)
    assert CallQueueEntry.objects.filter(status=QueueStatus.IN_PROGRESS).count() == len(people)
    assert len({agent for agent, _, _ in claims}) > 1  # the claims really ran side by side
