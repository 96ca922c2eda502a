"""The admin fits a 1400 px screen: the agent page and the main change lists, in a real browser.

Playwright drives Debian's chromium at 1400 x 1000 and measures what a supervisor would have to scroll
sideways: the document (document.documentElement.scrollWidth) and each change list's own results box
(Django's admin scrolls a too-wide table inside it, so the document alone would not show it).
Screenshots go to $BROWSER_SCREENSHOTS_DIR when set (e.g. test-artifacts/, which git ignores), else to
pytest's tmp_path, so a reviewer can look at every page.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import connections
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect, sync_playwright

from agents.models import Weekday
from routing.models import AssignmentStatus, RoutingEventType
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

WIDTH = 1400
# The same flags as tests/browser/test_admin_browser.py.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery"

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


@pytest.fixture
def browser(chromium_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    # Sync Playwright runs an event loop in this thread; Django's ORM calls in the test are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": WIDTH, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def orm_connection_closed(page: Page) -> Iterator[None]:
    """Close the database connection the test body opened, once the body is done (see the same fixture
    in tests/browser/test_admin_browser.py: left open on PostgreSQL it blocks dropping the test database)."""
    yield
    connections.close_all()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("BROWSER_SCREENSHOTS_DIR") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def log_in(page: Page, base_url: str) -> None:
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
def test_agent_page_fits_1400_px_with_lists_edited_as_lists(live_server, page: Page, screenshots: Path):
    # given a supervisor and an agent with skills, languages, specializations and a week of schedules
    agent = a_busy_agent()
    log_in(page, live_server.url)

    # when they open the agent
    page.goto(f"{live_server.url}/admin/agents/humanagent/{agent.pk}/change/")
    expect(page.locator("#content h2", has_text="Grace Hopper")).to_be_visible()
    page.screenshot(path=screenshots / "admin-agent-change-1400.png", full_page=True)

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
def test_main_change_lists_fit_1400_px(live_server, page: Page, screenshots: Path):
    # given some work on the floor
    a_busy_agent()
    log_in(page, live_server.url)

    too_wide = {}
    for change_list in CHANGE_LISTS:
        # when a supervisor opens each change list
        page.goto(f"{live_server.url}/admin/{change_list}/")
        expect(page.locator("#changelist")).to_be_visible()
        page.screenshot(path=screenshots / f"admin-{change_list.replace('/', '-')}-1400.png", full_page=True)
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
