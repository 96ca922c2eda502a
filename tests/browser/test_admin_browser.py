"""A supervisor edits an agent's skill in a real browser (Playwright driving Debian's chromium)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from agents.models import AgentSkill, Proficiency
from tests.browser.support import ARTIFACTS, PASSWORD
from tests.factories.agents import AgentSkillFactory, HumanAgentFactory, SkillDomainFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seed_rows_back_after_flush")]


@pytest.mark.usefixtures("orm_connection_closed")
def test_supervisor_edits_a_skill_inline_and_sees_it_in_history(live_server, page: Page):
    # given a supervisor (not a superuser) and an agent with one skill
    supervisor = User.objects.create_user("sup-browser", "sup-browser@example.com", PASSWORD, is_staff=True)
    supervisor.groups.add(Group.objects.get(name="Supervisors"))
    agent = HumanAgentFactory(name="Grace Hopper", code="agent_grace")
    skill = AgentSkillFactory(agent=agent, domain=SkillDomainFactory(code="billing"), proficiency="advanced")
    ARTIFACTS.mkdir(exist_ok=True)

    # when they log in through the admin login form
    page.goto(f"{live_server.url}/admin/login/?next=/admin/agents/humanagent/")
    page.fill("#id_username", "sup-browser")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#result_list")).to_contain_text("Grace Hopper")
    page.screenshot(path=ARTIFACTS / "admin-agent-changelist.png", full_page=True)

    # and open the agent, raise the skill's proficiency inline and save
    page.click("text=Grace Hopper")
    proficiency = page.locator("select[name='skills-0-proficiency']")
    expect(proficiency).to_have_value("advanced")
    proficiency.select_option("expert")
    page.click("input[name='_continue']")

    # then the admin confirms, shows the new value, and the database has it
    expect(page.locator("ul.messagelist li.success")).to_contain_text("was changed successfully")
    expect(page.locator("select[name='skills-0-proficiency']")).to_have_value("expert")
    page.screenshot(path=ARTIFACTS / "admin-agent-change.png", full_page=True)
    skill.refresh_from_db()
    assert skill.proficiency == Proficiency.EXPERT

    # and the History page shows who changed what on the skill
    page.click("a.historylink")
    inline_history = page.locator("#inline-change-history")
    first_skill_change = inline_history.locator("tbody tr", has_text="Changed").filter(has_text="Agent skill")
    expect(first_skill_change).to_contain_text("sup-browser")
    expect(first_skill_change).to_contain_text("Proficiency:")
    expect(first_skill_change).to_contain_text("advanced")
    expect(first_skill_change).to_contain_text("expert")
    page.screenshot(path=ARTIFACTS / "admin-agent-history.png", full_page=True)
    assert AgentSkill.history.filter(id=skill.pk, history_type="~").get().history_user == supervisor
