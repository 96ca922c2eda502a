"""A branch manager rolls back a configuration and reads the analytics chart in a real browser
(Playwright driving Debian's chromium), seeing only their organization."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User
from playwright.sync_api import Page, expect

from agents.roles import SUPERVISORS
from tests.browser.support import ARTIFACTS, PASSWORD, browser, orm_connection_closed, page  # noqa: F401
from tests.factories.voice import AgentConfigFactory, TurnFactory
from tests.voice.conftest import build_tenant
from voice.models import AgentConfig, MembershipRole, Organization
from voice.services.tenancy import membership_save

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("seed_rows_back_after_flush")]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("orm_connection_closed")
def test_a_manager_rolls_back_a_configuration_and_reads_the_analytics(live_server, page: Page) -> None:  # noqa: F811
    # given a manager of Acme, whose organization has two versions (v2 active), and another tenant
    acme = Organization.objects.create(name="Acme Dental", slug="acme")
    globex = Organization.objects.create(name="Globex Auto", slug="globex")
    tenant = build_tenant(acme, "Acme")
    build_tenant(globex, "Globex")
    for index, latency in enumerate((420, 780, 1300), start=1):
        TurnFactory(call=tenant.call, turn_index=index, latency_total_ms=latency)
    AgentConfig.objects.filter(pk=tenant.config.pk).update(is_active=False)
    newer = AgentConfigFactory(
        organization=acme, notes="v2: stricter", policies={"escalation_policy": {"max_failed_attempts": 1}}
    )
    manager = User.objects.create_user("acme-manager", "m@example.com", PASSWORD, is_staff=True)
    manager.groups.add(Group.objects.get(name=SUPERVISORS))
    membership_save(organization=acme, user=manager, role=MembershipRole.MANAGER)
    ARTIFACTS.mkdir(exist_ok=True)

    # when they log in and open the older version
    page.goto(f"{live_server.url}/admin/login/?next=/admin/voice/agentconfig/")
    page.fill("#id_username", "acme-manager")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    expect(page.locator("#result_list")).to_contain_text("v2")
    expect(page.locator("#content")).not_to_contain_text("Globex")
    page.screenshot(path=ARTIFACTS / "voice-config-versions.png", full_page=True)
    page.click(f"a[href$='/agentconfig/{tenant.config.pk}/change/']")
    page.click("text=Diff against active v2")
    expect(page.locator("#content")).to_contain_text("policies.escalation_policy.max_failed_attempts")
    page.screenshot(path=ARTIFACTS / "voice-config-diff.png", full_page=True)
    page.go_back()
    page.click("input[value='Activate this version']")

    # then v1 is active again, and the analytics draw their chart
    expect(page.locator(".messagelist")).to_contain_text("Version v1 is now the active configuration")
    tenant.config.refresh_from_db()
    newer.refresh_from_db()
    assert tenant.config.is_active and not newer.is_active
    page.goto(f"{live_server.url}/admin/voice/call/analytics/")
    expect(page.locator("svg[role=img]").first).to_be_visible()
    assert page.locator("svg[role=img] rect").count() >= 4
    expect(page.locator("#content")).to_contain_text("Acme Downtown")
    expect(page.locator("#content")).not_to_contain_text("Globex")
    page.screenshot(path=ARTIFACTS / "voice-analytics.png", full_page=True)
