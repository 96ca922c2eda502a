"""Each eligibility rule is stated once (routing.engine.rules); the candidate search's SQL, the queue
scan's narrowing and the availability filter state it again and are proved equal to it here, over
random agents and work (issue 6: "derive the SQL from the same declaration, or prove it equal")."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from agents.models import (
    AgentAvailability,
    AgentLanguage,
    AgentPerformance,
    AgentSkill,
    AvailabilityStatus,
    HumanAgent,
    SkillDomain,
)
from routing.engine.rules import (
    ELIGIBILITY_RULES,
    exclusion_reason,
    innermost_ring,
    ring_for,
    takes_work,
)
from routing.engine.types import PROFICIENCY_ORDER, WorkProfile
from routing.models import CaseAssignment, EscalationQueueEntry, SupportCase
from routing.selectors import agent_candidates, agent_profile, candidate_funnel
from routing.selectors.agent_sql import RULE_SQL
from routing.services.queue import ENTRY_FILTERS, servable_where
from routing.services.requests import entry_work_profile
from tests.factories.routing import retire_seed_roster, routable_agent

SKILLS = ("billing", "refunds", "technical")
LANGUAGES = ("en", "es", "fr")
LOCKOUT = 2
AGENTS = 6


def test_every_rule_has_its_sql_and_its_queue_narrowing_and_nothing_else_does():
    names = {rule.name for rule in ELIGIBILITY_RULES}
    assert set(RULE_SQL) == names and set(ENTRY_FILTERS) == names


@pytest.mark.django_db
def test_the_availability_filter_and_property_state_the_engines_working_status_rule():
    retire_seed_roster()
    agent = routable_agent()
    for status, manual in itertools.product(AvailabilityStatus.values, (False, True)):
        AgentAvailability.objects.filter(agent=agent).update(status=status, manual_override=manual)
        row = AgentAvailability.objects.get(agent=agent)
        expected = takes_work(status=status, manual_override=manual)
        assert row.takes_work is expected
        assert (
            AgentAvailability.objects.filter(AgentAvailability.TAKES_WORK, agent=agent).exists() is expected
        )


# --- random floors ------------------------------------------------------------------------------------

# Drawn so that most agents pass most rules (an agent failing an early rule says nothing of the later).
agent_shapes = st.fixed_dictionaries(
    {
        "active": st.sampled_from([True, True, True, True, False]),
        "status": st.sampled_from(["available"] * 4 + ["busy", "busy", "break", "offline"]),
        "manual": st.sampled_from([False, False, True]),
        "capacity": st.integers(1, 3),
        "load": st.sampled_from([0, 0, 0, 1, 2, 3]),
        "tolerance": st.sampled_from(["low", "medium", "high"]),
        "skills": st.one_of(
            st.just(dict.fromkeys(SKILLS, "expert")),
            st.dictionaries(
                st.sampled_from(SKILLS), st.sampled_from(PROFICIENCY_ORDER), min_size=2, max_size=3
            ),
        ),
        "languages": st.one_of(st.just(set(LANGUAGES)), st.sets(st.sampled_from(LANGUAGES), max_size=3)),
        "streak": st.sampled_from([0, 0, 1, 2, 3]),
        "open_difficult": st.sampled_from([0, 0, 1, 2]),
    }
)
works = st.builds(
    lambda skills, optional, min_proficiency, language, frustration, complexity, excluded, level: (
        WorkProfile(
            work_id="W",
            priority="medium",
            complexity=complexity,
            frustration=frustration,
            required_skills=tuple(skills),
            language=language,
            min_proficiency=min_proficiency,
            optional_skills=tuple(skill for skill in skills if skill in optional),
            excluded_agent_ids=frozenset(excluded),
        ),
        level,
    ),
    st.lists(st.sampled_from(SKILLS), unique=True, max_size=3),
    st.sets(st.sampled_from(SKILLS)),
    st.sampled_from(PROFICIENCY_ORDER),
    st.sampled_from(["", *LANGUAGES]),
    st.sampled_from(["low", "moderate", "high", "critical"]),
    st.sampled_from(["low", "medium", "high"]),
    st.sets(st.integers(0, AGENTS - 1), max_size=2),
    st.integers(0, 2),
)


@pytest.fixture
def floor(db) -> list[HumanAgent]:
    retire_seed_roster()
    for code in SKILLS:
        SkillDomain.objects.get_or_create(code=code, defaults={"name": code})
    return [routable_agent(code=f"agree_{index}", skills={}, languages=()) for index in range(AGENTS)]


def _shape(agents: list[HumanAgent], shapes: list[dict]) -> None:
    """Give the floor's agents the drawn facts (the roster's own agents are inactive)."""
    CaseAssignment.objects.filter(case__case_id__startswith="AGREE-").delete()
    EscalationQueueEntry.objects.filter(case__case_id__startswith="AGREE-").delete()
    SupportCase.objects.filter(case_id__startswith="AGREE-").delete()
    domains = dict(SkillDomain.objects.filter(code__in=SKILLS).values_list("code", "pk"))
    for agent, shape in zip(agents, shapes, strict=True):
        HumanAgent.objects.filter(pk=agent.pk).update(
            is_active=shape["active"],
            max_concurrent_work=shape["capacity"],
            frustration_tolerance=shape["tolerance"],
        )
        AgentAvailability.objects.filter(agent=agent).update(
            status=shape["status"], manual_override=shape["manual"], current_load=shape["load"]
        )
        AgentPerformance.objects.filter(agent=agent).update(consecutive_difficult_cases=shape["streak"])
        AgentSkill.objects.filter(agent=agent).delete()
        AgentSkill.objects.bulk_create(
            AgentSkill(agent=agent, domain_id=domains[code], proficiency=level)
            for code, level in shape["skills"].items()
        )
        AgentLanguage.objects.filter(agent=agent).delete()
        AgentLanguage.objects.bulk_create(
            AgentLanguage(agent=agent, language_code=code, proficiency="fluent")
            for code in shape["languages"]
        )
        for _ in range(shape["open_difficult"]):
            case = SupportCase.objects.create(
                case_id=f"AGREE-{uuid.uuid4().hex[:12]}", priority="low", complexity="high"
            )
            CaseAssignment.objects.create(
                case=case, agent=agent, priority="low", complexity="high", status="in_progress"
            )


@pytest.mark.django_db
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=st.lists(agent_shapes, min_size=AGENTS, max_size=AGENTS), drawn=works)
def test_the_candidate_search_finds_exactly_the_agents_the_engine_finds_eligible(floor, shapes, drawn):
    _shape(floor, shapes)
    work, level = drawn
    work = WorkProfile(
        **{**work.__dict__, "excluded_agent_ids": frozenset(floor[i].pk for i in work.excluded_agent_ids)}
    )
    ring = ring_for(work, level)
    now = dt.datetime.now(dt.UTC)
    ours = {agent.pk for agent in floor}
    # the engine's verdict on each agent, read as routing reads them
    engine = {
        agent.pk
        for agent in floor
        if exclusion_reason(
            agent=agent_profile(agent_id=agent.pk, now=now), work=work, ring=ring, lockout=LOCKOUT
        )
        is None
    }
    # the SQL's: every eligible agent (no pool), and the funnel's last stage
    target(float(len(engine)))  # steer towards floors where several agents are eligible
    search = agent_candidates(work=work, ring=ring, now=now, lockout=LOCKOUT, pool=0)
    assert {agent.agent_id for agent in search.agents} & ours == engine
    funnel = candidate_funnel(work=work, ring=ring, now=now, lockout=LOCKOUT)
    inactive_roster = HumanAgent.objects.exclude(pk__in=ours).count()
    assert funnel.stages[0] == ("agents", AGENTS + inactive_roster)
    assert funnel.stages[-1][1] == len(engine)  # the roster's agents are inactive: never eligible


entry_shapes = st.fixed_dictionaries(
    {
        "skills": st.lists(st.sampled_from(SKILLS), unique=True, max_size=3),
        "optional": st.sets(st.sampled_from(SKILLS)),
        "min_proficiency": st.sampled_from(PROFICIENCY_ORDER),
        "language": st.sampled_from(["", *LANGUAGES]),
        "frustration": st.sampled_from(["low", "moderate", "high", "critical"]),
        "complexity": st.sampled_from(["low", "medium", "high"]),
        "widen_level": st.integers(0, 2),
    }
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=agent_shapes, entries=st.lists(entry_shapes, min_size=1, max_size=8))
def test_the_queue_scan_never_narrows_away_an_entry_the_engine_would_give_the_agent(floor, shape, entries):
    _shape(floor[:1], [{**shape, "active": True, "status": "available", "load": 0}])
    EscalationQueueEntry.objects.all().delete()
    now = dt.datetime.now(dt.UTC)
    rows = []
    for index, entry in enumerate(entries):
        case = SupportCase.objects.create(
            case_id=f"AGREE-Q{index}-{uuid.uuid4().hex[:8]}",
            priority="medium",
            complexity=entry["complexity"],
        )
        rows.append(
            EscalationQueueEntry(
                case=case,
                priority="medium",
                complexity=entry["complexity"],
                customer_frustration=entry["frustration"],
                language=entry["language"],
                required_skills=entry["skills"],
                special_requirements={
                    "min_proficiency": entry["min_proficiency"],
                    "optional_skills": [skill for skill in entry["skills"] if skill in entry["optional"]],
                },
                widen_level=entry["widen_level"],
                queued_at=now,
                wait_deadline=now + dt.timedelta(minutes=30),
                next_escalation_at=now + dt.timedelta(minutes=30),
            )
        )
    EscalationQueueEntry.objects.bulk_create(rows)
    profile = agent_profile(agent_id=floor[0].pk, now=now)
    servable = {
        entry.pk
        for entry in EscalationQueueEntry.objects.all()
        if innermost_ring(
            agent=profile, work=entry_work_profile(entry), level=entry.widen_level, lockout=LOCKOUT
        )[0]
    }
    narrowed = set(
        EscalationQueueEntry.objects.filter(servable_where(profile, lockout_at=LOCKOUT)).values_list(
            "pk", flat=True
        )
    )
    assert servable <= narrowed
