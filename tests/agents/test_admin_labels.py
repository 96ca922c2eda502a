"""The agent admin reads like the product: names instead of ids, lists edited as lists, the week in order,
history that says what a row changed from."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from agents.languages import ISO_639_1
from agents.models import AgentLanguage, AgentSchedule, AgentSkill, AgentSpecialization, HumanAgent, Weekday
from agents.selectors import HISTORY_BASELINE_REASON
from tests.agents.test_admin import change_form_data, change_url, history_url
from tests.agents.test_admin_audit import _prefix
from tests.factories.agents import (
    AgentLanguageFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
    SkillDomainFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def supervisor(client: Client, supervisor_user: User) -> Client:
    client.force_login(supervisor_user)
    return client


def test_rows_are_labelled_by_name_not_database_id():
    agent = HumanAgentFactory(name="Ada Lovelace")
    skill = AgentSkillFactory(
        agent=agent, domain=SkillDomainFactory(code="billing", name="Billing"), proficiency="advanced"
    )
    language = AgentLanguageFactory(agent=agent, language_code="es", proficiency="native")
    agent.availability.status = "break"

    assert str(skill) == "Billing (Advanced)"
    assert str(language) == "Spanish (Native)"
    assert str(agent.availability) == "Ada Lovelace: Break"
    assert str(agent.performance) == "Ada Lovelace"


def test_change_page_shows_no_internal_labels(supervisor: Client):
    agent = HumanAgentFactory(name="Ada Lovelace")
    AgentSkillFactory(
        agent=agent, domain=SkillDomainFactory(code="billing", name="Billing"), proficiency="expert"
    )

    content = supervisor.get(change_url(agent)).content.decode()

    assert "Billing (Expert)" in content
    assert f"{agent.availability.pk}: " not in content
    assert "performance of" not in content
    assert re.search(
        r'<b>Performance snapshot:</b>\s*<span class="inline_label">Ada Lovelace\s*</span>', content
    )
    assert re.search(r'<b>Availability:</b>\s*<span class="inline_label">Ada Lovelace: ', content)


def test_schedules_inline_lists_the_week_from_monday(supervisor: Client):
    agent = HumanAgentFactory()
    for day in (Weekday.FRIDAY, Weekday.MONDAY, Weekday.SUNDAY, Weekday.THURSDAY, Weekday.TUESDAY):
        AgentScheduleFactory(agent=agent, day_of_week=day)

    response = supervisor.get(change_url(agent))

    formset = next(
        f.formset for f in response.context["inline_admin_formsets"] if f.formset.model is AgentSchedule
    )
    days = [form.instance.day_of_week for form in formset.forms]
    assert days == ["monday", "tuesday", "thursday", "friday", "sunday"]


def test_specialization_languages_and_territories_are_edited_as_lists(supervisor: Client):
    # given a specialization served in English for California
    agent = HumanAgentFactory()
    AgentSpecializationFactory(agent=agent, specialization="auto", languages=["en"], territories=["US-CA"])
    response = supervisor.get(change_url(agent))
    html = response.content.decode()
    assert "[&quot;" not in html and '["' not in html  # no JSON text box
    options = (
        next(
            f.formset
            for f in response.context["inline_admin_formsets"]
            if f.formset.model is AgentSpecialization
        )
        .forms[0]["languages"]
        .field.choices
    )
    assert options[0] == ("en", "English")  # the picked language heads the box
    data = change_form_data(response)
    prefix = _prefix(data, "specializations")
    assert data[f"{prefix}-0-languages"] == ["en"]
    assert data[f"{prefix}-0-territories"] == "US-CA"

    # when the supervisor adds Spanish and New York
    data[f"{prefix}-0-languages"] = ["en", "es"]
    data[f"{prefix}-0-territories"] = "US-CA, US-NY"
    response = supervisor.post(change_url(agent), data)

    # then the JSON lists hold both
    assert response.status_code == 302, response.context and response.context["errors"]
    row = AgentSpecialization.objects.get(agent=agent)
    assert row.languages == ["en", "es"]
    assert row.territories == ["US-CA", "US-NY"]


def test_history_shows_old_and_new_value_of_a_row_the_seed_wrote_without_history(
    supervisor: Client, supervisor_user: User
):
    # given a skill with no history record, as the seed migration leaves its rows
    agent = HumanAgentFactory()
    skill = AgentSkillFactory(agent=agent, years_experience=Decimal("3.0"))
    AgentSkill.history.filter(id=skill.pk).delete()
    HumanAgent.history.filter(id=agent.pk).delete()
    data = change_form_data(supervisor.get(change_url(agent)))
    prefix = _prefix(data, "skills")

    # when a supervisor changes its years of experience
    data[f"{prefix}-0-years_experience"] = "7.5"
    assert supervisor.post(change_url(agent), data).status_code == 302

    # then the history page lists one change, from 3.0 to 7.5, by the supervisor
    response = supervisor.get(history_url(agent))
    changes = [c for c in response.context["inline_changes"] if c.kind == "agent skill"]
    assert len(changes) == 1
    assert changes[0].action == "Changed"
    assert changes[0].user == supervisor_user
    assert {"field": "Years experience", "old": "3.0", "new": "7.5"} in changes[0].changes
    content = response.content.decode()
    assert "3.0&nbsp;&rarr;&nbsp;7.5" in content
    assert (
        "doesn&#x27;t have a change history" not in content and "doesn't have a change history" not in content
    )
    # and the baseline record is kept (a later diff needs it) without a user
    baseline = AgentSkill.history.get(id=skill.pk, history_change_reason=HISTORY_BASELINE_REASON)
    assert baseline.history_user is None and baseline.years_experience == Decimal("3.0")


def test_a_row_with_history_gets_no_baseline_record(supervisor: Client):
    agent = HumanAgentFactory()
    AgentSkillFactory(agent=agent, years_experience=Decimal("3.0"))
    data = change_form_data(supervisor.get(change_url(agent)))
    data[f"{_prefix(data, 'skills')}-0-years_experience"] = "4.0"

    supervisor.post(change_url(agent), data)

    assert not AgentSkill.history.filter(history_change_reason=HISTORY_BASELINE_REASON).exists()


def test_agent_field_change_on_a_seed_agent_diffs_against_its_state_before(supervisor: Client):
    agent = HumanAgentFactory(department="Support")
    HumanAgent.history.filter(id=agent.pk).delete()
    data = change_form_data(supervisor.get(change_url(agent)))
    data["department"] = "Sales"

    supervisor.post(change_url(agent), data)

    latest, before = HumanAgent.history.filter(id=agent.pk).order_by("-history_date", "-history_id")[:2]
    assert before.history_change_reason == HISTORY_BASELINE_REASON
    assert [(c.field, c.old, c.new) for c in latest.diff_against(before).changes] == [
        ("department", "Support", "Sales")
    ]


def _history_queries(supervisor: Client, agent: HumanAgent) -> int:
    supervisor.get(history_url(agent))  # warm the session and content types
    with CaptureQueriesContext(connection) as queries:
        assert supervisor.get(history_url(agent)).status_code == 200
    return len(queries)


def test_history_page_query_count_does_not_grow_with_the_rows(supervisor: Client):
    # Row labels come from what the history query joined (an availability's label once cost a query each).
    one, many = HumanAgentFactory(), HumanAgentFactory()
    AgentScheduleFactory(agent=one, day_of_week=Weekday.MONDAY, effective_from=dt.date(2026, 1, 1))
    AgentSkillFactory(agent=one)
    one.availability.status = "break"
    one.availability.save()
    for day in Weekday:
        AgentScheduleFactory(agent=many, day_of_week=day, effective_from=dt.date(2026, 1, 1))
        AgentSkillFactory(agent=many)
    for status in ("break", "meeting", "available"):
        availability = many.availability
        availability.status = status
        availability.save()

    assert _history_queries(supervisor, many) == _history_queries(supervisor, one)


def test_language_filter_lists_only_languages_some_agent_speaks(supervisor: Client):
    AgentLanguageFactory(agent=HumanAgentFactory(), language_code="fr")
    AgentLanguageFactory(agent=HumanAgentFactory(), language_code="de")
    AgentLanguageFactory(agent=HumanAgentFactory(), language_code="fr")

    for url, parameter in (
        ("/admin/agents/humanagent/", "languages__language_code__exact"),
        ("/admin/agents/agentlanguage/", "language_code__exact"),
    ):
        response = supervisor.get(url)
        language_filter = next(f for f in response.context["cl"].filter_specs if f.title == "language")
        labels = [choice["display"] for choice in language_filter.choices(response.context["cl"])]
        in_use = sorted(
            {ISO_639_1[code] for code in AgentLanguage.objects.values_list("language_code", flat=True)}
        )
        assert labels == ["All", *in_use], url  # by name, only those in use
        assert {"French", "German"} <= set(in_use) and "Afar" not in labels
        assert language_filter.parameter_name == parameter
