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
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
    AgentSpecialization,
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
from config.benchmark import Measure, interleaved, report

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
        floor = AgentFloor.build()
        pick = [rng.choice(codes) for _ in range(iterations + 100)]
        statuses = [rng.choice(["available", "busy"]) for _ in range(iterations + 100)]
        measures: list[Measure] = []
        with override_settings(DEBUG=False), _without_throttling():
            measures.append(
                interleaved(
                    "agent detail (GET request)",
                    lambda i: self._ok(client.get(f"/api/v1/agents/{pick[i]}/")),
                    lambda i: floor.detail(pick[i]),
                    iterations,
                    target_ms=TARGETS_MS["agent detail (GET request)"],
                    note="one statement: the agent with its availability, performance and nested sets as JSON",
                )
            )
            measures.append(
                interleaved(
                    "agent detail (selector)",
                    lambda i: agent_detail(code=pick[i]),
                    lambda i: floor.detail(pick[i]),
                    iterations,
                    note="the same statement",
                )
            )
            measures.append(
                interleaved(
                    "filtered list page of 50 (GET request)",
                    lambda i: self._ok(
                        client.get(
                            "/api/v1/agents/",
                            {
                                "skill": DOMAINS[i % len(DOMAINS)],
                                "language": LANGUAGES[i % 4],
                                "status": "available",
                                "page_size": 50,
                            },
                        )
                    ),
                    lambda i: floor.page(DOMAINS[i % len(DOMAINS)], LANGUAGES[i % 4]),
                    iterations,
                    note="one statement: the page of 50 filtered agents with their nested sets as JSON, and the count",
                )
            )
            measures.append(
                interleaved(
                    "availability update (PATCH request)",
                    lambda i: self._ok(
                        client.patch(
                            f"/api/v1/agents/{pick[i]}/availability/", {"status": statuses[i]}, format="json"
                        )
                    ),
                    lambda i: floor.set_status(pick[i], statuses[i]),
                    iterations,
                    target_ms=TARGETS_MS["availability update (PATCH request)"],
                    note="one transaction: the UPDATE of the locked row and its history INSERT",
                )
            )
            measures.append(
                interleaved(
                    "availability update (service)",
                    lambda i: agent_availability_update(code=pick[i], status=statuses[i]),
                    lambda i: floor.set_status(pick[i], statuses[i]),
                    iterations,
                    note="the same transaction",
                )
            )
        self.stdout.write(
            f"\n{len(codes)} agents, {iterations} interleaved iterations, database: {connection.vendor}\n"
        )
        self.stdout.write(report(measures))

    @staticmethod
    def _ok(response: Any) -> Any:
        if response.status_code >= 400:
            raise SystemExit(f"HTTP {response.status_code} {response.content[:300]!r}")
        return response

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


@dataclass(frozen=True)
class AgentFloor:
    """The agents benchmark's floors: the same reads and writes written by hand."""

    detail_sql: str
    page_sql: str
    update_sql: str
    history_sql: str

    @classmethod
    def build(cls) -> AgentFloor:
        q = connection.ops.quote_name
        agent, availability, performance = (
            q(m._meta.db_table) for m in (HumanAgent, AgentAvailability, AgentPerformance)
        )
        skill, domain, language, spec, schedule = (
            q(m._meta.db_table)
            for m in (AgentSkill, SkillDomain, AgentLanguage, AgentSpecialization, AgentSchedule)
        )
        nested = (
            f"(SELECT json_agg(json_build_object('domain', d.code, 'proficiency', k.proficiency, 'years', "
            f"k.years_experience)) FROM {skill} k JOIN {domain} d ON d.id = k.domain_id WHERE k.agent_id = h.id) AS skills, "
            f"(SELECT json_agg(json_build_object('code', l.language_code, 'proficiency', l.proficiency)) "
            f"FROM {language} l WHERE l.agent_id = h.id) AS languages, "
            f"(SELECT json_agg(row_to_json(sp)) FROM {spec} sp WHERE sp.agent_id = h.id) AS specializations, "
            f"(SELECT json_agg(row_to_json(s)) FROM {schedule} s WHERE s.agent_id = h.id) AS schedules"
        )
        columns = f"h.*, row_to_json(a) AS availability, row_to_json(p) AS performance, {nested}"
        joins = f"{agent} h LEFT JOIN {availability} a ON a.agent_id = h.id LEFT JOIN {performance} p ON p.agent_id = h.id"
        historical = q(AgentAvailability.history.model._meta.db_table)
        return cls(
            detail_sql=f"SELECT {columns} FROM {joins} WHERE h.code = %s",
            page_sql=(
                f"SELECT {columns}, COUNT(*) OVER () AS total FROM {joins} WHERE a.status = 'available' "
                f"AND EXISTS (SELECT 1 FROM {skill} k JOIN {domain} d ON d.id = k.domain_id WHERE k.agent_id = h.id AND d.code = %s) "
                f"AND EXISTS (SELECT 1 FROM {language} l WHERE l.agent_id = h.id AND l.language_code = %s) "
                "ORDER BY h.code LIMIT 50"
            ),
            update_sql=(
                f"UPDATE {availability} a SET status = %s, status_since = now(), manual_override = (%s <> 'available'), "
                f"last_status_change = now() FROM {agent} h WHERE h.id = a.agent_id AND h.code = %s RETURNING a.*"
            ),
            history_sql=(
                f"INSERT INTO {historical} (agent_id, status, status_since, expected_available_at, manual_override, "
                "override_reason, current_load, last_assigned_at, last_status_change, history_date, history_type, "
                "history_change_reason, history_user_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, now(), '~', NULL, NULL)"
            ),
        )

    def detail(self, code: str) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(self.detail_sql, [code])
            return cursor.fetchone()

    def page(self, skill: str, language: str) -> Any:
        with connection.cursor() as cursor:
            cursor.execute(self.page_sql, [skill, language])
            return cursor.fetchall()

    def set_status(self, code: str, status: str) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(self.update_sql, [status, status, code])
            row = cursor.fetchone()
            names = [column.name for column in cursor.description]
            values = dict(zip(names, row, strict=True))
            cursor.execute(
                self.history_sql,
                [
                    values["agent_id"],
                    values["status"],
                    values["status_since"],
                    values["expected_available_at"],
                    values["manual_override"],
                    values["override_reason"],
                    values["current_load"],
                    values["last_assigned_at"],
                    values["last_status_change"],
                ],
            )


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
