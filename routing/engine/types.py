"""The engine's inputs and outputs. Plain frozen dataclasses so tests build them by hand."""

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
WORKING_STATUSES: frozenset[str] = frozenset({"available", "busy"})


@dataclass(frozen=True)
class Weights:
    skill: float = 0.35
    performance: float = 0.20
    frustration_fit: float = 0.15
    fatigue: float = 0.15
    load_balance: float = 0.15

    @classmethod
    def from_mapping(cls, values: Mapping[str, float]) -> Weights:
        return cls(
            **{name: float(value) for name, value in values.items() if name in cls.__dataclass_fields__}
        )

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class CaseProfile:
    """What a case asks for. `special_requirements` of the request are already parsed into fields."""

    case_id: str
    priority: str
    complexity: str
    frustration: str
    required_skills: tuple[str, ...]
    language: str = ""
    min_proficiency: str = "intermediate"
    optional_skills: tuple[str, ...] = ()
    specializations: tuple[str, ...] = ()
    excluded_agent_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Ring:
    """One bullseye ring: the skills a candidate must hold and the minimum proficiency for each."""

    level: int
    skills: tuple[str, ...]
    min_proficiency: str


@dataclass(frozen=True)
class AgentProfile:
    agent_id: int
    code: str
    status: str
    manual_override: bool
    max_concurrent_cases: int
    current_load: int
    frustration_tolerance: str
    skills: Mapping[str, str] = field(default_factory=dict)  # domain code -> proficiency
    specializations: Mapping[str, float] = field(default_factory=dict)  # name -> confidence 0..1
    languages: frozenset[str] = frozenset()
    in_schedule: bool = True
    csat: float | None = None
    escalation_rate: float | None = None
    first_contact_resolution: float | None = None
    stress: float = 0.0
    consecutive_difficult: int = 0  # difficult cases completed since the last break
    open_difficult: int = 0  # difficult cases assigned to the agent and not finished yet
    last_assigned_at: dt.datetime | None = None

    @property
    def spare_capacity(self) -> int:
        return max(self.max_concurrent_cases - self.current_load, 0)

    @property
    def difficult_streak(self) -> int:
        """What the fatigue lockout counts: difficult cases completed since the last break plus the
        difficult cases still open, so a tired agent is not handed several at once."""
        return self.consecutive_difficult + self.open_difficult


@dataclass(frozen=True)
class FactorScores:
    skill: float
    performance: float
    frustration_fit: float
    fatigue: float
    load_balance: float
    details: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        return {
            "skill": round(self.skill, 4),
            "performance": round(self.performance, 4),
            "frustration_fit": round(self.frustration_fit, 4),
            "fatigue": round(self.fatigue, 4),
            "load_balance": round(self.load_balance, 4),
        }


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
    """Candidates best first, and why the others were excluded (agent id -> reason)."""

    ring: Ring
    strategy: str
    candidates: tuple[ScoredCandidate, ...]
    excluded: Mapping[int, str] = field(default_factory=dict)

    @property
    def winner(self) -> ScoredCandidate | None:
        return self.candidates[0] if self.candidates else None
