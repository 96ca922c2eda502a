"""The first run is alive (issue 11): a demo floor routes at any hour, the trickle moves it, and
run_floor keeps the server and the sweep together under one Ctrl-C."""

from __future__ import annotations

import datetime as dt
import random
import signal
import subprocess
import sys
import threading
import time

import pytest
import time_machine

from agents.models import HumanAgent
from routing.demo import DEMO_AGENTS, DEMO_PREFIX, demo_case_request, demo_floor_ensure, demo_trickle_step
from routing.management.commands.run_floor import supervise
from routing.models import CaseAssignment
from routing.services import case_route

pytestmark = pytest.mark.django_db


def _roster() -> list[tuple]:
    return list(
        HumanAgent.objects.exclude(code__startswith=DEMO_PREFIX)
        .order_by("code")
        .values_list("code", "name", "max_concurrent_work", "is_active", "updated_at")
    )


def test_the_demo_floor_is_added_once_and_leaves_the_seed_roster_as_it_was():
    before = _roster()
    assert demo_floor_ensure() == len(DEMO_AGENTS)
    assert demo_floor_ensure() == 0  # a second make run reuses everything
    assert HumanAgent.objects.filter(code__startswith=DEMO_PREFIX).count() == len(DEMO_AGENTS)
    assert _roster() == before


@pytest.mark.parametrize("day", [1, 6])  # a Monday and a Saturday
@pytest.mark.parametrize("hour", [0, 4, 8, 12, 16, 20])
def test_a_demo_case_is_routed_at_any_hour(day, hour):
    with time_machine.travel(dt.datetime(2027, 2, 27, tzinfo=dt.UTC), tick=False):
        demo_floor_ensure()  # effective from the day before
    moment = dt.datetime(2027, 3, day, hour, 17, tzinfo=dt.UTC)
    with time_machine.travel(moment, tick=False):
        outcome = case_route(request=demo_case_request(random.Random(hour), number=hour))
    assert outcome.assignment is not None, outcome.decision.reason


def test_the_trickle_routes_a_case_and_completes_open_demo_work():
    demo_floor_ensure()
    rng = random.Random(4)
    for number in range(6):
        demo_trickle_step(rng, number=number, complete_share=1.0)
    assert CaseAssignment.objects.filter(agent__code__startswith=DEMO_PREFIX, status="completed").exists()


def _sleeper() -> list[str]:
    return [
        sys.executable,
        "-c",
        "import time\ntry:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    pass",
    ]


def test_run_floor_stops_everything_on_one_ctrl_c():
    # the supervisor runs in a thread here; Ctrl-C reaches it as KeyboardInterrupt
    result: list[object] = []
    started = time.monotonic()

    def run() -> None:
        try:
            result.append(supervise({"web": _sleeper(), "sweep": _sleeper()}, poll_seconds=0.05))
        except BaseException as error:  # pragma: no cover - reported below
            result.append(error)

    with pytest.MonkeyPatch.context() as patch:
        calls = {"n": 0}
        real_sleep = time.sleep

        def interrupted(seconds: float) -> None:
            calls["n"] += 1
            if calls["n"] == 5:
                raise KeyboardInterrupt
            real_sleep(seconds)

        patch.setattr("routing.management.commands.run_floor.time.sleep", interrupted)
        thread = threading.Thread(target=run)
        thread.start()
        thread.join(30)
    assert result == [None] and time.monotonic() - started < 30


def test_run_floor_stops_the_others_when_one_dies():
    popen = subprocess.Popen
    children: list[subprocess.Popen] = []

    def tracked(command, *args, **kwargs):
        child = popen(command, *args, **kwargs)
        children.append(child)
        return child

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("routing.management.commands.run_floor.subprocess.Popen", tracked)
        failed = supervise(
            {"web": _sleeper(), "sweep": [sys.executable, "-c", "raise SystemExit(3)"]}, poll_seconds=0.05
        )
    assert failed == "sweep"
    assert all(child.poll() is not None for child in children)
    assert signal.SIGINT  # the terminal's Ctrl-C reaches every child of the process group
