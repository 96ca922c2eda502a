"""The SQL the candidate search runs: the hard rules, the pre-rank score and the profile columns, as text.

Why hand-written SQL rather than the ORM: the candidate search runs on every route and every dispatch,
and building its queryset (a dozen Exists, the zone windows, the five-factor score) cost 10-15 ms of
Python per call, as much as the whole route may take. The text below is built by string joins with every
value passed as a parameter, from table and column names read from the models' _meta, and is the same
on PostgreSQL and SQLite except where marked (seconds between two datetimes). One builder holds the
rules, so the search, the funnel and the lock-time re-check cannot disagree about them.

Aliases: `a` availability (one row per agent, its primary key is agent_id), `h` the agent, `p` the
performance snapshot (LEFT JOIN: an agent may have none yet).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import connection
from django.db.models import Model

from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentSchedule,
    AgentSkill,
    AgentSpecialization,
    AvailabilityStatus,
    FrustrationTolerance,
    HumanAgent,
    ScheduleType,
    SkillDomain,
    Weekday,
)
from routing.engine.factors import FRUSTRATION_FIT, IDLE_SATURATION_SECONDS, NEUTRAL
from routing.engine.rules import is_difficult, proficiencies_at_least
from routing.engine.types import PROFICIENCY_ORDER, CaseProfile, Ring, Weights
from routing.models import OPEN_ASSIGNMENT_STATUSES, CaseAssignment


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


AVAILABILITY = table(AgentAvailability)


def base_from(*, per_row: bool, driver: str = "") -> str:
    """Availability with its agent and performance rows, optionally for the agent ids a `driver`
    derived table (column agent_id, alias `pool`) yields. `per_row` (PostgreSQL): for a few agents
    (a pool, one agent), read the rows by primary key per agent; a plain join let the planner hash
    all 10,000 rows of each table (~2.5 ms) to serve 100 lookups. OFFSET 0 keeps the LATERAL
    subqueries from being flattened back into joins."""
    if per_row and connection.vendor == "postgresql":
        agents = f"FROM {AVAILABILITY} a "
        if driver:
            agents = (
                f"FROM ({driver}) pool CROSS JOIN LATERAL "
                f"(SELECT * FROM {AVAILABILITY} aa WHERE aa.agent_id = pool.agent_id OFFSET 0) a "
            )
        return (
            f"{agents}"
            f"CROSS JOIN LATERAL (SELECT * FROM {table(HumanAgent)} hh WHERE hh.id = a.agent_id OFFSET 0) h "
            f"LEFT JOIN LATERAL (SELECT * FROM {table(AgentPerformance)} pp "
            "WHERE pp.agent_id = a.agent_id OFFSET 0) p ON TRUE"
        )
    agents = f"FROM {AVAILABILITY} a "
    if driver:
        agents = f"FROM ({driver}) pool JOIN {AVAILABILITY} a ON a.agent_id = pool.agent_id "
    return (
        f"{agents}JOIN {table(HumanAgent)} h ON h.id = a.agent_id "
        f"LEFT JOIN {table(AgentPerformance)} p ON p.agent_id = a.agent_id"
    )


# (name in the profile row, SQL) in the order profiles_from_rows reads them.
PROFILE_COLUMNS = (
    ("agent_id", "a.agent_id"),
    ("status", "a.status"),
    ("manual_override", "a.manual_override"),
    ("current_load", "a.current_load"),
    ("last_assigned_at", "a.last_assigned_at"),
    ("agent__code", "h.code"),
    ("agent__is_active", "h.is_active"),
    ("agent__max_concurrent_cases", "h.max_concurrent_cases"),
    ("agent__frustration_tolerance", "h.frustration_tolerance"),
    ("agent__performance__csat_score", "p.csat_score"),
    ("agent__performance__escalation_rate", "p.escalation_rate"),
    ("agent__performance__first_contact_resolution_rate", "p.first_contact_resolution_rate"),
    ("agent__performance__stress_score", "p.stress_score"),
    ("agent__performance__consecutive_difficult_cases", "p.consecutive_difficult_cases"),
)


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def _float(sql: str) -> str:
    return f"CAST({sql} AS DOUBLE PRECISION)"


def _at_most_one(sql: str) -> str:
    return f"(CASE WHEN {sql} > 1.0 THEN 1.0 ELSE {sql} END)"


def _at_least_zero(sql: str) -> str:
    return f"(CASE WHEN {sql} < 0.0 THEN 0.0 ELSE {sql} END)"


def probe(subquery: str, *, per_row: bool, present: bool = True) -> str:
    """An agent-correlated EXISTS. `per_row` (PostgreSQL): keep it a per-agent index probe. A plain
    EXISTS may become a hashed subplan, which reads every matching row once (all of today's schedule
    windows: ~8 ms) to serve lookups; right when every agent is checked (the funnel), wasteful when a
    walk checks a few hundred and stops. OFFSET 0 keeps PostgreSQL from flattening the subquery."""
    suffix = " OFFSET 0" if per_row and connection.vendor == "postgresql" else ""
    return f"{'' if present else 'NOT '}EXISTS ({subquery}{suffix})"


def open_difficult_sql() -> tuple[str, list]:
    """The agent's open difficult assignments (assignment_open_difficult_idx)."""
    sql = (
        f"(SELECT COUNT(*) FROM {table(CaseAssignment)} c WHERE c.agent_id = a.agent_id "
        f"AND c.status IN ({_placeholders(OPEN_ASSIGNMENT_STATUSES)}) "
        "AND (c.complexity = %s OR c.customer_frustration IN (%s, %s)))"
    )
    return sql, [*OPEN_ASSIGNMENT_STATUSES, "high", "high", "critical"]


def seconds_since_sql(column: str, now: dt.datetime) -> tuple[str, list]:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM (%s - {column}))", [now]
    return f"((julianday(%s) - julianday({column})) * 86400.0)", [
        connection.ops.adapt_datetimefield_value(now)
    ]


@dataclass
class Sql:
    text: str
    params: list = field(default_factory=list)


@dataclass(frozen=True)
class AgentRules:
    """The hard rules and the score of one case at one ring, now, as SQL over `a`, `h` (and `p`)."""

    case: CaseProfile
    ring: Ring
    now: dt.datetime
    zones: list[str]
    lockout: int
    per_row: bool = False  # probes for a walk over few agents (see `probe`)

    # --- hard rules ------------------------------------------------------------------------------

    def windows(self) -> Sql:
        """Schedule rows `s` whose window contains now in their own zone (nothing if no zone)."""
        parts, params = [], []
        adapt_time, adapt_date = connection.ops.adapt_timefield_value, connection.ops.adapt_datefield_value
        for zone in self.zones:
            try:
                local = self.now.astimezone(ZoneInfo(zone))
            except (ZoneInfoNotFoundError, ValueError):
                continue  # an invalid zone in the data puts nobody in schedule; the admin validates zones
            day, time = local.date(), local.time().replace(tzinfo=None)
            parts.append(
                "(s.timezone = %s AND s.day_of_week = %s AND s.start_time <= %s AND s.end_time > %s "
                "AND s.effective_from <= %s AND (s.effective_until IS NULL OR s.effective_until >= %s))"
            )
            weekday = Weekday.from_iso(local.isoweekday()).value
            params += [zone, weekday, adapt_time(time), adapt_time(time), adapt_date(day), adapt_date(day)]
        return Sql("(" + " OR ".join(parts) + ")" if parts else "(1 = 0)", params)

    def in_schedule(self) -> Sql:
        """Inside a working window and in no exception window: one probe of the agent's schedule rows
        whose window contains now (2 if any is an exception, 1 if only working windows, 0 if none)."""
        windows = self.windows()
        return Sql(
            f"(COALESCE((SELECT MAX(CASE WHEN s.schedule_type = %s THEN 2 ELSE 1 END) "
            f"FROM {table(AgentSchedule)} s WHERE s.agent_id = a.agent_id AND {windows.text}), 0) = 1)",
            [ScheduleType.EXCEPTION, *windows.params],
        )

    def difficult_streak(self) -> Sql:
        open_sql, open_params = open_difficult_sql()
        completed = (
            f"COALESCE((SELECT pp.consecutive_difficult_cases FROM {table(AgentPerformance)} pp "
            "WHERE pp.agent_id = a.agent_id), 0)"
        )
        return Sql(f"({completed} + {open_sql})", open_params)

    def stages(self) -> list[tuple[str, Sql]]:
        """The hard rules in the order the funnel reports them. Spare capacity comes last: the agents
        who pass everything else could serve the case once they free up (the wait estimate counts
        them)."""
        case, ring = self.case, self.ring
        stages: list[tuple[str, Sql]] = [
            ("active", Sql("h.is_active")),
            (
                "working_status",
                Sql(
                    "(a.status IN (%s, %s) AND NOT (a.status = %s AND a.manual_override))",
                    [AvailabilityStatus.AVAILABLE, AvailabilityStatus.BUSY, AvailabilityStatus.BUSY],
                ),
            ),
            ("in_schedule", self.in_schedule()),
        ]
        if case.language:
            stages.append(
                (
                    f"language:{case.language}",
                    Sql(
                        probe(
                            f"SELECT 1 FROM {table(AgentLanguage)} l "
                            "WHERE l.agent_id = a.agent_id AND l.language_code = %s",
                            per_row=self.per_row,
                        ),
                        [case.language],
                    ),
                )
            )
        levels = list(proficiencies_at_least(ring.min_proficiency))
        for skill in ring.skills:
            stages.append(
                (
                    f"skill:{skill}",
                    Sql(
                        probe(
                            f"SELECT 1 FROM {table(AgentSkill)} k WHERE k.agent_id = a.agent_id "
                            f"AND k.domain_id = (SELECT d.id FROM {table(SkillDomain)} d WHERE d.code = %s) "
                            f"AND k.proficiency IN ({_placeholders(levels)})",
                            per_row=self.per_row,
                        ),
                        [skill, *levels],
                    ),
                )
            )
        if case.frustration == "critical":
            stages.append(
                ("frustration_tolerance", Sql("h.frustration_tolerance <> %s", [FrustrationTolerance.LOW]))
            )
        if is_difficult(complexity=case.complexity, frustration=case.frustration):
            streak = self.difficult_streak()
            stages.append(("fatigue_lockout", Sql(f"{streak.text} < %s", [*streak.params, self.lockout])))
        if case.excluded_agent_ids:
            excluded = sorted(case.excluded_agent_ids)
            stages.append(("excluded", Sql(f"a.agent_id NOT IN ({_placeholders(excluded)})", excluded)))
        stages.append(("spare_capacity", Sql("a.current_load < h.max_concurrent_cases")))
        return stages

    def all_skills(self) -> Sql:
        """Every skill of the ring at its minimum proficiency, as one probe of the agent's skill rows
        (the funnel keeps one rule per skill, to say which one nobody holds)."""
        skills = sorted(set(self.ring.skills))
        levels = list(proficiencies_at_least(self.ring.min_proficiency))
        return Sql(
            f"((SELECT COUNT(*) FROM {table(AgentSkill)} k WHERE k.agent_id = a.agent_id "
            f"AND k.proficiency IN ({_placeholders(levels)}) AND k.domain_id IN "
            f"(SELECT d.id FROM {table(SkillDomain)} d WHERE d.code IN ({_placeholders(skills)}))) = %s)",
            [*levels, *skills, len(skills)],
        )

    def all_rules(self) -> Sql:
        """Every rule, cheapest and most selective first (a walk stops checking an agent at the first
        rule it fails): columns of the agent's own rows, then skills (one probe), language, fatigue,
        schedule."""
        rank = {"skill": 1, "language": 2, "fatigue_lockout": 3, "in_schedule": 4}
        stages = [stage for stage in self.stages() if not stage[0].startswith("skill:")]
        if self.ring.skills:
            stages.append(("skill", self.all_skills()))
        stages.sort(key=lambda stage: rank.get(stage[0].split(":")[0], 0))
        return Sql(
            " AND ".join(f"({sql.text})" for _, sql in stages),
            [param for _, sql in stages for param in sql.params],
        )

    # --- the score ---------------------------------------------------------------------------------

    def factor_columns(self) -> Sql:
        """Per-agent inputs of the score that need a subquery: skill points, best specialization
        confidence, open difficult cases. Columns of a derived table, so each runs once per agent."""
        skills = list(self.case.required_skills or self.ring.skills)
        ranks = " ".join(f"WHEN %s THEN {rank}" for rank in range(1, len(PROFICIENCY_ORDER) + 1))
        params: list = []
        if skills:
            points = (
                f"(SELECT COALESCE(SUM(CASE k.proficiency {ranks} ELSE 0 END), 0) FROM {table(AgentSkill)} k "
                f"WHERE k.agent_id = a.agent_id AND k.domain_id IN "
                f"(SELECT d.id FROM {table(SkillDomain)} d WHERE d.code IN ({_placeholders(skills)})))"
            )
            params += [*PROFICIENCY_ORDER, *skills]
        else:
            points = "0"
        wanted = sorted(set(self.case.required_skills) | set(self.case.specializations))
        if wanted:
            best = (
                f"(SELECT COALESCE(MAX(sp.confidence), 0) FROM {table(AgentSpecialization)} sp "
                f"WHERE sp.agent_id = a.agent_id AND sp.specialization IN ({_placeholders(wanted)}))"
            )
            params += wanted
        else:
            best = "0"
        open_sql, open_params = open_difficult_sql()
        params += open_params
        seconds, seconds_params = seconds_since_sql("a.last_assigned_at", self.now)
        params += seconds_params
        return Sql(
            f"{points} AS skill_points, {best} AS specialization, {open_sql} AS open_difficult, "
            f"{_float(seconds)} AS idle_seconds",
            params,
        )

    def score(self, weights: Weights) -> Sql:
        """routing.engine.factors and Strategy.total in SQL, over the derived table's columns (the
        profile columns plus factor_columns). tests/routing/test_selectors.py holds the two equal."""
        skills = list(self.case.required_skills or self.ring.skills)
        if skills:
            proficiency = f"({_float('skill_points')} / {float(len(PROFICIENCY_ORDER) * len(skills))})"
        else:
            proficiency = str(NEUTRAL)
        skill = f"(0.8 * {proficiency} + 0.2 * {_float('specialization')})"
        performance = (
            f"((COALESCE(({_float('csat_score')} - 1.0) / 4.0, {NEUTRAL}) "
            f"+ COALESCE(1.0 - {_float('escalation_rate')}, {NEUTRAL}) "
            f"+ COALESCE({_float('first_contact_resolution_rate')}, {NEUTRAL})) / 3.0)"
        )
        fit_table = FRUSTRATION_FIT.get(self.case.frustration, FRUSTRATION_FIT["low"])
        fit = (
            "(CASE frustration_tolerance " + " ".join("WHEN %s THEN %s" for _ in fit_table) + " ELSE 0.5 END)"
        )
        fit_params = [value for pair in fit_table.items() for value in pair]
        stress = f"COALESCE({_float('stress_score')}, 0.0)"
        if self.lockout > 0:
            streak = _float("(COALESCE(consecutive_difficult_cases, 0) + open_difficult)")
            share = _at_most_one(f"({streak} / {float(self.lockout)})")
        else:
            share = "0.0"
        fatigue = _at_least_zero(f"(1.0 - 0.6 * {stress} - 0.4 * {share})")
        idle = (
            "(CASE WHEN last_assigned_at IS NULL THEN 1.0 "
            f"ELSE {_at_least_zero(_at_most_one(f'(idle_seconds / {IDLE_SATURATION_SECONDS})'))} END)"
        )
        spare = f"({_float('(max_concurrent_cases - current_load)')} / {_float('max_concurrent_cases')})"
        balance = f"(0.7 * {spare} + 0.3 * {idle})"
        total = sum(weights.as_dict().values()) or 1.0
        text = (
            f"(({weights.skill} * {skill} + {weights.performance} * {performance} "
            f"+ {weights.frustration_fit} * {fit} + {weights.fatigue} * {fatigue} "
            f"+ {weights.load_balance} * {balance}) / {total})"
        )
        return Sql(text, fit_params)  # each parameter appears once: the clamps repeat their text


FIELD, RECORD = "\x1f", "\x1e"  # ASCII unit and record separators: never in codes or names


def facts_sql(agent_ref: str) -> Sql:
    """One text column with the agent's skills, specializations and languages (`kind FIELD key FIELD
    value`, RECORD between items), so a profile needs no query of its own; read by parse_facts."""
    aggregate = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    items = (
        f"SELECT 's' || %s || d.code || %s || k.proficiency AS item FROM {table(AgentSkill)} k "
        f"JOIN {table(SkillDomain)} d ON d.id = k.domain_id WHERE k.agent_id = {agent_ref} "
        f"UNION ALL SELECT 'p' || %s || sp.specialization || %s || CAST(sp.confidence AS TEXT) "
        f"FROM {table(AgentSpecialization)} sp WHERE sp.agent_id = {agent_ref} "
        f"UNION ALL SELECT 'l' || %s || l.language_code || %s FROM {table(AgentLanguage)} l "
        f"WHERE l.agent_id = {agent_ref}"
    )
    return Sql(f"(SELECT {aggregate}(item, %s) FROM ({items}) facts)", [RECORD, *[FIELD] * 6])


def parse_facts(text: str | None) -> tuple[dict[str, str], dict[str, float], frozenset[str]]:
    skills: dict[str, str] = {}
    specializations: dict[str, float] = {}
    languages: set[str] = set()
    for item in (text or "").split(RECORD):
        if not item:
            continue
        kind, key, value = item.split(FIELD)
        if kind == "s":
            skills[key] = value
        elif kind == "p":
            specializations[key] = float(value)
        else:
            languages.add(key)
    return skills, specializations, frozenset(languages)


def profile_select(extra: Sql | None = None) -> Sql:
    """The profile columns under their short names (for an outer query over a derived table)."""
    columns = [f"{sql} AS {name.rsplit('__', 1)[-1]}" for name, sql in PROFILE_COLUMNS]
    text = ", ".join(columns)
    if extra is not None:
        return Sql(f"{text}, {extra.text}", list(extra.params))
    return Sql(text)
