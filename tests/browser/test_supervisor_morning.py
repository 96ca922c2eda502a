"""A supervisor's morning in a real browser (Playwright driving Debian's chromium): the floor dashboard
shows a waiting case past its SLA, the supervisor assigns it from the queue, reads why that agent, puts
another agent on break, and watches the dashboard (left open in its own tab) follow without a reload.

Screenshots of each page go to test-artifacts/ (as tests/browser/test_admin_browser.py's do)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from agents.models import AgentAvailability, AvailabilityStatus
from routing.models import QueueStatus
from tests.browser.support import ARTIFACTS, PASSWORD, WIDTH
from tests.factories.routing import retire_seed_roster
from tests.routing.floor import on_shift_agent, waiting_entry

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seed_rows_back_after_flush")]

POLL_SECONDS = 1


def shot(tab: Page, name: str) -> None:
    tab.screenshot(path=ARTIFACTS / f"supervisor-morning-{name}.png", full_page=True)


def run_action(tab: Page, *, row_text: str, action: str) -> None:
    """Tick the change-list row showing `row_text` and run the admin action `action`."""
    tab.locator("#result_list tbody tr", has_text=row_text).locator("input.action-select").check()
    tab.select_option("select[name='action']", action)
    tab.click("button[name='index']")


def card(tab: Page, figure: str):
    return tab.locator(f"#floor-dashboard [data-figure='{figure}']")


def leading(number: int) -> re.Pattern[str]:
    """A figure's text that starts with `number` (the big figures carry a note after it)."""
    return re.compile(rf"^\s*{number}\b")


@pytest.mark.usefixtures("orm_connection_closed")
def test_supervisor_morning_dashboard_follows_the_floor_without_a_reload(
    live_server,
    page: Page,
    settings,
):
    # given the dashboard polling every second, two agents at work and a case waiting past its SLA
    settings.FLOOR_DASHBOARD_POLL_SECONDS = POLL_SECONDS
    retire_seed_roster()
    on_shift_agent(name="Ada Lovelace", code="agent_ada")
    on_shift_agent(name="Grace Hopper", code="agent_grace")
    late = waiting_entry("tour-1042", priority="high", queued_minutes_ago=45, max_wait=30)
    supervisor = User.objects.create_user("sup-morning", "sup-morning@example.com", PASSWORD, is_staff=True)
    supervisor.groups.add(Group.objects.get(name="Supervisors"))
    ARTIFACTS.mkdir(exist_ok=True)

    # when the supervisor logs in, the admin index opens on the floor dashboard
    board = page
    board.goto(f"{live_server.url}/admin/login/?next=/admin/")
    board.fill("#id_username", "sup-morning")
    board.fill("#id_password", PASSWORD)
    board.click("input[type=submit]")
    dashboard = board.locator("#floor-dashboard")
    expect(dashboard).to_be_visible()

    # then it shows the waiting case and its breach, and both agents at work
    expect(card(board, "cases-waiting")).to_have_text(leading(1))
    expect(card(board, "cases-breached")).to_have_text(leading(1))
    expect(dashboard.locator("#floor-breaches [data-case='tour-1042']")).to_contain_text("High")
    expect(card(board, "agents-working")).to_have_text(leading(2))
    shot(board, "01-dashboard")
    assert board.evaluate("document.documentElement.scrollWidth") <= WIDTH
    # a mark on the page that a reload would wipe
    board.evaluate("window.floorPageMark = 'not reloaded'")

    # when, in a second tab, the supervisor assigns the case from the queue to Ada
    work = board.context.new_page()
    work.set_default_timeout(15_000)
    work.goto(f"{live_server.url}/admin/routing/escalationqueueentry/")
    expect(work.locator("#result_list")).to_contain_text("tour-1042")
    shot(work, "02-queue")
    run_action(work, row_text="tour-1042", action="assign_to_agent")
    expect(work.locator("h1")).to_contain_text("Assign to an agent")
    work.click(".select2-selection")
    work.fill(".select2-search__field", "Ada")
    work.click(".select2-results__option:has-text('Ada Lovelace')")
    shot(work, "03-assign")
    work.click("input[name='apply']")
    expect(work.locator("ul.messagelist li.success")).to_contain_text("Assigned to agent_ada")
    late.refresh_from_db()
    assert late.status == QueueStatus.ASSIGNED
    assert late.assigned_agent.code == "agent_ada"

    # then the dashboard, untouched, follows: nothing waits, nothing is breached, one case routed today
    expect(card(board, "cases-waiting")).to_have_text(leading(0), timeout=10_000)
    expect(card(board, "cases-breached")).to_have_text(leading(0))
    expect(card(board, "routed-today")).to_have_text("1")

    # when the supervisor opens "why this agent": the case's routing decision
    work.goto(f"{live_server.url}/admin/routing/routingdecision/?q=tour-1042")
    # (the list names the decision by its winner; its first column links to the decision)
    work.locator("#result_list tbody tr", has_text="Ada Lovelace").locator("th a").first.click()
    breakdown = work.locator(".decision-breakdown")
    expect(breakdown).to_contain_text("assigned by a supervisor to agent_ada")
    expect(work.locator("#content")).to_contain_text("Ada Lovelace")
    shot(work, "04-why-this-agent")

    # and puts Grace on break
    work.goto(f"{live_server.url}/admin/agents/humanagent/?is_active__exact=1")
    run_action(work, row_text="Grace Hopper", action="set_status")
    work.select_option("select[name='status']", AvailabilityStatus.BREAK)
    shot(work, "05-set-status")
    work.click("input[name='apply']")
    expect(work.locator("ul.messagelist li.success")).to_be_visible()
    assert AgentAvailability.objects.get(agent__code="agent_grace").status == AvailabilityStatus.BREAK

    # then the dashboard shows one agent at work (Ada, with the case) and one on break, without a reload
    expect(card(board, "agents-working")).to_have_text(leading(1), timeout=10_000)
    expect(card(board, "agents-working")).to_contain_text("load 1 / 5")
    expect(dashboard.locator("tr[data-status='break']")).to_contain_text("1")
    assert board.evaluate("window.floorPageMark") == "not reloaded"
    assert board.evaluate("document.documentElement.scrollWidth") <= WIDTH
    shot(board, "06-dashboard-after")
