"""The supervisor admin after the audit: one code path through agents.services, deactivation instead of
deletion, duplicate specialization keys caught in the form, history for every edited model, and deleted
inline rows restored from the agent's history page."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from agents.models import (
    AgentAvailability,
    AgentPeriodMetrics,
    AgentSchedule,
    AgentSkill,
    AgentSpecialization,
    AvailabilityStatus,
    HumanAgent,
    SkillDomain,
)
from tests.agents.test_admin import agent_with_everything, change_form_data
from tests.factories.agents import (
    AgentPeriodMetricsFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
    SkillDomainFactory,
)

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:agents_humanagent_changelist")


def change_url(agent: HumanAgent) -> str:
    return reverse("admin:agents_humanagent_change", args=[agent.pk])


def history_url(agent: HumanAgent) -> str:
    return reverse("admin:agents_humanagent_history", args=[agent.pk])


def restore_url(agent: HumanAgent, model: type, history_id: int) -> str:
    return reverse("admin:agents_humanagent_restore_row", args=[agent.pk, model._meta.model_name, history_id])


@pytest.fixture
def supervisor(client: Client, supervisor_user: User) -> Client:
    client.force_login(supervisor_user)
    return client


def _inline_key(data: dict[str, Any], prefix: str, field: str, index: int = 0) -> str:
    return next(key for key in data if key.startswith(prefix) and key.endswith(f"-{index}-{field}"))


def _prefix(data: dict[str, Any], model_name: str) -> str:
    """The management-form prefix of an inline (e.g. "specializations")."""
    total = next(key for key in data if key.endswith("-TOTAL_FORMS") and model_name in key)
    return total.removesuffix("-TOTAL_FORMS")


# --- one code path: the change form goes through the services --------------------------------------------


def test_unticking_active_on_the_change_form_takes_the_agent_offline(
    supervisor: Client, supervisor_user: User
):
    agent = agent_with_everything()
    assert agent.availability.status == AvailabilityStatus.AVAILABLE
    data = change_form_data(supervisor.get(change_url(agent)))
    del data["is_active"]

    response = supervisor.post(change_url(agent), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    agent.refresh_from_db()
    assert agent.is_active is False
    assert AgentAvailability.objects.get(agent=agent).status == AvailabilityStatus.OFFLINE
    record = agent.history.latest("history_date")
    assert (record.is_active, record.history_user) == (False, supervisor_user)


def test_an_inline_edit_replaces_the_set_through_the_service_and_logs_the_change(supervisor: Client):
    agent = agent_with_everything()
    schedule = agent.schedules.get()
    data = change_form_data(supervisor.get(change_url(agent)))
    prefix = _prefix(data, "schedules")
    data[f"{prefix}-0-DELETE"] = "on"

    response = supervisor.post(change_url(agent), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert not AgentSchedule.objects.filter(pk=schedule.pk).exists()
    assert agent.skills.count() == 1  # the other sets are kept
    from django.contrib.admin.models import LogEntry

    message = LogEntry.objects.filter(object_id=str(agent.pk)).latest("action_time").get_change_message()
    assert "Deleted agent schedule" in message


def test_an_inline_specialization_blank_line_is_stored_as_null(supervisor: Client):
    agent = HumanAgentFactory()
    data = change_form_data(supervisor.get(change_url(agent)))
    prefix = _prefix(data, "specializations")
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-specialization": "general",
            f"{prefix}-0-confidence": "0.5",
            f"{prefix}-0-case_count": "0",
            f"{prefix}-0-success_rate": "0",
            f"{prefix}-0-insurance_line": "",
            f"{prefix}-0-customer_segment": "",
            f"{prefix}-0-languages": ["en"],  # picked in the multi-select
            f"{prefix}-0-territories": "",
        }
    )

    response = supervisor.post(change_url(agent), data)

    assert response.status_code == 302, response.context and response.context["errors"]
    assert agent.specializations.get().insurance_line is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        # Languages are picked from the ISO list; territories are typed as "US-CA, US-NY".
        ("languages", ["english"], "Select a valid choice. english is not one of the available choices."),
        ("territories", "US-CA, US-NEW-YORK-1", "Territory code US-NEW-YORK-1 is longer than 10 characters."),
        ("territories", "US-CA, US\u0007NY", "Use printable characters only (found U+0007)."),
    ],
)
def test_inline_specialization_lists_are_validated_like_the_api(
    supervisor: Client, field: str, value: str | list[str], message: str
):
    agent = HumanAgentFactory()
    data = change_form_data(supervisor.get(change_url(agent)))
    prefix = _prefix(data, "specializations")
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "1",
            f"{prefix}-0-specialization": "general",
            f"{prefix}-0-confidence": "0.5",
            f"{prefix}-0-case_count": "0",
            f"{prefix}-0-success_rate": "0",
            f"{prefix}-0-languages": [],
            f"{prefix}-0-territories": "",
            f"{prefix}-0-{field}": value,
        }
    )

    response = supervisor.post(change_url(agent), data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not agent.specializations.exists()


def test_two_inline_specializations_with_the_same_line_and_segment_are_refused_in_the_form(
    supervisor: Client,
):
    agent = HumanAgentFactory()
    AgentSpecializationFactory(
        agent=agent, specialization="auto_a", insurance_line="auto", customer_segment="smb"
    )
    data = change_form_data(supervisor.get(change_url(agent)))
    prefix = _prefix(data, "specializations")
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": "2",
            f"{prefix}-1-specialization": "auto_b",
            f"{prefix}-1-confidence": "0.5",
            f"{prefix}-1-case_count": "0",
            f"{prefix}-1-success_rate": "0",
            f"{prefix}-1-insurance_line": "auto",
            f"{prefix}-1-customer_segment": "smb",
            f"{prefix}-1-languages": [],
            f"{prefix}-1-territories": "",
        }
    )
    # the first row moves to the key the second takes, so only the formset sees the clash
    data[f"{prefix}-0-customer_segment"] = "enterprise"
    data[f"{prefix}-1-customer_segment"] = "enterprise"

    response = supervisor.post(change_url(agent), data)

    assert response.status_code == 200
    assert "each line and segment may appear once per agent" in response.content.decode()
    assert list(agent.specializations.values_list("specialization", "customer_segment")) == [
        ("auto_a", "smb")
    ]


def test_a_conflict_raised_at_save_time_is_a_message_not_a_500(supervisor: Client, monkeypatch):
    from agents.services import NestedRowsConflict

    agent = agent_with_everything()
    data = change_form_data(supervisor.get(change_url(agent)))
    data["name"] = "Renamed"

    def conflicting_update(**kwargs):
        raise NestedRowsConflict("skills: a row was added meanwhile")

    monkeypatch.setattr("agents.admin.agent_update", conflicting_update)
    response = supervisor.post(change_url(agent), data, follow=True)

    assert response.status_code == 200
    assert "Nothing was saved: skills: a row was added meanwhile" in response.content.decode()
    agent.refresh_from_db()
    assert agent.name != "Renamed"


# --- agents are deactivated, not deleted ---------------------------------------------------------------


def test_supervisors_deactivate_rather_than_delete_agents(supervisor: Client):
    agent = agent_with_everything()

    change_page = supervisor.get(change_url(agent))
    changelist = supervisor.get(CHANGELIST)
    delete_page = supervisor.get(reverse("admin:agents_humanagent_delete", args=[agent.pk]))

    assert change_page.context["has_delete_permission"] is False
    assert 'class="deletelink"' not in change_page.content.decode()
    actions = [name for name, _ in changelist.context["action_form"].fields["action"].choices]
    assert "delete_selected" not in actions
    assert {"deactivate", "activate", "set_status"} <= set(actions)
    assert delete_page.status_code == 403
    assert HumanAgent.objects.filter(pk=agent.pk).exists()


def test_supervisors_still_delete_an_agents_rows_in_their_own_admin(supervisor: Client):
    skill = AgentSkillFactory()

    response = supervisor.post(reverse("admin:agents_agentskill_delete", args=[skill.pk]), {"post": "yes"})

    assert response.status_code == 302
    assert not AgentSkill.objects.filter(pk=skill.pk).exists()


# --- history of the models supervisors edit -----------------------------------------------------------


def test_period_metrics_and_skill_domains_keep_a_history_of_supervisor_edits(
    supervisor: Client, supervisor_user: User
):
    metrics = AgentPeriodMetricsFactory(csat_score="4.50")
    domain = SkillDomainFactory(code="claims", name="Claims")
    metrics_url = reverse("admin:agents_agentperiodmetrics_change", args=[metrics.pk])
    domain_url = reverse("admin:agents_skilldomain_change", args=[domain.pk])
    metrics_data = change_form_data(supervisor.get(metrics_url))
    metrics_data["csat_score"] = "4.10"
    domain_data = change_form_data(supervisor.get(domain_url))
    domain_data["name"] = "Claims handling"

    assert supervisor.post(metrics_url, metrics_data).status_code == 302
    assert supervisor.post(domain_url, domain_data).status_code == 302

    metrics_record = AgentPeriodMetrics.history.filter(id=metrics.pk).latest("history_date")
    domain_record = SkillDomain.history.filter(id=domain.pk).latest("history_date")
    assert (str(metrics_record.csat_score), metrics_record.history_user) == ("4.10", supervisor_user)
    assert (domain_record.name, domain_record.history_user) == ("Claims handling", supervisor_user)
    for model, pk in (("agentperiodmetrics", metrics.pk), ("skilldomain", domain.pk)):
        page = supervisor.get(reverse(f"admin:agents_{model}_history", args=[pk]))
        assert page.status_code == 200
        assert "sup" in page.content.decode()


# --- restoring a deleted inline row --------------------------------------------------------------------


def _delete_first_inline_row(client: Client, agent: HumanAgent, model_name: str) -> None:
    data = change_form_data(client.get(change_url(agent)))
    data[f"{_prefix(data, model_name)}-0-DELETE"] = "on"
    response = client.post(change_url(agent), data)
    assert response.status_code == 302, response.context and response.context["errors"]


def test_a_supervisor_restores_a_deleted_skill_from_the_agents_history(
    supervisor: Client, supervisor_user: User
):
    # given a skill the supervisor deleted on the change form
    agent = agent_with_everything()
    skill = agent.skills.get()
    values = (skill.domain_id, skill.proficiency, skill.years_experience, skill.last_updated)
    _delete_first_inline_row(supervisor, agent, "skills")
    assert not agent.skills.exists()

    # when the history page offers it back and the supervisor restores it
    page = supervisor.get(history_url(agent))
    deleted = next(
        c for c in page.context["inline_changes"] if c.kind == "agent skill" and c.action == "Deleted"
    )
    assert deleted.restorable
    url = restore_url(agent, AgentSkill, deleted.history_id)
    assert url in page.content.decode()
    response = supervisor.post(url, follow=True)

    # then the same row is back with its values, and its history says who restored it
    assert "Restored agent skill" in response.content.decode()
    restored = AgentSkill.objects.get(agent=agent)
    assert restored.pk == skill.pk
    assert (
        restored.domain_id,
        restored.proficiency,
        restored.years_experience,
        restored.last_updated,
    ) == values
    record = restored.history.latest("history_date")
    assert (record.history_type, record.history_user) == ("+", supervisor_user)
    assert record.history_change_reason == f"Restored from history record {deleted.history_id}"
    after = supervisor.get(history_url(agent))
    again = next(c for c in after.context["inline_changes"] if c.history_id == deleted.history_id)
    assert not again.restorable  # the row exists again


@pytest.mark.parametrize(
    ("factory", "model_name"),
    [
        (lambda agent: AgentSpecializationFactory(agent=agent, insurance_line="auto"), "specializations"),
        (lambda agent: AgentScheduleFactory(agent=agent), "schedules"),
    ],
    ids=["specialization", "schedule"],
)
def test_deleted_specializations_and_schedules_can_be_restored_too(supervisor: Client, factory, model_name):
    agent = HumanAgentFactory()
    row = factory(agent)
    _delete_first_inline_row(supervisor, agent, model_name)
    model = type(row)
    record = model.history.get(id=row.pk, history_type="-")

    supervisor.post(restore_url(agent, model, record.history_id))

    assert model.objects.filter(pk=row.pk).exists()


def test_a_restore_that_would_clash_with_todays_rows_is_refused_with_a_reason(supervisor: Client):
    # given a deleted billing skill, and a new billing skill added since
    agent = agent_with_everything()
    skill = agent.skills.get()
    _delete_first_inline_row(supervisor, agent, "skills")
    AgentSkillFactory(agent=agent, domain=skill.domain, proficiency="basic")
    record = AgentSkill.history.get(id=skill.pk, history_type="-")

    response = supervisor.post(restore_url(agent, AgentSkill, record.history_id), follow=True)

    assert "Cannot restore this agent skill" in response.content.decode()
    assert list(agent.skills.values_list("proficiency", flat=True)) == ["basic"]


def test_restore_refuses_records_that_are_not_deletions_of_this_agents_rows(supervisor: Client):
    agent = agent_with_everything()
    other = agent_with_everything()
    created = AgentSkill.history.get(id=agent.skills.get().pk, history_type="+")
    other_skill = other.skills.get()
    _delete_first_inline_row(supervisor, other, "skills")
    others_deletion = AgentSkill.history.get(id=other_skill.pk, history_type="-")

    not_a_deletion = supervisor.post(restore_url(agent, AgentSkill, created.history_id), follow=True)
    someone_elses = supervisor.post(restore_url(agent, AgentSkill, others_deletion.history_id), follow=True)

    assert "Only a deleted row can be restored." in not_a_deletion.content.decode()
    assert "No agent skill history record" in someone_elses.content.decode()
    assert not other.skills.exists()
    assert supervisor.get(restore_url(agent, AgentSkill, created.history_id)).status_code == 405
    unknown_model = reverse("admin:agents_humanagent_restore_row", args=[agent.pk, "humanagent", 1])
    assert supervisor.post(unknown_model).status_code == 404


def test_an_analyst_sees_no_restore_button_and_cannot_restore(supervisor: Client, analyst_user: User):
    agent = agent_with_everything()
    skill = agent.skills.get()
    _delete_first_inline_row(supervisor, agent, "skills")
    record = AgentSkill.history.get(id=skill.pk, history_type="-")
    analyst = Client()
    analyst.force_login(analyst_user)

    page = analyst.get(history_url(agent))
    response = analyst.post(restore_url(agent, AgentSkill, record.history_id))

    assert 'class="restore-row"' not in page.content.decode()
    assert response.status_code == 403
    assert not agent.skills.exists()


def test_restoring_a_row_leaves_specialization_keys_unique():
    # the service validates against the agent's rows of today (model full_clean), as the API would
    from agents.services import RowNotRestorable, agent_row_restore

    agent = HumanAgentFactory()
    row = AgentSpecializationFactory(agent=agent, specialization="auto_old", insurance_line="auto")
    row_id = row.pk
    row.delete()
    AgentSpecializationFactory(agent=agent, specialization="auto_new", insurance_line="auto")
    record = AgentSpecialization.history.get(id=row_id, history_type="-")

    with pytest.raises(RowNotRestorable, match="insurance line and customer segment"):
        agent_row_restore(agent=agent, model=AgentSpecialization, history_id=record.history_id)


def test_a_changed_specialization_is_reverted_from_its_own_history(supervisor: Client):
    # given a specialization whose confidence a supervisor changed in the agent's inline
    agent = agent_with_everything()
    row = agent.specializations.get()
    original_confidence = row.confidence
    row.confidence = "0.10"
    row._change_reason = "mistake"
    row.save()
    original = row.history.filter(confidence=original_confidence).latest("history_date")
    revert_url = reverse(
        "admin:agents_agentspecialization_simple_history", args=[row.pk, original.history_id]
    )
    # when the supervisor reverts it from the row's history
    form = supervisor.get(revert_url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data["languages"] = form["languages"].value()
    data["territories"] = form["territories"].value()
    response = supervisor.post(revert_url, data)
    # then
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    row.refresh_from_db()
    assert row.confidence == original_confidence
    assert row.history.latest("history_date").history_user.username == "sup"


def test_schedules_have_an_admin_with_history_for_supervisors(supervisor: Client):
    agent = agent_with_everything()
    schedule = agent.schedules.first()
    assert (
        supervisor.get(reverse("admin:agents_agentschedule_history", args=[schedule.pk])).status_code == 200
    )
    assert supervisor.get(reverse("admin:agents_agentschedule_changelist")).status_code == 200
