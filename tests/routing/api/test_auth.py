"""The routing API's authentication and permissions."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests.routing.api.client import (
    CASES,
    QUEUE,
    assert_nothing_routed,
    case_url,
    payload,
)
from tests.routing.floor import waiting_entry

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", CASES),
        ("get", QUEUE),
        ("get", case_url("case_001")),
        ("post", case_url("case_001", "start")),
        ("post", case_url("case_001", "complete")),
    ],
)
def test_anonymous_requests_are_401(api_client: APIClient, method: str, url: str):
    response = getattr(api_client, method)(url, {}, format="json")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", CASES),
        ("post", case_url("case_001", "start")),
        ("post", case_url("case_001", "complete")),
    ],
)
def test_analysts_may_not_route_start_or_complete(analyst_client: APIClient, billing, method: str, url: str):
    response = getattr(analyst_client, method)(url, payload(), format="json")
    assert response.status_code == 403
    assert_nothing_routed()


def test_analysts_may_read_the_queue_and_cases(analyst_client: APIClient):
    waiting_entry("case_q")
    assert analyst_client.get(QUEUE).status_code == 200
    assert analyst_client.get(case_url("case_q")).status_code == 200


def test_a_staff_user_without_routing_permissions_is_403(api_client: APIClient, django_user_model):
    user = django_user_model.objects.create_user("nobody", "n@example.com", "x", is_staff=True)
    api_client.force_authenticate(user)
    assert api_client.get(QUEUE).status_code == 403
    assert api_client.get(case_url("case_001")).status_code == 403
