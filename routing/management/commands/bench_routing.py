"""Benchmark the routing hot paths at production scale (meant for PostgreSQL; not a test).

Scale (topped up idempotently, skipped with --reuse): 10,000 agents with skills, languages and schedules
that cover now, 1,000,000 historical assignments (routing.history), 100,000 waiting queue entries. Then
it times, with time.perf_counter over --iterations runs each, and prints p50/p95/p99 in milliseconds:

- route one case through the service (case_route) and through the API (POST /api/v1/routing/cases/);
- the queue position of a waiting entry (queue_position) with 100,000 entries waiting;
- complete-and-dispatch: case_complete on an in-progress case whose agent can take a waiting entry
  (completing frees capacity, which the services offer to the queue);
- one queue sweep (routing.services.queue_sweep, what `manage.py dispatch_queue` runs) over the full
  queue: the first sweep over the loaded queue (it escalates and widens every entry that waited long
  enough) and a steady-state sweep one minute later. The sweeps run inside one transaction that is
  rolled back at the end (each batch a savepoint instead of a commit), so a rerun finds the same queue.

Targets (p95): route <= 15 ms, queue position <= 10 ms, complete-and-dispatch <= 20 ms. With --explain it
also prints EXPLAIN ANALYZE of the slowest SELECTs of one extra run of each path (PostgreSQL only).

Reruns reuse the data: the top-up only adds what is missing, VACUUM ANALYZE runs only when rows were
added, and each run starts from an idle floor (assignments a previous run left open are closed and every
bench agent's load and status reset), so runs are comparable. --reuse skips the top-up entirely.

The data it adds is namespaced: agents bench_NNNNNN (routing.history.bench_agents_ensure), waiting cases
rbq_NNNNNNN, routed cases rbench_<run>_<n>.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

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
    Weekday,
)
from routing.history import SKILL_OPTIONS, bench_agents_ensure, history_generate
from routing.management import format_table
from routing.models import (
    OPEN_ASSIGNMENT_STATUSES,
    CaseAssignment,
    CaseStatus,
    EscalationQueueEntry,
    QueueStatus,
    SupportCase,
)
from routing.selectors import queue_position
from routing.services import CaseRequest, case_complete, case_route, case_start

TARGETS_P95_MS = {
    "route (service)": 15.0,
    "route (API)": 15.0,
    "queue position": 10.0,
    "complete + dispatch": 20.0,
}
SKILL_CODES = ["technical", "billing", "account_management", "general", "product"]
ZONES = ["UTC", "America/New_York", "America/Los_Angeles", "Europe/London", "Asia/Tokyo"]
PRIORITIES, PRIORITY_WEIGHTS = ["low", "medium", "high", "critical"], [50, 30, 15, 5]
COMPLEXITIES, COMPLEXITY_WEIGHTS = ["low", "medium", "high"], [40, 40, 20]
FRUSTRATIONS, FRUSTRATION_WEIGHTS = ["low", "moderate", "high", "critical"], [60, 25, 10, 5]
BATCH = 5_000


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(fraction * len(sorted_values)))
    return sorted_values[rank - 1]


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for offset in range(0, len(items), size):
        yield items[offset : offset + size]


class Command(BaseCommand):
    help = "Benchmark routing (route, queue position, complete-and-dispatch) at 10k agents / 1M assignments."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--agents", type=int, default=10_000)
        parser.add_argument("--history", type=int, default=1_000_000, help="Historical assignments.")
        parser.add_argument("--queue", type=int, default=100_000, help="Waiting queue entries.")
        parser.add_argument("--iterations", type=int, default=300, help="Timed runs per measure.")
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--reuse", action="store_true", help="Skip the data top-up; use what is there.")
        parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest SELECTs.")
        parser.add_argument("--no-sweep", action="store_true", help="Do not time the queue sweep.")

    def handle(self, *args: Any, **options: Any) -> None:
        self.rng = random.Random(options["seed"])
        if connection.vendor != "postgresql":
            self.stderr.write("Note: this benchmark is meant for PostgreSQL; figures on SQLite mean little.")
        if not options["reuse"]:
            added = self.ensure_agents(options["agents"])
            added += self.ensure_history(options["history"])
            added += self.ensure_queue(options["queue"])
            if added:
                self.analyze()
        self.reset_floor()
        self.print_scale()
        iterations = options["iterations"]
        run = timezone.now().strftime("%Y%m%d%H%M%S")
        results: dict[str, list[float]] = {}
        explain: dict[str, Callable[[], Any]] = {}

        # --- route one case, through the service and through the API
        requests = [self.case_request(f"rbench_{run}_{n}") for n in range(iterations + 1)]
        results["route (service)"] = self.time_each(lambda r: case_route(request=r), requests[:iterations])
        explain["route (service)"] = lambda: case_route(request=requests[iterations])

        client = self.api_client()
        bodies = [
            dataclasses.asdict(self.case_request(f"rbench_{run}_api_{n}")) for n in range(iterations + 1)
        ]

        def post(body: dict) -> None:
            response = client.post("/api/v1/routing/cases/", body, format="json")
            if response.status_code not in (201, 202):
                raise RuntimeError(f"API answered {response.status_code}: {response.content[:300]!r}")

        results["route (API)"] = self.time_each(post, bodies[:iterations])
        explain["route (API)"] = lambda: post(bodies[iterations])

        # --- queue position with the queue full
        sample = list(
            EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED).order_by("?")[: iterations + 1]
        )
        results["queue position"] = self.time_each(lambda e: queue_position(entry=e), sample[:iterations])
        explain["queue position"] = lambda: queue_position(entry=sample[-1])

        # --- complete-and-dispatch: the cases routed above, started (untimed), completed (timed)
        routed = list(
            CaseAssignment.objects.filter(
                case__case_id__startswith=f"rbench_{run}_", status__in=OPEN_ASSIGNMENT_STATUSES
            )
            .order_by("assigned_at")
            .values_list("case_id", flat=True)[: iterations + 1]
        )
        for case_id in routed:
            case_start(case_id=case_id)
        dispatched_before = self.dispatched_count()
        results["complete + dispatch"] = self.time_each(
            lambda case_id: case_complete(case_id=case_id, resolution_minutes=12, csat_rating=5),
            routed[:iterations],
        )
        dispatched = self.dispatched_count() - dispatched_before
        if len(routed) > iterations:
            explain["complete + dispatch"] = lambda: case_complete(case_id=routed[iterations], csat_rating=4)

        self.print_results(results)
        self.stdout.write(
            f"complete + dispatch: {dispatched} waiting entries were dispatched by {len(results['complete + dispatch'])} "
            "completions."
        )
        if not options["no_sweep"]:
            self.time_sweeps()
        if options["explain"]:
            self.explain(explain)

    # --- data ----------------------------------------------------------------------------------------

    def ensure_agents(self, count: int) -> int:
        started = time.perf_counter()
        created = bench_agents_ensure(count=count)
        domains = {
            code: SkillDomain.objects.get_or_create(code=code, defaults={"name": code.title()})[0]
            for code in SKILL_CODES
        }
        proficiencies = Proficiency.values
        today = timezone.localdate()

        without_skills = list(HumanAgent.objects.filter(skills__isnull=True).values_list("pk", flat=True))
        skills = []
        for agent_id in without_skills:
            for code in self.rng.sample(SKILL_CODES, self.rng.choice([2, 3, 3, 4])):
                skills.append(
                    AgentSkill(
                        agent_id=agent_id,
                        domain=domains[code],
                        proficiency=self.rng.choice(proficiencies[1:]),
                    )
                )
        without_languages = list(
            HumanAgent.objects.filter(languages__isnull=True).values_list("pk", flat=True)
        )
        languages = []
        for agent_id in without_languages:
            languages.append(
                AgentLanguage(agent_id=agent_id, language_code="en", proficiency=LanguageProficiency.NATIVE)
            )
            if self.rng.random() < 0.3:
                languages.append(
                    AgentLanguage(
                        agent_id=agent_id, language_code="es", proficiency=LanguageProficiency.FLUENT
                    )
                )
        without_schedules = list(
            HumanAgent.objects.filter(schedules__isnull=True).values_list("pk", flat=True)
        )
        schedules = []
        for agent_id in without_schedules:
            zone = ZONES[agent_id % len(ZONES)]
            for day in Weekday.values:  # all-day windows in the agent's zone: in schedule whenever we run
                schedules.append(
                    AgentSchedule(
                        agent_id=agent_id,
                        day_of_week=day,
                        start_time=dt.time(0, 0),
                        end_time=dt.time(23, 59, 59, 999999),
                        timezone=zone,
                        effective_from=today - dt.timedelta(days=365),
                    )
                )
        for model, rows in ((AgentSkill, skills), (AgentLanguage, languages), (AgentSchedule, schedules)):
            for chunk in _chunks(rows, BATCH):
                with transaction.atomic():
                    model.objects.bulk_create(chunk)
        # Bench agents are at work with a performance record worth ranking.
        bench = HumanAgent.objects.filter(code__startswith="bench_")
        AgentAvailability.objects.filter(agent__in=bench).exclude(status=AvailabilityStatus.AVAILABLE).update(
            status=AvailabilityStatus.AVAILABLE, manual_override=False, override_reason=""
        )
        unrated = list(
            AgentPerformance.objects.filter(agent__in=bench, csat_score__isnull=True).values_list(
                "pk", flat=True
            )
        )
        for chunk in _chunks(unrated, BATCH):
            rows = [
                AgentPerformance(
                    agent_id=pk,
                    csat_score=round(self.rng.uniform(3.2, 5.0), 2),
                    escalation_rate=round(self.rng.uniform(0.02, 0.3), 4),
                    first_contact_resolution_rate=round(self.rng.uniform(0.5, 0.95), 4),
                )
                for pk in chunk
            ]
            AgentPerformance.objects.bulk_update(
                rows, ["csat_score", "escalation_rate", "first_contact_resolution_rate"]
            )
        self.stdout.write(
            f"agents: +{created} agents, +{len(skills)} skills, +{len(languages)} languages, "
            f"+{len(schedules)} schedules ({time.perf_counter() - started:.1f}s)"
        )
        return created + len(skills) + len(languages) + len(schedules) + len(unrated)

    def ensure_history(self, target: int) -> int:
        missing = target - CaseAssignment.objects.count()
        if missing <= 0:
            return 0
        per_day = min(missing, 2_500)
        days = math.ceil(missing / per_day)
        result = history_generate(
            days=days, per_day=per_day, seed=self.rng.randrange(1 << 30), batch_size=10_000
        )
        self.stdout.write(f"history: +{result.cases} assignments via {result.method} ({result.seconds:.1f}s)")
        return result.cases

    def ensure_queue(self, target: int) -> int:
        started = time.perf_counter()
        missing = target - EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED).count()
        if missing <= 0:
            return 0
        taken = SupportCase.objects.filter(case_id__startswith="rbq_").count()
        now = timezone.now()
        numbers = list(range(taken + 1, taken + missing + 1))
        for chunk in _chunks(numbers, BATCH):
            cases, entries = [], []
            for number in chunk:
                priority = self.rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0]
                complexity = self.rng.choices(COMPLEXITIES, COMPLEXITY_WEIGHTS)[0]
                frustration = self.rng.choices(FRUSTRATIONS, FRUSTRATION_WEIGHTS)[0]
                skills = self.rng.choice(SKILL_OPTIONS)
                queued_at = now - dt.timedelta(seconds=self.rng.uniform(0, 2 * 3600))
                max_wait = self.rng.choice([15, 30, 60, 120])
                case = SupportCase(
                    case_id=f"rbq_{number:07d}",
                    customer_id=f"cust_{number % 50_000}",
                    priority=priority,
                    complexity=complexity,
                    required_skills=skills,
                    customer_frustration=frustration,
                    language="en",
                    max_wait_minutes=max_wait,
                    status=CaseStatus.QUEUED,
                    created_at=queued_at,
                )
                cases.append(case)
                entries.append(
                    EscalationQueueEntry(
                        case_id=case.case_id,
                        customer_id=case.customer_id,
                        language=case.language,
                        priority=priority,
                        complexity=complexity,
                        required_skills=skills,
                        customer_frustration=frustration,
                        queued_at=queued_at,
                        max_wait_minutes=max_wait,
                        wait_deadline=queued_at + dt.timedelta(minutes=max_wait),
                        next_escalation_at=queued_at + dt.timedelta(minutes=max_wait),
                    )
                )
            with transaction.atomic():
                SupportCase.objects.bulk_create(cases)
                EscalationQueueEntry.objects.bulk_create(entries)
        self.stdout.write(f"queue: +{missing} waiting entries ({time.perf_counter() - started:.1f}s)")
        return missing

    @staticmethod
    def analyze() -> None:
        """Fresh planner statistics after bulk loads (stale ones turned the candidate query from ~0.3 s
        into ~10 s: row estimates of 1 where there were thousands), and a visibility map, which
        autovacuum keeps on a live system and index-only counts (queue position) rely on."""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")

    def reset_floor(self) -> None:
        """Start every run from an idle floor: assignments a previous run left open are closed (set-based)
        and every bench agent is available with no load and no difficult streak."""
        started = time.perf_counter()
        now = timezone.now()
        leftover = list(
            CaseAssignment.objects.filter(
                status__in=OPEN_ASSIGNMENT_STATUSES, case__case_id__regex=r"^(rbench_|rbq_)"
            ).values_list("pk", flat=True)
        )
        for chunk in _chunks(leftover, BATCH):
            with transaction.atomic():
                CaseAssignment.objects.filter(pk__in=chunk).update(
                    status="completed", completed_at=now, resolution_minutes=10
                )
        SupportCase.objects.filter(
            case_id__regex=r"^(rbench_|rbq_)", status__in=[CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS]
        ).update(status=CaseStatus.COMPLETED, updated_at=now)
        EscalationQueueEntry.objects.filter(status=QueueStatus.ASSIGNED).update(status=QueueStatus.COMPLETED)
        AgentAvailability.objects.filter(agent__code__startswith="bench_").exclude(
            current_load=0, status=AvailabilityStatus.AVAILABLE, manual_override=False
        ).update(
            current_load=0, status=AvailabilityStatus.AVAILABLE, manual_override=False, override_reason=""
        )
        AgentPerformance.objects.filter(
            agent__code__startswith="bench_", consecutive_difficult_cases__gt=0
        ).update(consecutive_difficult_cases=0)
        if connection.vendor == "postgresql":
            # The previous run's rolled-back sweep left dead row versions in the queue; autovacuum would
            # clear them on a live system. Counts (queue position) are index-only on all-visible pages.
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {EscalationQueueEntry._meta.db_table}")
        self.stdout.write(
            f"floor reset: {len(leftover)} open assignments left by earlier runs closed "
            f"({time.perf_counter() - started:.1f}s)"
        )

    def time_sweeps(self) -> None:
        """One sweep over the loaded queue, then one a minute later, rolled back (see the docstring)."""
        from routing.services import queue_sweep

        rows = []
        with transaction.atomic():
            now = timezone.now()
            for label, at in (
                ("first sweep over the loaded queue", now),
                ("steady state, 1 min later", now + dt.timedelta(minutes=1)),
            ):
                started = time.perf_counter()
                report = queue_sweep(now=at)
                rows.append((label, *report.as_dict().values(), round(time.perf_counter() - started, 2)))
            transaction.set_rollback(True)
        self.stdout.write("")
        self.stdout.write(
            format_table(
                ["queue sweep (rolled back)", "escalated", "widened", "timed_out", "dispatched", "s"], rows
            )
        )

    def print_scale(self) -> None:
        rows = [
            ("agents", HumanAgent.objects.count()),
            ("agent schedules", AgentSchedule.objects.count()),
            ("case assignments", CaseAssignment.objects.count()),
            ("waiting queue entries", EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED).count()),
        ]
        self.stdout.write(format_table(["scale", "rows"], rows))

    # --- measuring -----------------------------------------------------------------------------------

    def case_request(self, case_id: str) -> CaseRequest:
        return CaseRequest(
            case_id=case_id,
            customer_id=f"cust_{self.rng.randrange(50_000)}",
            priority=self.rng.choices(PRIORITIES, PRIORITY_WEIGHTS)[0],
            complexity=self.rng.choices(COMPLEXITIES, COMPLEXITY_WEIGHTS)[0],
            required_skills=list(self.rng.choice(SKILL_OPTIONS)),
            customer_frustration=self.rng.choices(FRUSTRATIONS, FRUSTRATION_WEIGHTS)[0],
            language="en",
            estimated_resolution_minutes=self.rng.choice([10, 20, 30, 45]),
            max_wait_minutes=30,
        )

    def api_client(self) -> Any:
        from rest_framework.test import APIClient

        user, _ = get_user_model().objects.get_or_create(
            username="bench_routing", defaults={"is_staff": True, "is_superuser": True}
        )
        client = APIClient()
        client.force_authenticate(user)  # session-less and unthrottled (throttling applies to token clients)
        return client

    @staticmethod
    def time_each(call: Callable[[Any], Any], items: list[Any]) -> list[float]:
        timings = []
        for item in items:
            started = time.perf_counter()
            call(item)
            timings.append((time.perf_counter() - started) * 1000)
        return timings

    @staticmethod
    def dispatched_count() -> int:
        return EscalationQueueEntry.objects.filter(status=QueueStatus.ASSIGNED).count()

    def print_results(self, results: dict[str, list[float]]) -> None:
        rows = []
        for name, timings in results.items():
            ordered = sorted(timings)
            p95 = percentile(ordered, 0.95)
            target = TARGETS_P95_MS[name]
            rows.append(
                (
                    name,
                    len(ordered),
                    round(percentile(ordered, 0.50), 2),
                    round(p95, 2),
                    round(percentile(ordered, 0.99), 2),
                    round(ordered[-1], 2) if ordered else math.nan,
                    f"<= {target:g}",
                    "met" if p95 <= target else "MISSED",
                )
            )
        self.stdout.write("")
        self.stdout.write(
            format_table(["measure (ms)", "n", "p50", "p95", "p99", "max", "p95 target", ""], rows)
        )

    def explain(self, runs: dict[str, Callable[[], Any]]) -> None:
        if connection.vendor != "postgresql":
            self.stderr.write("--explain needs PostgreSQL.")
            return
        for name, run in runs.items():
            with CaptureQueriesContext(connection) as captured:
                run()
            queries = sorted(captured.captured_queries, key=lambda q: float(q["time"]), reverse=True)
            self.stdout.write(f"\n=== {name}: {len(queries)} queries, slowest first ===")
            for query in queries[:8]:
                self.stdout.write(f"{float(query['time']) * 1000:8.2f} ms  {query['sql'][:160]}")
            for query in [q for q in queries if q["sql"].lstrip().upper().startswith("SELECT")][:2]:
                with connection.cursor() as cursor:
                    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                self.stdout.write(
                    f"\n--- EXPLAIN ANALYZE ({float(query['time']) * 1000:.2f} ms)\n{query['sql']}\n{plan}"
                )
