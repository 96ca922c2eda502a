"""The voice admin as organization staff use it: saving through the services, the refusals shown on
the forms, configuration versions (publish, diff, activate), calls and analytics, the knowledge
history, role-aware permissions and query counts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories.voice import (
    AgentConfigFactory,
    AppointmentFactory,
    CallFactory,
    KnowledgeEntryFactory,
    LocationFactory,
    TurnFactory,
)
from tests.voice.conftest import next_weekday
from voice.models import AgentConfig, Appointment, KnowledgeEntry, Location, LocationHours, MembershipRole

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(manager_a) -> Client:
    client = Client()
    client.force_login(manager_a)
    return client


def inline_management(prefix: str, total: int, initial: int = 0) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def location_post(org, **extra) -> dict[str, str]:
    data = {
        "organization": str(org.pk),
        "name": "  Back  Bay ",
        "street": "500 Boylston St",
        "postal_code": "02116",
        "city": "Boston",
        "region": "ma",
        "country": "us",
        "time_zone": "America/New_York",
        "is_active": "on",
        **inline_management("hours", 2),
        "hours-0-weekday": "monday",
        "hours-0-opens_at": "09:00",
        "hours-0-closes_at": "12:00",
        "hours-1-weekday": "monday",
        "hours-1-opens_at": "13:00",
        "hours-1-closes_at": "17:00",
        **inline_management("exceptions", 1),
        "exceptions-0-date": "2030-12-25",
        "exceptions-0-closed": "on",
        "exceptions-0-reason": "Christmas Day",
    }
    data.update(extra)
    return data


def test_a_location_is_added_with_its_hours_through_the_service(manager, org_a) -> None:
    response = manager.post(reverse("admin:voice_location_add"), location_post(org_a))
    assert response.status_code == 302, response.content.decode()[:2000]
    location = Location.objects.get()
    assert (location.name, location.region, location.country) == ("Back Bay", "MA", "US")
    assert list(location.hours.order_by("opens_at").values_list("weekday", "opens_at")) == [
        ("monday", dt.time(9)),
        ("monday", dt.time(13)),
    ]
    assert location.exceptions.get().reason == "Christmas Day"
    assert LocationHours.objects.get(opens_at=dt.time(9)).organization_id == org_a.pk


def test_overlapping_hours_are_shown_on_the_form_and_nothing_is_saved(manager, org_a) -> None:
    response = manager.post(
        reverse("admin:voice_location_add"), location_post(org_a, **{"hours-1-opens_at": "11:00"})
    )
    assert response.status_code == 200
    assert "monday: 09:00-12:00 and 11:00-17:00 overlap." in response.content.decode()
    assert not Location.objects.exists()


def test_the_organization_choice_offers_only_the_users_organizations(manager, org_a, org_b) -> None:
    page = manager.get(reverse("admin:voice_location_add")).content.decode()
    assert "Acme Dental" in page and "Globex Auto" not in page
    response = manager.post(reverse("admin:voice_location_add"), location_post(org_b))
    assert response.status_code == 200 and not Location.objects.exists()  # not a valid choice


def test_staff_see_locations_read_only_and_cannot_add_them(staff_a, tenant_a) -> None:
    client = Client()
    client.force_login(staff_a)
    page = client.get(reverse("admin:voice_location_change", args=[tenant_a.location.pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.get(reverse("admin:voice_location_add")).status_code == 403
    assert client.get(reverse("admin:voice_appointment_add")).status_code == 200  # staff book


def test_an_appointment_outside_the_hours_is_refused_on_the_form(manager, tenant_a) -> None:
    evening = next_weekday(0, hour=20)
    data = {
        "location": str(tenant_a.location.pk),
        "service": str(tenant_a.service.pk),
        "provider": str(tenant_a.provider.pk),
        "customer_name": "Pat",
        "customer_phone": "+13125550100",
        "start_at_0": evening.date().isoformat(),
        "start_at_1": "20:00",
        "status": "scheduled",
    }
    response = manager.post(reverse("admin:voice_appointment_add"), data)
    assert response.status_code == 200
    assert (
        f"20:00-20:30 on Monday {evening.date()} is outside Acme Downtown&#x27;s hours: 09:00-17:00 "
        "(America/Chicago)" in response.content.decode()
    )
    # the times are the location's (Chicago), not the server's (UTC)
    assert (
        manager.post(reverse("admin:voice_appointment_add"), dict(data, start_at_1="10:00")).status_code
        == 302
    )
    booked = Appointment.objects.exclude(pk=tenant_a.appointment.pk).get()
    assert booked.start_at == next_weekday(0, hour=10)
    assert booked.end_at - booked.start_at == dt.timedelta(minutes=30)
    page = manager.get(reverse("admin:voice_appointment_change", args=[booked.pk])).content.decode()
    assert 'value="10:00:00"' in page


def test_the_appointment_changelist_is_by_location_and_day_in_constant_queries(manager, tenant_a) -> None:
    url = reverse("admin:voice_appointment_changelist")
    with CaptureQueriesContext(__import__("django.db").db.connection) as before:
        assert manager.get(url).status_code == 200
    for hour in (9, 10, 11):
        AppointmentFactory(
            location=tenant_a.location,
            service=tenant_a.service,
            provider=tenant_a.provider,
            start_at=next_weekday(2, hour=hour),
        )
    with CaptureQueriesContext(__import__("django.db").db.connection) as after:
        page = manager.get(url, {"location": tenant_a.location.pk})
    assert len(after) == len(before)
    assert page.content.decode().count("Acme provider") >= 4


def test_publishing_a_version_from_the_admin_and_diffing_it(manager, tenant_a, manager_a) -> None:
    response = manager.post(
        reverse("admin:voice_agentconfig_add"),
        {
            "organization": str(tenant_a.organization.pk),
            "policies": '{"escalation_policy": {"max_failed_attempts": 2}}',
            "script_overrides": '{"greeting": "Welcome to Acme"}',
            "notes": "stricter",
            "activate": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    new = AgentConfig.objects.get(version=2)
    assert new.is_active and new.created_by == manager_a
    tenant_a.config.refresh_from_db()
    assert not tenant_a.config.is_active
    diff = manager.get(
        reverse("admin:voice_agentconfig_diff"), {"old": tenant_a.config.pk, "new": new.pk}
    ).content.decode()
    assert (
        "policies.escalation_policy.max_failed_attempts" in diff
        and "<code>3</code>" in diff
        and "<code>2</code>" in diff
    )


def test_invalid_policies_are_shown_with_their_path(manager, org_a) -> None:
    response = manager.post(
        reverse("admin:voice_agentconfig_add"),
        {
            "organization": str(org_a.pk),
            "policies": '{"behavior": {"voice": ""}}',
            "script_overrides": "{}",
            "activate": "on",
        },
    )
    assert response.status_code == 200
    assert "behavior.voice: &#x27;&#x27; should be non-empty" in response.content.decode()


def test_activating_an_older_version_from_its_page_and_from_the_list(manager, org_a) -> None:
    first = AgentConfigFactory(organization=org_a, is_active=False)
    second = AgentConfigFactory(organization=org_a)
    page = manager.get(reverse("admin:voice_agentconfig_change", args=[first.pk])).content.decode()
    assert "Activate this version" in page and f"Diff against active v{second.version}" in page
    manager.post(reverse("admin:voice_agentconfig_activate", args=[first.pk]))
    first.refresh_from_db()
    assert first.is_active
    manager.post(
        reverse("admin:voice_agentconfig_changelist"),
        {"action": "activate_selected", ACTION_CHECKBOX_NAME: [str(second.pk)]},
    )
    second.refresh_from_db()
    first.refresh_from_db()
    assert second.is_active and not first.is_active


def test_a_published_version_is_read_only(manager, tenant_a) -> None:
    page = manager.get(reverse("admin:voice_agentconfig_change", args=[tenant_a.config.pk])).content.decode()
    assert 'name="_save"' not in page and "max_failed_attempts" in page
    assert (
        manager.get(reverse("admin:voice_agentconfig_delete", args=[tenant_a.config.pk])).status_code == 403
    )


def test_a_call_page_shows_turns_with_their_latencies_and_events(manager, tenant_a) -> None:
    page = manager.get(reverse("admin:voice_call_change", args=[tenant_a.call.pk])).content.decode()
    assert "Acme says hello" in page and "latency in ms" in page and "digressionTopic" in page
    assert manager.get(reverse("admin:voice_call_add")).status_code == 403


def test_the_analytics_page_draws_a_chart_per_configuration_version(manager, tenant_a) -> None:
    for index, latency in enumerate((300, 900)):
        TurnFactory(call=tenant_a.call, turn_index=index + 1, latency_total_ms=latency)
    page = manager.get(reverse("admin:voice_call_analytics")).content.decode()
    assert page.count('<svg width="900"') == 2 and "<rect" in page
    assert "p95 Total" in page and "v1" in page and "Acme Downtown" in page
    filtered = manager.get(reverse("admin:voice_call_analytics"), {"location": tenant_a.location.pk})
    assert filtered.status_code == 200


def test_the_knowledge_changelist_filters_by_tag_and_saves_normalised_tags(manager, org_a) -> None:
    parking = KnowledgeEntryFactory(organization=org_a, title="Parking", tags=["parking"])
    hours = KnowledgeEntryFactory(organization=org_a, title="Hours", tags=["hours"])
    page = manager.get(reverse("admin:voice_knowledgeentry_changelist"), {"tag": "parking"}).content.decode()
    link = "/admin/voice/knowledgeentry/{}/change/"
    assert link.format(parking.pk) in page and link.format(hours.pk) not in page
    response = manager.post(
        reverse("admin:voice_knowledgeentry_add"),
        {
            "organization": str(org_a.pk),
            "category": "faq",
            "title": "Wifi",
            "content": "Ask.",
            "tags": "Wi Fi, waiting",
            "priority": "50",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert KnowledgeEntry.objects.get(title="Wifi").tags == ["wi-fi", "waiting"]


def test_a_knowledge_edit_is_audited_and_reverted_from_its_history(manager, manager_a, org_a) -> None:
    entry = KnowledgeEntryFactory(organization=org_a, title="Parking", content="Free parking.")
    change = reverse("admin:voice_knowledgeentry_change", args=[entry.pk])
    form = {
        "category": "faq",
        "title": "Parking",
        "content": "Paid parking.",
        "tags": "parking",
        "priority": "50",
        "is_active": "on",
    }
    assert manager.post(change, form).status_code == 302
    history = manager.get(reverse("admin:voice_knowledgeentry_history", args=[entry.pk])).content.decode()
    assert "manager_a" in history
    original = KnowledgeEntry.history.filter(id=entry.pk).earliest("history_date")
    revert_url = reverse("admin:voice_knowledgeentry_simple_history", args=[entry.pk, original.history_id])
    assert manager.get(revert_url).status_code == 200
    manager.post(revert_url, {**form, "content": "Free parking."})
    entry.refresh_from_db()
    assert entry.content == "Free parking."
    assert KnowledgeEntry.history.filter(id=entry.pk).count() == 3


def test_changelists_use_constant_queries(manager, tenant_a) -> None:
    from django.db import connection

    def count(url: str) -> int:
        with CaptureQueriesContext(connection) as context:
            assert manager.get(url).status_code == 200
        return len(context)

    urls = [
        reverse(f"admin:voice_{m}_changelist")
        for m in ("location", "service", "provider", "agentconfig", "call", "knowledgeentry")
    ]
    before = [count(url) for url in urls]
    for _ in range(3):
        location = LocationFactory(organization=tenant_a.organization)
        AgentConfigFactory(organization=tenant_a.organization, location=location, is_active=False)
        CallFactory(organization=tenant_a.organization, location=location, agent_config=tenant_a.config)
        KnowledgeEntryFactory(organization=tenant_a.organization, location=location)
    assert [count(url) for url in urls] == before


def test_a_member_in_two_organizations_sees_both_with_an_organization_filter(
    make_user, tenant_a, tenant_b
) -> None:
    client = Client()
    client.force_login(make_user("both", acme=MembershipRole.MANAGER, globex=MembershipRole.STAFF))
    page = client.get(reverse("admin:voice_location_changelist")).content.decode()
    assert "Acme Downtown" in page and "Globex Downtown" in page
    only_b = client.get(
        reverse("admin:voice_location_changelist"), {"organization": tenant_b.organization.pk}
    ).content.decode()
    assert "Acme Downtown" not in only_b and "Globex Downtown" in only_b
    # managing A's location, but only viewing B's (staff there)
    assert (
        b'name="_save"'
        in client.get(reverse("admin:voice_location_change", args=[tenant_a.location.pk])).content
    )
    assert (
        b'name="_save"'
        not in client.get(reverse("admin:voice_location_change", args=[tenant_b.location.pk])).content
    )


def test_a_location_form_offers_only_its_organizations_services_even_to_a_superuser(
    make_user, tenant_a, tenant_b
) -> None:
    client = Client()
    client.force_login(make_user("root", group=None, superuser=True))
    page = client.get(reverse("admin:voice_location_change", args=[tenant_a.location.pk])).content.decode()
    assert "Acme cleaning" in page and "Globex cleaning" not in page and "Globex provider" not in page


def test_a_form_mixing_two_organizations_is_refused(make_user, tenant_a, tenant_b) -> None:
    client = Client()
    client.force_login(make_user("root", group=None, superuser=True))
    response = client.post(
        reverse("admin:voice_location_add"),
        location_post(tenant_a.organization, services=[str(tenant_b.service.pk)]),
    )
    assert response.status_code == 200
    assert "Choose only rows of Acme Dental: Globex cleaning belong elsewhere." in response.content.decode()
    assert not Location.objects.filter(name="Back Bay").exists()
