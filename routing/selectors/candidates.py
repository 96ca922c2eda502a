"""The candidate agents for a case: every hard rule in SQL, a bounded pool, a pre-rank, then the engine.

Hard rules (each an SQL filter, so no ineligible agent is ever loaded): active; working status
(`available`, or `busy` set without a manual override); inside a schedule window now in the agent's own
zone (routing.selectors.schedules); speaks the case's language; holds each required skill of the ring
at its minimum proficiency; not low tolerance for critical frustration; for a difficult case, a
difficult streak (completed since the last break + still open) below the lockout; not excluded; spare
capacity. The services re-check status, capacity, schedule and the fatigue streak under the agent's row
lock, so a stale read here can cost a retry, never a wrong assignment.

Ranking, and the one approximation. Scoring every eligible agent is exact but reads every agent's rows
(about 40 ms at 10,000 eligible agents); a route must take a few. So the search works on a bounded pool:

1. Pool: walk working agents in (status, current_load) order, `available` before `busy`, least loaded
   first (the order of the availability_status_load_idx index, so PostgreSQL stops early), keeping the
   first `CANDIDATE_POOL` agents (default 200) that pass every hard rule. Ties in load are taken in index
   order. The search only ever looks at these agents: when the pool is full, an eligible agent outside
   it is not considered, however well it would score. Load is the pool's key because spreading work
   is one of the factors and because an index can serve it; skill, performance, fit and fatigue decide
   within the pool. The decision record says how large the pool was and whether it was full
   (`prerank` on RoutingDecision); CANDIDATE_POOL = 0 scores every eligible agent (exact, slower).
2. Pre-rank: inside the pool the database computes the strategy's own order. For `score` that is the
   weighted total of all five factors with the same formulas as routing.engine.factors (skill
   proficiency and specialization, performance, frustration fit, fatigue with the open difficult
   cases, spare capacity and idle time), so the SQL order is the engine's order, up to float rounding.
3. The best `CANDIDATE_LIMIT` (default 50) are loaded with their skills, specializations and languages
   (one UNION query) and scored by the pure engine, which decides and whose breakdown is recorded.

On PostgreSQL the candidate query runs with join_collapse_limit = 1 (transaction-local): the query is
written in the order it should run (the indexed walk over availability, then one probe per rule), and
the planner's exhaustive search over its nine relations took 15-20 ms, more than running it (~3 ms).

Nothing here locks; the locking reads live in routing.services.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Cast, Coalesce, Greatest, Least
from django.db.models.lookups import LessThan

from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentSkill,
    AgentSpecialization,
    AvailabilityStatus,
    FrustrationTolerance,
    Proficiency,
)
from routing.engine.factors import FRUSTRATION_FIT, IDLE_SATURATION_SECONDS, NEUTRAL
from routing.engine.rules import is_difficult, proficiencies_at_least
from routing.engine.strategies import Strategy
from routing.engine.types import AgentProfile, CaseProfile, Ring, Weights
from routing.models import DIFFICULT_ASSIGNMENT_Q, OPEN_ASSIGNMENT_STATUSES, CaseAssignment
from routing.selectors.schedules import in_schedule_q, schedule_zones_in_use

DEFAULT_CANDIDATE_LIMIT = 50
DEFAULT_CANDIDATE_POOL = 200


def candidate_limit() -> int:
    return int(settings.ROUTING.get("CANDIDATE_LIMIT", DEFAULT_CANDIDATE_LIMIT))


def candidate_pool() -> int:
    return int(settings.ROUTING.get("CANDIDATE_POOL", DEFAULT_CANDIDATE_POOL))


@dataclass(frozen=True)
class CandidateSearch:
    """The pre-ranked candidates (best first) and how they were found."""

    agents: list[AgentProfile]
    pool_size: int  # eligible agents ranked in SQL
    pool_limit: int  # 0: no pool, every eligible agent was ranked
    scores: dict[int, float] = field(
        default_factory=dict
    )  # SQL pre-rank score by agent id, when ranked by `score`

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


# --- expressions ---------------------------------------------------------------------------------


class _SecondsSince(Func):
    """Seconds from a datetime column to `now` (a Python datetime), as a float."""

    output_field = FloatField()

    def __init__(self, column: str, *, now: dt.datetime) -> None:
        super().__init__(F(column))
        self.now = now

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"EXTRACT(EPOCH FROM (%s::timestamptz - {sql}))::double precision", [self.now, *params]

    def as_sql(self, compiler, connection, **extra):  # SQLite: datetimes are ISO text in UTC
        sql, params = compiler.compile(self.source_expressions[0])
        now = connection.ops.adapt_datetimefield_value(self.now)
        return f"((julianday(%s) - julianday({sql})) * 86400.0)", [now, *params]


def _float(expression) -> Cast:
    return Cast(expression, FloatField())


def _proficiency_rank_expression() -> Case:
    return Case(
        *[When(proficiency=value, then=Value(rank)) for rank, value in enumerate(Proficiency.values, 1)],
        default=Value(0),
        output_field=IntegerField(),
    )


def open_difficult_count() -> Coalesce:
    """Per availability row: the agent's open difficult assignments (assignment_open_difficult_idx)."""
    rows = (
        CaseAssignment.objects.filter(agent_id=OuterRef("agent_id"), status__in=OPEN_ASSIGNMENT_STATUSES)
        .filter(DIFFICULT_ASSIGNMENT_Q)
        .order_by()
        .values("agent_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), Value(0))


def _completed_streak() -> Coalesce:
    rows = AgentPerformance.objects.filter(agent_id=OuterRef("agent_id")).values(
        "consecutive_difficult_cases"
    )
    return Coalesce(Subquery(rows[:1], output_field=IntegerField()), Value(0))


def _skill_expression(*, case: CaseProfile, ring: Ring) -> Func:
    """routing.engine.factors.skill_factor in SQL."""
    skills = list(case.required_skills or ring.skills)
    if skills:
        points = Subquery(
            AgentSkill.objects.filter(agent_id=OuterRef("agent_id"), domain__code__in=skills)
            .order_by()
            .values("agent_id")
            .annotate(points=Sum(_proficiency_rank_expression()))
            .values("points")[:1],
            output_field=IntegerField(),
        )
        proficiency = _float(Coalesce(points, Value(0))) / Value(float(len(Proficiency.values) * len(skills)))
    else:
        proficiency = Value(NEUTRAL, output_field=FloatField())
    wanted = sorted(set(case.required_skills) | set(case.specializations))
    if wanted:
        best = Subquery(
            AgentSpecialization.objects.filter(agent_id=OuterRef("agent_id"), specialization__in=wanted)
            .order_by()
            .values("agent_id")
            .annotate(best=Max("confidence"))
            .values("best")[:1]
        )
        specialization = Coalesce(_float(best), Value(0.0))
    else:
        specialization = Value(0.0, output_field=FloatField())
    return Value(0.8) * proficiency + Value(0.2) * specialization


def _performance_expression() -> Func:
    csat = Coalesce((_float("agent__performance__csat_score") - Value(1.0)) / Value(4.0), Value(NEUTRAL))
    escalation = Coalesce(Value(1.0) - _float("agent__performance__escalation_rate"), Value(NEUTRAL))
    fcr = Coalesce(_float("agent__performance__first_contact_resolution_rate"), Value(NEUTRAL))
    return (csat + escalation + fcr) / Value(3.0)


def _fit_expression(*, case: CaseProfile) -> Case:
    table = FRUSTRATION_FIT.get(case.frustration, FRUSTRATION_FIT["low"])
    return Case(
        *[
            When(agent__frustration_tolerance=tolerance, then=Value(value))
            for tolerance, value in table.items()
        ],
        default=Value(0.5),
        output_field=FloatField(),
    )


def _fatigue_expression(*, lockout: int) -> Func:
    stress = Coalesce(_float("agent__performance__stress_score"), Value(0.0))
    if lockout > 0:
        streak = Coalesce(F("agent__performance__consecutive_difficult_cases"), Value(0)) + F(
            "open_difficult"
        )
        share = Least(_float(streak) / Value(float(lockout)), Value(1.0))
    else:
        share = Value(0.0)
    return Greatest(Value(1.0) - Value(0.6) * stress - Value(0.4) * share, Value(0.0))


def _balance_expression(*, now: dt.datetime) -> Func:
    spare = _float(F("agent__max_concurrent_cases") - F("current_load")) / _float(
        "agent__max_concurrent_cases"
    )
    idle = Case(
        When(last_assigned_at__isnull=True, then=Value(1.0)),
        When(last_assigned_at__lte=now - dt.timedelta(seconds=IDLE_SATURATION_SECONDS), then=Value(1.0)),
        default=Greatest(
            _SecondsSince("last_assigned_at", now=now) / Value(IDLE_SATURATION_SECONDS), Value(0.0)
        ),
        output_field=FloatField(),
    )
    return Value(0.7) * spare + Value(0.3) * idle


def _score_expression(*, case: CaseProfile, ring: Ring, weights: Weights, now: dt.datetime, lockout: int):
    """The strategy's weighted total (Strategy.total) of the five factors, in SQL."""
    total = sum(weights.as_dict().values()) or 1.0
    return (
        Value(weights.skill) * _skill_expression(case=case, ring=ring)
        + Value(weights.performance) * _performance_expression()
        + Value(weights.frustration_fit) * _fit_expression(case=case)
        + Value(weights.fatigue) * _fatigue_expression(lockout=lockout)
        + Value(weights.load_balance) * _balance_expression(now=now)
    ) / Value(total)


# --- hard rules ----------------------------------------------------------------------------------


def _filter_stages(
    *, case: CaseProfile, ring: Ring, now: dt.datetime, zones: list[str], lockout: int
) -> list[tuple[str, Q]]:
    """The hard rules as (name, Q over AgentAvailability), in the order the funnel reports them.

    Spare capacity comes last: the agents who pass everything else are the ones who could serve the
    case once they free up (the queue's wait estimate counts them)."""
    stages: list[tuple[str, Q]] = [
        ("active", Q(agent__is_active=True)),
        (
            "working_status",
            # `status IN (...)` first so PostgreSQL can walk the (status, current_load) index in order.
            Q(status__in=[AvailabilityStatus.AVAILABLE, AvailabilityStatus.BUSY])
            & ~Q(status=AvailabilityStatus.BUSY, manual_override=True),
        ),
        ("in_schedule", in_schedule_q(now=now, zones=zones)),
    ]
    if case.language:
        speaks = AgentLanguage.objects.filter(agent_id=OuterRef("agent_id"), language_code=case.language)
        stages.append((f"language:{case.language}", Q(Exists(speaks))))
    levels = proficiencies_at_least(ring.min_proficiency)
    for skill in ring.skills:
        holds = AgentSkill.objects.filter(
            agent_id=OuterRef("agent_id"), domain__code=skill, proficiency__in=levels
        )
        stages.append((f"skill:{skill}", Q(Exists(holds))))
    if case.frustration == "critical":
        stages.append(("frustration_tolerance", ~Q(agent__frustration_tolerance=FrustrationTolerance.LOW)))
    if is_difficult(complexity=case.complexity, frustration=case.frustration):
        streak = _completed_streak() + open_difficult_count()
        stages.append(("fatigue_lockout", Q(LessThan(streak, Value(lockout)))))
    if case.excluded_agent_ids:
        stages.append(("excluded", ~Q(agent_id__in=sorted(case.excluded_agent_ids))))
    stages.append(("spare_capacity", Q(current_load__lt=F("agent__max_concurrent_cases"))))
    return stages


def _eligible(*, case: CaseProfile, ring: Ring, now: dt.datetime, zones: list[str], lockout: int) -> QuerySet:
    queryset = AgentAvailability.objects.all()
    for _, condition in _filter_stages(case=case, ring=ring, now=now, zones=zones, lockout=lockout):
        queryset = queryset.filter(condition)
    return queryset


# --- pre-rank ------------------------------------------------------------------------------------


def _prerank(
    *,
    strategy: Strategy,
    weights: Weights,
    case: CaseProfile,
    ring: Ring,
    now: dt.datetime,
    lockout: int,
) -> tuple[dict, list]:
    annotations: dict = {}
    order: list = []
    if case.frustration in ("high", "critical"):  # the seed's tier comes before every strategy's order
        annotations["tolerance_tier"] = Case(
            When(agent__frustration_tolerance=FrustrationTolerance.HIGH, then=Value(0)),
            When(agent__frustration_tolerance=FrustrationTolerance.MEDIUM, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
        order.append(F("tolerance_tier").asc())
    for key in strategy.prerank:
        if key == "score":
            annotations["prerank_score"] = _score_expression(
                case=case, ring=ring, weights=strategy.weights(weights), now=now, lockout=lockout
            )
            order.append(F("prerank_score").desc())
        elif key == "skill":
            annotations["skill_points"] = _skill_expression(case=case, ring=ring)
            order.append(F("skill_points").desc())
        elif key == "spare_capacity":
            annotations["spare"] = F("agent__max_concurrent_cases") - F("current_load")
            order.append(F("spare").desc())
        elif key == "load_ratio":
            annotations["load_ratio"] = _float("current_load") / _float("agent__max_concurrent_cases")
            order.append(F("load_ratio").asc())
        elif key == "idle":
            order.append(F("last_assigned_at").asc(nulls_first=True))
        elif key == "performance":
            annotations["performance"] = _performance_expression()
            order.append(F("performance").desc())
        else:
            raise ValueError(f"unknown pre-rank key {key!r}")
    order.append(F("agent_id").asc())
    return annotations, order


PROFILE_FIELDS = (
    "agent_id",
    "status",
    "manual_override",
    "current_load",
    "last_assigned_at",
    "agent__code",
    "agent__is_active",
    "agent__max_concurrent_cases",
    "agent__frustration_tolerance",
    "agent__performance__csat_score",
    "agent__performance__escalation_rate",
    "agent__performance__first_contact_resolution_rate",
    "agent__performance__stress_score",
    "agent__performance__consecutive_difficult_cases",
    "open_difficult",
)


def _plan_in_written_order() -> None:
    """PostgreSQL only, for the rest of the current transaction: see the module docstring."""
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('join_collapse_limit', '1', true)")


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
    """The top-K agents that satisfy every hard rule for `case` at `ring`, pre-ranked in SQL."""
    zones = schedule_zones_in_use(now=now) if zones is None else zones
    pool = candidate_pool() if pool is None else pool
    eligible = _eligible(case=case, ring=ring, now=now, zones=zones, lockout=lockout)
    if pool > 0:
        walk = eligible.order_by("status", "current_load").values("pk")[:pool]
        ranked = AgentAvailability.objects.filter(pk__in=Subquery(walk))
    else:
        ranked = eligible
    annotations, order = _prerank(
        strategy=strategy, weights=weights, case=case, ring=ring, now=now, lockout=lockout
    )
    queryset = (
        ranked.annotate(open_difficult=open_difficult_count(), ranked=Window(Count("pk")), **annotations)
        .order_by(*order)
        .values(*PROFILE_FIELDS, "ranked", *(["prerank_score"] if "prerank_score" in annotations else []))
    )
    if connection.in_atomic_block:
        _plan_in_written_order()
        rows = list(queryset[: limit or candidate_limit()])
    else:
        with transaction.atomic():
            _plan_in_written_order()
            rows = list(queryset[: limit or candidate_limit()])
    return CandidateSearch(
        agents=profiles_from_rows(rows, in_schedule=True),
        pool_size=rows[0]["ranked"] if rows else 0,
        pool_limit=pool,
        scores={row["agent_id"]: row["prerank_score"] for row in rows if "prerank_score" in row},
    )


# --- profiles ------------------------------------------------------------------------------------


def profiles_from_rows(rows: list[dict], *, in_schedule: bool | None = None) -> list[AgentProfile]:
    """Engine profiles for availability rows read with PROFILE_FIELDS: one more query loads the
    agents' skills, specializations and languages together."""
    if not rows:
        return []
    ids = [row["agent_id"] for row in rows]
    skills: dict[int, dict[str, str]] = defaultdict(dict)
    specializations: dict[int, dict[str, float]] = defaultdict(dict)
    languages: dict[int, set[str]] = defaultdict(set)
    text = CharField()
    facts = (
        AgentSkill.objects.filter(agent_id__in=ids)
        .order_by()
        .annotate(kind=Value("s", output_field=text), key=F("domain__code"), value=F("proficiency"))
        .values_list("agent_id", "kind", "key", "value")
        .union(
            AgentSpecialization.objects.filter(agent_id__in=ids)
            .order_by()
            .annotate(
                kind=Value("p", output_field=text), key=F("specialization"), value=Cast("confidence", text)
            )
            .values_list("agent_id", "kind", "key", "value"),
            AgentLanguage.objects.filter(agent_id__in=ids)
            .order_by()
            .annotate(
                kind=Value("l", output_field=text), key=F("language_code"), value=Value("", output_field=text)
            )
            .values_list("agent_id", "kind", "key", "value"),
            all=True,
        )
    )
    for agent_id, kind, key, value in facts:
        if kind == "s":
            skills[agent_id][key] = value
        elif kind == "p":
            specializations[agent_id][key] = float(value)
        else:
            languages[agent_id].add(key)

    def _number(value) -> float | None:
        return None if value is None else float(value)

    profiles = []
    for row in rows:
        agent_id = row["agent_id"]
        profiles.append(
            AgentProfile(
                agent_id=agent_id,
                code=row["agent__code"],
                status=row["status"] if row["agent__is_active"] else "inactive",
                manual_override=row["manual_override"],
                max_concurrent_cases=row["agent__max_concurrent_cases"],
                current_load=row["current_load"],
                frustration_tolerance=row["agent__frustration_tolerance"],
                skills=skills[agent_id],
                specializations=specializations[agent_id],
                languages=frozenset(languages[agent_id]),
                in_schedule=bool(row.get("in_schedule", True)) if in_schedule is None else in_schedule,
                csat=_number(row["agent__performance__csat_score"]),
                escalation_rate=_number(row["agent__performance__escalation_rate"]),
                first_contact_resolution=_number(row["agent__performance__first_contact_resolution_rate"]),
                stress=_number(row["agent__performance__stress_score"]) or 0.0,
                consecutive_difficult=row["agent__performance__consecutive_difficult_cases"] or 0,
                open_difficult=row["open_difficult"] or 0,
                last_assigned_at=row["last_assigned_at"],
            )
        )
    return profiles


def agent_profile(*, agent_id: int, now: dt.datetime, zones: list[str] | None = None) -> AgentProfile | None:
    """One agent's profile with whether it is inside a schedule window now (for queue dispatch)."""
    zones = schedule_zones_in_use(now=now) if zones is None else zones
    rows = list(
        AgentAvailability.objects.filter(agent_id=agent_id)
        .annotate(
            open_difficult=open_difficult_count(),
            in_schedule=Case(
                When(in_schedule_q(now=now, zones=zones), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .values(*PROFILE_FIELDS, "in_schedule")
    )
    profiles = profiles_from_rows(rows)
    return profiles[0] if profiles else None


def agent_still_fits(*, agent_id: int, now: dt.datetime, difficult: bool, lockout: int) -> bool:
    """Under the agent's row lock: inside a schedule window now and, for a difficult case, below the
    fatigue lockout counting the open difficult cases. Read in a statement of its own, after the lock
    was taken, so it sees every assignment committed before (the lock holder's included)."""
    zones = schedule_zones_in_use(now=now)
    row = (
        AgentAvailability.objects.filter(agent_id=agent_id)
        .annotate(
            in_schedule=Case(
                When(in_schedule_q(now=now, zones=zones), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            streak=_completed_streak() + open_difficult_count(),
        )
        .values("in_schedule", "streak")
        .first()
    )
    if row is None or not row["in_schedule"]:
        return False
    return not difficult or row["streak"] < lockout


# --- funnel --------------------------------------------------------------------------------------


def candidate_funnel(
    *, case: CaseProfile, ring: Ring, now: dt.datetime, lockout: int, zones: list[str] | None = None
) -> Funnel:
    """How many agents pass each hard rule in turn (cumulative), in one grouped query.

    Each agent is labelled with the first rule it fails (a CASE that stops at the first failing
    rule, so each rule is evaluated at most once per agent) and counted per label."""
    zones = schedule_zones_in_use(now=now) if zones is None else zones
    stages = _filter_stages(case=case, ring=ring, now=now, zones=zones, lockout=lockout)
    passed_all = len(stages)
    first_failure = Case(
        *[When(~condition, then=Value(index)) for index, (_, condition) in enumerate(stages)],
        default=Value(passed_all),
        output_field=IntegerField(),
    )
    groups = list(
        AgentAvailability.objects.annotate(first_failure=first_failure)
        .order_by()
        .values("first_failure")
        .annotate(
            agents=Count("pk"),
            slots=Sum("agent__max_concurrent_cases"),
            resolution_total=Sum("agent__performance__avg_resolution_minutes"),
            resolution_known=Count("agent__performance__avg_resolution_minutes"),
        )
    )
    failed_at = {group["first_failure"]: group for group in groups}
    total = sum(group["agents"] for group in groups)
    counts = []
    remaining = total
    for index, (name, _) in enumerate(stages):
        remaining -= failed_at.get(index, {}).get("agents", 0)
        counts.append((name, remaining))
    # Servers: every rule passed but possibly spare capacity (the last stage).
    servers = [group for key, group in failed_at.items() if key >= passed_all - 1]
    known = sum(group["resolution_known"] for group in servers)
    return Funnel(
        stages=[("agents", total), *counts],
        servers=sum(group["agents"] for group in servers),
        server_slots=sum(group["slots"] or 0 for group in servers),
        avg_resolution_minutes=(sum(group["resolution_total"] or 0 for group in servers) / known)
        if known
        else None,
    )
