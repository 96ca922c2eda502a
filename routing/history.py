"""Historical case data (seed 000, section 2.2) for development, demos and benchmarks.

The seed's distributions are kept: priority low/medium/high/critical 50/30/15/5, complexity
low/medium/high 40/40/20, frustration low/moderate/high/critical 60/25/10/5, one of the seed's five skill
sets, assignment between 09:00:00 and 16:59:59 (UTC), started 1-15 minutes later, resolution minutes by
complexity (low 10-25, medium 20-45, high 35-90), satisfaction uniform 3.5-5.0 minus 0.5 when resolution
took over an hour and minus 0.3 for high/critical frustration, clamped to 1..5 and truncated to an int as
the seed did, 15% escalated, strategy skill_based, confidence uniform 0.70-0.95 and match score uniform
70-95.

Three departures from the seed, all deliberate:
- an escalated case's assignment has status `escalated` (and escalated=True), as routing.services
  writes an escalated completion; the seed stored every row as `completed` with the flag. Metrics count
  both statuses as finished and resolved (routing.metrics), so the history reads like live data;
- only past days are generated (yesterday and back, or from `until` back): the seed's day 0 was today
  with hours that could lie in the future, i.e. "completed" cases that had not happened yet;
- every generated case is a real SupportCase (status completed) that its assignment points at, because
  here the case id is a foreign key.

Reproducible: one `random.Random(seed)` drives every draw (never the global RNG), and the assignment's
UUID is derived from the seed and the case id (uuid5), so the same seed on the same starting data gives
the same rows, UUIDs included. Case ids follow the seed (case_YYYYMMDD_NNN) and continue after the
highest number already stored for that day, so a second run adds new cases instead of colliding.

Writes go in batches (default 5,000 cases), one transaction per batch holding the cases and their
assignments: bulk_create everywhere, or PostgreSQL's COPY (psycopg `cursor.copy`) when available, which
is what makes a million assignments take minutes rather than tens of minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import IntegerField, Max
from django.db.models.functions import Cast, Substr
from django.utils import timezone

from agents.models import AgentAvailability, AgentPerformance, AvailabilityStatus, HumanAgent, SkillLevel
from config.errors import DomainError
from routing.models import (
    AssignmentStatus,
    CaseAssignment,
    CaseStatus,
    Complexity,
    Frustration,
    Priority,
    SupportCase,
)

PRIORITIES = [Priority.LOW.value, Priority.MEDIUM.value, Priority.HIGH.value, Priority.CRITICAL.value]
PRIORITY_WEIGHTS = [50, 30, 15, 5]
COMPLEXITIES = [Complexity.LOW.value, Complexity.MEDIUM.value, Complexity.HIGH.value]
COMPLEXITY_WEIGHTS = [40, 40, 20]
FRUSTRATIONS = [
    Frustration.LOW.value,
    Frustration.MODERATE.value,
    Frustration.HIGH.value,
    Frustration.CRITICAL.value,
]
FRUSTRATION_WEIGHTS = [60, 25, 10, 5]
SKILL_OPTIONS: list[list[str]] = [
    ["technical"],
    ["billing"],
    ["account_management"],
    ["technical", "billing"],
    ["general"],
]
RESOLUTION_MINUTES = {"low": (10, 25), "medium": (20, 45), "high": (35, 90)}
ESCALATION_PROBABILITY = 0.15
ROUTING_STRATEGY = "skill_based"
DEFAULT_BATCH_SIZE = 5_000
CASE_ID_PATTERN = r"^case_[0-9]{8}_[0-9]+$"
# Namespace for assignment UUIDs: uuid5(namespace, "<seed>:<case_id>").
HISTORY_NAMESPACE = uuid.UUID("6f1c2a1e-4b7d-5c3e-9a8f-2d4e6b8a0c1f")

_TWO_PLACES = Decimal("0.01")


class NoAgentsForHistory(DomainError):
    code = "no_agents"
    default_detail = (
        "There are no {which}agents to assign historical cases to; create agents first "
        "(the roster migration adds three, or the admin/API)."
    )


@dataclass(frozen=True)
class HistoryResult:
    cases: int
    skipped: bool
    seconds: float
    method: str


@dataclass(frozen=True)
class HistoryRow:
    """One generated case and its completed assignment."""

    assignment_id: uuid.UUID
    case_id: str
    agent_id: int
    customer_id: str
    assigned_at: dt.datetime
    started_at: dt.datetime
    completed_at: dt.datetime
    priority: str
    complexity: str
    required_skills: list[str]
    frustration: str
    resolution_minutes: int
    csat_rating: int
    escalated: bool
    routing_confidence: Decimal
    match_score: Decimal

    @property
    def status(self) -> str:
        """How the live service ends such an assignment (routing.services case_complete)."""
        return (AssignmentStatus.ESCALATED if self.escalated else AssignmentStatus.COMPLETED).value


def history_rows(
    *,
    rng: random.Random,
    seed: int,
    agent_ids: list[int],
    dates: list[dt.date],
    per_day: int,
    first_number: dict[dt.date, int],
) -> Iterator[HistoryRow]:
    """The seed's generator as a pure iterator: the same rng state gives the same rows."""
    for day in dates:
        start = first_number.get(day, 0)
        for number in range(start, start + per_day):
            case_id = f"case_{day:%Y%m%d}_{number:03d}"
            agent_id = rng.choice(agent_ids)
            priority = rng.choices(PRIORITIES, weights=PRIORITY_WEIGHTS)[0]
            complexity = rng.choices(COMPLEXITIES, weights=COMPLEXITY_WEIGHTS)[0]
            frustration = rng.choices(FRUSTRATIONS, weights=FRUSTRATION_WEIGHTS)[0]
            assigned_at = dt.datetime(
                day.year,
                day.month,
                day.day,
                rng.randint(9, 16),
                rng.randint(0, 59),
                rng.randint(0, 59),
                tzinfo=dt.UTC,
            )
            started_at = assigned_at + dt.timedelta(minutes=rng.randint(1, 15))
            resolution = rng.randint(*RESOLUTION_MINUTES[complexity])
            satisfaction = rng.uniform(3.5, 5.0)
            if resolution > 60:
                satisfaction -= 0.5
            if frustration in ("high", "critical"):
                satisfaction -= 0.3
            escalated = rng.random() < ESCALATION_PROBABILITY
            yield HistoryRow(
                assignment_id=uuid.uuid5(HISTORY_NAMESPACE, f"{seed}:{case_id}"),
                case_id=case_id,
                agent_id=agent_id,
                customer_id=f"customer_{rng.randint(1000, 9999)}",
                assigned_at=assigned_at,
                started_at=started_at,
                completed_at=started_at + dt.timedelta(minutes=resolution),
                priority=priority,
                complexity=complexity,
                required_skills=list(rng.choice(SKILL_OPTIONS)),
                frustration=frustration,
                resolution_minutes=resolution,
                csat_rating=int(max(1.0, min(5.0, satisfaction))),
                escalated=escalated,
                routing_confidence=Decimal(str(rng.uniform(0.7, 0.95))).quantize(_TWO_PLACES),
                match_score=Decimal(str(rng.uniform(70, 95))).quantize(_TWO_PLACES),
            )


def history_next_case_numbers(*, dates: list[dt.date]) -> dict[dt.date, int]:
    """For each day, the number after the highest case_YYYYMMDD_NNN already stored (one query)."""
    if not dates:
        return {}
    first, last = min(dates), max(dates)
    rows = (
        SupportCase.objects.filter(
            case_id__regex=CASE_ID_PATTERN,
            case_id__gte=f"case_{first:%Y%m%d}_",
            case_id__lt=f"case_{last + dt.timedelta(days=1):%Y%m%d}_",
        )
        .annotate(day=Substr("case_id", 6, 8), number=Cast(Substr("case_id", 15), IntegerField()))
        .values("day")
        .annotate(top=Max("number"))
        .values_list("day", "top")
    )
    return {dt.datetime.strptime(day, "%Y%m%d").date(): top + 1 for day, top in rows}


def _batches(rows: Iterator[HistoryRow], size: int) -> Iterator[list[HistoryRow]]:
    batch: list[HistoryRow] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_bulk(batch: list[HistoryRow], now: dt.datetime) -> None:
    SupportCase.objects.bulk_create(
        [
            SupportCase(
                case_id=row.case_id,
                customer_id=row.customer_id,
                priority=row.priority,
                complexity=row.complexity,
                required_skills=row.required_skills,
                customer_frustration=row.frustration,
                status=CaseStatus.COMPLETED,
                created_at=row.assigned_at,
                updated_at=now,
            )
            for row in batch
        ]
    )
    CaseAssignment.objects.bulk_create(
        [
            CaseAssignment(
                id=row.assignment_id,
                case_id=row.case_id,
                agent_id=row.agent_id,
                customer_id=row.customer_id,
                assigned_at=row.assigned_at,
                started_at=row.started_at,
                completed_at=row.completed_at,
                status=row.status,
                priority=row.priority,
                complexity=row.complexity,
                required_skills=row.required_skills,
                customer_frustration=row.frustration,
                resolution_minutes=row.resolution_minutes,
                csat_rating=row.csat_rating,
                escalated=row.escalated,
                routing_strategy=ROUTING_STRATEGY,
                routing_confidence=row.routing_confidence,
                match_score=row.match_score,
            )
            for row in batch
        ]
    )


_CASE_COPY_COLUMNS = (
    "case_id, customer_id, priority, complexity, required_skills, special_requirements, "
    "customer_frustration, language, max_wait_minutes, status, created_at, updated_at"
)
_ASSIGNMENT_COPY_COLUMNS = (
    "id, case_id, agent_id, customer_id, assigned_at, started_at, completed_at, status, priority, "
    "complexity, required_skills, customer_frustration, resolution_minutes, csat_rating, escalated, "
    "routing_strategy, routing_confidence, match_score"
)


def _write_copy(batch: list[HistoryRow], now: dt.datetime) -> None:
    """PostgreSQL COPY FROM STDIN of the same rows _write_bulk inserts (Django's cursor wraps psycopg's)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY {quote(SupportCase._meta.db_table)} ({_CASE_COPY_COLUMNS}) FROM STDIN") as copy:
            for row in batch:
                copy.write_row(
                    (
                        row.case_id,
                        row.customer_id,
                        row.priority,
                        row.complexity,
                        json.dumps(row.required_skills),
                        "{}",
                        row.frustration,
                        "",
                        30,
                        CaseStatus.COMPLETED.value,
                        row.assigned_at,
                        now,
                    )
                )
        with raw.copy(
            f"COPY {quote(CaseAssignment._meta.db_table)} ({_ASSIGNMENT_COPY_COLUMNS}) FROM STDIN"
        ) as copy:
            for row in batch:
                copy.write_row(
                    (
                        row.assignment_id,
                        row.case_id,
                        row.agent_id,
                        row.customer_id,
                        row.assigned_at,
                        row.started_at,
                        row.completed_at,
                        row.status,
                        row.priority,
                        row.complexity,
                        json.dumps(row.required_skills),
                        row.frustration,
                        row.resolution_minutes,
                        row.csat_rating,
                        row.escalated,
                        ROUTING_STRATEGY,
                        row.routing_confidence,
                        row.match_score,
                    )
                )


def history_generate(
    *,
    days: int,
    per_day: int,
    seed: int,
    until: dt.date | None = None,
    if_empty: bool = False,
    active_only: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    use_copy: bool | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> HistoryResult:
    """Generate `days` x `per_day` completed cases with assignments, ending on `until` (default yesterday).

    `if_empty` makes it a no-op when any assignment exists (first start of `make run`). `use_copy`
    defaults to COPY on PostgreSQL. `on_batch(n)` is told after each committed batch of n cases.
    """
    started = time.perf_counter()
    method = (
        "copy" if (connection.vendor == "postgresql" if use_copy is None else use_copy) else "bulk_create"
    )
    if if_empty and CaseAssignment.objects.exists():
        return HistoryResult(cases=0, skipped=True, seconds=time.perf_counter() - started, method=method)
    agents = HumanAgent.objects.order_by("pk")
    if active_only:
        agents = agents.filter(is_active=True)
    agent_ids = list(agents.values_list("pk", flat=True))
    if not agent_ids:
        raise NoAgentsForHistory(which="active " if active_only else "")
    now = timezone.now()
    last_day = until or (now.astimezone(dt.UTC).date() - dt.timedelta(days=1))
    dates = [last_day - dt.timedelta(days=offset) for offset in range(days)]
    rows = history_rows(
        rng=random.Random(seed),
        seed=seed,
        agent_ids=agent_ids,
        dates=dates,
        per_day=per_day,
        first_number=history_next_case_numbers(dates=dates),
    )
    write = _write_copy if method == "copy" else _write_bulk
    total = 0
    for batch in _batches(rows, batch_size):
        with transaction.atomic():
            write(batch, now)
        total += len(batch)
        if on_batch:
            on_batch(len(batch))
    return HistoryResult(cases=total, skipped=False, seconds=time.perf_counter() - started, method=method)


def bench_agents_ensure(*, count: int, batch_size: int = 5_000) -> int:
    """Top the roster up to `count` agents (bench_NNNNNN), each with availability and performance rows.

    A minimal loader for bench_metrics (no skills, languages or schedules; no simple-history rows).
    Returns how many agents it created.
    """
    missing = count - HumanAgent.objects.count()
    created = 0
    if missing > 0:
        taken = set(HumanAgent.objects.filter(code__startswith="bench_").values_list("code", flat=True))
        codes: list[str] = []
        number = 0
        while len(codes) < missing:
            number += 1
            code = f"bench_{number:06d}"
            if code not in taken:
                codes.append(code)
        for offset in range(0, len(codes), batch_size):
            chunk = codes[offset : offset + batch_size]
            with transaction.atomic():
                HumanAgent.objects.bulk_create(
                    [
                        HumanAgent(
                            code=code,
                            name=f"Bench Agent {code[6:]}",
                            email=f"{code}@bench.invalid",
                            department="Customer Support",
                            skill_level=SkillLevel.INTERMEDIATE,
                            max_concurrent_work=5,
                        )
                        for code in chunk
                    ]
                )
            created += len(chunk)
    now = timezone.now()
    without_availability = HumanAgent.objects.filter(availability__isnull=True).values_list("pk", flat=True)
    AgentAvailability.objects.bulk_create(
        [
            AgentAvailability(agent_id=pk, status=AvailabilityStatus.AVAILABLE, status_since=now)
            for pk in without_availability
        ],
        batch_size=batch_size,
    )
    AgentPerformance.objects.bulk_create(
        [
            AgentPerformance(agent_id=pk)
            for pk in HumanAgent.objects.filter(performance__isnull=True).values_list("pk", flat=True)
        ],
        batch_size=batch_size,
    )
    return created
