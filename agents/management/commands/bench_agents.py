"""Benchmark the agents API at roster scale (meant for PostgreSQL; not a test).

Loads N agents (default 10,000) with 2-4 skills over 10 domains, 1-3 languages, five weekday schedules
and their availability/performance rows, in bulk and one transaction per batch, then times the hot
reads and writes with time.perf_counter and prints p50/p95/p99 in milliseconds:

- agent detail: GET /api/v1/agents/{code}/ (full request through the test client, as a supervisor)
  and the bare `agent_detail` selector;
- filtered agent list page: GET /api/v1/agents/?skill=..&language=..&status=available&page_size=50;
- availability update: PATCH /api/v1/agents/{code}/availability/ and the bare service call.

Benchmark agents have codes `bench_000000`...; `--reuse` keeps those already loaded. Requests run with
DEBUG off (no query log) and without throttling. The client is force-authenticated, so the figures
exclude the token lookup (one indexed query); the permission lookups are cached on the user object
after the first request, as they are per request in production (2 queries), so they are excluded too.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from agents.api.views import AgentAvailabilityApi, AgentViewSet
from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentSchedule,
    AgentSkill,
    AvailabilityStatus,
    HumanAgent,
    LanguageProficiency,
    Proficiency,
    SkillDomain,
    SkillLevel,
    Weekday,
)
from agents.roles import SUPERVISORS
from agents.selectors import agent_detail
from agents.services import agent_availability_update

PREFIX = "bench_"
DOMAINS = [f"{PREFIX}{name}" for name in ("billing", "claims", "technical", "refunds", "sales")] + [
    f"{PREFIX}{name}" for name in ("onboarding", "retention", "fraud", "integrations", "general")
]
LANGUAGES = ["en", "es", "fr", "de", "pt", "zh", "it", "nl"]
LANGUAGE_WEIGHTS = [50, 20, 8, 6, 6, 5, 3, 2]
STATUSES = [AvailabilityStatus.AVAILABLE, AvailabilityStatus.BUSY, AvailabilityStatus.BREAK]
STATUS_WEIGHTS = [40, 35, 25]
WEEKDAYS = [Weekday.MONDAY, Weekday.TUESDAY, Weekday.WEDNESDAY, Weekday.THURSDAY, Weekday.FRIDAY]
TIMEZONES = ["America/Los_Angeles", "America/New_York", "Europe/Madrid", "Asia/Manila"]

TARGETS_MS = {"agent detail (GET request)": 5.0, "availability update (PATCH request)": 3.0}


class Command(BaseCommand):
    help = "Load a 10,000-agent roster and print p50/p95/p99 of the agents API hot paths (PostgreSQL)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agents", type=int, default=10_000, help="Agents to load (default 10000).")
        parser.add_argument("--iterations", type=int, default=2_000, help="Timed runs per operation.")
        parser.add_argument("--reuse", action="store_true", help="Skip loading if the agents are there.")
        parser.add_argument("--batch-size", type=int, default=1_000, help="Agents per load transaction.")
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stderr.write(f"Warning: running on {connection.vendor}; the targets are for PostgreSQL.")
        rng = random.Random(options["seed"])
        count, iterations = options["agents"], options["iterations"]

        present = HumanAgent.objects.filter(code__startswith=PREFIX).count()
        if options["reuse"] and present >= count:
            self.stdout.write(f"Reusing {present} benchmark agents.")
        else:
            self._load(count=count, start=present, batch_size=options["batch_size"], rng=rng)
        if connection.vendor == "postgresql":  # planner statistics and visibility map after the load
            with connection.cursor() as cursor:
                for model in (HumanAgent, AgentSkill, AgentLanguage, AgentSchedule, AgentAvailability):
                    cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")

        codes = list(
            HumanAgent.objects.filter(code__startswith=PREFIX).values_list("code", flat=True)[:count]
        )
        client = APIClient()
        client.force_authenticate(self._supervisor())
        rows: list[tuple[str, list[float], int]] = []
        with override_settings(DEBUG=False), _without_throttling():
            rows.append(
                self._measure(
                    "agent detail (GET request)",
                    lambda: client.get(f"/api/v1/agents/{rng.choice(codes)}/"),
                    iterations,
                )
            )
            rows.append(
                self._measure(
                    "agent detail (selector)", lambda: agent_detail(code=rng.choice(codes)), iterations
                )
            )
            rows.append(
                self._measure(
                    "filtered list page of 50 (GET request)",
                    lambda: client.get(
                        "/api/v1/agents/",
                        {
                            "skill": rng.choice(DOMAINS),
                            "language": rng.choice(LANGUAGES[:4]),
                            "status": "available",
                            "page_size": 50,
                        },
                    ),
                    iterations,
                )
            )
            rows.append(
                self._measure(
                    "availability update (PATCH request)",
                    lambda: client.patch(
                        f"/api/v1/agents/{rng.choice(codes)}/availability/",
                        {"status": rng.choice(["available", "busy"])},
                        format="json",
                    ),
                    iterations,
                )
            )
            rows.append(
                self._measure(
                    "availability update (service)",
                    lambda: agent_availability_update(
                        code=rng.choice(codes), status=rng.choice(["available", "busy"])
                    ),
                    iterations,
                )
            )
        self._report(rows, agents=len(codes), iterations=iterations)

    # --- loading ---------------------------------------------------------------------------------

    def _load(self, *, count: int, start: int, batch_size: int, rng: random.Random) -> None:
        domains = self._domains()
        began = time.perf_counter()
        now = timezone.now()
        for offset in range(start, count, batch_size):
            numbers = range(offset, min(offset + batch_size, count))
            with transaction.atomic():
                agents = HumanAgent.objects.bulk_create(
                    [
                        HumanAgent(
                            code=f"{PREFIX}{number:06d}",
                            name=f"Bench Agent {number}",
                            email=f"{PREFIX}{number}@bench.example",
                            employee_id=f"BENCH-{number:06d}",
                            department=rng.choice(["Support", "Billing", "Sales", "Claims"]),
                            hire_date=dt.date(2020, 1, 1) + dt.timedelta(days=number % 1500),
                            skill_level=rng.choice(SkillLevel.values),
                            max_concurrent_work=rng.randint(3, 8),
                        )
                        for number in numbers
                    ]
                )
                skills, languages, schedules, availabilities, performances = [], [], [], [], []
                for agent in agents:
                    for domain in rng.sample(domains, rng.randint(2, 4)):
                        skills.append(
                            AgentSkill(
                                agent=agent,
                                domain=domain,
                                proficiency=rng.choice(Proficiency.values),
                                years_experience=rng.randint(0, 12),
                            )
                        )
                    picked, wanted = ({"en"} if rng.random() < 0.7 else set()), rng.randint(1, 3)
                    while len(picked) < wanted:
                        picked.add(rng.choices(LANGUAGES, LANGUAGE_WEIGHTS)[0])
                    languages += [
                        AgentLanguage(
                            agent=agent,
                            language_code=code,
                            proficiency=rng.choice(LanguageProficiency.values),
                        )
                        for code in sorted(picked)
                    ]
                    zone = rng.choice(TIMEZONES)
                    schedules += [
                        AgentSchedule(
                            agent=agent,
                            day_of_week=day,
                            start_time=dt.time(9),
                            end_time=dt.time(17),
                            timezone=zone,
                            effective_from=dt.date(2026, 1, 1),
                        )
                        for day in WEEKDAYS
                    ]
                    status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
                    availabilities.append(
                        AgentAvailability(
                            agent=agent,
                            status=status,
                            status_since=now,
                            current_load=rng.randint(0, 2) if status != "available" else 0,
                        )
                    )
                    performances.append(AgentPerformance(agent=agent, csat_score=rng.randint(30, 50) / 10))
                AgentSkill.objects.bulk_create(skills)
                AgentLanguage.objects.bulk_create(languages)
                AgentSchedule.objects.bulk_create(schedules)
                AgentAvailability.objects.bulk_create(availabilities)
                AgentPerformance.objects.bulk_create(performances)
            self.stdout.write(f"  loaded agents {numbers.start}..{numbers.stop - 1}")
        self.stdout.write(f"Loaded {count - start} agents in {time.perf_counter() - began:.1f} s.")

    def _domains(self) -> list[SkillDomain]:
        for code in DOMAINS:
            SkillDomain.objects.get_or_create(code=code, defaults={"name": code.removeprefix(PREFIX).title()})
        return list(SkillDomain.objects.filter(code__in=DOMAINS))

    def _supervisor(self) -> User:
        user, _ = User.objects.get_or_create(username="bench_supervisor", defaults={"is_staff": True})
        user.groups.add(Group.objects.get(name=SUPERVISORS))
        return User.objects.get(pk=user.pk)  # fresh permission cache

    # --- measuring -----------------------------------------------------------------------------------

    def _measure(
        self, label: str, operation: Callable[[], Any], iterations: int
    ) -> tuple[str, list[float], int]:
        outcome = operation()
        status = getattr(outcome, "status_code", 200)
        if status >= 400:
            raise SystemExit(f"{label}: HTTP {status} {getattr(outcome, 'content', b'')[:300]!r}")
        for _ in range(min(100, iterations)):  # warm up connections, caches and the planner
            operation()
        statements: list[str] = []
        with connection.execute_wrapper(_recording(statements)):  # the test client resets query logs
            operation()
        samples = []
        for _ in range(iterations):
            began = time.perf_counter()
            operation()
            samples.append((time.perf_counter() - began) * 1000)
        return label, samples, len(statements)

    def _report(self, rows: list[tuple[str, list[float], int]], *, agents: int, iterations: int) -> None:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        self.stdout.write(
            f"\n{agents} agents, {iterations} iterations per operation, database: {connection.vendor}, "
            f"load average {load:.1f} on {os.cpu_count()} CPUs\n"
        )
        header = f"{'operation':<40} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  target"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for label, samples, query_count in rows:
            cuts = statistics.quantiles(samples, n=100, method="inclusive")
            p50, p95, p99 = cuts[49], cuts[94], cuts[98]
            target = TARGETS_MS.get(label)
            verdict = ""
            if target is not None:
                verdict = f"p95 <= {target:g} ms: {'met' if p95 <= target else 'NOT MET'}"
            self.stdout.write(f"{label:<40} {query_count:>7} {p50:>8.2f} {p95:>8.2f} {p99:>8.2f}  {verdict}")


def _recording(statements: list[str]) -> Callable[..., Any]:
    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        statements.append(sql)
        return execute(sql, params, many, context)

    return wrapper


@contextmanager
def _without_throttling() -> Iterator[None]:
    """Throttle classes are bound when the view classes are defined, so unset them on the views."""
    views = (AgentViewSet, AgentAvailabilityApi)
    saved = [view.throttle_classes for view in views]
    for view in views:
        view.throttle_classes = []
    try:
        yield
    finally:
        for view, classes in zip(views, saved, strict=True):
            view.throttle_classes = classes
