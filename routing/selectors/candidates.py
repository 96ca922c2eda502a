"""The candidate agents for a piece of work: every eligibility rule in SQL, a bounded pool, then the engine.

Eligibility (routing.engine.rules.ELIGIBILITY_RULES, in SQL by routing.selectors.agent_sql): each rule is
an SQL filter, so no ineligible agent is ever loaded. The services re-check status, capacity, schedule
and the fatigue streak under the agent's row lock, so a stale read here can cost a retry, never a wrong
assignment.

Ranking, and the one approximation. Scoring every eligible agent is exact but reads every agent's rows
(30-40 ms at 10,000 eligible agents); a route must take a few. So the search works on a bounded pool:
walk working agents in (status, current_load, last_assigned_at) order, `available` before `busy`, least
loaded first and, within a load, longest idle first (load by load along availability_status_load_idx,
so PostgreSQL stops early), keeping the first CANDIDATE_POOL agents (default 50) that pass every rule.
The engine scores every agent of the pool with the strategy and the best wins. When the pool is full,
an eligible agent outside it is not considered, however well it would score: load is the pool's key
because spreading work is one of the factors and because an index can serve it. The decision record
says how large the pool was and whether it was full (`prerank.pool_full`). CANDIDATE_POOL = 0 loads and
scores every eligible agent (exact; slow at thousands of agents).

A row that does not read (see agent_sql.parse_facts) is skipped, logged and reported in the search's
`problems`, never fatal to the search.

The rules are per-row probes, so PostgreSQL walks the pool load by load and stops once it is full. The
planner may price such a walk by the whole table and cross jit_above_cost; JIT compiling the query took
~20 ms, so the application's PostgreSQL sessions run with jit = off (config.settings).

Nothing here locks; the locking reads live in routing.services.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from agents.models import AvailabilityStatus, HumanAgent
from config.prepared import literal, prepared_cursor
from routing.engine.types import AgentProfile, Ring, WorkProfile
from routing.selectors.agent_sql import (
    AVAILABILITY,
    PROFILE_NAMES,
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

logger = logging.getLogger(__name__)

DEFAULT_CANDIDATE_POOL = 50
MAX_LOAD = 50  # agents' max_concurrent_work is at most 50 (agents CHECK constraint)


def candidate_pool() -> int:
    return int(settings.ROUTING.get("CANDIDATE_POOL", DEFAULT_CANDIDATE_POOL))


@dataclass(frozen=True)
class CandidateSearch:
    """The eligible agents found (in pool order) and how they were found."""

    agents: list[AgentProfile]
    pool_size: int  # eligible agents the pool held (every eligible agent without a pool)
    pool_limit: int  # 0: no pool, every eligible agent was loaded
    problems: list[dict] = field(default_factory=list)  # rows skipped: {"agent": code, "problem": ...}

    @property
    def pool_full(self) -> bool:
        """True when eligible agents beyond the pool may exist and were not considered."""
        return self.pool_limit > 0 and self.pool_size >= self.pool_limit

    def as_record(self) -> dict:
        record = {
            "pool_limit": self.pool_limit,
            "pool_size": self.pool_size,
            "pool_full": self.pool_full,
            "scored": len(self.agents),
        }
        if self.problems:
            record["skipped"] = self.problems
        return record


@dataclass(frozen=True)
class Funnel:
    """How many agents pass each rule in turn, and what the agents who could serve the work (every
    rule but spare capacity) offer: their slots and recent average resolution time."""

    stages: list[tuple[str, int]]
    servers: int
    server_slots: int
    avg_resolution_minutes: float | None


def _fetch(sql: Sql, *, prepare: bool = False) -> list[tuple]:
    """The rows of a statement; `prepare`: a server-side prepared statement (config.prepared), for the
    searches that run on every route and dispatch."""
    with prepared_cursor() if prepare else connection.cursor() as cursor:
        cursor.execute(sql.text, sql.params)
        return cursor.fetchall()


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
        f"a.status = {literal(AvailabilityStatus.AVAILABLE)}",
        f"a.status = {literal(AvailabilityStatus.BUSY)} AND NOT a.manual_override",
    ]
    selects, params = [], []
    for index, status in enumerate(statuses):
        if connection.vendor == "postgresql":
            # Load by load (LATERAL, one index range of availability_status_load_idx each), so the walk
            # stops as soon as the pool is full: given ORDER BY current_load, the planner preferred to
            # evaluate every agent and sort (~30 ms at 10,000 agents against ~3 ms).
            selects.append(
                f"SELECT walked.agent_id FROM generate_series(0, {MAX_LOAD}) AS level(load) "
                f"CROSS JOIN LATERAL (SELECT a.agent_id {walk.format(status=status)} "
                f"AND a.current_load = level.load "
                f"ORDER BY a.last_assigned_at ASC NULLS FIRST LIMIT {literal(size)}) walked"
            )
        else:
            selects.append(
                f"SELECT agent_id FROM (SELECT a.agent_id {walk.format(status=status)} "
                f"ORDER BY a.current_load, a.last_assigned_at ASC NULLS FIRST LIMIT {literal(size)}) walk_{index}"
            )
        params += where.params
    return Sql(
        f"SELECT agent_id FROM ({' UNION ALL '.join(selects)}) walked_all LIMIT {literal(size)}", params
    )


def agent_candidates(
    *,
    work: WorkProfile,
    ring: Ring,
    now: dt.datetime,
    lockout: int,
    zones: list[str] | None = None,
    pool: int | None = None,
) -> CandidateSearch:
    """The agents that satisfy every rule for `work` at `ring`: the pool (or every eligible agent without
    one), with their profiles, in one statement."""
    zones = schedule_zones_in_use(now=now) if zones is None else zones
    pool = candidate_pool() if pool is None else pool
    rules = AgentRules(work=work, ring=ring, now=now, zones=zones, lockout=lockout, per_row=pool > 0)
    facts = facts_sql("a.agent_id")
    columns = profile_select(
        Sql(f"{open_difficult_sql()} AS open_difficult, {facts.text} AS facts", facts.params)
    )
    if pool > 0:  # the walk drives the loading: one statement
        walked = _pool(rules, pool)
        sql = Sql(
            f"SELECT {columns.text} {base_from(per_row=True, driver=walked.text)}",
            [*columns.params, *walked.params],
        )
    else:
        where = rules.all_rules()
        sql = Sql(
            f"SELECT {columns.text} {base_from(per_row=False)} WHERE {where.text}",
            [*columns.params, *where.params],
        )
    names = [*PROFILE_NAMES, "open_difficult", "facts"]
    records = [dict(zip(names, row, strict=True)) for row in _fetch(sql, prepare=pool > 0)]
    problems: list[dict] = []
    agents = profiles_from_rows(records, in_schedule=True, problems=problems)
    return CandidateSearch(agents=agents, pool_size=len(records), pool_limit=pool, problems=problems)


# --- profiles ------------------------------------------------------------------------------------


def _datetime(value) -> dt.datetime | None:
    """A datetime column read through a raw cursor (SQLite gives text; either may be naive UTC)."""
    if value is None or isinstance(value, dt.datetime) and timezone.is_aware(value):
        return value
    if isinstance(value, str):
        value = parse_datetime(value)
    return timezone.make_aware(value, dt.UTC) if timezone.is_naive(value) else value


def _number(value) -> float | None:
    return None if value is None else float(value)


def profiles_from_rows(
    rows: list[dict], *, in_schedule: bool | None = None, problems: list[dict] | None = None
) -> list[AgentProfile]:
    """Engine profiles for rows with the PROFILE_NAMES columns, open_difficult, facts (facts_sql) and
    optionally in_schedule. Total: a fact that does not read is skipped and reported in `problems`
    (and logged); the agent keeps the facts that do."""
    profiles = []
    for row in rows:
        found: list[str] = []
        facts = parse_facts(row["facts"], problems=found)
        if found:
            report = {"agent": row["code"], "problem": "; ".join(found)}
            logger.warning("routing skipped bad facts of agent %s: %s", row["code"], report["problem"])
            if problems is not None:
                problems.append(report)
        profiles.append(
            AgentProfile(
                agent_id=row["agent_id"],
                code=row["code"],
                status=row["status"],
                manual_override=bool(row["manual_override"]),
                max_concurrent_work=row["max_concurrent_work"],
                current_load=row["current_load"],
                frustration_tolerance=row["frustration_tolerance"],
                is_active=bool(row["is_active"]),
                skills=facts.skills,
                specialization_rows=facts.specializations,
                languages=facts.languages,
                in_schedule=bool(row.get("in_schedule", True)) if in_schedule is None else in_schedule,
                csat=_number(row["csat_score"]),
                escalation_rate=_number(row["escalation_rate"]),
                first_contact_resolution=_number(row["first_contact_resolution_rate"]),
                stress=_number(row["stress_score"]) or 0.0,
                consecutive_difficult=row["consecutive_difficult_cases"] or 0,
                open_difficult=row["open_difficult"] or 0,
                last_assigned_at=_datetime(row["last_assigned_at"]),
                department=row.get("department") or "",
            )
        )
    return profiles


_NO_WORK = WorkProfile(work_id="", priority="low")
_NO_RING = Ring(level=0, skills=(), min_proficiency="basic")


def _one_agent(*, agent_id: int, now: dt.datetime, zones: list[str] | None) -> dict | None:
    """One agent's profile columns, open difficult work, facts and whether it is in schedule now."""
    zones = schedule_zones_in_use(now=now) if zones is None else zones
    rules = AgentRules(work=_NO_WORK, ring=_NO_RING, now=now, zones=zones, lockout=0, per_row=True)
    in_schedule = rules.in_schedule()
    columns = profile_select()
    facts = facts_sql("a.agent_id")
    sql = Sql(
        f"SELECT {columns.text}, {open_difficult_sql()} AS open_difficult, {facts.text} AS facts, "
        f"CASE WHEN {in_schedule.text} THEN 1 ELSE 0 END AS in_schedule {base_from(per_row=True)} "
        "WHERE a.agent_id = %s",
        [*facts.params, *in_schedule.params, agent_id],
    )
    rows = _fetch(sql, prepare=True)
    if not rows:
        return None
    return dict(zip([*PROFILE_NAMES, "open_difficult", "facts", "in_schedule"], rows[0], strict=True))


def agent_profile(*, agent_id: int, now: dt.datetime, zones: list[str] | None = None) -> AgentProfile | None:
    """One agent's profile with whether it is inside a schedule window now (for queue dispatch)."""
    row = _one_agent(agent_id=agent_id, now=now, zones=zones)
    return profiles_from_rows([row])[0] if row is not None else None


# --- funnel --------------------------------------------------------------------------------------


def candidate_funnel(
    *, work: WorkProfile, ring: Ring, now: dt.datetime, lockout: int, zones: list[str] | None = None
) -> Funnel:
    """How many agents pass each rule in turn (cumulative), in one grouped query.

    Each agent is labelled with the first rule it fails (a CASE stops at the first failing rule, so
    each rule is evaluated at most once per agent) and counted per label."""
    zones = schedule_zones_in_use(now=now) if zones is None else zones
    stages = AgentRules(work=work, ring=ring, now=now, zones=zones, lockout=lockout).stages()
    passed_all = len(stages)
    whens = " ".join(f"WHEN NOT ({sql.text}) THEN {index}" for index, (_, sql) in enumerate(stages))
    sql = Sql(
        f"SELECT first_failure, COUNT(*), SUM(slots), SUM(resolution), COUNT(resolution) FROM ("
        f"SELECT CASE {whens} ELSE {passed_all} END AS first_failure, h.max_concurrent_work AS slots, "
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
