"""The supervisor admin for agents: change list, change page with inlines, actions, history, roles."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from agents.models import (
    AgentAvailability,
    AgentPerformance,
    AgentSkill,
    AvailabilityStatus,
    HumanAgent,
    Proficiency,
    SkillLevel,
)
from tests.factories.agents import (
    AgentLanguageFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
    SkillDomainFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:agents_humanagent_changelist")
ADD = reverse("admin:agents_humanagent_add")


def change_url(agent: HumanAgent) -> str:
    return reverse("admin:agents_humanagent_change", args=[agent.pk])


def history_url(agent: HumanAgent) -> str:
    return reverse("admin:agents_humanagent_history", args=[agent.pk])


@pytest.fixture
def supervisor(client: Client, supervisor_user: User) -> Client:
    client.force_login(supervisor_user)
    return client


@pytest.fixture
def analyst(analyst_user: User) -> Client:
    client = Client()  # its own session, so a test can hold a supervisor and an analyst at once
    client.force_login(analyst_user)
    return client


def change_form_data(response: Any) -> dict[str, Any]:
    """The POST a browser would send for an unchanged admin change form (main form and every inline)."""
    data: dict[str, Any] = {}

    def add_form(form: Any) -> None:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value

    add_form(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[f"{formset.prefix}-{name}"] = value
        for form in formset.forms:
            add_form(form)
    return data


def agent_with_everything(**kwargs: Any) -> HumanAgent:
    agent = HumanAgentFactory(**kwargs)
    AgentSkillFactory(agent=agent, domain=SkillDomainFactory(code="billing"))
    AgentLanguageFactory(agent=agent, language_code="es")
    AgentSpecializationFactory(agent=agent)
    AgentScheduleFactory(agent=agent)
    return agent


# --- change list -------------------------------------------------------------------------------------


def test_changelist_query_count_does_not_grow_with_agents(supervisor: Client, django_assert_num_queries):
    # given three agents with skills and languages (beside any seeded roster), and then thirty
    seeded = HumanAgent.objects.count()
    for _ in range(3):
        agent_with_everything()
    with CaptureQueriesContext(connection) as few:
        assert supervisor.get(CHANGELIST).status_code == 200
    for _ in range(27):
        agent_with_everything()
    # then the thirty-agent page costs exactly what the three-agent page did
    with django_assert_num_queries(len(few.captured_queries)):
        response = supervisor.get(CHANGELIST)
    assert response.context["cl"].result_count == seeded + 30


def test_changelist_query_count_is_pinned(supervisor: Client, django_assert_num_queries):
    for _ in range(3):
        agent_with_everything()
    # session, user, permissions (2), count (2: filtered, total), page, department choices,
    # skill domain choices, languages in use; the rows come with availability and performance in the
    # page query
    with django_assert_num_queries(10):
        supervisor.get(CHANGELIST)


def test_changelist_shows_status_load_and_csat(supervisor: Client):
    agent = HumanAgentFactory(name="Ada Lovelace", max_concurrent_work=4, performance__csat_score="4.75")
    AgentAvailability.objects.filter(agent=agent).update(status=AvailabilityStatus.BUSY, current_load=3)

    content = supervisor.get(CHANGELIST).content.decode()

    assert "Ada Lovelace" in content
    assert "3 / 4" in content
    assert "Busy" in content
    assert "4.75" in content


def test_changelist_copes_with_an_agent_without_live_rows(supervisor: Client):
    HumanAgentFactory(availability=None, performance=None, name="No Rows")
    response = supervisor.get(CHANGELIST)
    assert response.status_code == 200
    assert "0 / 5" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"languages__language_code__exact": "fr"}, {"agent_fr"}),
        ({"skills__domain__id__exact": "DOMAIN"}, {"agent_fr"}),
        ({"availability__status__exact": "break"}, {"agent_fr"}),
        ({"skill_level__exact": "expert"}, {"agent_fr"}),
        ({"department": "Sales"}, {"agent_fr"}),
        ({"is_active__exact": "0"}, {"agent_es"}),
        ({"q": "E-agent_fr"}, {"agent_fr"}),
        ({"q": "agent_es@example.com"}, {"agent_es"}),
    ],
)
def test_changelist_filters_and_search(supervisor: Client, query: dict[str, str], expected: set[str]):
    french = HumanAgentFactory(code="agent_fr", skill_level=SkillLevel.EXPERT, department="Sales")
    AgentLanguageFactory(agent=french, language_code="fr")
    AgentLanguageFactory(agent=french, language_code="en")
    domain = SkillDomainFactory(code="claims")
    AgentSkillFactory(agent=french, domain=domain)
    AgentAvailability.objects.filter(agent=french).update(status=AvailabilityStatus.BREAK)
    spanish = HumanAgentFactory(code="agent_es", is_active=False)
    AgentLanguageFactory(agent=spanish, language_code="es")
    query = {key: str(domain.pk) if value == "DOMAIN" else value for key, value in query.items()}

    response = supervisor.get(CHANGELIST, query)

    assert response.status_code == 200
    found = {agent.code for agent in response.context["cl"].result_list}
    assert found & {"agent_fr", "agent_es"} == expected


# --- change page -------------------------------------------------------------------------------------


def test_supervisor_opens_change_page_with_inlines_and_live_state(supervisor: Client):
    agent = agent_with_everything(performance__csat_score="4.20")

    response = supervisor.get(change_url(agent))

    assert response.status_code == 200
    inline_models = {inline.formset.model for inline in response.context["inline_admin_formsets"]}
    assert {m.__name__ for m in inline_models} == {
        "AgentAvailability",
        "AgentPerformance",
        "AgentSkill",
        "AgentLanguage",
        "AgentSpecialization",
        "AgentSchedule",
    }
    assert "4.20" in response.content.decode()


def test_supervisor_saves_an_inline_skill_edit_and_history_records_who(
    supervisor: Client, supervisor_user: User
):
    agent = agent_with_everything()
    skill = agent.skills.get()
    data = change_form_data(supervisor.get(change_url(agent)))
    prefix = next(key for key, value in data.items() if key.endswith("-proficiency") and "skills" in key)
    data[prefix] = Proficiency.EXPERT

    response = supervisor.post(change_url(agent), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    skill.refresh_from_db()
    assert skill.proficiency == Proficiency.EXPERT
    latest = skill.history.latest("history_date")
    assert latest.history_type == "~"
    assert latest.history_user == supervisor_user


def test_an_inline_only_edit_writes_no_empty_agent_history_record(supervisor: Client):
    agent = agent_with_everything()
    records_before = agent.history.count()
    data = change_form_data(supervisor.get(change_url(agent)))
    key = next(key for key in data if key.endswith("-proficiency") and "skills" in key)
    data[key] = Proficiency.BASIC

    supervisor.post(change_url(agent), data)

    assert agent.skills.get().proficiency == Proficiency.BASIC
    assert agent.history.count() == records_before


def test_adding_an_agent_in_the_admin_creates_its_live_rows(supervisor: Client):
    data = change_form_data(supervisor.get(ADD))
    data.update(
        code="agent_new",
        name="New Agent",
        email="new@example.com",
        skill_level=SkillLevel.JUNIOR,
        max_concurrent_work=3,
        frustration_tolerance="medium",
        is_active="on",
    )

    response = supervisor.post(ADD, data)

    assert response.status_code == 302, response.context and response.context["errors"]
    agent = HumanAgent.objects.get(code="agent_new")
    assert AgentAvailability.objects.get(agent=agent).status == AvailabilityStatus.OFFLINE
    assert AgentPerformance.objects.filter(agent=agent).exists()


# --- actions -----------------------------------------------------------------------------------------


def test_set_status_action_asks_for_status_and_reason_first(supervisor: Client):
    agents = HumanAgentFactory.create_batch(2)

    response = supervisor.post(
        CHANGELIST, {"action": "set_status", "index": 0, ACTION_CHECKBOX_NAME: [a.pk for a in agents]}
    )

    assert response.status_code == 200
    assert "override_reason" in response.content.decode()
    assert set(AgentAvailability.objects.values_list("status", flat=True)) == {AvailabilityStatus.AVAILABLE}


def test_set_status_action_applies_the_status_with_override_reason(supervisor: Client):
    agents = HumanAgentFactory.create_batch(2)
    untouched = HumanAgentFactory()

    response = supervisor.post(
        CHANGELIST,
        {
            "action": "set_status",
            "index": 0,
            "apply": "Set status",
            ACTION_CHECKBOX_NAME: [a.pk for a in agents],
            "status": AvailabilityStatus.TRAINING,
            "override_reason": "Product training",
        },
        follow=True,
    )

    assert "Set 2 agent(s) to Training." in response.content.decode()
    for agent in agents:
        availability = AgentAvailability.objects.get(agent=agent)
        assert availability.status == AvailabilityStatus.TRAINING
        assert availability.manual_override is True
        assert availability.override_reason == "Product training"
    assert AgentAvailability.objects.get(agent=untouched).status == AvailabilityStatus.AVAILABLE


def test_set_status_action_records_when_the_agents_are_expected_back(supervisor: Client):
    agent = HumanAgentFactory()
    supervisor.post(
        CHANGELIST,
        {
            "action": "set_status",
            "index": 0,
            "apply": "Set status",
            ACTION_CHECKBOX_NAME: [agent.pk],
            "status": AvailabilityStatus.BREAK,
            "expected_available_at": "2026-12-01T14:30",
        },
    )
    availability = AgentAvailability.objects.get(agent=agent)
    assert availability.status == AvailabilityStatus.BREAK
    assert (
        timezone.localtime(availability.expected_available_at).strftime("%Y-%m-%d %H:%M")
        == "2026-12-01 14:30"
    )


def test_set_status_action_rejects_an_unknown_status(supervisor: Client):
    agent = HumanAgentFactory()

    response = supervisor.post(
        CHANGELIST,
        {"action": "set_status", "index": 0, "apply": "1", ACTION_CHECKBOX_NAME: [agent.pk], "status": "nap"},
    )

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert AgentAvailability.objects.get(agent=agent).status == AvailabilityStatus.AVAILABLE


def test_deactivate_and_activate_actions(supervisor: Client):
    agents = HumanAgentFactory.create_batch(2)
    ids = [a.pk for a in agents]

    response = supervisor.post(
        CHANGELIST, {"action": "deactivate", "index": 0, ACTION_CHECKBOX_NAME: ids}, follow=True
    )
    assert "Deactivated 2 agent(s)." in response.content.decode()
    assert not HumanAgent.objects.filter(pk__in=ids, is_active=True).exists()
    assert set(AgentAvailability.objects.filter(agent_id__in=ids).values_list("status", flat=True)) == {
        AvailabilityStatus.OFFLINE
    }

    supervisor.post(CHANGELIST, {"action": "activate", "index": 0, ACTION_CHECKBOX_NAME: ids})
    assert HumanAgent.objects.filter(pk__in=ids, is_active=True).count() == 2


# --- history -----------------------------------------------------------------------------------------


def test_history_page_shows_inline_changes_with_who_and_what(supervisor: Client, supervisor_user: User):
    agent = agent_with_everything()
    data = change_form_data(supervisor.get(change_url(agent)))
    key = next(key for key in data if key.endswith("-proficiency") and "skills" in key)
    data[key] = Proficiency.EXPERT
    supervisor.post(change_url(agent), data)
    supervisor.post(
        CHANGELIST,
        {
            "action": "set_status",
            "index": 0,
            "apply": "1",
            ACTION_CHECKBOX_NAME: [agent.pk],
            "status": "meeting",
            "override_reason": "1:1",
        },
    )

    response = supervisor.get(history_url(agent))

    assert response.status_code == 200
    changes = response.context["inline_changes"]
    skill_change = next(c for c in changes if c.kind == "agent skill" and c.action == "Changed")
    assert skill_change.user == supervisor_user
    assert {"field": "Proficiency", "old": "advanced", "new": "expert"} in skill_change.changes
    assert skill_change.row == "Billing (Expert)"
    status_change = next(c for c in changes if c.kind == "agent availability" and c.action == "Changed")
    assert status_change.user == supervisor_user
    assert {"field": "Status", "old": "available", "new": "meeting"} in status_change.changes
    assert changes == sorted(changes, key=lambda c: c.history_date, reverse=True)
    content = response.content.decode()
    assert "Changes to skills, languages" in content
    assert "advanced" in content and "expert" in content and "sup" in content


def test_history_page_query_count_does_not_grow_with_records(supervisor: Client):
    agent = agent_with_everything()
    skill = agent.skills.get()
    skill.proficiency = Proficiency.INTERMEDIATE
    skill.save()  # one change already, so the predecessor lookup for skills is in both counts
    with CaptureQueriesContext(connection) as few:
        supervisor.get(history_url(agent))
    for proficiency in [Proficiency.BASIC, Proficiency.EXPERT] * 5:
        skill.proficiency = proficiency
        skill.save()
        agent.name = f"Renamed {proficiency}"
        agent.save()
    AgentLanguageFactory(agent=agent, language_code="de")
    AgentScheduleFactory(agent=agent, day_of_week="tuesday")

    with CaptureQueriesContext(connection) as many:
        response = supervisor.get(history_url(agent))

    assert len(response.context["inline_changes"]) > 15
    assert len(many.captured_queries) == len(few.captured_queries)


def test_history_revert_restores_the_agents_own_fields(supervisor: Client):
    agent = HumanAgentFactory(name="Original Name")
    data = change_form_data(supervisor.get(change_url(agent)))
    data["name"] = "Wrong Name"
    supervisor.post(change_url(agent), data)
    original = agent.history.filter(name="Original Name").latest("history_date")
    revert_url = reverse("admin:agents_humanagent_simple_history", args=[agent.pk, original.history_id])

    revert_page = supervisor.get(revert_url)
    assert revert_page.status_code == 200
    form = revert_page.context["adminform"].form
    revert_data = {
        name: form[name].value() for name in form.fields if form[name].value() not in (None, False)
    }
    revert_data["is_active"] = "on"
    response = supervisor.post(revert_url, revert_data)

    assert response.status_code == 302
    agent.refresh_from_db()
    assert agent.name == "Original Name"
    assert agent.history.latest("history_date").history_user.username == "sup"


# --- roles -------------------------------------------------------------------------------------------


def test_analyst_can_view_changelist_change_page_and_history(analyst: Client):
    agent = agent_with_everything()
    assert analyst.get(CHANGELIST).status_code == 200
    assert analyst.get(change_url(agent)).status_code == 200
    assert analyst.get(history_url(agent)).status_code == 200


def test_analyst_gets_403_on_posting_a_change(analyst: Client, supervisor: Client):
    agent = agent_with_everything(name="Kept")
    data = change_form_data(supervisor.get(change_url(agent)))
    data["name"] = "Changed by analyst"

    response = analyst.post(change_url(agent), data)

    assert response.status_code == 403
    agent.refresh_from_db()
    assert agent.name == "Kept"


def test_analyst_cannot_add_import_or_run_actions(analyst: Client):
    agent = HumanAgentFactory()
    assert analyst.get(ADD).status_code == 403
    assert analyst.get(reverse("admin:agents_humanagent_import")).status_code == 403
    assert analyst.post(reverse("admin:agents_humanagent_import")).status_code == 403

    analyst.post(CHANGELIST, {"action": "deactivate", "index": 0, ACTION_CHECKBOX_NAME: [agent.pk]})

    agent.refresh_from_db()
    assert agent.is_active is True


def test_analyst_can_export(analyst: Client):
    HumanAgentFactory(code="agent_export")
    response = analyst.post(
        reverse("admin:agents_humanagent_export"),
        {"format": "0", "resource": "0", "humanagentresource_code": "on"},
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")


def test_other_agent_admin_pages_open(supervisor: Client):
    agent = agent_with_everything()
    for name in ("skilldomain", "agentavailability", "agentskill", "agentlanguage", "agentperiodmetrics"):
        assert supervisor.get(reverse(f"admin:agents_{name}_changelist")).status_code == 200, name
    assert (
        supervisor.get(reverse("admin:agents_agentavailability_change", args=[agent.pk])).status_code == 200
    )
    skill = AgentSkill.objects.get(agent=agent)
    assert supervisor.get(reverse("admin:agents_agentskill_change", args=[skill.pk])).status_code == 200
