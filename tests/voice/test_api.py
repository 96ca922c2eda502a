"""The voice API: choosing the organization, roles and permissions, locations with their nested sets,
services, providers, appointments and free slots, filters, errors and query counts."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories.voice import (
    AppointmentFactory,
    LocationFactory,
    ProviderFactory,
    ServiceFactory,
)
from tests.voice.conftest import next_weekday
from voice.models import Appointment, Location, MembershipRole

pytestmark = pytest.mark.django_db

V = "/api/v1/voice/"

LOCATION = {
    "name": " Back   Bay ",
    "street": "500 Boylston St",
    "city": "Boston",
    "region": "ma",
    "postal_code": "02116",
    "country": "us",
    "time_zone": "America/New_York",
    "phone": "+1 617-555-0199",
    "hours": [
        {"weekday": "monday", "opens_at": "08:00", "closes_at": "12:00"},
        {"weekday": "monday", "opens_at": "13:00", "closes_at": "17:00"},
        {"weekday": "saturday", "opens_at": "09:00", "closes_at": "13:00"},
    ],
    "exceptions": [{"date": "2030-12-25", "closed": True, "reason": "Christmas Day"}],
}


# --- organizations, choosing one, permissions ---------------------------------------------------------


def test_anonymous_requests_get_401_in_the_error_shape(api_client) -> None:
    response = api_client.get(f"{V}locations/")
    assert response.status_code == 401 and set(response.json()) == {"detail", "code", "fields"}


def test_a_member_of_several_organizations_must_choose_one(token_client, make_user, org_a, org_b) -> None:
    client = token_client(make_user("both", acme=MembershipRole.MANAGER, globex=MembershipRole.STAFF))
    response = client.get(f"{V}locations/")
    assert response.status_code == 400
    assert response.json()["code"] == "organization_required"
    assert response.json()["fields"] == {"organization": ["Required: you belong to acme, globex."]}
    assert client.get(f"{V}locations/", {"organization": "globex"}).status_code == 200
    orgs = client.get(f"{V}organizations/").json()["results"]  # no choice needed to list them
    assert [(org["slug"], org["role"]) for org in orgs] == [("acme", "manager"), ("globex", "staff")]


def test_an_unknown_and_a_foreign_organization_get_the_same_answer(client_a, org_b) -> None:
    foreign = client_a.get(f"{V}locations/", {"organization": "globex"})
    missing = client_a.get(f"{V}locations/", {"organization": "nowhere"})
    assert (foreign.status_code, missing.status_code) == (400, 400)
    assert foreign.json()["fields"]["organization"] == ["None of your organizations has the slug 'globex'."]
    assert missing.json()["fields"]["organization"] == ["None of your organizations has the slug 'nowhere'."]


def test_a_superuser_reads_across_organizations_and_names_one_to_create(
    token_client, make_user, tenant_a, tenant_b
) -> None:
    client = token_client(make_user("root", group=None, superuser=True))
    names = {row["name"] for row in client.get(f"{V}locations/").json()["results"]}
    assert names == {"Acme Downtown", "Globex Downtown"}
    assert (
        client.post(f"{V}services/", {"name": "X"}, format="json").json()["code"] == "organization_required"
    )
    created = client.post(f"{V}services/?organization=globex", {"name": "X"}, format="json")
    assert created.status_code == 201 and created.json()["organization"] == "globex"


def test_an_analyst_member_reads_but_cannot_write(token_client, analyst_a, tenant_a) -> None:
    client = token_client(analyst_a)
    assert client.get(f"{V}locations/").status_code == 200
    response = client.post(f"{V}services/", {"name": "X"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"


def test_staff_book_appointments_but_do_not_run_locations(token_client, staff_a, tenant_a) -> None:
    client = token_client(staff_a)
    response = client.patch(f"{V}locations/{tenant_a.location.pk}/", {"name": "Renamed"}, format="json")
    assert (
        response.status_code == 403 and response.json()["code"] == "permission_denied"
    )  # no change_location
    assert (
        client.patch(
            f"{V}appointments/{tenant_a.appointment.pk}/", {"notes": "called back"}, format="json"
        ).status_code
        == 200
    )


def test_the_role_counts_in_the_rows_organization(token_client, make_user, tenant_a, tenant_b) -> None:
    # a manager of Acme (so holding the managers' permissions) who is only staff at Globex
    client = token_client(make_user("mixed", acme=MembershipRole.MANAGER, globex=MembershipRole.STAFF))
    mine = client.patch(
        f"{V}locations/{tenant_a.location.pk}/?organization=acme", {"name": "Renamed"}, format="json"
    )
    theirs = client.patch(
        f"{V}locations/{tenant_b.location.pk}/?organization=globex", {"name": "Renamed"}, format="json"
    )
    assert mine.status_code == 200
    assert theirs.status_code == 403 and theirs.json()["code"] == "role_forbidden"
    assert theirs.json()["detail"] == "Your role in Globex Auto (staff) does not allow changing locations."


def test_a_user_without_a_membership_sees_nothing(token_client, make_user, tenant_a) -> None:
    from agents.roles import SUPERVISORS

    client = token_client(make_user("nobody", group=SUPERVISORS))  # may view voice data, but of no tenant
    assert client.get(f"{V}locations/").json()["count"] == 0
    assert client.get(f"{V}locations/{tenant_a.location.pk}/").status_code == 404


# --- locations -------------------------------------------------------------------------------------------


def test_a_location_is_created_normalised_with_its_hours_and_exceptions(client_a, org_a) -> None:
    response = client_a.post(f"{V}locations/", LOCATION, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["name"], body["region"], body["country"], body["phone"]) == (
        "Back Bay",
        "MA",
        "US",
        "+16175550199",
    )
    assert [(h["weekday"], h["opens_at"]) for h in body["hours"]] == [
        ("monday", "08:00:00"),
        ("monday", "13:00:00"),
        ("saturday", "09:00:00"),
    ]
    assert body["exceptions"] == [
        {"date": "2030-12-25", "closed": True, "opens_at": None, "closes_at": None, "reason": "Christmas Day"}
    ]
    assert body["organization"] == "acme"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"country": "usa"}, "country"),
        ({"country": "ZZ"}, "country"),
        ({"time_zone": "EST5"}, "time_zone"),
        ({"phone": "555"}, "phone"),
        ({"hours": [{"weekday": "monday", "opens_at": "17:00", "closes_at": "09:00"}]}, "hours"),
        ({"hours": [{"weekday": "funday", "opens_at": "09:00", "closes_at": "17:00"}]}, "hours"),
        ({"exceptions": [{"date": "2030-12-25", "closed": True, "opens_at": "09:00"}]}, "exceptions"),
        ({"zip": "02116"}, "zip"),
    ],
)
def test_invalid_locations_are_400s_naming_the_field(client_a, org_a, change, field) -> None:
    response = client_a.post(f"{V}locations/", {**LOCATION, **change}, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not Location.objects.exists()


def test_overlapping_hours_are_refused_whole(client_a, org_a) -> None:
    hours = [
        {"weekday": "monday", "opens_at": "08:00", "closes_at": "12:00"},
        {"weekday": "monday", "opens_at": "11:00", "closes_at": "14:00"},
    ]
    response = client_a.post(f"{V}locations/", {**LOCATION, "hours": hours}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {"hours": ["monday: 08:00-12:00 and 11:00-14:00 overlap."]}
    assert not Location.objects.exists()


def test_a_patch_replaces_only_the_sets_it_names(client_a, tenant_a) -> None:
    url = f"{V}locations/{tenant_a.location.pk}/"
    before = client_a.get(url).json()
    response = client_a.patch(
        url, {"hours": [{"weekday": "sunday", "opens_at": "10:00", "closes_at": "14:00"}]}, format="json"
    )
    assert response.status_code == 200
    after = response.json()
    assert [h["weekday"] for h in after["hours"]] == ["sunday"]
    assert after["exceptions"] == before["exceptions"] and after["service_ids"] == before["service_ids"]
    assert client_a.patch(url, {"exceptions": []}, format="json").json()["exceptions"] == []


def test_a_location_refers_only_to_its_organizations_services(client_a, tenant_a, tenant_b) -> None:
    response = client_a.patch(
        f"{V}locations/{tenant_a.location.pk}/", {"service_ids": [tenant_b.service.pk]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "service_ids": [f'Invalid pk "{tenant_b.service.pk}" - object does not exist.']
    }


def test_a_location_in_use_is_not_deleted(client_a, tenant_a) -> None:
    response = client_a.delete(f"{V}locations/{tenant_a.location.pk}/")
    assert response.status_code == 409 and response.json()["code"] == "in_use"
    empty = LocationFactory(organization=tenant_a.organization)
    assert client_a.delete(f"{V}locations/{empty.pk}/").status_code == 204


def test_the_location_list_filters_and_its_query_count_does_not_grow(
    client_a, org_a, django_assert_num_queries
) -> None:
    LocationFactory(organization=org_a, is_active=False)
    assert client_a.get(f"{V}locations/", {"active": "false"}).json()["count"] == 1
    assert client_a.get(f"{V}locations/", {"active": "maybe"}).status_code == 400
    # token, permissions (2), memberships, count, page, hours, exceptions, services, providers
    with django_assert_num_queries(10):
        client_a.get(f"{V}locations/")
    for _ in range(5):
        LocationFactory(organization=org_a)
    with django_assert_num_queries(10):
        assert client_a.get(f"{V}locations/").json()["count"] == 6


def test_a_duplicate_location_name_is_a_400(client_a, tenant_a) -> None:
    response = client_a.post(f"{V}locations/", {**LOCATION, "name": tenant_a.location.name}, format="json")
    assert response.status_code == 400 and "__all__" in response.json()["fields"]


# --- services and providers --------------------------------------------------------------------------------


def test_services_and_providers_crud(client_a, tenant_a) -> None:
    service = client_a.post(f"{V}services/", {"name": "Whitening", "duration_minutes": 60}, format="json")
    assert service.status_code == 201
    provider = client_a.post(
        f"{V}providers/",
        {
            "name": "Dr. New",
            "service_ids": [service.json()["id"]],
            "location_ids": [tenant_a.location.pk],
            "phone": "+1 312 555 0111",
        },
        format="json",
    )
    assert provider.status_code == 201 and provider.json()["phone"] == "+13125550111"
    assert client_a.get(f"{V}providers/", {"location": tenant_a.location.pk}).json()["count"] == 2
    assert client_a.get(f"{V}providers/", {"location": 999999}).status_code == 400
    assert (
        client_a.patch(
            f"{V}services/{service.json()['id']}/", {"duration_minutes": 2}, format="json"
        ).status_code
        == 400
    )
    assert client_a.delete(f"{V}providers/{provider.json()['id']}/").status_code == 204
    assert client_a.delete(f"{V}services/{tenant_a.service.pk}/").json()["code"] == "in_use"


@pytest.mark.parametrize("location_ids", [{}, "1", ["1"], [""], [True]])
def test_references_are_ids_of_the_schema_type_not_coerced(client_a, tenant_a, location_ids) -> None:
    body = {"name": "Dr. Typed", "location_ids": location_ids}
    response = client_a.post(f"{V}providers/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["fields"]["location_ids"]


@pytest.mark.parametrize("path", ["services/", "providers/", "appointments/"])
def test_lists_of_services_providers_and_appointments_do_not_grow_in_queries(
    client_a, tenant_a, path, django_assert_num_queries
) -> None:
    with CountingRequests(client_a, f"{V}{path}", django_assert_num_queries) as count:
        extra_service = ServiceFactory(organization=tenant_a.organization)
        for number in range(4):
            provider = ProviderFactory(
                organization=tenant_a.organization, services=[tenant_a.service, extra_service]
            )
            tenant_a.location.providers.add(provider)
            start = next_weekday(0, hour=9) + dt.timedelta(days=7 * number)
            AppointmentFactory(
                location=tenant_a.location, service=tenant_a.service, provider=provider, start_at=start
            )
    assert count.after == count.before


class CountingRequests:
    """Counts the queries of a GET before and after the block adds rows."""

    def __init__(self, client, url, assert_num_queries) -> None:
        self.client, self.url, self.assert_num_queries = client, url, assert_num_queries

    def _count(self) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as context:
            assert self.client.get(self.url).status_code == 200
        return len(context)

    def __enter__(self):
        self.before = self._count()
        return self

    def __exit__(self, *exc) -> None:
        self.after = self._count()


# --- appointments and free slots ------------------------------------------------------------------------


def booking(tenant, start: dt.datetime) -> dict:
    return {
        "location": tenant.location.pk,
        "service": tenant.service.pk,
        "provider": tenant.provider.pk,
        "customer_name": "Pat Doe",
        "customer_phone": "+1 312 555 0123",
        "start_at": start.isoformat(),
    }


def test_booking_through_the_api(client_a, tenant_a) -> None:
    start = next_weekday(1, hour=10)
    response = client_a.post(f"{V}appointments/", booking(tenant_a, start), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["status"], body["provider_name"], body["customer_phone"]) == (
        "scheduled",
        "Acme provider",
        "+13125550123",
    )
    again = client_a.post(
        f"{V}appointments/", booking(tenant_a, start + dt.timedelta(minutes=15)), format="json"
    )
    assert again.status_code == 409 and again.json()["code"] == "provider_double_booked"
    outside = client_a.post(f"{V}appointments/", booking(tenant_a, next_weekday(1, hour=20)), format="json")
    assert outside.status_code == 400 and outside.json()["code"] == "outside_opening_hours"
    assert "outside Acme Downtown's hours: 09:00-17:00 (America/Chicago)" in outside.json()["detail"]


def test_appointment_changes_through_the_api(client_a, tenant_a) -> None:
    url = f"{V}appointments/{tenant_a.appointment.pk}/"
    assert client_a.patch(url, {"status": "confirmed"}, format="json").json()["status"] == "confirmed"
    bad = client_a.patch(url, {"status": "scheduled"}, format="json")
    assert bad.status_code == 409 and bad.json()["code"] == "invalid_transition"
    assert (
        client_a.patch(url, {"location": tenant_a.location.pk}, format="json").status_code == 400
    )  # not changeable
    assert client_a.delete(url).status_code == 405 and client_a.put(url, {}, format="json").status_code == 405


def test_appointment_filters_refuse_bad_values_naming_them(client_a, tenant_a, tenant_b) -> None:
    response = client_a.get(
        f"{V}appointments/", {"status": "maybe", "location": tenant_b.location.pk, "starts_after": "soon"}
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"status", "location", "starts_after"}
    assert client_a.get(f"{V}appointments/", {"location": tenant_a.location.pk}).json()["count"] == 1


def test_free_slots_respect_hours_appointments_and_the_configuration_lead_time(client_a, tenant_a) -> None:
    monday = next_weekday(0, hour=9)
    AppointmentFactory(
        location=tenant_a.location, service=tenant_a.service, provider=tenant_a.provider,
        start_at=monday, end_at=monday + dt.timedelta(minutes=30),
    )  # fmt: skip
    day = monday.date().isoformat()
    url = f"{V}locations/{tenant_a.location.pk}/slots/"
    body = client_a.get(
        url, {"service": tenant_a.service.pk, "date_from": day, "date_to": day, "step_minutes": 30}
    ).json()
    starts = [slot["start"][11:16] for slot in body["slots"]]
    assert starts[:3] == ["09:30", "10:00", "10:30"] and starts[-1] == "16:30" and len(starts) == 15
    assert body["slots"][0]["start"].endswith(("-06:00", "-05:00"))  # in the location's zone
    assert body["time_zone"] == "America/Chicago"


def test_free_slots_refuse_bad_ranges_and_foreign_services(client_a, tenant_a, tenant_b) -> None:
    url = f"{V}locations/{tenant_a.location.pk}/slots/"
    long = client_a.get(
        url, {"service": tenant_a.service.pk, "date_from": "2030-01-01", "date_to": "2030-03-01"}
    )
    assert long.status_code == 400 and set(long.json()["fields"]) == {"date_to"}
    foreign = client_a.get(
        url, {"service": tenant_b.service.pk, "date_from": "2030-01-01", "date_to": "2030-01-02"}
    )
    assert foreign.status_code == 400 and set(foreign.json()["fields"]) == {"service"}
    unknown = client_a.get(
        url, {"service": tenant_a.service.pk, "date_from": "2030-01-01", "date_to": "2030-01-02", "when": "x"}
    )
    assert unknown.status_code == 400 and set(unknown.json()["fields"]) == {"when"}


def test_a_service_not_offered_at_the_location_has_no_slots(client_a, tenant_a) -> None:
    other = ServiceFactory(organization=tenant_a.organization, name="Whitening")
    response = client_a.get(
        f"{V}locations/{tenant_a.location.pk}/slots/",
        {"service": other.pk, "date_from": "2030-01-07", "date_to": "2030-01-07"},
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"service": ["Acme Downtown does not offer Whitening."]}


def test_one_request_is_one_transaction(client_a, tenant_a) -> None:
    # the nested provider set fails after the location's own fields were valid: nothing is saved
    before = Location.objects.get(pk=tenant_a.location.pk).name
    response = client_a.patch(
        f"{V}locations/{tenant_a.location.pk}/",
        {
            "name": "Renamed",
            "hours": [
                {"weekday": "monday", "opens_at": "09:00", "closes_at": "12:00"},
                {"weekday": "monday", "opens_at": "10:00", "closes_at": "11:00"},
            ],
        },
        format="json",
    )
    assert response.status_code == 400
    assert Location.objects.get(pk=tenant_a.location.pk).name == before
    assert Appointment.objects.count() == 1
