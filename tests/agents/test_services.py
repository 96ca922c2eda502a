from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from agents.models import AgentAvailability, AgentPerformance, AgentSkill, AvailabilityStatus, HumanAgent
from agents.selectors import AgentNotFound
from agents.services import (
    agent_availability_update,
    agent_create,
    agent_deactivate,
    agent_set_status,
    agent_update,
)
from tests.factories import AgentLanguageFactory, AgentSkillFactory, HumanAgentFactory, SkillDomainFactory

pytestmark = pytest.mark.django_db


def test_agent_create_makes_offline_availability_and_performance_rows():
    billing = SkillDomainFactory(code="billing")

    agent = agent_create(
        code="agent_svc",
        name="Service Made",
        email="svc@example.com",
        skill_level="junior",
        skills=[{"domain": billing, "proficiency": "basic"}],
        languages=[{"language_code": "en", "proficiency": "native"}],
    )

    assert AgentAvailability.objects.get(agent=agent).status == AvailabilityStatus.OFFLINE
    assert AgentPerformance.objects.filter(agent=agent).exists()
    assert agent.skills.get().domain == billing
    assert agent.skills.get().history.count() == 1  # bulk writes keep the audit trail


def test_agent_create_rejects_a_field_that_is_not_editable():
    with pytest.raises(TypeError, match="created_at"):
        agent_create(code="x", name="x", email="x@example.com", skill_level="junior", created_at=None)


def test_agent_update_replaces_a_given_set_by_natural_key_and_leaves_the_others():
    agent = HumanAgentFactory()
    kept = AgentSkillFactory(agent=agent, domain=SkillDomainFactory(code="billing"), proficiency="basic")
    AgentSkillFactory(agent=agent, domain=SkillDomainFactory(code="claims"))
    AgentLanguageFactory(agent=agent, language_code="en")
    sales = SkillDomainFactory(code="sales")

    agent_update(
        agent=agent,
        skills=[
            {"domain": kept.domain, "proficiency": "expert"},
            {"domain": sales, "proficiency": "basic"},
        ],
    )

    skills = {skill.domain.code: skill for skill in AgentSkill.objects.filter(agent=agent)}
    assert set(skills) == {"billing", "sales"}
    assert skills["billing"].pk == kept.pk
    assert skills["billing"].proficiency == "expert"
    assert agent.languages.count() == 1


def test_agent_update_rolls_back_everything_when_a_nested_row_is_rejected_by_the_database():
    # given: a schedule the serializer would refuse, handed to the service directly
    agent = HumanAgentFactory(name="Before")
    AgentLanguageFactory(agent=agent, language_code="en")
    bad_schedule = {
        "day_of_week": "monday",
        "start_time": dt.time(9),
        "end_time": dt.time(17),
        "timezone": "Europe/Madrid",
        "effective_from": dt.date(2026, 1, 1),
        "effective_until": dt.date(2025, 12, 31),  # CHECK schedule_effective_range
    }

    # when
    with pytest.raises(IntegrityError):
        agent_update(
            agent=agent,
            name="After",
            languages=[{"language_code": "fr", "proficiency": "fluent"}],
            schedules=[bad_schedule],
        )

    # then
    agent.refresh_from_db()
    assert agent.name == "Before"
    assert list(agent.languages.values_list("language_code", flat=True)) == ["en"]


def test_agent_update_deactivating_goes_offline():
    agent = HumanAgentFactory()

    agent_update(agent=agent, is_active=False)

    assert AgentAvailability.objects.get(agent=agent).status == AvailabilityStatus.OFFLINE


def test_agent_update_without_changes_writes_no_history():
    agent = HumanAgentFactory(name="Same")
    before = agent.history.count()

    agent_update(agent=agent, name="Same")

    assert agent.history.count() == before


def test_agent_deactivate_keeps_the_agent():
    agent = HumanAgentFactory()

    agent_deactivate(agent=agent)

    assert HumanAgent.objects.get(pk=agent.pk).is_active is False


def test_agent_availability_update_keeps_omitted_values():
    agent = HumanAgentFactory()
    agent_set_status(agent=agent, status="meeting", override_reason="1:1")

    availability = agent_availability_update(code=agent.code, status="busy")

    assert (availability.status, availability.manual_override, availability.override_reason) == (
        "busy",
        True,
        "1:1",
    )


def test_clearing_the_reason_keeps_the_persons_status():
    agent = HumanAgentFactory()
    agent_set_status(agent=agent, status="meeting", override_reason="1:1")

    availability = agent_availability_update(code=agent.code, override_reason="")

    assert (availability.status, availability.manual_override, availability.override_reason) == (
        "meeting",
        True,
        "",
    )


def test_a_status_a_person_sets_is_a_manual_override_with_or_without_a_reason():
    agent = HumanAgentFactory()

    busy = agent_availability_update(code=agent.code, status="busy")
    assert (busy.status, busy.manual_override, busy.override_reason) == ("busy", True, "")
    on_break = agent_availability_update(code=agent.code, status="break", override_reason="lunch")
    assert (on_break.manual_override, on_break.override_reason) == (True, "lunch")
    back = agent_availability_update(code=agent.code, status="available")
    assert back.manual_override is False  # available hands the status back to routing


def test_agent_availability_update_unknown_code():
    with pytest.raises(AgentNotFound):
        agent_availability_update(code="agent_nope", status="busy")


def test_going_on_break_records_the_break_and_only_a_rest_long_enough_ends_the_streak(settings):
    settings.ROUTING = {**settings.ROUTING, "FATIGUE_REST_MINUTES": 15}
    agent = HumanAgentFactory(performance__consecutive_difficult_cases=3)
    start = timezone.now()

    with time_machine.travel(start, tick=False):
        agent_availability_update(code=agent.code, status="break")
    performance = AgentPerformance.objects.get(agent=agent)
    assert performance.last_break_at == start
    assert performance.consecutive_difficult_cases == 3  # going on break is not rest yet
    with time_machine.travel(start + dt.timedelta(minutes=5), tick=False):
        agent_availability_update(code=agent.code, status="available")
    assert AgentPerformance.objects.get(agent=agent).consecutive_difficult_cases == 3  # 5 minutes: too short

    with time_machine.travel(start + dt.timedelta(minutes=10), tick=False):
        agent_availability_update(code=agent.code, status="break")
    with time_machine.travel(start + dt.timedelta(minutes=26), tick=False):
        agent_availability_update(code=agent.code, status="available")
    assert AgentPerformance.objects.get(agent=agent).consecutive_difficult_cases == 0  # 16 minutes: rested


def test_agent_set_status_keeps_its_signature():
    agent = HumanAgentFactory()

    availability = agent_set_status(agent=agent.pk, status="busy")

    assert availability.status == "busy"
    assert availability.manual_override is True  # a person's busy holds (issue 6, fault 2)


@pytest.mark.postgres
def test_the_locking_lookup_by_code_gives_what_the_orm_query_gives():
    """agents.services._AvailabilityByCode (PostgreSQL's one hand-written statement) against the ORM's
    select_for_update().select_related("agent") it stands for."""
    from agents.services import _AvailabilityByCode

    agent = HumanAgentFactory(base_hourly_rate=Decimal("21.25"), employee_id="E-9")
    AgentAvailability.objects.filter(agent=agent).update(
        override_reason="lunch 'n' \\ coffee",
        expected_available_at=dt.datetime(2026, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
    )

    with transaction.atomic():
        found = _AvailabilityByCode.get().fetch(agent.code)
        orm = (
            AgentAvailability.objects.select_for_update(no_key=True, of=("self",))
            .select_related("agent")
            .get(agent__code=agent.code)
        )

    def values(instance):
        return {
            field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields
        }

    assert values(found) == values(orm)
    assert values(found.agent) == values(orm.agent)
    assert found.agent.availability is found
    assert not found._state.adding and found._state.db == orm._state.db
    with pytest.raises(AgentAvailability.DoesNotExist):
        _AvailabilityByCode.get().fetch("agent_nope")
