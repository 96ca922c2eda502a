"""Fault 12: the throttle and the admin lock-out count once for every server process, not per process.

- production settings put the default cache (the throttle's) on Redis, from CACHE_URL;
- `check --deploy` warns when the throttle's cache or the lock-out's store is per-process;
- two processes hitting the throttle against one Redis admit the rate once between them (and, as a
  control that the test can fail, twice with the in-process cache);
- the throttle's sliding-window counter: admits the rate, refuses the next, does not count refusals,
  and says when to retry.

The Redis tests need a server (REDIS_TEST_URL, default redis://127.0.0.1:6379/1); without one they are
skipped, unless REQUIRE_REDIS=1 (CI) makes that a failure. Each run uses its own keys, so runs sharing
the database do not disturb each other.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.checks import run_checks
from django.test import override_settings
from rest_framework.authentication import TokenAuthentication

from config.throttling import TokenClientThrottle, throttle_wait
from tests.conftest import REDIS_TEST_URL

BASE_DIR = Path(__file__).resolve().parent.parent
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_TEST_URL}}


def _warning_ids() -> set[str]:
    return {message.id for message in run_checks(include_deployment_checks=True)}


# --- production settings ------------------------------------------------------------------------------


def _production(monkeypatch: pytest.MonkeyPatch, **env: str):
    monkeypatch.setenv("SECRET_KEY", "test-only-" + "x" * 50)
    monkeypatch.setenv("ALLOWED_HOSTS", "switchboard.example.com")
    monkeypatch.delenv("CACHE_URL", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    package = importlib.import_module("config.settings")
    for name in ("config.settings.base", "config.settings.production"):
        if name in sys.modules:  # monkeypatch puts the originals back afterwards
            monkeypatch.setattr(package, name.rsplit(".", 1)[1], sys.modules[name])
            monkeypatch.delitem(sys.modules, name)
    return importlib.import_module("config.settings.production")


def test_production_throttles_on_redis_on_this_host_by_default(monkeypatch: pytest.MonkeyPatch):
    cache = _production(monkeypatch).CACHES["default"]
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == "redis://127.0.0.1:6379/0"
    assert cache["OPTIONS"]["socket_timeout"] == 1


def test_production_takes_the_cache_from_cache_url(monkeypatch: pytest.MonkeyPatch):
    cache = _production(monkeypatch, CACHE_URL="redis://cache.internal:6380/3").CACHES["default"]
    assert cache["LOCATION"] == "redis://cache.internal:6380/3"


def test_the_lockout_counts_in_the_shared_database():
    from django.conf import settings

    assert settings.AXES_HANDLER == "axes.handlers.database.AxesDatabaseHandler"


# --- the deploy check -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.cache.backends.dummy.DummyCache",
        "django.core.cache.backends.filebased.FileBasedCache",
    ],
)
def test_check_deploy_warns_when_the_throttle_would_count_per_process(backend: str, tmp_path: Path):
    with override_settings(CACHES={"default": {"BACKEND": backend, "LOCATION": str(tmp_path)}}):
        assert "switchboard.W001" in _warning_ids()


def test_check_deploy_is_quiet_with_a_shared_cache_and_the_database_lockout():
    with override_settings(CACHES=REDIS):
        ids = _warning_ids()
    assert "switchboard.W001" not in ids
    assert "switchboard.W002" not in ids


def test_check_deploy_warns_when_the_lockout_would_count_per_process():
    with override_settings(
        CACHES={**REDIS, "lockout": LOCMEM["default"]},
        AXES_HANDLER="axes.handlers.cache.AxesCacheHandler",
        AXES_CACHE="lockout",
    ):
        assert "switchboard.W002" in _warning_ids()
    with override_settings(CACHES=REDIS, AXES_HANDLER="axes.handlers.cache.AxesCacheHandler"):
        assert "switchboard.W002" not in _warning_ids()  # the cache handler on the shared cache


def test_the_check_runs_only_with_deploy():
    with override_settings(CACHES=LOCMEM):
        assert "switchboard.W001" not in {message.id for message in run_checks()}


# --- the sliding-window counter ---------------------------------------------------------------------------


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _token_request(user_id: int) -> SimpleNamespace:
    return SimpleNamespace(
        successful_authenticator=TokenAuthentication(),
        user=SimpleNamespace(pk=user_id, is_authenticated=True),
        META={},
    )


def _throttle(rate: str, clock: Clock) -> TokenClientThrottle:
    throttle = TokenClientThrottle()
    throttle.rate = rate
    throttle.num_requests, throttle.duration = throttle.parse_rate(rate)
    throttle.timer = clock
    return throttle


@pytest.fixture
def locmem_cache():
    with override_settings(CACHES=LOCMEM):
        from django.core.cache import cache

        cache.clear()
        yield cache
        cache.clear()


def test_the_throttle_admits_the_rate_then_refuses_without_counting_refusals(locmem_cache):
    clock = Clock(1_000_020.0)  # 20 s into a minute window
    request = _token_request(uuid.uuid4().int % 10**9)

    admitted = [_throttle("5/min", clock).allow_request(request, None) for _ in range(8)]

    assert admitted == [True] * 5 + [False] * 3
    window = int(clock.now // 60)
    assert locmem_cache.get(f"throttle_token_client_{request.user.pk}:{window}") == 5


def test_the_previous_window_slides_out(locmem_cache):
    clock = Clock(60 * 20_000 + 59.0)
    request = _token_request(uuid.uuid4().int % 10**9)
    assert all(_throttle("10/min", clock).allow_request(request, None) for _ in range(10))

    clock.now += 31  # 30 s into the next window: half the previous window still counts (5)
    admitted = sum(_throttle("10/min", clock).allow_request(request, None) for _ in range(10))

    assert admitted == 5


def test_a_refused_request_says_when_to_retry(locmem_cache):
    clock = Clock(60 * 30_000 + 15.0)
    request = _token_request(uuid.uuid4().int % 10**9)
    for _ in range(2):
        _throttle("2/min", clock).allow_request(request, None)
    refused = _throttle("2/min", clock)

    assert refused.allow_request(request, None) is False
    assert refused.wait() == pytest.approx(45 + 30)  # rest of this window, then half the next


@pytest.mark.parametrize(
    ("previous", "current", "elapsed", "expected"),
    [
        (0, 9, 10.0, 0.0),  # room now
        (10, 0, 30.0, 0.0),  # half of 10 has slid out: 5 + 0 + 1 <= 10
        (10, 5, 30.0, 6.0),  # needs 0.6 of the window gone: at 36 s
        (0, 10, 20.0, 40.0 + 6.0),  # full: next window, once 10 * (1 - 0.1 * ...) allows one
    ],
)
def test_throttle_wait(previous: int, current: int, elapsed: float, expected: float):
    assert throttle_wait(previous=previous, current=current, elapsed=elapsed, duration=60, rate=10) == (
        pytest.approx(expected)
    )


def test_the_throttle_admits_when_its_cache_is_down(caplog):
    with override_settings(
        CACHES={
            "default": {
                "BACKEND": "django.core.cache.backends.redis.RedisCache",
                "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
                "OPTIONS": {"socket_connect_timeout": 0.2},
            }
        }
    ):
        throttle = _throttle("1/min", Clock(1_000_000.0))
        assert throttle.allow_request(_token_request(1), None) is True
    assert "Throttle cache unavailable" in caplog.text


# --- two processes, one count ------------------------------------------------------------------------------

HAMMER = """
import sys
from types import SimpleNamespace

import django

django.setup()
from rest_framework.authentication import TokenAuthentication

from config.throttling import TokenClientThrottle

user_id, attempts = int(sys.argv[1]), int(sys.argv[2])
request = SimpleNamespace(
    successful_authenticator=TokenAuthentication(), user=SimpleNamespace(pk=user_id, is_authenticated=True), META={}
)
sys.stdin.readline()  # start together
print(sum(TokenClientThrottle().allow_request(request, None) for _ in range(attempts)))
"""


def _hammer_in_two_processes(cache_url: str, *, rate: int, attempts: int) -> list[int]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.base",
        "CACHE_URL": cache_url,
        "API_THROTTLE_RATE": f"{rate}/day",  # a day's window: the run never straddles two windows
    }
    user_id = str(uuid.uuid4().int % 10**12)  # keys of this run only
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", HAMMER, user_id, str(attempts)],
            cwd=BASE_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for process in processes:  # both are past django.setup() and waiting on this line
        process.stdin.write("go\n")
        process.stdin.flush()
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr
    return [int(stdout.strip()) for stdout, _ in outputs]


def test_two_processes_share_one_count_on_redis(redis_url: str):
    # given two processes racing one token past its rate, counting on the same Redis
    admitted = _hammer_in_two_processes(redis_url, rate=200, attempts=400)

    # then they admit the rate once between them (atomic increments: not one request more)
    assert sum(admitted) == 200


def test_control_two_processes_on_the_in_process_cache_admit_the_rate_each():
    # what production did before: each process counts alone, so two admit twice the rate
    assert _hammer_in_two_processes("locmemcache://", rate=200, attempts=400) == [200, 200]
