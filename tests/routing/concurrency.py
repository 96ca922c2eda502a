"""The two mechanisms of the PostgreSQL concurrency tests: watch every load raise from inside its
transaction (under the agent's row lock), and run workers in threads on their own connections."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection

from routing.services import assignment as services


def analyze() -> None:
    with connection.cursor() as cursor:
        # Fresh test tables have no planner statistics; without them PostgreSQL overestimates the
        # candidate query and spends its time JIT-compiling it. Production tables are analysed.
        cursor.execute("ANALYZE")


def watch_take_load(monkeypatch, check: Callable[[int], str | None]) -> list[str]:
    """Run `check(agent_id)` inside every transaction that raises a load, right after it did, under the
    agent's row lock; the messages it returns are the violations seen."""
    violations: list[str] = []
    original_take_load = services.take_load

    def checked_take_load(agent, *, now):
        original_take_load(agent, now=now)
        message = check(agent.agent_id)
        if message:
            violations.append(message)

    monkeypatch.setattr(services, "take_load", checked_take_load)
    return violations


def run_concurrently(work: Callable[[int], None], threads: int) -> list[BaseException]:
    """`work(index)` in `threads` threads, each on its own connection; the errors they raised."""
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
