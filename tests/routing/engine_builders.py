"""Builders for the engine's dataclasses, so pure tests read as the rule they state."""

from __future__ import annotations

import datetime as dt
import itertools

from routing.engine.types import AgentProfile, SpecializationFact, WorkProfile

_ids = itertools.count(1)


def agent(
    *,
    agent_id: int | None = None,
    skills: dict[str, str] | None = None,
    specializations: dict[str, float] | None = None,
    languages: tuple[str, ...] = ("en",),
    capacity: int = 5,
    load: int = 0,
    status: str = "available",
    is_active: bool = True,
    manual_override: bool = False,
    tolerance: str = "medium",
    in_schedule: bool = True,
    csat: float | None = 4.0,
    escalation_rate: float | None = 0.1,
    fcr: float | None = 0.8,
    stress: float = 0.0,
    consecutive_difficult: int = 0,
    open_difficult: int = 0,
    last_assigned_at: dt.datetime | None = None,
) -> AgentProfile:
    agent_id = agent_id if agent_id is not None else next(_ids)
    return AgentProfile(
        agent_id=agent_id,
        code=f"agent_{agent_id}",
        status=status,
        is_active=is_active,
        manual_override=manual_override,
        max_concurrent_work=capacity,
        current_load=load,
        frustration_tolerance=tolerance,
        skills=skills if skills is not None else {"billing": "advanced"},
        specialization_rows=tuple(
            SpecializationFact(name=name, confidence=confidence)
            for name, confidence in (specializations or {}).items()
        ),
        languages=frozenset(languages),
        in_schedule=in_schedule,
        csat=csat,
        escalation_rate=escalation_rate,
        first_contact_resolution=fcr,
        stress=stress,
        consecutive_difficult=consecutive_difficult,
        open_difficult=open_difficult,
        last_assigned_at=last_assigned_at,
    )


def case(
    *,
    required_skills: tuple[str, ...] = ("billing",),
    priority: str = "medium",
    complexity: str = "medium",
    frustration: str = "low",
    language: str = "",
    min_proficiency: str = "intermediate",
    optional_skills: tuple[str, ...] = (),
    specializations: tuple[str, ...] = (),
    excluded: frozenset[int] = frozenset(),
) -> WorkProfile:
    return WorkProfile(
        work_id="CASE-1",
        priority=priority,
        complexity=complexity,
        frustration=frustration,
        required_skills=required_skills,
        language=language,
        min_proficiency=min_proficiency,
        optional_skills=optional_skills,
        specializations=specializations,
        excluded_agent_ids=excluded,
    )


def factor_value(
    name: str,
    *,
    agent: AgentProfile,
    work: WorkProfile | None = None,
    ring=None,
    now: dt.datetime | None = None,
    lockout: int = 3,
) -> tuple[float, dict[str, float]]:
    """One factor's value and details for the agent (the engine's registry, by name)."""
    from routing.engine.factors import _FACTORS, FactorInput
    from routing.engine.rules import ring_for

    work = work or case()
    return _FACTORS[name](
        FactorInput(
            agent=agent,
            work=work,
            ring=ring or ring_for(work, 0),
            now=now or dt.datetime(2026, 1, 5, 12, tzinfo=dt.UTC),
            lockout=lockout,
        )
    )
