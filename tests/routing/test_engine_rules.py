"""The seed rules and the widening rings, without a database."""

from __future__ import annotations

import pytest

from routing.engine.rules import (
    exclusion_reason,
    innermost_ring,
    is_difficult,
    parse_special_requirements,
    ring_for,
    rings_up_to,
    routing_confidence,
    tolerance_tier,
)
from tests.routing.engine_builders import agent, case


@pytest.mark.parametrize(
    ("complexity", "frustration", "difficult"),
    [
        ("high", "low", True),
        ("medium", "high", True),
        ("low", "critical", True),
        ("medium", "moderate", False),
        ("low", "low", False),
    ],
)
def test_difficult_means_high_complexity_or_high_or_critical_frustration(complexity, frustration, difficult):
    assert is_difficult(complexity=complexity, frustration=frustration) is difficult


def test_critical_frustration_is_never_given_to_a_low_tolerance_agent():
    the_case = case(frustration="critical")
    ring = ring_for(the_case, 2)
    assert exclusion_reason(agent=agent(tolerance="low"), work=the_case, ring=ring, lockout=3) == (
        "frustration_tolerance"
    )
    assert exclusion_reason(agent=agent(tolerance="medium"), work=the_case, ring=ring, lockout=3) is None
    # high (not critical) frustration is a preference, not an exclusion
    assert (
        exclusion_reason(agent=agent(tolerance="low"), work=case(frustration="high"), ring=ring, lockout=3)
        is None
    )


def test_fatigue_lockout_blocks_difficult_cases_only():
    tired = agent(consecutive_difficult=3)
    difficult = case(complexity="high")
    easy = case(complexity="low")
    assert (
        exclusion_reason(agent=tired, work=difficult, ring=ring_for(difficult, 0), lockout=3)
        == "fatigue_lockout"
    )
    assert exclusion_reason(agent=tired, work=easy, ring=ring_for(easy, 0), lockout=3) is None
    assert (
        exclusion_reason(
            agent=agent(consecutive_difficult=2), work=difficult, ring=ring_for(difficult, 0), lockout=3
        )
        is None
    )


def test_open_difficult_cases_count_toward_the_fatigue_lockout():
    difficult = case(frustration="critical")
    ring = ring_for(difficult, 0)
    one_done_two_open = agent(consecutive_difficult=1, open_difficult=2)
    assert one_done_two_open.difficult_streak == 3
    assert (
        exclusion_reason(agent=one_done_two_open, work=difficult, ring=ring, lockout=3) == "fatigue_lockout"
    )
    assert exclusion_reason(agent=agent(open_difficult=2), work=difficult, ring=ring, lockout=3) is None


def test_the_model_filter_for_difficult_cases_matches_the_rule():
    from routing.models import DIFFICULT_ASSIGNMENT_Q

    complexities = {child[1] for child in DIFFICULT_ASSIGNMENT_Q.children if child[0] == "complexity"}
    frustrations = {
        value
        for child in DIFFICULT_ASSIGNMENT_Q.children
        if child[0] == "customer_frustration__in"
        for value in child[1]
    }
    for complexity in ("low", "medium", "high"):
        for frustration in ("low", "moderate", "high", "critical"):
            by_filter = complexity in complexities or frustration in frustrations
            assert by_filter == is_difficult(complexity=complexity, frustration=frustration)


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"in_schedule": False}, "in_schedule"),
        ({"languages": ("fr",)}, "language"),
        ({"load": 5, "capacity": 5}, "spare_capacity"),
        ({"status": "break"}, "working_status"),
        ({"status": "busy", "manual_override": True}, "working_status"),
        ({"skills": {"billing": "basic"}}, "skill:billing"),
        ({"skills": {}}, "skill:billing"),
        ({"agent_id": 99}, "excluded"),
    ],
)
def test_hard_exclusions(kwargs, reason):
    the_case = case(language="en", excluded=frozenset({99}))
    assert (
        exclusion_reason(agent=agent(**kwargs), work=the_case, ring=ring_for(the_case, 0), lockout=3)
        == reason
    )


def test_busy_with_spare_capacity_is_routable():
    the_case = case()
    assert (
        exclusion_reason(
            agent=agent(status="busy", load=2), work=the_case, ring=ring_for(the_case, 0), lockout=3
        )
        is None
    )


def test_rings_relax_proficiency_then_drop_optional_skills():
    the_case = case(required_skills=("billing", "refunds", "technical"), min_proficiency="advanced")
    assert ring_for(the_case, 0).skills == ("billing", "refunds", "technical")
    assert ring_for(the_case, 0).min_proficiency == "advanced"
    assert ring_for(the_case, 1).min_proficiency == "intermediate"
    assert ring_for(the_case, 1).skills == ("billing", "refunds", "technical")
    assert ring_for(the_case, 2).skills == ("billing", "refunds", "technical")  # none marked optional
    assert len(rings_up_to(the_case, 2)) == 2  # so ring 2 asks what ring 1 does and is skipped
    marked = case(required_skills=("billing", "refunds", "technical"), optional_skills=("technical",))
    assert ring_for(marked, 2).skills == ("billing", "refunds")
    assert ring_for(marked, 7).level == 2


def test_ring_one_never_drops_below_basic():
    assert ring_for(case(min_proficiency="basic"), 1).min_proficiency == "basic"


def test_rings_up_to_skips_rings_that_ask_the_same():
    the_case = case(required_skills=("billing",), min_proficiency="basic")
    assert [ring.level for ring in rings_up_to(the_case, 2)] == [0]


def test_innermost_ring_reports_which_ring_matched():
    the_case = case(
        required_skills=("billing", "refunds"), min_proficiency="advanced", optional_skills=("refunds",)
    )
    intermediate = agent(skills={"billing": "intermediate", "refunds": "intermediate"})
    billing_only = agent(skills={"billing": "advanced"})
    assert innermost_ring(agent=intermediate, work=the_case, level=0, lockout=3)[0] is None
    assert innermost_ring(agent=intermediate, work=the_case, level=2, lockout=3)[0].level == 1
    assert innermost_ring(agent=billing_only, work=the_case, level=2, lockout=3)[0].level == 2
    # with refunds not optional, no ring gives the case to an agent without it
    strict = case(required_skills=("billing", "refunds"), min_proficiency="advanced")
    assert innermost_ring(agent=billing_only, work=strict, level=2, lockout=3)[0] is None


def test_special_requirements_are_parsed():
    parsed = parse_special_requirements(
        {"min_proficiency": "expert", "optional_skills": ["refunds", "unknown"], "specialization": "vip"},
        ["billing", "refunds"],
    )
    assert parsed == {
        "min_proficiency": "expert",
        "optional_skills": ("refunds",),
        "specializations": ("vip",),
    }
    assert parse_special_requirements({}, [])["min_proficiency"] == "intermediate"


def test_tolerance_tier_puts_high_tolerance_first_for_frustrated_customers_only():
    assert tolerance_tier(frustration="high", tolerance="high") < tolerance_tier(
        frustration="high", tolerance="medium"
    )
    assert tolerance_tier(frustration="low", tolerance="high") == tolerance_tier(
        frustration="low", tolerance="low"
    )


def test_confidence_is_discounted_per_widened_ring():
    assert routing_confidence(total=0.8, ring_level=0) == 0.8
    assert routing_confidence(total=0.8, ring_level=2) == 0.56
    assert routing_confidence(total=1.4, ring_level=0) == 1.0
