"""Throughput of case routing over real HTTP: gunicorn with the production settings, on 127.0.0.1 only.

For each worker count (--workers, default 1, 2, 4 and config.gunicorn's documented default), it starts
gunicorn (`-c python:config.gunicorn`, the production settings, this command's database, Redis for the
shared cache), lets --clients client threads POST /api/v1/routing/cases/ with a Supervisors token for
--seconds, stops the server and reports:
- routes/s (answers 201 or 202 per second of the measuring window);
- client-side latency p50/p95 (what a caller waits, connection included);
- server-side p50/p95, read from gunicorn's access log (`%(D)s`: the time the worker took from reading
  the request to writing the response), so the client's own CPU time on this machine does not count;
- the answers that were neither 201 nor 202 (any is a failure: the command exits non-zero).

Bounded on purpose: it only binds 127.0.0.1, runs for --seconds per worker count, and routes cases whose
ids start with rhttp_ to the bench roster bench_routing loads (run it first: `make bench` does). Between
runs the floor is reset as bench_routing resets it (open bench assignments closed, loads zeroed), so each
worker count starts from the same idle floor. Meant for PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from django.utils import timezone
from rest_framework.authtoken.models import Token

from agents.models import HumanAgent
from agents.roles import SUPERVISORS
from config import gunicorn as gunicorn_config
from config.benchmark import percentile
from routing.management import format_table
from routing.management.commands.bench_routing import Command as RoutingBenchmark

ROUTE_PATH = "/api/v1/routing/cases/"
ROUTED = (201, 202)
MIN_ROSTER = 100  # bench agents with skills: fewer and the clients mostly queue cases, not route them


@dataclasses.dataclass
class Run:
    workers: int
    seconds: float
    client_ms: list[float]
    server_ms: list[float]
    statuses: dict[int, int]

    @property
    def routed(self) -> int:
        return sum(count for status, count in self.statuses.items() if status in ROUTED)

    @property
    def failures(self) -> int:
        return sum(count for status, count in self.statuses.items() if status not in ROUTED)

    def row(self) -> tuple[Any, ...]:
        return (
            self.workers,
            round(self.routed / self.seconds, 1),
            round(percentile(self.client_ms, 0.5), 1),
            round(percentile(self.client_ms, 0.95), 1),
            round(percentile(self.server_ms, 0.5), 1),
            round(percentile(self.server_ms, 0.95), 1),
            self.routed,
            self.failures,
        )


def _database_url(database: dict[str, Any]) -> str:
    """This command's database as a DATABASE_URL for the server (the same one, not a copy)."""
    credentials = quote(database["USER"] or "", safe="")
    if database.get("PASSWORD"):
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{database['PORT'] or 5432}/{quote(database['NAME'], safe='')}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Command(BaseCommand):
    help = "Routes/s and server-side p50/p95 of POST /api/v1/routing/cases/ against gunicorn on 127.0.0.1."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--workers",
            type=int,
            nargs="+",
            default=sorted({1, 2, 4, gunicorn_config.workers}),
            help="gunicorn worker counts to measure, in turn (default 1 2 4 and GUNICORN_WORKERS' default).",
        )
        parser.add_argument("--clients", type=int, default=16, help="Concurrent client threads.")
        parser.add_argument("--seconds", type=float, default=15.0, help="Measuring window per worker count.")
        parser.add_argument("--warmup", type=float, default=3.0, help="Seconds of load before measuring.")
        parser.add_argument(
            "--cache-url",
            default=os.environ.get("BENCH_HTTP_CACHE_URL", "redis://127.0.0.1:6379/4"),
            help="The server's shared cache (production settings use Redis).",
        )
        parser.add_argument("--seed", type=int, default=11)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            raise CommandError(
                "bench_http measures the production setup: run it on PostgreSQL (DATABASE_URL)."
            )
        if min(options["workers"]) < 1 or options["clients"] < 1 or options["seconds"] <= 0:
            raise CommandError("--workers and --clients must be at least 1 and --seconds above 0.")
        roster = HumanAgent.objects.filter(code__startswith="bench_", skills__isnull=False).distinct().count()
        if roster < MIN_ROSTER:
            raise CommandError(
                f"The bench roster has {roster} agents with skills; run `manage.py bench_routing` on this "
                f"database first (`make bench` does): it loads 10,000 by default."
            )
        self.routing = RoutingBenchmark(stdout=self.stdout, stderr=self.stderr)
        self.routing.rng = random.Random(options["seed"])
        token = self.token()
        load = os.getloadavg()
        self.stdout.write(
            f"bench_http: {options['clients']} clients, {options['seconds']:.0f} s per worker count, "
            f"{roster:,} bench agents; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; "
            f"{os.cpu_count()} CPUs (documented default: GUNICORN_WORKERS={gunicorn_config.workers})"
        )
        runs = []
        for workers in options["workers"]:
            self.routing.reset_floor()
            runs.append(self.measure(workers, token, options))
        self.routing.reset_floor()
        self.stdout.write(
            format_table(
                [
                    "workers",
                    "routes/s",
                    "client p50 ms",
                    "client p95 ms",
                    "server p50 ms",
                    "server p95 ms",
                    "routed",
                    "failed",
                ],
                [run.row() for run in runs],
            )
        )
        first = runs[0]
        for run in runs[1:]:
            if first.routed:
                self.stdout.write(
                    f"{run.workers} workers: {run.routed / run.seconds / (first.routed / first.seconds):.2f}x "
                    f"the routes/s of {first.workers}"
                )
        failed = [run for run in runs if run.failures]
        if failed:
            detail = "; ".join(f"{run.workers} workers: {run.statuses}" for run in failed)
            raise CommandError(f"Some routes were not answered 201/202 ({detail}); see the server log above.")

    def token(self) -> str:
        user, _ = get_user_model().objects.get_or_create(
            username="bench_http", defaults={"is_staff": True, "email": "bench_http@bench.invalid"}
        )
        user.groups.add(Group.objects.get(name=SUPERVISORS))
        return Token.objects.get_or_create(user=user)[0].key

    # --- one worker count --------------------------------------------------------------------------

    def measure(self, workers: int, token: str, options: dict[str, Any]) -> Run:
        port = _free_port()
        with tempfile.TemporaryDirectory(prefix="bench_http_") as folder:
            access_log = Path(folder) / "access.log"
            error_log = Path(folder) / "error.log"
            server = self.start_server(workers, port, access_log, error_log, options["cache_url"])
            try:
                self.wait_ready(server, port, error_log)
                run_id = f"{timezone.now():%Y%m%d%H%M%S}_{workers}"
                self.load(port, token, run_id, options["clients"], options["warmup"], warm=True)
                marker = access_log.stat().st_size if access_log.exists() else 0
                started = time.perf_counter()
                client_ms, statuses = self.load(port, token, run_id, options["clients"], options["seconds"])
                elapsed = time.perf_counter() - started
            finally:
                self.stop_server(server)
            run = Run(workers, elapsed, client_ms, self.server_times(access_log, marker), statuses)
            if run.failures and error_log.exists():
                self.stderr.write(error_log.read_text()[-4_000:])
        return run

    def start_server(
        self, workers: int, port: int, access_log: Path, error_log: Path, cache_url: str
    ) -> subprocess.Popen:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DATABASE_URL": _database_url(connection.settings_dict),
            "CACHE_URL": cache_url,
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback
            "SECURE_HSTS_SECONDS": "0",
            "API_THROTTLE_RATE": "100000000/min",  # one token at full speed; the throttle is tested apart
            "LOG_LEVEL": "WARNING",
            "GUNICORN_WORKERS": str(workers),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "python:config.gunicorn",
            "--access-logfile",
            str(access_log),
            "--access-logformat",
            "%(m)s %(U)s %(s)s %(D)s",
            "--error-logfile",
            str(error_log),
        ]
        return subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, start_new_session=True)

    @staticmethod
    def wait_ready(server: subprocess.Popen, port: int, error_log: Path) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise CommandError(
                    f"gunicorn exited with {server.returncode}: {error_log.read_text()[-2_000:]}"
                )
            try:
                connection_ = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection_.request("GET", "/api/schema/")
                if connection_.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise CommandError("gunicorn did not answer within 60 s.")

    @staticmethod
    def stop_server(server: subprocess.Popen) -> None:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()

    def load(
        self, port: int, token: str, run_id: str, clients: int, seconds: float, *, warm: bool = False
    ) -> tuple[list[float], dict[int, int]]:
        """`clients` threads POST routes until `seconds` have passed; each its own connection per request
        (gunicorn's sync workers close the connection after each answer)."""
        stop_at = time.perf_counter() + seconds
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()
        bodies = self.bodies(run_id, "w" if warm else "m")

        def client(number: int) -> None:
            headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
            while time.perf_counter() < stop_at:
                with lock:
                    body = next(bodies)
                started = time.perf_counter()
                try:
                    link = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    link.request("POST", ROUTE_PATH, body=body, headers=headers)
                    response = link.getresponse()
                    response.read()
                    status = response.status
                    link.close()
                except OSError:
                    status = 0  # no answer at all
                took = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(took)
                    statuses[status] = statuses.get(status, 0) + 1

        threads = [threading.Thread(target=client, args=(number,)) for number in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return latencies, statuses

    def bodies(self, run_id: str, phase: str):
        number = 0
        while True:
            number += 1
            yield json.dumps(self.routing.case_body(f"rhttp_{run_id}_{phase}{number}")).encode()

    @staticmethod
    def server_times(access_log: Path, offset: int) -> list[float]:
        """Milliseconds per measured route from gunicorn's access log (`METHOD PATH STATUS MICROSECONDS`),
        from `offset` (the warm-up's lines are before it)."""
        if not access_log.exists():
            return []
        with access_log.open("rb") as log:
            log.seek(offset)
            lines = log.read().decode().splitlines()
        times = []
        for line in lines:
            method, path, _status, micros = line.split()
            if method == "POST" and path == ROUTE_PATH:
                times.append(int(micros) / 1000)
        return times
