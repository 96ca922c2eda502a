"""The SQL the candidate search runs: the eligibility rules and the profile columns, as text.

Why hand-written SQL rather than the ORM: the candidate search runs on every route and every dispatch,
and building its queryset (a dozen Exists, the zone windows) cost 10-15 ms of Python per call, as much as
the whole route may take. The text below is built by string joins from table and column names read
from the models' _meta, and is the same on PostgreSQL and SQLite except where marked. What a call
supplies (times, dates, zones, skills, the language) is a parameter; what the code fixes (statuses,
types, proficiency levels, limits) is a literal (config.prepared.literal), so that the statements can
be prepared: a generic plan can use a partial index only when its predicate's values are in the text.

The rules are stated once, in routing.engine.rules.ELIGIBILITY_RULES (order, when each is in force);
RULE_SQL below translates each of them, by name, and must cover every rule (checked on import).
tests/routing/test_rules_agree.py holds the translation equal to the engine over random agents and
work; tests/routing/test_schedule_rules.py holds the schedule rule equal to routing.engine.schedule.

Aliases: `a` availability (one row per agent, its primary key is agent_id), `h` the agent, `p` the
performance snapshot (LEFT JOIN: an agent may have none yet).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

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
)
from config.prepared import literal, literals
from routing.engine.rules import ELIGIBILITY_RULES, proficiencies_at_least, rules_in_force
from routing.engine.schedule import local_clock, weekday_name
from routing.engine.types import PROFICIENCY_ORDER, Ring, SpecializationFact, WorkProfile
from routing.models import DIFFICULT_ASSIGNMENT_Q, FINISHED_ASSIGNMENT_STATUSES, CaseAssignment

logger = logging.getLogger(__name__)


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
    ("code", "h.code"),
    ("is_active", "h.is_active"),
    ("max_concurrent_work", "h.max_concurrent_work"),
    ("frustration_tolerance", "h.frustration_tolerance"),
    ("csat_score", "p.csat_score"),
    ("escalation_rate", "p.escalation_rate"),
    ("first_contact_resolution_rate", "p.first_contact_resolution_rate"),
    ("stress_score", "p.stress_score"),
    ("consecutive_difficult_cases", "p.consecutive_difficult_cases"),
    ("department", "h.department"),
)
PROFILE_NAMES = [name for name, _ in PROFILE_COLUMNS]


def _placeholders(values) -> str:
    return ", ".join(["%s"] * len(values))


def probe(subquery: str, *, per_row: bool, present: bool = True) -> str:
    """An agent-correlated EXISTS. `per_row` (PostgreSQL): keep it a per-agent index probe. A plain
    EXISTS may become a hashed subplan, which reads every matching row once (all of today's schedule
    windows: ~8 ms) to serve lookups; right when every agent is checked (the funnel), wasteful when a
    walk checks a few hundred and stops. OFFSET 0 keeps PostgreSQL from flattening the subquery."""
    suffix = " OFFSET 0" if per_row and connection.vendor == "postgresql" else ""
    return f"{'' if present else 'NOT '}EXISTS ({subquery}{suffix})"


def open_difficult_sql() -> str:
    """The agent's open difficult assignments (assignment_open_difficult_idx; routing.models
    DIFFICULT_ASSIGNMENT_Q and OPEN_AS_NOT_FINISHED_Q state the same condition for the ORM, open as
    not finished, which keeps the planner off one_open_assignment_per_case)."""
    assert DIFFICULT_ASSIGNMENT_Q  # the condition below is that Q: complexity high or frustration high+
    return (
        f"(SELECT COUNT(*) FROM {table(CaseAssignment)} c WHERE c.agent_id = a.agent_id "
        f"AND NOT (c.status IN ({literals(FINISHED_ASSIGNMENT_STATUSES)})) "
        f"AND (c.complexity = {literal('high')} OR c.customer_frustration IN ({literals(['high', 'critical'])})))"
    )


@dataclass
class Sql:
    text: str
    params: list = field(default_factory=list)


def _agents_schedules(agent_ref: str) -> str:
    """The agent's own schedule rows, read by agent id (a handful) and then filtered. PostgreSQL: the
    OFFSET 0 fence keeps the window conditions out of the scan; given them, the planner ANDed the agent's
    rows with bitmap scans of every zone's weekday rows (thousands per agent walked: 1.2 ms each)."""
    if connection.vendor == "postgresql":
        return f"(SELECT * FROM {table(AgentSchedule)} own WHERE own.agent_id = {agent_ref} OFFSET 0)"
    return f"(SELECT * FROM {table(AgentSchedule)} own WHERE own.agent_id = {agent_ref})"


def _and(parts: list[Sql]) -> Sql:
    return Sql(" AND ".join(f"({part.text})" for part in parts), [p for part in parts for p in part.params])


@dataclass(frozen=True)
class AgentRules:
    """The eligibility rules of one piece of work at one ring, now, as SQL over `a`, `h` (and `p`)."""

    work: WorkProfile
    ring: Ring
    now: dt.datetime
    zones: list[str]
    lockout: int
    per_row: bool = False  # probes for a walk over few agents (see `probe`)

    # --- the schedule rule (routing.engine.schedule) ---------------------------------------------------

    def _temporary_on(self, weekday: str, day: dt.date) -> Sql:
        """A temporary row of the agent applies on `day` (it replaces the regular rows of that date)."""
        adapt = connection.ops.adapt_datefield_value
        return Sql(
            f"EXISTS (SELECT 1 FROM {_agents_schedules('s.agent_id')} t WHERE "
            f"t.schedule_type = {literal(ScheduleType.TEMPORARY)} AND t.day_of_week = %s "
            "AND t.effective_from <= %s AND (t.effective_until IS NULL OR t.effective_until >= %s))",
            [weekday, adapt(day), adapt(day)],
        )

    def windows(self) -> Sql:
        """Schedule rows `s` whose window contains now in their own zone and counts (a regular row on a
        date a temporary row replaces does not); nothing if no zone."""
        parts, params = [], []
        adapt_time, adapt_date = connection.ops.adapt_timefield_value, connection.ops.adapt_datefield_value
        for zone in self.zones:
            clock = local_clock(self.now, zone)
            if clock is None:
                continue  # an invalid zone in the data puts nobody in schedule; the doors validate zones
            today, time = clock
            yesterday = today - dt.timedelta(days=1)
            branches = []
            for day, started_today in ((today, True), (yesterday, False)):
                replaced = self._temporary_on(weekday_name(day), day)
                if started_today:
                    clock_sql = "s.start_time <= %s AND (s.end_time > %s OR s.end_time <= s.start_time)"
                    clock_params = [adapt_time(time), adapt_time(time)]
                else:
                    clock_sql = "s.end_time <= s.start_time AND s.end_time > %s"
                    clock_params = [adapt_time(time)]
                branches.append(
                    Sql(
                        f"(s.day_of_week = %s AND {clock_sql} AND s.effective_from <= %s "
                        f"AND (s.effective_until IS NULL OR s.effective_until >= %s) "
                        f"AND (s.schedule_type <> {literal(ScheduleType.REGULAR)} OR NOT {replaced.text}))",
                        [
                            weekday_name(day),
                            *clock_params,
                            adapt_date(day),
                            adapt_date(day),
                            *replaced.params,
                        ],
                    )
                )
            parts.append(f"(s.timezone = %s AND ({branches[0].text} OR {branches[1].text}))")
            params += [zone, *branches[0].params, *branches[1].params]
        return Sql("(" + " OR ".join(parts) + ")" if parts else "(1 = 0)", params)

    def in_schedule(self) -> Sql:
        """Inside a working window that counts and in no exception window: one probe of the agent's
        schedule rows whose window contains now (2 if any is an exception, 1 if only working windows,
        0 if none)."""
        windows = self.windows()
        return Sql(
            f"(COALESCE((SELECT MAX(CASE WHEN s.schedule_type = {literal(ScheduleType.EXCEPTION)} THEN 2 ELSE 1 END) "
            f"FROM {_agents_schedules('a.agent_id')} s WHERE {windows.text}), 0) = 1)",
            windows.params,
        )

    def difficult_streak(self) -> Sql:
        completed = (
            f"COALESCE((SELECT pp.consecutive_difficult_cases FROM {table(AgentPerformance)} pp "
            "WHERE pp.agent_id = a.agent_id), 0)"
        )
        return Sql(f"({completed} + {open_difficult_sql()})")

    # --- the rules --------------------------------------------------------------------------------

    def stages(self) -> list[tuple[str, Sql]]:
        """The rules in force, in the engine's order, as (funnel label, SQL); the skills rule is one
        stage per skill, so the funnel says which skill nobody holds."""
        return [stage for rule in rules_in_force(self.work, self.ring) for stage in RULE_SQL[rule.name](self)]

    def skill_stages(self) -> list[tuple[str, Sql]]:
        levels = list(proficiencies_at_least(self.ring.min_proficiency))
        return [
            (
                f"skill:{skill}",
                Sql(
                    probe(
                        f"SELECT 1 FROM {table(AgentSkill)} k WHERE k.agent_id = a.agent_id "
                        f"AND k.domain_id = (SELECT d.id FROM {table(SkillDomain)} d WHERE d.code = %s) "
                        f"AND k.proficiency IN ({literals(levels)})",
                        per_row=self.per_row,
                    ),
                    [skill],
                ),
            )
            for skill in self.ring.skills
        ]

    def all_skills(self) -> Sql:
        """Every skill of the ring at its minimum proficiency, as one probe of the agent's skill rows."""
        skills = sorted(set(self.ring.skills))
        levels = list(proficiencies_at_least(self.ring.min_proficiency))
        return Sql(
            f"((SELECT COUNT(*) FROM {table(AgentSkill)} k WHERE k.agent_id = a.agent_id "
            f"AND k.proficiency IN ({literals(levels)}) AND k.domain_id IN "
            f"(SELECT d.id FROM {table(SkillDomain)} d WHERE d.code IN ({_placeholders(skills)}))) = "
            f"{literal(len(skills))})",
            skills,
        )

    def all_rules(self) -> Sql:
        """Every rule, cheapest and most selective first (a walk stops checking an agent at the first
        rule it fails): columns of the agent's own rows, then skills (one probe), language, fatigue,
        schedule."""
        rank = {"skills": 1, "language": 2, "fatigue_lockout": 3, "in_schedule": 4}
        rules = sorted(rules_in_force(self.work, self.ring), key=lambda rule: rank.get(rule.name, 0))
        parts = []
        for rule in rules:
            if rule.name == "skills":
                parts.append(self.all_skills())
            else:
                parts += [sql for _, sql in RULE_SQL[rule.name](self)]
        return _and(parts)


def _one(label: str, build: Callable[[AgentRules], Sql]) -> Callable[[AgentRules], list[tuple[str, Sql]]]:
    return lambda rules: [(label, build(rules))]


def _language(rules: AgentRules) -> Sql:
    return Sql(
        probe(
            f"SELECT 1 FROM {table(AgentLanguage)} l WHERE l.agent_id = a.agent_id AND l.language_code = %s",
            per_row=rules.per_row,
        ),
        [rules.work.language],
    )


def _fatigue(rules: AgentRules) -> Sql:
    streak = rules.difficult_streak()
    return Sql(f"{streak.text} < %s", [*streak.params, rules.lockout])


def _excluded(rules: AgentRules) -> Sql:
    excluded = sorted(rules.work.excluded_agent_ids)
    return Sql(f"a.agent_id NOT IN ({_placeholders(excluded)})", excluded)


def _lead_specialization(rules: AgentRules) -> Sql:
    """routing.engine.lead_work.covering_rows in SQL: a specialization row for the lead's line, its
    segment or none, at the minimum proficiency, with the lead's territory among its territories (or
    none listed)."""
    work = rules.work
    territory, params = "", [work.insurance_line, work.customer_segment, work.min_specialization]
    if work.territory:
        if connection.vendor == "postgresql":
            territory = " AND (jsonb_array_length(sp.territories) = 0 OR sp.territories @> jsonb_build_array(%s::text))"
        else:
            territory = (
                " AND (json_array_length(sp.territories) = 0 OR "
                "EXISTS (SELECT 1 FROM json_each(sp.territories) t WHERE t.value = %s))"
            )
        params.append(work.territory)
    return Sql(
        probe(
            f"SELECT 1 FROM {table(AgentSpecialization)} sp WHERE sp.agent_id = a.agent_id "
            "AND sp.insurance_line = %s AND (sp.customer_segment = %s OR sp.customer_segment IS NULL) "
            f"AND sp.proficiency >= %s{territory}",
            per_row=rules.per_row,
        ),
        params,
    )


# Each rule of routing.engine.rules.ELIGIBILITY_RULES in SQL, by name.
RULE_SQL: dict[str, Callable[[AgentRules], list[tuple[str, Sql]]]] = {
    "active": _one("active", lambda rules: Sql("h.is_active")),
    "working_status": _one(
        "working_status",
        lambda rules: Sql(
            f"(a.status = {literal(AvailabilityStatus.AVAILABLE)} "
            f"OR (a.status = {literal(AvailabilityStatus.BUSY)} AND NOT a.manual_override))"
        ),
    ),
    "in_schedule": _one("in_schedule", AgentRules.in_schedule),
    "language": lambda rules: [(f"language:{rules.work.language}", _language(rules))],
    "skills": AgentRules.skill_stages,
    "frustration_tolerance": _one(
        "frustration_tolerance",
        lambda rules: Sql(f"h.frustration_tolerance <> {literal(FrustrationTolerance.LOW)}"),
    ),
    "fatigue_lockout": _one("fatigue_lockout", _fatigue),
    "excluded": _one("excluded", _excluded),
    "lead_specialization": _one("lead_specialization", _lead_specialization),
    "agent_group": _one("agent_group", lambda rules: Sql("h.department = %s", [rules.work.department])),
    "spare_capacity": _one("spare_capacity", lambda rules: Sql("a.current_load < h.max_concurrent_work")),
}
_missing = {rule.name for rule in ELIGIBILITY_RULES} ^ set(RULE_SQL)
if _missing:  # a rule without its SQL (or SQL without a rule) would make the search and the engine disagree
    raise ImportError(f"eligibility rules and their SQL differ: {sorted(_missing)}")


# --- facts: the agent's skills, specializations and languages in one column -----------------------------


def facts_sql(agent_ref: str) -> Sql:
    """One JSON column with the agent's skills, specializations and languages, so a profile needs no
    query of its own: {"s": {code: proficiency}, "p": [[name, confidence, line, segment, proficiency,
    languages, territories]], "l": [code]}. JSON escapes whatever a name holds, so no name can break
    the column apart; parse_facts reads it."""
    skills, specs, langs = table(AgentSkill), table(AgentSpecialization), table(AgentLanguage)
    if connection.vendor == "postgresql":
        return Sql(
            "json_build_object("
            f"'s', (SELECT json_object_agg(d.code, k.proficiency) FROM {skills} k "
            f"JOIN {table(SkillDomain)} d ON d.id = k.domain_id WHERE k.agent_id = {agent_ref}), "
            f"'p', (SELECT json_agg(json_build_array(sp.specialization, sp.confidence, sp.insurance_line, "
            f"sp.customer_segment, sp.proficiency, sp.languages, sp.territories)) FROM {specs} sp "
            f"WHERE sp.agent_id = {agent_ref}), "
            f"'l', (SELECT json_agg(l.language_code) FROM {langs} l WHERE l.agent_id = {agent_ref}))"
        )
    return Sql(
        "json_object("
        f"'s', (SELECT json_group_object(d.code, k.proficiency) FROM {skills} k "
        f"JOIN {table(SkillDomain)} d ON d.id = k.domain_id WHERE k.agent_id = {agent_ref}), "
        f"'p', (SELECT json_group_array(json_array(sp.specialization, CAST(sp.confidence AS REAL), "
        f"sp.insurance_line, sp.customer_segment, sp.proficiency, json(sp.languages), json(sp.territories))) "
        f"FROM {specs} sp WHERE sp.agent_id = {agent_ref}), "
        f"'l', (SELECT json_group_array(l.language_code) FROM {langs} l WHERE l.agent_id = {agent_ref}))"
    )


@dataclass(frozen=True)
class Facts:
    skills: dict[str, str]
    specializations: tuple[SpecializationFact, ...]
    languages: frozenset[str]


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(item for item in value if isinstance(item, str)) if isinstance(value, list) else ()


def parse_facts(raw: Any, *, problems: list[str]) -> Facts:
    """Total: whatever the column holds, the facts that read well are kept and each one that does not
    is skipped with a message in `problems` (the caller reports it), so one bad row never breaks a
    search for the other agents."""
    if isinstance(raw, str | bytes):
        try:
            raw = json.loads(raw)
        except ValueError:
            problems.append("facts are not valid JSON")
            raw = {}
    if not isinstance(raw, dict):
        problems.append("facts are not an object")
        raw = {}
    skills: dict[str, str] = {}
    for code, proficiency in (raw.get("s") or {}).items() if isinstance(raw.get("s"), dict) else ():
        if proficiency in PROFICIENCY_ORDER:
            skills[code] = proficiency
        else:
            problems.append(f"skill {code!r}: unknown proficiency {proficiency!r}")
    specializations = []
    for item in raw.get("p") or ():
        try:
            name, confidence, line, segment, proficiency, languages, territories = item
            if isinstance(languages, str):  # SQLite may hand back nested JSON as text
                languages, territories = json.loads(languages), json.loads(territories)
            specializations.append(
                SpecializationFact(
                    name=str(name),
                    confidence=float(confidence),
                    insurance_line=line,
                    customer_segment=segment,
                    proficiency=None if proficiency is None else int(proficiency),
                    languages=_strings(languages),
                    territories=_strings(territories),
                )
            )
        except (TypeError, ValueError) as error:
            problems.append(f"specialization {item!r:.80}: {error}")
    languages = frozenset(_strings(raw.get("l") or []))
    return Facts(skills=skills, specializations=tuple(specializations), languages=languages)


def profile_select(extra: Sql | None = None) -> Sql:
    """The profile columns under their short names."""
    text = ", ".join(f"{sql} AS {name}" for name, sql in PROFILE_COLUMNS)
    if extra is not None:
        return Sql(f"{text}, {extra.text}", list(extra.params))
    return Sql(text)
