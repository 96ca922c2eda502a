"""The admin fits a 1400 px screen: the agent page and the main change lists, in a real browser.

Playwright drives Debian's chromium at 1400 x 1000 and measures what a supervisor would have to scroll
sideways: the document (document.documentElement.scrollWidth) and each change list's own results box
(Django's admin scrolls a too-wide table inside it, so the document alone would not show it).
Screenshots go to test-artifacts/ (tests.browser.support.ARTIFACTS), so a reviewer can look at every
page.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Page, expect

from agents.models import Weekday
from routing.models import AssignmentStatus, RoutingEventType
from tests.browser.support import ARTIFACTS, PASSWORD, WIDTH
from tests.factories.agents import (
    AgentLanguageFactory,
    AgentScheduleFactory,
    AgentSkillFactory,
    AgentSpecializationFactory,
    HumanAgentFactory,
    SkillDomainFactory,
)
from tests.factories.routing import CaseAssignmentFactory, RoutingDecisionFactory, RoutingEventFactory

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seed_rows_back_after_flush")]

# What overflows sideways: the page, and any change list's results box wider inside than it shows.
OVERFLOW = """() => ({
    page: document.documentElement.scrollWidth,
    boxes: Array.from(document.querySelectorAll('#changelist .results, .inline-group .tabular'))
        .filter(box => box.scrollWidth > box.clientWidth + 1)
        .map(box => `${box.className}: ${box.scrollWidth} > ${box.clientWidth}`),
})"""

CHANGE_LISTS = [
    "agents/humanagent",
    "agents/agentskill",
    "agents/agentlanguage",
    "agents/agentspecialization",
    "agents/agentschedule",
    "agents/agentavailability",
    "routing/caseassignment",
    "routing/supportcase",
    "routing/routingdecision",
    "routing/routingevent",
    "routing/escalationqueueentry",
    "scoring/conversion",
]


def log_in(page: Page, base_url: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    User.objects.create_superuser("layout-admin", "layout-admin@example.com", PASSWORD)
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", "layout-admin")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()


def a_busy_agent():
    """An agent with every inline filled the way the seed fills them, and some work behind them."""
    agent = HumanAgentFactory(name="Grace Hopper", code="agent_grace", department="Customer Support")
    for code in ("technical", "billing", "account_management"):
        AgentSkillFactory(
            agent=agent, domain=SkillDomainFactory(code=code, name=code.replace("_", " ").title())
        )
    AgentLanguageFactory(agent=agent, language_code="en", proficiency="native")
    AgentLanguageFactory(agent=agent, language_code="es", proficiency="conversational")
    for name in ("complex_technical_issues", "enterprise_accounts"):
        AgentSpecializationFactory(
            agent=agent,
            specialization=name,
            confidence=Decimal("0.85"),
            case_count=50,
            success_rate=Decimal("0.92"),
            languages=["en", "es"],
            territories=["US-CA", "US-NY"],
        )
    for day in (Weekday.FRIDAY, Weekday.MONDAY, Weekday.THURSDAY, Weekday.TUESDAY, Weekday.WEDNESDAY):
        AgentScheduleFactory(
            agent=agent, day_of_week=day, timezone="America/Los_Angeles", effective_from=dt.date(2026, 11, 23)
        )
    now = timezone.now()
    for index in range(5):
        assignment = CaseAssignmentFactory(
            agent=agent,
            case__case_id=f"case_20261202_{index:03d}",
            status=AssignmentStatus.COMPLETED,
            assigned_at=now - dt.timedelta(hours=index + 1),
            started_at=now - dt.timedelta(hours=index + 1),
            completed_at=now - dt.timedelta(hours=index),
            csat_rating=4,
            escalated=index == 0,
        )
        RoutingDecisionFactory(case=assignment.case, outcome="assigned", winner=agent, assignment=assignment)
        RoutingEventFactory(
            case=assignment.case,
            event_type=RoutingEventType.ROUTED,
            agent=agent,
            data={"match_score": 87.5, "required_skills": ["billing", "technical"]},
        )
    return agent


@pytest.mark.usefixtures("orm_connection_closed")
def test_agent_page_fits_1400_px_with_lists_edited_as_lists(live_server, page: Page):
    # given a supervisor and an agent with skills, languages, specializations and a week of schedules
    agent = a_busy_agent()
    log_in(page, live_server.url)

    # when they open the agent
    page.goto(f"{live_server.url}/admin/agents/humanagent/{agent.pk}/change/")
    expect(page.locator("#content h2", has_text="Grace Hopper")).to_be_visible()
    page.screenshot(path=ARTIFACTS / "admin-agent-change-1400.png", full_page=True)

    # then nothing scrolls sideways
    overflow = page.evaluate(OVERFLOW)
    assert overflow["page"] <= WIDTH, overflow
    assert overflow["boxes"] == []
    # and a specialization's languages are a multi-select with both picked, territories a line of text
    languages = page.locator("select[name='specializations-0-languages']")
    expect(languages).to_have_attribute("multiple", "")
    assert languages.evaluate("select => Array.from(select.selectedOptions).map(o => o.value)") == [
        "en",
        "es",
    ]
    expect(page.locator("input[name='specializations-0-territories']")).to_have_value("US-CA, US-NY")
    # and the schedule runs Monday to Friday, the rows labelled by name
    days = page.locator("select[name^='schedules-'][name$='-day_of_week']").evaluate_all(
        "selects => selects.map(s => s.value)"
    )
    assert days[:5] == ["monday", "tuesday", "wednesday", "thursday", "friday"]
    expect(page.locator("#skills-group")).to_contain_text("Billing (")
    expect(page.locator("#content")).not_to_contain_text("performance of")


@pytest.mark.usefixtures("orm_connection_closed")
def test_main_change_lists_fit_1400_px(live_server, page: Page):
    # given some work on the floor
    a_busy_agent()
    log_in(page, live_server.url)

    too_wide = {}
    for change_list in CHANGE_LISTS:
        # when a supervisor opens each change list
        page.goto(f"{live_server.url}/admin/{change_list}/")
        expect(page.locator("#changelist")).to_be_visible()
        page.screenshot(path=ARTIFACTS / f"admin-{change_list.replace('/', '-')}-1400.png", full_page=True)
        overflow = page.evaluate(OVERFLOW)
        if overflow["page"] > WIDTH or overflow["boxes"]:
            too_wide[change_list] = overflow

    # then none scrolls sideways, neither the page nor the table inside it
    assert too_wide == {}
    # and the assignments list shows the outcome columns that used to be cut off, with names
    page.goto(f"{live_server.url}/admin/routing/caseassignment/")
    headers = page.locator("#result_list thead th").all_inner_texts()
    assert [h.strip().lower() for h in headers[-3:]] == ["completed", "csat", "escalated"]
    expect(page.locator("#result_list")).to_contain_text("Grace Hopper")
