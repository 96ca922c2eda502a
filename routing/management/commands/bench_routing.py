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
import json
import math
import random
import time
from collections.abc import Callable, Iterable
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.db.models import F
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
from config.benchmark import Measure, interleaved, report
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
# the case ids the benchmarks make: routed (rbench_, and rhttp_ by bench_http), floors, backlog, dispatch
BENCH_CASES = r"^(rbench_|rfloor_|rbq_|rbd_|rhttp_)"
# The loaded backlog waits for agents who speak a language no bench agent speaks: free agents and a queue
# they could serve do not coexist on a live floor (they would be dispatched at once), and a route must
# still look past a deep backlog it cannot serve (the serving-order guard's bound).
BACKLOG_LANGUAGE = "fr"


def _candidates_json(count: int = 50) -> str:
    """A decision's candidate list as large as the service writes (50 candidates, every factor)."""
    factors = {"skill": 0.8, "performance": 0.7, "frustration_fit": 1.0, "fatigue": 0.95, "load_balance": 0.6}
    details = {"proficiency": 0.75, "specialization": 0.0, "csat": 0.9, "low_escalation": 0.85, "fcr": 0.8}
    return json.dumps(
        [
            {"agent_id": n, "agent": f"bench_{n:06d}", "total": 0.8, "factors": factors, "details": details}
            for n in range(count)
        ]
    )


@dataclasses.dataclass(frozen=True)
class FloorSql:
    """The floors' statements, written by hand (table names from the models)."""

    pick: str
    skill_probe: str
    levels: list[str]
    insert_case: str
    insert_assignment: str
    raise_load: str
    insert_decision: str
    insert_event: str
    candidates: str
    candidate: str  # a dispatch decision records the one agent it was made for
    position: str
    assignment_agent: str
    lock_agent: str
    close_assignment: str
    close_case: str
    release_load: str
    next_entry: str
    assign_entry: str
    case_assigned: str

    @classmethod
    def build(cls) -> FloorSql:
        q = connection.ops.quote_name
        availability, agent, skill, domain, language, schedule = (
            q(model._meta.db_table)
            for model in (
                AgentAvailability,
                HumanAgent,
                AgentSkill,
                SkillDomain,
                AgentLanguage,
                AgentSchedule,
            )
        )
        case, assignment, entry = (
            q(model._meta.db_table) for model in (SupportCase, CaseAssignment, EscalationQueueEntry)
        )
        from routing.models import RoutingDecision, RoutingEvent

        decision, event = q(RoutingDecision._meta.db_table), q(RoutingEvent._meta.db_table)
        return cls(
            pick=(
                f"SELECT a.agent_id FROM {availability} a JOIN {agent} h ON h.id = a.agent_id "
                "WHERE a.status = 'available' AND h.is_active AND a.current_load < h.max_concurrent_work "
                "AND {skills} "
                f"AND EXISTS (SELECT 1 FROM {language} l WHERE l.agent_id = a.agent_id AND l.language_code = 'en') "
                f"AND EXISTS (SELECT 1 FROM {schedule} s WHERE s.agent_id = a.agent_id AND ({{windows}})) "
                "ORDER BY a.current_load, a.last_assigned_at ASC NULLS FIRST LIMIT 1 FOR UPDATE OF a SKIP LOCKED"
            ),
            skill_probe=(
                f"EXISTS (SELECT 1 FROM {skill} k JOIN {domain} d ON d.id = k.domain_id WHERE k.agent_id = "
                "a.agent_id AND d.code = %s AND k.proficiency = ANY(%s))"
            ),
            levels=["intermediate", "advanced", "expert"],
            insert_case=(
                f"INSERT INTO {case} (case_id, customer_id, priority, complexity, required_skills, "
                "special_requirements, customer_frustration, language, max_wait_minutes, status, created_at, "
                "updated_at) VALUES (%s, '', %s, %s, '[]', '{}', 'low', 'en', 30, %s, %s, %s) RETURNING id"
            ),
            # a registered strategy's name (the floor picks the least loaded): an assignment the floor
            # never starts times out in the sweep and its case waits again with this strategy
            insert_assignment=(
                f"INSERT INTO {assignment} (id, case_id, agent_id, customer_id, assigned_at, status, priority, "
                "complexity, required_skills, customer_frustration, escalated, routing_strategy) "
                "VALUES (gen_random_uuid(), %s, %s, '', %s, 'assigned', %s, %s, '[]', 'low', FALSE, 'least_busy')"
            ),
            raise_load=f"UPDATE {availability} SET current_load = current_load + 1, last_assigned_at = %s WHERE agent_id = %s",
            insert_decision=(
                f"INSERT INTO {decision} (case_id, strategy, strategy_parameters, outcome, candidates, "
                "candidate_count, prerank, reason, widen_level, duration_ms, created_at) "
                "VALUES (%s, 'floor', '{}', %s, %s::jsonb, 50, '{}', 'floor', 0, 0, %s)"
            ),
            insert_event=f"INSERT INTO {event} (case_id, event_type, data, created_at) VALUES (%s, %s, '{{}}', %s)",
            candidates=_candidates_json(),
            candidate=_candidates_json(1),
            position=(
                f"SELECT COUNT(*) FROM {entry} WHERE status = 'queued' AND ("
                "(wait_deadline <= %s AND NOT %s) OR ((wait_deadline <= %s) = %s AND ("
                "priority_rank > %s OR (priority_rank = %s AND (queued_at, id) < (%s, %s)))))"
            ),
            assignment_agent=f"SELECT agent_id FROM {assignment} WHERE id = %s",
            lock_agent=f"SELECT agent_id FROM {availability} WHERE agent_id = %s FOR NO KEY UPDATE",
            close_assignment=(
                f"UPDATE {assignment} SET status = 'completed', completed_at = %s, resolution_minutes = 12, "
                "csat_rating = 5 WHERE id = %s"
            ),
            close_case=f"UPDATE {case} SET status = 'completed', updated_at = %s WHERE case_id = %s",
            release_load=f"UPDATE {availability} SET current_load = current_load - 1 WHERE agent_id = %s",
            next_entry=(
                f"SELECT e.id, e.case_id, c.id, e.priority, e.complexity FROM {entry} e JOIN {case} c "
                "ON c.case_id = e.case_id WHERE e.status = 'queued' AND e.language IN ('', 'en', 'es') "
                "ORDER BY e.priority_rank DESC, e.queued_at, e.id LIMIT 1 FOR UPDATE OF e SKIP LOCKED"
            ),
            assign_entry=f"UPDATE {entry} SET status = 'assigned', assigned_agent_id = %s, assigned_at = %s WHERE id = %s",
            case_assigned=f"UPDATE {case} SET status = 'assigned', updated_at = %s WHERE case_id = %s",
        )

    @staticmethod
    def windows(now: dt.datetime) -> tuple[str, list]:
        """The schedule rows containing now, per zone the bench uses (whole-day rows)."""
        parts, params = [], []
        for zone in ZONES:
            local = now.astimezone(ZoneInfo(zone))
            parts.append(
                "(s.timezone = %s AND s.day_of_week = %s AND s.start_time <= %s "
                "AND (s.end_time > %s OR s.end_time <= s.start_time))"
            )
            moment = local.time().replace(tzinfo=None)
            params += [zone, Weekday.from_iso(local.isoweekday()).value, moment, moment]
        return " OR ".join(parts), params


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
        self.floor_sql = FloorSql.build()
        measures: list[Measure] = []
        explain: dict[str, Callable[[], Any]] = {}

        # --- route one case, through the service and through the API, each beside its floor
        measures.append(
            interleaved(
                "route one case (service)",
                lambda i: case_route(request=self.case_request(f"rbench_{run}_{i}")),
                lambda i: self.floor_route(f"rfloor_{run}_{i}"),
                iterations,
                target_ms=TARGETS_P95_MS["route (service)"],
                note="one transaction: the least-loaded eligible agent (skills, language, schedule window, "
                "room) locked with SKIP LOCKED, the case, assignment, decision of 50 candidates and event "
                "inserted, the load raised",
            )
        )
        explain["route (service)"] = lambda: case_route(request=self.case_request(f"rbench_{run}_explain"))
        client = self.api_client()

        def post(i: int) -> None:
            body = self.case_body(f"rbench_{run}_api_{i}")
            response = client.post("/api/v1/routing/cases/", body, format="json")
            if response.status_code not in (201, 202):
                raise RuntimeError(f"API answered {response.status_code}: {response.content[:300]!r}")

        measures.append(
            interleaved(
                "route one case (API)",
                post,
                lambda i: self.floor_route(f"rfloor_{run}_api_{i}"),
                iterations,
                target_ms=TARGETS_P95_MS["route (API)"],
                note="the same transaction as the service's floor",
            )
        )

        # --- queue position with the queue full
        sample = list(
            EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED).order_by("?")[: iterations + 30]
        )
        measures.append(
            interleaved(
                "queue position",
                lambda i: queue_position(entry=sample[i]),
                lambda i: self.floor_position(sample[i]),
                iterations,
                target_ms=TARGETS_P95_MS["queue position"],
                note="one COUNT over the waiting entries ahead in serving order (row comparison)",
            )
        )
        explain["queue position"] = lambda: queue_position(entry=sample[-1])
        later = timezone.now() + dt.timedelta(hours=3)  # every loaded entry has waited past its deadline
        measures.append(
            interleaved(
                "queue position, all overdue",
                lambda i: queue_position(entry=sample[i], now=later),
                lambda i: self.floor_position(sample[i], now=later),
                iterations,
                target_ms=TARGETS_P95_MS["queue position"],
                note="the same COUNT, three hours on",
            )
        )
        # --- complete-and-dispatch: the cases routed above, started (untimed), completed (timed), each
        # completion freeing a slot that a waiting case every agent can serve (added now) takes
        self.ensure_dispatchable(2 * iterations + 100)
        ours_open = self.open_assignments(f"rbench_{run}_")
        floor_open = self.open_assignments(f"rfloor_{run}_")
        for case_id, assignment_id in ours_open:
            case_start(case_id=case_id, assignment_id=assignment_id)
        dispatched_before = self.dispatched_count()
        rounds = min(iterations, len(ours_open) - 1, len(floor_open) - 1)
        measures.append(
            interleaved(
                "complete + dispatch",
                lambda i: case_complete(
                    case_id=ours_open[i][0],
                    assignment_id=ours_open[i][1],
                    resolution_minutes=12,
                    csat_rating=5,
                ),
                lambda i: self.floor_complete(floor_open[i]),
                rounds,
                warmup=0,
                target_ms=TARGETS_P95_MS["complete + dispatch"],
                note="one transaction: the agent locked, assignment and case closed, the load released, the "
                "first waiting entry the agent can serve locked with SKIP LOCKED and assigned with its "
                "decision and event, the load raised",
            )
        )
        dispatched = self.dispatched_count() - dispatched_before
        # --- queue position again, after churn (last: it leaves the queue table unvacuumed)
        dead = self.churn_queue()
        measures.append(
            interleaved(
                f"queue position, {dead:,} dead row versions",
                lambda i: queue_position(entry=sample[i]),
                lambda i: self.floor_position(sample[i]),
                iterations,
                target_ms=TARGETS_P95_MS["queue position"],
                note="the same COUNT after a sweep's worth of updates to every waiting entry, rolled back "
                "and not vacuumed (the dead row versions autovacuum would remove)",
            )
        )

        if len(ours_open) > rounds:
            case_id, assignment_id = ours_open[rounds]
            explain["complete + dispatch"] = lambda: case_complete(
                case_id=case_id, assignment_id=assignment_id, csat_rating=4
            )

        self.stdout.write("")
        self.stdout.write(report(measures))
        self.stdout.write(
            f"complete + dispatch: {dispatched} waiting entries were dispatched by {rounds} completions "
            "(and as many by the floor's)."
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
                        end_time=dt.time(0, 0),
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
                    language=BACKLOG_LANGUAGE,
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

    def ensure_dispatchable(self, count: int) -> None:
        """`count` waiting cases any bench agent can serve (English, no skills), for complete-and-dispatch:
        each completion frees a slot that one of them takes."""
        taken = SupportCase.objects.filter(case_id__startswith="rbd_").count()
        now = timezone.now()
        cases, entries = [], []
        for number in range(taken + 1, taken + count + 1):
            case = SupportCase(
                case_id=f"rbd_{number:07d}",
                priority="low",
                complexity="low",
                required_skills=[],
                language="en",
                status=CaseStatus.QUEUED,
                created_at=now,
            )
            cases.append(case)
            entries.append(
                EscalationQueueEntry(
                    case_id=case.case_id,
                    language="en",
                    priority="low",
                    complexity="low",
                    required_skills=[],
                    queued_at=now,
                    max_wait_minutes=120,
                    wait_deadline=now + dt.timedelta(minutes=120),
                    next_escalation_at=now + dt.timedelta(minutes=120),
                )
            )
        with transaction.atomic():
            SupportCase.objects.bulk_create(cases)
            EscalationQueueEntry.objects.bulk_create(entries)

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
                status__in=OPEN_ASSIGNMENT_STATUSES, case__case_id__regex=BENCH_CASES
            ).values_list("pk", flat=True)
        )
        for chunk in _chunks(leftover, BATCH):
            with transaction.atomic():
                CaseAssignment.objects.filter(pk__in=chunk).update(
                    status="completed", completed_at=now, resolution_minutes=10
                )
        SupportCase.objects.filter(
            case_id__regex=BENCH_CASES,
            status__in=[CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS],
        ).update(status=CaseStatus.COMPLETED, updated_at=now)
        EscalationQueueEntry.objects.filter(status=QueueStatus.ASSIGNED).update(status=QueueStatus.COMPLETED)
        # backlogs loaded by earlier versions spoke English
        SupportCase.objects.filter(case_id__startswith="rbq_").exclude(language=BACKLOG_LANGUAGE).update(
            language=BACKLOG_LANGUAGE
        )
        EscalationQueueEntry.objects.filter(case__case_id__startswith="rbq_").exclude(
            language=BACKLOG_LANGUAGE
        ).update(language=BACKLOG_LANGUAGE)
        dispatchable = EscalationQueueEntry.objects.filter(
            case__case_id__startswith="rbd_", status=QueueStatus.QUEUED
        )
        SupportCase.objects.filter(case_id__in=dispatchable.values("case_id")).update(
            status=CaseStatus.CANCELLED
        )
        dispatchable.update(status=QueueStatus.CANCELLED)
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

    def churn_queue(self) -> int:
        """Leave a sweep's worth of dead row versions in the queue, as production's sweeps and dispatch
        do until (auto)vacuum runs: every waiting entry widened and escalated, rolled back (so reruns
        find the same queue; aborted versions are dead versions too). Returns the table's dead rows."""
        with transaction.atomic():
            EscalationQueueEntry.objects.filter(status=QueueStatus.QUEUED).update(
                widen_level=F("widen_level") + 1, next_escalation_at=F("next_escalation_at")
            )
            transaction.set_rollback(True)
        if connection.vendor != "postgresql":
            return 0
        with connection.cursor() as cursor:
            if connection.pg_version >= 150000:  # the statistics as of now, not a second later
                cursor.execute("SELECT pg_stat_force_next_flush()")
            cursor.execute(
                "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = %s::regclass",
                [EscalationQueueEntry._meta.db_table],
            )
            return int(cursor.fetchone()[0])

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
        self.stdout.write(format_table(["queue sweep (rolled back)", *report.as_dict(), "s"], rows))

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

    def case_body(self, case_id: str) -> dict[str, Any]:
        """The same request as the API's JSON body (strategy parameters are the service's alone: an
        experiment's variant passes them)."""
        body = dataclasses.asdict(self.case_request(case_id))
        del body["strategy_parameters"]
        return body

    def api_client(self) -> Any:
        from rest_framework.test import APIClient

        user, _ = get_user_model().objects.get_or_create(
            username="bench_routing", defaults={"is_staff": True, "is_superuser": True}
        )
        client = APIClient()
        client.force_authenticate(user)  # session-less and unthrottled (throttling applies to token clients)
        return client

    @staticmethod
    def dispatched_count() -> int:
        return EscalationQueueEntry.objects.filter(status=QueueStatus.ASSIGNED).count()

    @staticmethod
    def open_assignments(prefix: str) -> list[tuple[str, Any]]:
        return list(
            CaseAssignment.objects.filter(
                case__case_id__startswith=prefix, status__in=OPEN_ASSIGNMENT_STATUSES
            )
            .order_by("assigned_at")
            .values_list("case_id", "pk")
        )

    # --- the floors: the same essential work, by hand -------------------------------------------------

    def floor_route(self, case_id: str) -> None:
        """Route one case by hand: one transaction doing what routing must (see the note)."""
        now = timezone.now()
        request = self.case_request(case_id)
        sql = self.floor_sql
        with transaction.atomic(), connection.cursor() as cursor:
            windows, window_params = sql.windows(now)
            skills = request.required_skills
            cursor.execute(
                sql.pick.format(
                    skills=" AND ".join([sql.skill_probe] * len(skills)) or "TRUE", windows=windows
                ),
                [value for skill in skills for value in (skill, sql.levels)] + window_params,
            )
            row = cursor.fetchone()
            status = "assigned" if row else "queued"
            cursor.execute(sql.insert_case, [case_id, request.priority, request.complexity, status, now, now])
            case_pk = cursor.fetchone()[0]
            if row:
                agent_id = row[0]
                cursor.execute(
                    sql.insert_assignment, [case_id, agent_id, now, request.priority, request.complexity]
                )
                cursor.execute(sql.raise_load, [now, agent_id])
            cursor.execute(
                sql.insert_decision, [case_pk, "assigned" if row else "queued", sql.candidates, now]
            )
            cursor.execute(sql.insert_event, [case_pk, "routed" if row else "queued", now])

    def floor_position(self, entry: EscalationQueueEntry, now: dt.datetime | None = None) -> int:
        now = now or timezone.now()
        overdue = entry.wait_deadline <= now
        with connection.cursor() as cursor:
            cursor.execute(
                self.floor_sql.position,
                [
                    now,
                    overdue,
                    now,
                    overdue,
                    entry.priority_rank,
                    entry.priority_rank,
                    entry.queued_at,
                    entry.pk,
                ],
            )
            return 1 + cursor.fetchone()[0]

    def floor_complete(self, open_row: tuple[str, Any]) -> None:
        case_id, assignment_id = open_row
        now = timezone.now()
        sql = self.floor_sql
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql.assignment_agent, [assignment_id])
            agent_id = cursor.fetchone()[0]
            cursor.execute(sql.lock_agent, [agent_id])
            cursor.execute(sql.close_assignment, [now, assignment_id])
            cursor.execute(sql.close_case, [now, case_id])
            cursor.execute(sql.release_load, [agent_id])
            cursor.execute(sql.next_entry)
            entry = cursor.fetchone()
            if entry is None:
                return
            entry_id, entry_case_id, case_pk, priority, complexity = entry
            cursor.execute(sql.insert_assignment, [entry_case_id, agent_id, now, priority, complexity])
            cursor.execute(sql.assign_entry, [agent_id, now, entry_id])
            cursor.execute(sql.case_assigned, [now, entry_case_id])
            cursor.execute(sql.insert_decision, [case_pk, "assigned", sql.candidate, now])
            cursor.execute(sql.insert_event, [case_pk, "dispatched", now])
            cursor.execute(sql.raise_load, [now, agent_id])

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
