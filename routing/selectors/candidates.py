"""The candidate agents for a case: every hard rule in SQL, a bounded pool, a pre-rank, then the engine.

Hard rules (each an SQL filter, so no ineligible agent is ever loaded): active; working status
(`available`, or `busy` set without a manual override); inside a schedule window now in the agent's own
zone (routing.selectors.schedules); speaks the case's language; holds each required skill of the ring
at its minimum proficiency; not low tolerance for critical frustration; for a difficult case, a
difficult streak (completed since the last break + still open) below the lockout; not excluded; spare
capacity. The services re-check status, capacity, schedule and the fatigue streak under the agent's row
lock, so a stale read here can cost a retry, never a wrong assignment.

Ranking, and the one approximation. Scoring every eligible agent is exact but reads every agent's rows
(30-40 ms at 10,000 eligible agents); a route must take a few. So the search works on a bounded pool:

1. Pool: walk working agents in (status, current_load, last_assigned_at) order, `available` before
   `busy`, least loaded first and, within a load, longest idle first (load by load along
   availability_status_load_idx, so PostgreSQL stops early), keeping the first CANDIDATE_POOL agents
   (default 50) that pass every hard rule. The search only ever looks at these agents: when the pool
   is full, an eligible agent outside it is not considered, however well it would score. Load is the pool's key because spreading work
   is one of the factors and because an index can serve it; skill, performance, fit and fatigue decide
   within the pool. The decision record says how large the pool was and whether it was full
   (`prerank` on RoutingDecision: pool_full means eligible agents beyond it were not considered; how
   many is not counted, which would cost the full scan the pool avoids). CANDIDATE_POOL = 0 ranks every
   eligible agent (exact; ~35 ms at 10,000 agents on the benchmark machine).
2. Pre-rank: inside the pool the database computes the strategy's own order. For `score` that is the
   weighted total of all five factors with the same formulas as routing.engine.factors (skill
   proficiency and specialization, performance, frustration fit, fatigue with the open difficult
   cases, spare capacity and idle time), so the SQL order is the engine's order, up to float rounding
   (tests/routing/test_selectors.py holds them equal). It matters when CANDIDATE_POOL > CANDIDATE_LIMIT.
3. The best CANDIDATE_LIMIT (default 50) come back with their skills, specializations and languages
   (in the same statement) and are scored by the pure engine, which decides and whose breakdown is
   recorded.

The SQL is written by routing.selectors.agent_sql (why not the ORM: see there). The rules are per-row
probes, so PostgreSQL walks the pool load by load and stops once it is full (~2 ms for 50 agents at
10,000). The planner may price such a walk by the whole table and cross jit_above_cost; JIT compiling
the query took ~20 ms, so the application's PostgreSQL sessions run with jit = off (config.settings).

Nothing here locks; the locking reads live in routing.services.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agents.models import (
    AvailabilityStatus,
    HumanAgent,
)
from routing.engine.strategies import Strategy
from routing.engine.types import AgentProfile, CaseProfile, Ring, Weights
from routing.selectors.agent_sql import (
    AVAILABILITY,
    AgentRules,
    Sql,
    base_from,
    facts_sql,
    open_difficult_sql,
    parse_facts,
    profile_select,
    table,
)
from routing.selectors.schedules import schedule_zones_in_use

DEFAULT_CANDIDATE_LIMIT = 50
DEFAULT_CANDIDATE_POOL = 50  # = CANDIDATE_LIMIT: the engine scores every agent of the pool
MAX_LOAD = 50  # agents' max_concurrent_cases is at most 50 (agents CHECK constraint)


def candidate_limit() -> int:
    return int(settings.ROUTING.get("CANDIDATE_LIMIT", DEFAULT_CANDIDATE_LIMIT))


def candidate_pool() -> int:
    return int(settings.ROUTING.get("CANDIDATE_POOL", DEFAULT_CANDIDATE_POOL))


@dataclass(frozen=True)
class CandidateSearch:
    """The pre-ranked candidates (best first) and how they were found."""

    agents: list[AgentProfile]
    pool_size: int  # eligible agents ranked in SQL (the pool, or every eligible agent without one)
    pool_limit: int  # 0: no pool, every eligible agent was ranked
    scores: dict[int, float] = field(default_factory=dict)  # SQL pre-rank score by agent id (key `score`)

    @property
    def pool_full(self) -> bool:
        """True when eligible agents beyond the pool may exist and were not considered."""
        return self.pool_limit > 0 and self.pool_size >= self.pool_limit

    def as_record(self) -> dict:
        return {
            "pool_limit": self.pool_limit,
            "pool_size": self.pool_size,
            "pool_full": self.pool_full,
            "scored": len(self.agents),
        }


@dataclass(frozen=True)
class Funnel:
    """How many agents pass each hard rule in turn, and what the agents who could serve the case
    (every rule but spare capacity) offer: their slots and recent average resolution time."""

    stages: list[tuple[str, int]]
    servers: int
    server_slots: int
    avg_resolution_minutes: float | None


def _fetch(sql: Sql) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql.text, sql.params)
        return cursor.fetchall()


def _kept() -> str:
    """Keeps PostgreSQL from flattening the derived table of factor columns into the outer query,
    which evaluated each factor subquery twice (once for its column, once inside the score)."""
    return " OFFSET 0" if connection.vendor == "postgresql" else ""


def _pool(rules: AgentRules, size: int) -> Sql:
    """The first `size` eligible agents: `available` ones least loaded first, then `busy` ones (not by
    override) least loaded first; within a load, longest idle first (never assigned before anyone),
    the order of availability_status_load_idx, so each step reads the index in order."""
    where = rules.all_rules()
    # One opaque boolean for all the rules: the planner takes it to pass half the agents (rather than
    # a product of guesses near zero) and the EXISTS inside stay per-row probes.
    rule = f"(CASE WHEN {where.text} THEN TRUE ELSE FALSE END)"
    if connection.vendor == "postgresql":  # the agent row by primary key, per walked agent (no hash join)
        agent = (
            f"CROSS JOIN LATERAL (SELECT * FROM {table(HumanAgent)} hh WHERE hh.id = a.agent_id OFFSET 0) h"
        )
    else:
        agent = f"JOIN {table(HumanAgent)} h ON h.id = a.agent_id"
    walk = f"FROM {AVAILABILITY} a {agent} WHERE {{status}} AND {rule}"
    statuses = [
        ("a.status = %s", [AvailabilityStatus.AVAILABLE]),
        ("a.status = %s AND NOT a.manual_override", [AvailabilityStatus.BUSY]),
    ]
    selects, params = [], []
    for index, (status, status_params) in enumerate(statuses):
        if connection.vendor == "postgresql":
            # Load by load (LATERAL, one index range of availability_status_load_idx each), so the walk
            # stops as soon as the pool is full: given ORDER BY current_load, the planner preferred to
            # evaluate every agent and sort (~30 ms at 10,000 agents against ~3 ms).
            selects.append(
                f"SELECT walked.agent_id FROM generate_series(0, {MAX_LOAD}) AS level(load) "
                f"CROSS JOIN LATERAL (SELECT a.agent_id {walk.format(status=status)} "
                f"AND a.current_load = level.load "
                f"ORDER BY a.last_assigned_at ASC NULLS FIRST LIMIT %s) walked"
            )
        else:
            selects.append(
                f"SELECT agent_id FROM (SELECT a.agent_id {walk.format(status=status)} "
                f"ORDER BY a.current_load, a.last_assigned_at ASC NULLS FIRST LIMIT %s) walk_{index}"
            )
        params += [*status_params, *where.params, size]
    return Sql(f"SELECT agent_id FROM ({' UNION ALL '.join(selects)}) walked_all LIMIT %s", [*params, size])


def _order(strategy: Strategy, case: CaseProfile) -> list[str]:
    order = []
    if case.frustration in ("high", "critical"):  # the seed's tier comes before every strategy's order
        order.append("(CASE frustration_tolerance WHEN 'high' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END)")
    for key in strategy.prerank:
        if key == "score":
            order.append("prerank_score DESC")
        elif key == "skill":
            order.append("skill_points DESC")
        elif key == "spare_capacity":
            order.append("(max_concurrent_cases - current_load) DESC")
        elif key == "load_ratio":
            order.append("(CAST(current_load AS DOUBLE PRECISION) / max_concurrent_cases)")
        elif key == "idle":
            order.append("last_assigned_at ASC NULLS FIRST")
        elif key == "performance":
            order.append("csat_score DESC NULLS LAST")
        else:
            raise ValueError(f"unknown pre-rank key {key!r}")
    order.append("agent_id")
    return order


def agent_candidates(
    *,
    case: CaseProfile,
    ring: Ring,
    strategy: Strategy,
    weights: Weights,
    now: dt.datetime,
    lockout: int,
    zones: list[str] | None = None,
    limit: int | None = None,
    pool: int | None = None,
) -> CandidateSearch:
    """The top-K agents that satisfy every hard rule for `case` at `ring`, pre-ranked in SQL.

    One statement: the walk over the pool (or every eligible agent without one), the ranking, and
    the best K agents' skills, specializations and languages."""
    zones = schedule_zones_in_use(now=now) if zones is None else zones
    pool = candidate_pool() if pool is None else pool
    rules = AgentRules(case=case, ring=ring, now=now, zones=zones, lockout=lockout, per_row=pool > 0)
    columns = profile_select(rules.factor_columns())
    if pool > 0:  # the walk drives the ranking: one statement
        walked = _pool(rules, pool)
        inner = Sql(
            f"SELECT {columns.text} {base_from(per_row=True, driver=walked.text)}",
            [*columns.params, *walked.params],
        )
    else:
        where = rules.all_rules()
        inner = Sql(
            f"SELECT {columns.text} {base_from(per_row=False)} WHERE {where.text}",
            [*columns.params, *where.params],
        )
    score = rules.score(strategy.weights(weights))
    facts = facts_sql("best.agent_id")
    rows = _fetch(
        Sql(
            f"SELECT best.*, {facts.text} AS facts FROM ("
            f"SELECT * FROM (SELECT t.*, {score.text} AS prerank_score, COUNT(*) OVER () AS ranked "
            f"FROM ({inner.text}{_kept()}) t) r ORDER BY {', '.join(_order(strategy, case))} LIMIT %s) best",
            [*facts.params, *score.params, *inner.params, limit or candidate_limit()],
        )
    )
    names = [
        *NAMES,
        "skill_points",
        "specialization",
        "open_difficult",
        "idle_seconds",
        "prerank_score",
        "ranked",
        "facts",
    ]
    records = [dict(zip(names, row, strict=True)) for row in rows]
    return CandidateSearch(
        agents=profiles_from_rows(records, in_schedule=True),
        pool_size=records[0]["ranked"] if records else 0,
        pool_limit=pool,
        scores={record["agent_id"]: float(record["prerank_score"]) for record in records},
    )


# --- profiles ------------------------------------------------------------------------------------

NAMES = [
    "agent_id",
    "status",
    "manual_override",
    "current_load",
    "last_assigned_at",
    "code",
    "is_active",
    "max_concurrent_cases",
    "frustration_tolerance",
    "csat_score",
    "escalation_rate",
    "first_contact_resolution_rate",
    "stress_score",
    "consecutive_difficult_cases",
]


def _datetime(value) -> dt.datetime | None:
    """A datetime column read through a raw cursor (SQLite gives text; either may be naive UTC)."""
    if value is None or isinstance(value, dt.datetime) and timezone.is_aware(value):
        return value
    if isinstance(value, str):
        value = parse_datetime(value)
    return timezone.make_aware(value, dt.UTC) if timezone.is_naive(value) else value


def profiles_from_rows(rows: list[dict], *, in_schedule: bool | None = None) -> list[AgentProfile]:
    """Engine profiles for rows with the NAMES columns, open_difficult, facts (facts_sql) and
    optionally in_schedule."""

    def _number(value) -> float | None:
        return None if value is None else float(value)

    profiles = []
    for row in rows:
        agent_id = row["agent_id"]
        skills, specializations, languages = parse_facts(row["facts"])
        profiles.append(
            AgentProfile(
                agent_id=agent_id,
                code=row["code"],
                status=row["status"] if row["is_active"] else "inactive",
                manual_override=bool(row["manual_override"]),
                max_concurrent_cases=row["max_concurrent_cases"],
                current_load=row["current_load"],
                frustration_tolerance=row["frustration_tolerance"],
                skills=skills,
                specializations=specializations,
                languages=languages,
                in_schedule=bool(row.get("in_schedule", True)) if in_schedule is None else in_schedule,
                csat=_number(row["csat_score"]),
                escalation_rate=_number(row["escalation_rate"]),
                first_contact_resolution=_number(row["first_contact_resolution_rate"]),
                stress=_number(row["stress_score"]) or 0.0,
                consecutive_difficult=row["consecutive_difficult_cases"] or 0,
                open_difficult=row["open_difficult"] or 0,
                last_assigned_at=_datetime(row["last_assigned_at"]),
            )
        )
    return profiles


def _one_agent(*, agent_id: int, now: dt.datetime, zones: list[str] | None) -> dict | None:
    """One agent's profile columns, open difficult cases, streak and whether it is in schedule now."""
    zones = schedule_zones_in_use(now=now) if zones is None else zones
    rules = AgentRules(case=_NO_CASE, ring=_NO_RING, now=now, zones=zones, lockout=0, per_row=True)
    in_schedule = rules.in_schedule()
    open_sql, open_params = open_difficult_sql()
    columns = profile_select()
    facts = facts_sql("a.agent_id")
    sql = Sql(
        f"SELECT {columns.text}, {open_sql} AS open_difficult, {facts.text} AS facts, "
        f"CASE WHEN {in_schedule.text} THEN 1 ELSE 0 END AS in_schedule {base_from(per_row=True)} "
        "WHERE a.agent_id = %s",
        [*open_params, *facts.params, *in_schedule.params, agent_id],
    )
    rows = _fetch(sql)
    if not rows:
        return None
    return dict(zip([*NAMES, "open_difficult", "facts", "in_schedule"], rows[0], strict=True))


_NO_CASE = CaseProfile(case_id="", priority="low", complexity="low", frustration="low", required_skills=())
_NO_RING = Ring(level=0, skills=(), min_proficiency="basic")


def agent_profile(*, agent_id: int, now: dt.datetime, zones: list[str] | None = None) -> AgentProfile | None:
    """One agent's profile with whether it is inside a schedule window now (for queue dispatch)."""
    row = _one_agent(agent_id=agent_id, now=now, zones=zones)
    return profiles_from_rows([row])[0] if row is not None else None


def agent_still_fits(*, agent_id: int, now: dt.datetime, difficult: bool, lockout: int) -> bool:
    """Under the agent's row lock: inside a schedule window now and, for a difficult case, below the
    fatigue lockout counting the open difficult cases. Read in a statement of its own, after the lock
    was taken, so it sees every assignment committed before (the lock holder's included)."""
    row = _one_agent(agent_id=agent_id, now=now, zones=None)
    if row is None or not row["in_schedule"]:
        return False
    streak = (row["consecutive_difficult_cases"] or 0) + row["open_difficult"]
    return not difficult or streak < lockout


# --- funnel --------------------------------------------------------------------------------------


def candidate_funnel(
    *, case: CaseProfile, ring: Ring, now: dt.datetime, lockout: int, zones: list[str] | None = None
) -> Funnel:
    """How many agents pass each hard rule in turn (cumulative), in one grouped query.

    Each agent is labelled with the first rule it fails (a CASE stops at the first failing rule, so
    each rule is evaluated at most once per agent) and counted per label."""
    zones = schedule_zones_in_use(now=now) if zones is None else zones
    stages = AgentRules(case=case, ring=ring, now=now, zones=zones, lockout=lockout).stages()
    passed_all = len(stages)
    whens = " ".join(f"WHEN NOT ({sql.text}) THEN {index}" for index, (_, sql) in enumerate(stages))
    sql = Sql(
        f"SELECT first_failure, COUNT(*), SUM(slots), SUM(resolution), COUNT(resolution) FROM ("
        f"SELECT CASE {whens} ELSE {passed_all} END AS first_failure, h.max_concurrent_cases AS slots, "
        f"p.avg_resolution_minutes AS resolution {base_from(per_row=False)}) labelled GROUP BY first_failure",
        [param for _, stage in stages for param in stage.params],
    )
    failed_at = {row[0]: row for row in _fetch(sql)}
    total = sum(row[1] for row in failed_at.values())
    counts = []
    remaining = total
    for index, (name, _) in enumerate(stages):
        remaining -= failed_at[index][1] if index in failed_at else 0
        counts.append((name, remaining))
    # Servers: every rule passed but possibly spare capacity (the last stage).
    servers = [row for key, row in failed_at.items() if key >= passed_all - 1]
    known = sum(row[4] for row in servers)
    return Funnel(
        stages=[("agents", total), *counts],
        servers=sum(row[1] for row in servers),
        server_slots=sum(row[2] or 0 for row in servers),
        avg_resolution_minutes=(sum(float(row[3] or 0) for row in servers) / known) if known else None,
    )
