"""Concurrent assignment on PostgreSQL: however many assigners race, a task goes to exactly one agent,
the losers get task_already_assigned, and no assigner deadlocks."""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Callable

import pytest
from django.db import connection

from agents.automation.errors import NoAgentAvailable, TaskAlreadyAssigned
from agents.automation.services import task_assign, task_create
from agents.models import AgentTask
from tests.factories.automation import AutomatedAgentFactory

THREADS = 6
TASKS = 30


def _run_concurrently(work: Callable[[int], None], threads: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            work(index)
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            errors.append(error)
        finally:
            connection.close()

    running = [threading.Thread(target=worker, args=(index,)) for index in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("seed_rows_back_after_flush")
def test_racing_assigners_give_each_task_to_exactly_one_agent():
    # given
    agents = [AutomatedAgentFactory(capabilities=["crm"]) for _ in range(8)]
    tasks = [task_create(title=f"T{n}", required_capabilities=["crm"]) for n in range(TASKS)]
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    # when: every thread tries every task, half naming a random agent, half asking for the best one
    def assign_everything(index: int) -> None:
        rng = random.Random(index)
        for task in rng.sample(tasks, len(tasks)):
            agent_id = rng.choice(agents).pk if rng.random() < 0.5 else None
            try:
                task_assign(task_id=task.pk, agent_id=agent_id)
                outcome = "assigned"
            except TaskAlreadyAssigned:
                outcome = "already_assigned"
            except NoAgentAvailable:
                outcome = "none_free"  # must not happen: eligible agents exist, held or not
            with lock:
                outcomes[outcome] += 1

    errors = _run_concurrently(assign_everything, THREADS)

    # then
    assert errors == []
    assert outcomes == Counter({"assigned": TASKS, "already_assigned": TASKS * (THREADS - 1)})
    assert AgentTask.objects.filter(assigned_agent__isnull=True).count() == 0
