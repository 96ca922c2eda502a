"""Tenant isolation, the whole matrix: every voice API endpoint and every voice admin page, requested
by a manager of organization B (Globex) against organization A's (Acme's) rows.

A's rows are never shown, changed or confirmed to exist: rows by id answer 404 (the same as an id
that does not exist), lists and pages leave them out, references to them in a body are "does not
exist", and no response mentions "acme" at all. Both coverage tests fail when an endpoint or an admin
page is added without a row here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from django.urls import URLPattern, reverse

from tests.voice.conftest import Tenant, next_weekday
from voice.api.urls import urlpatterns as api_patterns
from voice.models import (
    AgentConfig,
    Appointment,
    Call,
    CallEvent,
    KnowledgeEntry,
    Location,
    LocationException,
    LocationHours,
    Membership,
    Organization,
    Provider,
    Service,
    Turn,
)

pytestmark = pytest.mark.django_db

V = "/api/v1/voice/"
NOT_FOUND_ID = 987_654


def a_fingerprint(tenant: Tenant) -> str:
    """Everything of organization A, as plain values: it must not change whatever B sends."""
    org = tenant.organization
    parts = []
    for model in (
        Location,
        LocationHours,
        LocationException,
        Service,
        Provider,
        Appointment,
        AgentConfig,
        Call,
        Turn,
        CallEvent,
        KnowledgeEntry,
    ):
        rows = model.objects.filter(organization=org).order_by("pk").values()
        parts.append(repr([{k: v for k, v in row.items() if k not in ("search_vector",)} for row in rows]))
    parts.append(
        repr(
            sorted(
                Location.services.through.objects.filter(location__organization=org).values_list(
                    "pk", flat=True
                )
            )
        )
    )
    parts.append(repr(Organization.objects.filter(pk=org.pk).values().get()))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def no_trace_of_a(response: Any) -> None:
    content = response.content.decode(errors="replace").lower()
    assert "acme" not in content, content[:600]


# Each API route and method: what B sends (path and body from A's and B's tenants) and what it must get.
# expect: an int status, or "list" (200, and no A row in it).
Case = tuple[Callable[[Tenant, Tenant], str], Callable[[Tenant, Tenant], Any] | None, Any]


def booking(a: Tenant, b: Tenant) -> dict:
    return {
        "location": a.location.pk, "service": b.service.pk, "provider": b.provider.pk, "customer_name": "X",
        "customer_phone": "+13125550100", "start_at": next_weekday(0, hour=10).isoformat(),
    }  # fmt: skip


def whole_call(a: Tenant, b: Tenant) -> dict:
    return {
        "call_id": "b-1",
        "location": a.location.pk,
        "started_at": "2030-01-07T15:00:00Z",
        "ended_at": "2030-01-07T15:01:00Z",
        "status": "completed",
    }


API_MATRIX: dict[tuple[str, str], list[Case]] = {
    ("organization-list", "get"): [(lambda a, b: "organizations/", None, "list")],
    ("location-list", "get"): [
        (lambda a, b: "locations/", None, "list"),
        (lambda a, b: "locations/?search=acme", None, "list"),
    ],
    ("location-list", "post"): [
        (
            lambda a, b: "locations/",
            lambda a, b: {
                "name": "N",
                "street": "s",
                "city": "c",
                "country": "US",
                "time_zone": "UTC",
                "service_ids": [a.service.pk],
            },
            400,
        ),
    ],
    ("location-detail", "get"): [(lambda a, b: f"locations/{a.location.pk}/", None, 404)],
    ("location-detail", "put"): [
        (lambda a, b: f"locations/{a.location.pk}/", lambda a, b: {"name": "Taken"}, 404)
    ],
    ("location-detail", "patch"): [
        (lambda a, b: f"locations/{a.location.pk}/", lambda a, b: {"name": "Taken"}, 404)
    ],
    ("location-detail", "delete"): [(lambda a, b: f"locations/{a.location.pk}/", None, 404)],
    ("location-slots", "get"): [
        (
            lambda a, b: (
                f"locations/{a.location.pk}/slots/?service={a.service.pk}&date_from=2030-01-07&date_to=2030-01-07"
            ),
            None,
            404,
        ),
        (
            lambda a, b: (
                f"locations/{b.location.pk}/slots/?service={a.service.pk}&date_from=2030-01-07&date_to=2030-01-07"
            ),
            None,
            400,
        ),
    ],
    ("service-list", "get"): [(lambda a, b: "services/", None, "list")],
    ("service-list", "post"): [
        (lambda a, b: "services/", lambda a, b: {"name": "Globex polishing"}, 201)
    ],  # B's own row
    ("service-detail", "get"): [(lambda a, b: f"services/{a.service.pk}/", None, 404)],
    ("service-detail", "put"): [(lambda a, b: f"services/{a.service.pk}/", lambda a, b: {"name": "x"}, 404)],
    ("service-detail", "patch"): [
        (lambda a, b: f"services/{a.service.pk}/", lambda a, b: {"name": "x"}, 404)
    ],
    ("service-detail", "delete"): [(lambda a, b: f"services/{a.service.pk}/", None, 404)],
    ("provider-list", "get"): [
        (lambda a, b: "providers/", None, "list"),
        (lambda a, b: f"providers/?location={a.location.pk}", None, 400),
    ],
    ("provider-list", "post"): [
        (lambda a, b: "providers/", lambda a, b: {"name": "P", "location_ids": [a.location.pk]}, 400)
    ],
    ("provider-detail", "get"): [(lambda a, b: f"providers/{a.provider.pk}/", None, 404)],
    ("provider-detail", "put"): [
        (lambda a, b: f"providers/{a.provider.pk}/", lambda a, b: {"name": "x"}, 404)
    ],
    ("provider-detail", "patch"): [
        (lambda a, b: f"providers/{a.provider.pk}/", lambda a, b: {"name": "x"}, 404)
    ],
    ("provider-detail", "delete"): [(lambda a, b: f"providers/{a.provider.pk}/", None, 404)],
    ("appointment-list", "get"): [
        (lambda a, b: "appointments/", None, "list"),
        (lambda a, b: f"appointments/?provider={a.provider.pk}", None, 400),
    ],
    ("appointment-list", "post"): [(lambda a, b: "appointments/", booking, 400)],
    ("appointment-detail", "get"): [(lambda a, b: f"appointments/{a.appointment.pk}/", None, 404)],
    ("appointment-detail", "patch"): [
        (lambda a, b: f"appointments/{a.appointment.pk}/", lambda a, b: {"status": "cancelled"}, 404),
        (lambda a, b: f"appointments/{b.appointment.pk}/", lambda a, b: {"provider": a.provider.pk}, 400),
    ],
    ("config-list", "get"): [(lambda a, b: "configs/", None, "list")],
    ("config-list", "post"): [
        (lambda a, b: "configs/", lambda a, b: {"location": a.location.pk, "policies": {}}, 400)
    ],
    ("config-detail", "get"): [(lambda a, b: f"configs/{a.config.pk}/", None, 404)],
    ("config-active", "get"): [
        (lambda a, b: "configs/active/", None, 200),
        (lambda a, b: f"configs/active/?location={a.location.pk}", None, 400),
    ],
    ("config-diff", "get"): [
        (lambda a, b: f"configs/diff/?old={a.config.version}&new={a.config.version + 5}", None, 404),
    ],
    ("config-activate", "post"): [(lambda a, b: f"configs/{a.config.pk}/activate/", None, 404)],
    ("config-deactivate", "post"): [(lambda a, b: f"configs/{a.config.pk}/deactivate/", None, 404)],
    ("call-list", "get"): [
        (lambda a, b: "calls/", None, "list"),
        (lambda a, b: "calls/?call_id=Acme-call", None, "list"),
    ],
    ("call-list", "post"): [(lambda a, b: "calls/", whole_call, 400)],
    ("call-detail", "get"): [(lambda a, b: f"calls/{a.call.pk}/", None, 404)],
    ("call-analytics", "get"): [
        (lambda a, b: "calls/analytics/", None, 200),
        (lambda a, b: f"calls/analytics/?location={a.location.pk}", None, 404),
    ],
    ("call-stream", "post"): [
        (
            lambda a, b: "calls/stream/",
            lambda a, b: {"call_id": "s-1", "location": a.location.pk, "started_at": "2030-01-07T15:00:00Z"},
            400,
        ),
    ],
    ("call-turns", "post"): [
        (
            lambda a, b: f"calls/{a.call.pk}/turns/",
            lambda a, b: {"turns": [{"index": 5, "speaker": "agent"}]},
            404,
        )
    ],
    ("call-events", "post"): [
        (lambda a, b: f"calls/{a.call.pk}/events/", lambda a, b: {"events": [{"type": "barge_in"}]}, 404)
    ],
    ("call-close", "post"): [
        (
            lambda a, b: f"calls/{a.call.pk}/close/",
            lambda a, b: {"ended_at": "2030-01-07T15:04:00Z", "status": "failed"},
            404,
        ),
    ],
    ("knowledge-list", "get"): [
        (lambda a, b: "knowledge/", None, "list"),
        (lambda a, b: "knowledge/?search=acme", None, "list"),
    ],
    ("knowledge-list", "post"): [
        (
            lambda a, b: "knowledge/",
            lambda a, b: {"category": "faq", "title": "t", "content": "c", "location": a.location.pk},
            400,
        ),
    ],
    ("knowledge-lookup", "get"): [
        (lambda a, b: "knowledge/lookup/?tags=parking", None, 200),
        (lambda a, b: f"knowledge/lookup/?tags=parking&location={a.location.pk}", None, 200),
    ],
    ("knowledge-detail", "get"): [(lambda a, b: f"knowledge/{a.knowledge.pk}/", None, 404)],
    ("knowledge-detail", "put"): [
        (lambda a, b: f"knowledge/{a.knowledge.pk}/", lambda a, b: {"title": "x"}, 404)
    ],
    ("knowledge-detail", "patch"): [
        (lambda a, b: f"knowledge/{a.knowledge.pk}/", lambda a, b: {"title": "x"}, 404)
    ],
    ("knowledge-detail", "delete"): [(lambda a, b: f"knowledge/{a.knowledge.pk}/", None, 404)],
}


def test_the_api_matrix_covers_every_voice_route_and_method() -> None:
    # DRF adds "head" (as "get") to a route's actions once it has served a request.
    routes = {
        (pattern.name, method)
        for pattern in api_patterns
        if hasattr(pattern.callback, "actions")
        for method in pattern.callback.actions
        if method != "head"
    }
    assert set(API_MATRIX) == routes
    # the only other route is the index of links, which holds no tenant's data
    assert [pattern.name for pattern in api_patterns if not hasattr(pattern.callback, "actions")] == ["index"]


@pytest.mark.parametrize("route", sorted(API_MATRIX), ids=lambda route: f"{route[0]}:{route[1]}")
def test_a_member_of_b_reaches_nothing_of_a_through_the_api(route, tenant_a, tenant_b, client_b) -> None:
    before = a_fingerprint(tenant_a)
    name, method = route
    for path, body, expected in API_MATRIX[route]:
        url = V + path(tenant_a, tenant_b)
        data = body(tenant_a, tenant_b) if body else None
        response = (
            getattr(client_b, method)(url, data, format="json")
            if data is not None
            else getattr(client_b, method)(url)
        )
        if expected == "list":
            assert response.status_code == 200, (url, response.content[:300])
        else:
            assert response.status_code == expected, (url, response.status_code, response.content[:300])
        row_id = _first_id(url)
        if response.status_code == 404 and row_id:
            # Indistinguishable from a row that does not exist (but for the id it names).
            missing = url.replace(f"/{row_id}/", f"/{NOT_FOUND_ID}/", 1)
            other = (
                getattr(client_b, method)(missing, data, format="json")
                if data is not None
                else getattr(client_b, method)(missing)
            )
            assert other.status_code == 404
            assert response.content.decode() == other.content.decode().replace(str(NOT_FOUND_ID), row_id)
        no_trace_of_a(response)
    assert a_fingerprint(tenant_a) == before


def _first_id(url: str) -> str | None:
    for part in url.split("/"):
        if part.isdigit():
            return part
    return None


def test_a_superuser_sees_both_and_a_member_of_a_sees_its_own(
    token_client, make_user, tenant_a, tenant_b, client_a
) -> None:
    # The matrix is not vacuous: the same requests find A's rows for A.
    assert client_a.get(f"{V}locations/{tenant_a.location.pk}/").status_code == 200
    assert client_a.get(f"{V}calls/{tenant_a.call.pk}/").json()["call_id"] == "Acme-call"
    root = token_client(make_user("root", group=None, superuser=True))
    assert root.get(f"{V}knowledge/").json()["count"] == 2


# --- the admin --------------------------------------------------------------------------------------------

VOICE_ADMINS = {
    model: model_admin
    for model, model_admin in admin.site._registry.items()
    if model._meta.app_label == "voice"
}


def _object_for(model: type, tenant: Tenant) -> Any:
    return {
        Location: tenant.location,
        Service: tenant.service,
        Provider: tenant.provider,
        Appointment: tenant.appointment,
        AgentConfig: tenant.config,
        Call: tenant.call,
        KnowledgeEntry: tenant.knowledge,
        Organization: tenant.organization,
        Membership: None,
    }[model]


# Admin URL name suffix -> how B asks for it with A's rows, and the status B must get.
def admin_requests(model: type, a: Tenant, b: Tenant) -> dict[str, list[tuple[str, str, int]]]:
    info = f"admin:voice_{model._meta.model_name}"
    obj = _object_for(model, a)
    if model is Membership:
        obj = Membership.objects.create(
            organization=a.organization, user=a.config.created_by or _a_user(), role="staff"
        )
    pk = obj.pk
    listing = 403 if model in (Organization, Membership) else 200
    adding = 403 if model in (Organization, Membership, Call) else 200
    requests = {
        "changelist": [("get", reverse(f"{info}_changelist"), listing)],
        "add": [("get", reverse(f"{info}_add"), adding)],
        "change": [
            ("get", reverse(f"{info}_change", args=[pk]), 404),
            ("post", reverse(f"{info}_change", args=[pk]), 404),
        ],
        "delete": [
            ("get", reverse(f"{info}_delete", args=[pk]), 404),
            ("post", reverse(f"{info}_delete", args=[pk]), 404),
        ],
        "history": [("get", reverse(f"{info}_history", args=[pk]), 404)],
    }
    if model is KnowledgeEntry:
        version = KnowledgeEntry.history.filter(id=pk).first()
        requests["simple_history"] = [
            ("get", reverse(f"{info}_simple_history", args=[pk, version.history_id]), 404)
        ]
    if model is AgentConfig:
        requests["diff"] = [("get", reverse(f"{info}_diff") + f"?old={pk}&new={b.config.pk}", 404)]
        requests["activate"] = [("post", reverse(f"{info}_activate", args=[pk]), 404)]
    if model is Call:
        requests["analytics"] = [("get", reverse(f"{info}_analytics") + f"?location={a.location.pk}", 200)]
    if model is Appointment:
        requests["changelist"].append(
            ("get", reverse(f"{info}_changelist") + f"?location={a.location.pk}", 200)
        )
    return requests


def _a_user() -> Any:
    from django.contrib.auth.models import User

    return User.objects.create(username="acme-someone", password="!")


def _admin_names(model_admin: Any) -> set[str]:
    prefix = f"voice_{model_admin.model._meta.model_name}_"
    return {
        p.name.removeprefix(prefix) for p in model_admin.get_urls() if isinstance(p, URLPattern) and p.name
    }


def test_the_admin_matrix_covers_every_voice_admin_page(tenant_a, tenant_b) -> None:
    for model, model_admin in VOICE_ADMINS.items():
        assert set(admin_requests(model, tenant_a, tenant_b)) == _admin_names(model_admin), model


@pytest.mark.parametrize(
    "model", sorted(VOICE_ADMINS, key=lambda m: m._meta.model_name), ids=lambda m: m._meta.model_name
)
def test_a_member_of_b_reaches_nothing_of_a_in_the_admin(model, manager_b, tenant_a, tenant_b) -> None:
    """Each page answers what it answers for an id that does not exist (404; or 403 where the page is
    refused to B for every row alike, e.g. deleting calls), and shows nothing of A."""
    client = Client()
    client.force_login(manager_b)
    requests = admin_requests(model, tenant_a, tenant_b)
    before = a_fingerprint(tenant_a)
    for page, calls in requests.items():
        for method, url, expected in calls:
            data = {"post": "yes"} if method == "post" else None
            response = getattr(client, method)(url, data)
            no_trace_of_a(response)
            row_id = _first_id(url)
            if page in ("changelist", "add", "analytics") or row_id is None:
                assert response.status_code == expected, (page, method, url, response.status_code)
                continue
            missing = getattr(client, method)(url.replace(f"/{row_id}/", f"/{NOT_FOUND_ID}/", 1), data)
            assert response.status_code == missing.status_code, (page, method, url)
            assert response.status_code in (403, 404), (page, method, url, response.status_code)
    assert a_fingerprint(tenant_a) == before


def test_b_gets_404_for_the_pages_of_a_rows_b_could_open_of_its_own(manager_b, tenant_a, tenant_b) -> None:
    client = Client()
    client.force_login(manager_b)
    for model, own, foreign in [
        ("location", tenant_b.location, tenant_a.location),
        ("appointment", tenant_b.appointment, tenant_a.appointment),
        ("agentconfig", tenant_b.config, tenant_a.config),
        ("call", tenant_b.call, tenant_a.call),
        ("knowledgeentry", tenant_b.knowledge, tenant_a.knowledge),
    ]:
        for page in ("change", "history"):
            assert client.get(reverse(f"admin:voice_{model}_{page}", args=[own.pk])).status_code == 200
            assert client.get(reverse(f"admin:voice_{model}_{page}", args=[foreign.pk])).status_code == 404


def test_the_admin_index_and_app_page_show_nothing_of_a(manager_b, tenant_a, tenant_b) -> None:
    client = Client()
    client.force_login(manager_b)
    for url in (reverse("admin:index"), reverse("admin:app_list", args=["voice"])):
        response = client.get(url)
        assert response.status_code == 200
        no_trace_of_a(response)
    assert b"Locations" in client.get(reverse("admin:index")).content


def test_the_admin_autocomplete_offers_only_b_rows(manager_b, tenant_a, tenant_b) -> None:
    client = Client()
    client.force_login(manager_b)
    for term in ("acme", "downtown"):
        response = client.get(
            reverse("admin:autocomplete"),
            {"app_label": "voice", "model_name": "appointment", "field_name": "location", "term": term},
        )
        assert response.status_code == 200
        no_trace_of_a(response)
    assert [row["text"] for row in response.json()["results"]] == ["Globex Downtown"]


def test_a_member_of_a_sees_its_rows_in_the_admin(manager_a, tenant_a, tenant_b) -> None:
    client = Client()
    client.force_login(manager_a)
    changelist = client.get(reverse("admin:voice_location_changelist")).content.decode()
    assert "Acme Downtown" in changelist and "Globex" not in changelist
    assert client.get(reverse("admin:voice_call_change", args=[tenant_a.call.pk])).status_code == 200
