"""Agent configurations: publishing, the active lookup with its fallback, rollback, diff, the API."""

from __future__ import annotations

import pytest

from tests.factories.voice import AgentConfigFactory, LocationFactory
from voice.access import caller_for_organization
from voice.errors import RoleForbidden
from voice.models import AgentConfig
from voice.selectors import config_active, config_diff
from voice.services import config_activate, config_deactivate, config_publish
from voice.services.configs import OrganizationConfigRequired

pytestmark = pytest.mark.django_db

URL = "/api/v1/voice/configs/"
POLICIES = {"escalation_policy": {"max_failed_attempts": 3}, "behavior": {"language": "en"}}


def publish(org, **kwargs):
    defaults = {"policies": POLICIES, "script_overrides": {"greeting": "Hi"}}
    return config_publish(caller=caller_for_organization(org), **{**defaults, **kwargs})


def test_versions_count_up_per_organization_across_scopes(org_a, org_b) -> None:
    downtown = LocationFactory(organization=org_a)
    assert [publish(org_a).version, publish(org_a, location=downtown).version, publish(org_a).version] == [
        1,
        2,
        3,
    ]
    assert publish(org_b).version == 1


def test_publishing_activates_the_new_version_and_keeps_the_old_one(org_a) -> None:
    first = publish(org_a)
    second = publish(org_a, notes="stricter escalation")
    first.refresh_from_db()
    assert (first.is_active, second.is_active) == (False, True)
    assert AgentConfig.objects.filter(organization=org_a).count() == 2


def test_a_version_published_for_later_leaves_the_active_one(org_a) -> None:
    active = publish(org_a)
    draft = publish(org_a, activate=False)
    active.refresh_from_db()
    assert active.is_active and not draft.is_active and draft.activated_at is None


def test_rollback_makes_the_older_version_active_again(org_a) -> None:
    first, second = publish(org_a), publish(org_a)
    config_activate(caller=caller_for_organization(org_a), config=first)
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.is_active and not second.is_active and first.version == 1
    assert config_active(caller=caller_for_organization(org_a)).config == first
    # activating the active version again changes nothing
    assert config_activate(caller=caller_for_organization(org_a), config=first).is_active


def test_the_active_lookup_prefers_the_location_override_and_falls_back(org_a) -> None:
    caller = caller_for_organization(org_a)
    downtown, cambridge = LocationFactory(organization=org_a), LocationFactory(organization=org_a)
    org_wide = publish(org_a)
    override = publish(org_a, location=downtown)
    assert config_active(caller=caller, location_id=downtown.pk).config == override
    assert config_active(caller=caller, location_id=downtown.pk).source == "location"
    fallback = config_active(caller=caller, location_id=cambridge.pk)
    assert (fallback.config, fallback.source) == (org_wide, "organization")
    config_deactivate(caller=caller, config=override)
    assert config_active(caller=caller, location_id=downtown.pk).config == org_wide


def test_the_active_lookup_is_one_query(org_a, django_assert_num_queries) -> None:
    downtown = LocationFactory(organization=org_a)
    publish(org_a)
    caller = caller_for_organization(org_a)
    with django_assert_num_queries(1):
        config_active(caller=caller, location_id=downtown.pk)


def test_the_organization_wide_configuration_cannot_just_be_switched_off(org_a) -> None:
    with pytest.raises(OrganizationConfigRequired):
        config_deactivate(caller=caller_for_organization(org_a), config=publish(org_a))


def test_the_diff_reads_path_by_path(org_a) -> None:
    old = publish(org_a, notes="v1")
    new = publish(
        org_a,
        policies={"escalation_policy": {"max_failed_attempts": 2, "transfer_number": "+16175550100"}},
        script_overrides={"greeting": "Hello"},
        notes="v2",
    )
    changes = [change.describe() for change in config_diff(old=old, new=new).changes]
    assert changes == [
        "notes: 'v1' -> 'v2'",
        "policies.behavior: removed (was {'language': 'en'})",
        "policies.escalation_policy.max_failed_attempts: 3 -> 2",
        "policies.escalation_policy.transfer_number: added '+16175550100'",
        "script_overrides.greeting: 'Hi' -> 'Hello'",
    ]


def test_staff_cannot_publish_or_activate(org_a, staff_a, caller_of) -> None:
    config = AgentConfigFactory(organization=org_a)
    with pytest.raises(
        RoleForbidden,
        match=r"Your role in Acme Dental \(staff\) does not allow changing agent configurations",
    ):
        config_publish(caller=caller_of(staff_a), policies={}, script_overrides={})
    with pytest.raises(RoleForbidden):
        config_activate(caller=caller_of(staff_a), config=config)


# --- API ------------------------------------------------------------------------------------------------


def test_publish_through_the_api_then_roll_back_and_diff(client_a, org_a) -> None:
    first = client_a.post(
        URL, {"policies": POLICIES, "script_overrides": {"greeting": "Hi"}, "notes": "one"}, format="json"
    )
    second = client_a.post(URL, {"policies": {}, "script_overrides": {}, "notes": "two"}, format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json()["version"] == 2 and second.json()["created_by"] == "manager_a"
    rolled = client_a.post(f"{URL}{first.json()['id']}/activate/")
    assert rolled.status_code == 200 and rolled.json()["is_active"]
    active = client_a.get(f"{URL}active/").json()
    assert (active["source"], active["config"]["version"]) == ("organization", 1)
    diff = client_a.get(f"{URL}diff/", {"old": 1, "new": 2}).json()
    assert [change["path"] for change in diff["changes"]] == [
        "notes",
        "policies.behavior",
        "policies.escalation_policy",
        "script_overrides.greeting",
    ]
    assert diff["changes"][0] == {
        "path": "notes",
        "kind": "changed",
        "old": "one",
        "new": "two",
        "text": "notes: 'one' -> 'two'",
    }


def test_invalid_policies_are_a_400_naming_the_path(client_a, org_a) -> None:
    response = client_a.post(URL, {"policies": {"behavior": {"speaking_rate": 9}}}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "policies": ["behavior.speaking_rate: 9 is greater than the maximum of 2.0"]
    }
    assert not AgentConfig.objects.exists()


def test_the_active_lookup_names_an_unknown_location(client_a, org_a, tenant_b) -> None:
    AgentConfigFactory(organization=org_a)
    for location in (999_999, tenant_b.location.pk):  # missing, and another organization's: the same answer
        response = client_a.get(f"{URL}active/", {"location": location})
        assert response.status_code == 400
        assert response.json()["fields"] == {"location": [f"No location with id {location}."]}


def test_published_versions_cannot_be_edited_or_deleted(client_a, org_a) -> None:
    config = AgentConfigFactory(organization=org_a)
    for method in ("put", "patch", "delete"):
        assert getattr(client_a, method)(f"{URL}{config.pk}/", {}, format="json").status_code == 405


def test_a_staff_member_gets_403_for_publishing_and_reads_fine(token_client, staff_a, org_a) -> None:
    client = token_client(staff_a)
    response = client.post(URL, {"policies": {}}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    assert client.get(URL).status_code == 200


def test_the_version_list_query_count_does_not_grow(client_a, org_a, django_assert_num_queries) -> None:
    for _ in range(3):
        AgentConfigFactory(organization=org_a, is_active=False, location=LocationFactory(organization=org_a))
    # token, the user's model permissions (2), memberships, count, page
    with django_assert_num_queries(6):
        first = client_a.get(URL)
    for _ in range(10):
        AgentConfigFactory(organization=org_a, is_active=False)
    with django_assert_num_queries(6):
        second = client_a.get(URL)
    assert first.json()["count"] == 3 and second.json()["count"] == 13
