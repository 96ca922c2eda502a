"""The engine's inputs and outputs. Plain frozen dataclasses so tests build them by hand.

Work of any kind (a support case today; a sales lead, an outbound call next) reaches the engine as a
`WorkProfile`: what it asks of an agent. A kind with facts of its own subclasses it (e.g. a lead's
insurance line and territory); rules and factors that need those facts read them, the others ignore
them. Factors are named and weighted by a mapping, so a strategy for a kind adds factors without
touching the fixed ones.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

# Mirrors of the model choices, weakest first (tests/routing/test_engine_rules.py keeps them in step),
# so the engine imports nothing from Django.
PROFICIENCY_ORDER: tuple[str, ...] = ("basic", "intermediate", "advanced", "expert")
PRIORITY_ORDER: tuple[str, ...] = ("low", "medium", "high", "critical")
FRUSTRATION_ORDER: tuple[str, ...] = ("low", "moderate", "high", "critical")
TOLERANCE_ORDER: tuple[str, ...] = ("low", "medium", "high")

# Factor name -> weight. A strategy totals the factors it is given weights for (a weighted mean).
Weights = Mapping[str, float]

# The configured weights' defaults (settings.ROUTING["WEIGHTS"] reads its values from the environment).
DEFAULT_WEIGHTS: dict[str, float] = {
    "skill": 0.35,
    "performance": 0.20,
    "frustration_fit": 0.15,
    "fatigue": 0.15,
    "load_balance": 0.15,
}


@dataclass(frozen=True)
class WorkProfile:
    """What a piece of work asks for. `special_requirements` of a case are already parsed into fields."""

    work_id: str  # the business id: a case's case_id
    priority: str
    complexity: str = "low"
    frustration: str = "low"
    required_skills: tuple[str, ...] = ()
    language: str = ""
    min_proficiency: str = "intermediate"
    optional_skills: tuple[str, ...] = ()
    specializations: tuple[str, ...] = ()
    excluded_agent_ids: frozenset[int] = frozenset()
    kind: str = "case"


@dataclass(frozen=True)
class Ring:
    """One bullseye ring: the skills a candidate must hold and the minimum proficiency for each."""

    level: int
    skills: tuple[str, ...]
    min_proficiency: str


@dataclass(frozen=True)
class SpecializationFact:
    """One specialization row of an agent: seed 000's name and confidence, seed 001's insurance line,
    customer segment, proficiency 1-5, languages and territories."""

    name: str
    confidence: float
    insurance_line: str | None = None
    customer_segment: str | None = None
    proficiency: int | None = None
    languages: tuple[str, ...] = ()
    territories: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgentProfile:
    agent_id: int
    code: str
    status: str
    manual_override: bool
    max_concurrent_work: int
    current_load: int
    frustration_tolerance: str
    is_active: bool = True
    skills: Mapping[str, str] = field(default_factory=dict)  # domain code -> proficiency
    specialization_rows: tuple[SpecializationFact, ...] = ()
    languages: frozenset[str] = frozenset()
    in_schedule: bool = True
    csat: float | None = None
    escalation_rate: float | None = None
    first_contact_resolution: float | None = None
    stress: float = 0.0
    consecutive_difficult: int = 0  # consecutive difficult cases completed (see rules: fatigue)
    open_difficult: int = 0  # difficult cases assigned to the agent and not finished yet
    last_assigned_at: dt.datetime | None = None
    department: str = ""  # the agent group a lead routing rule may ask for

    @property
    def specializations(self) -> dict[str, float]:
        """Specialization name -> the best confidence among the rows of that name."""
        best: dict[str, float] = {}
        for row in self.specialization_rows:
            best[row.name] = max(best.get(row.name, 0.0), row.confidence)
        return best

    @property
    def spare_capacity(self) -> int:
        return max(self.max_concurrent_work - self.current_load, 0)

    @property
    def difficult_streak(self) -> int:
        """What the fatigue lockout counts: consecutive difficult cases completed plus the difficult
        cases still open, so a tired agent is not handed several at once."""
        return self.consecutive_difficult + self.open_difficult


@dataclass(frozen=True)
class FactorScores:
    """Each factor's value (0..1) by name, and the inputs behind them."""

    values: Mapping[str, float]
    details: Mapping[str, float] = field(default_factory=dict)

    def __getitem__(self, name: str) -> float:
        return self.values[name]

    def as_dict(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in self.values.items()}


@dataclass(frozen=True)
class ScoredCandidate:
    agent: AgentProfile
    factors: FactorScores
    total: float  # 0..1, the strategy's total

    def as_record(self) -> dict:
        return {
            "agent_id": self.agent.agent_id,
            "agent": self.agent.code,
            "total": round(self.total, 4),
            "factors": self.factors.as_dict(),
            "details": {name: round(value, 4) for name, value in self.factors.details.items()},
        }


@dataclass(frozen=True)
class Ranking:
    """Candidates best first, and why the others were excluded (agent id -> the rule they failed)."""

    ring: Ring
    strategy: str
    candidates: tuple[ScoredCandidate, ...]
    excluded: Mapping[int, str] = field(default_factory=dict)

    @property
    def winner(self) -> ScoredCandidate | None:
        return self.candidates[0] if self.candidates else None
