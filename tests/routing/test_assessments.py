"""The seed's monthly "update agent skill assessments", on what routing matches (issue 6, fault 9):
specializations from the cases that asked for them, skill proficiencies from the cases that required
the skill; the maths in routing.engine.assessment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from agents.models import AgentAvailability, AgentSkill, AgentSpecialization, AvailabilityStatus, HumanAgent
from routing.engine.assessment import reassessed_proficiency, specialization_confidence
from routing.maintenance import MaintenanceOptions, skill_reassess, specialization_assess
from routing.models import AssignmentStatus
from routing.services import CaseRequest, case_complete, case_route
from tests.factories import SkillDomainFactory
from tests.factories.routing import CaseAssignmentFactory, SupportCaseFactory, routable_agent

pytestmark = pytest.mark.django_db


def _next_tuesday_morning_in_los_angeles() -> dt.datetime:
    """10:00 in Los Angeles on the next Tuesday: the seed's roster (09:00-17:00 America/Los_Angeles from
    the day it was migrated) is at work."""
    today = dt.date.today()
    tuesday = today + dt.timedelta(days=(1 - today.weekday()) % 7 or 7)
    return dt.datetime.combine(tuesday, dt.time(10), tzinfo=ZoneInfo("America/Los_Angeles"))


def test_the_monthly_assessment_updates_the_seed_rosters_specializations_from_routed_cases():
    # given: the seed's roster at work; cases asking for Sarah's "enterprise_accounts" specialization
    # (account_management is hers alone among the three)
    AgentAvailability.objects.update(status=AvailabilityStatus.AVAILABLE, manual_override=False)
    sarah = HumanAgent.objects.get(code="agent_001")
    before = AgentSpecialization.objects.get(agent=sarah, specialization="enterprise_accounts")
    assert (before.case_count, before.confidence) == (50, Decimal("0.85"))  # the seed's figures
    morning = _next_tuesday_morning_in_los_angeles()
    with time_machine.travel(morning, tick=False):
        for n, escalated in enumerate([False, False, False, True]):
            outcome = case_route(
                request=CaseRequest(
                    case_id=f"ENT-{n}",
                    priority="medium",
                    complexity="low",
                    required_skills=["account_management"],
                    language="en",
                    special_requirements={"specializations": ["enterprise_accounts"]},
                )
            )
            assert outcome.assignment.agent_id == sarah.pk
            case_complete(case_id=f"ENT-{n}", agent=sarah.code, escalated=escalated, csat_rating=4)
    # when: the monthly step runs
    result = specialization_assess(MaintenanceOptions(now=morning + dt.timedelta(days=1)))
    # then: Sarah's specialization carries the evidence; the others (never asked for) keep the seed's
    assert result.rows == 1
    after = AgentSpecialization.objects.get(pk=before.pk)
    assert (after.case_count, after.success_rate) == (4, Decimal("0.7500"))
    assert after.confidence == Decimal(str(specialization_confidence(cases=4, successes=3)))  # 0.57
    others = AgentSpecialization.objects.exclude(pk=before.pk)
    assert set(others.values_list("case_count", flat=True)) == {50}


def _resolved(agent, *, skill: str, escalated: bool, completed_at: dt.datetime) -> None:
    CaseAssignmentFactory(
        agent=agent,
        case=SupportCaseFactory(status="completed"),
        status=AssignmentStatus.ESCALATED if escalated else AssignmentStatus.COMPLETED,
        escalated=escalated,
        required_skills=[skill],
        assigned_at=completed_at - dt.timedelta(minutes=30),
        completed_at=completed_at,
    )


def test_skill_proficiencies_move_one_level_on_a_month_of_evidence_with_their_history():
    # given: an intermediate billing agent with 20 billing cases this month, 19 without escalation, and
    # an advanced refunds agent with 20 refunds cases, 11 escalated
    SkillDomainFactory(code="billing")
    SkillDomainFactory(code="refunds")
    now = dt.datetime(2026, 3, 31, 12, tzinfo=dt.UTC)
    good = routable_agent(skills={"billing": "intermediate"})
    struggling = routable_agent(skills={"refunds": "advanced"})
    for n in range(20):
        when = now - dt.timedelta(days=1 + n % 25)
        _resolved(good, skill="billing", escalated=n == 0, completed_at=when)
        _resolved(struggling, skill="refunds", escalated=n < 11, completed_at=when)
    # a dry run says what would change and writes nothing
    assert skill_reassess(MaintenanceOptions(now=now, dry_run=True)).rows == 2
    assert AgentSkill.objects.get(agent=good).proficiency == "intermediate"
    # when
    assert skill_reassess(MaintenanceOptions(now=now)).rows == 2
    # then: one level each way, dated, with the reason in the audit trail
    promoted = AgentSkill.objects.get(agent=good)
    demoted = AgentSkill.objects.get(agent=struggling)
    assert (promoted.proficiency, demoted.proficiency) == ("advanced", "intermediate")
    assert promoted.last_updated == now.date()
    assert promoted.history.latest("history_date").history_change_reason == (
        "monthly assessment: 19 of 20 resolved without escalation"
    )
    # and a rerun in the same month moves nothing again
    assert skill_reassess(MaintenanceOptions(now=now + dt.timedelta(days=1))).rows == 0
    assert AgentSkill.objects.get(agent=good).proficiency == "advanced"


@pytest.mark.parametrize(
    ("current", "cases", "successes", "expected"),
    [
        ("intermediate", 20, 18, "advanced"),  # 90 %: up
        ("intermediate", 20, 17, "intermediate"),
        ("intermediate", 20, 12, "basic"),  # 60 %: down
        ("expert", 40, 40, "expert"),  # never above expert
        ("basic", 40, 0, "basic"),  # never below basic
        ("advanced", 19, 0, "advanced"),  # too little evidence
    ],
)
def test_the_proficiency_rule(current, cases, successes, expected):
    assert reassessed_proficiency(current=current, cases=cases, successes=successes) == expected
