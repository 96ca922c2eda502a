"""Case ids: one pattern for the input, the model and the URLs."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework.test import APIClient

from routing.errors import RoutingValidationError
from routing.models import (
    SupportCase,
)
from routing.services import case_route
from tests.routing.api.client import (
    CASES,
    act,
    assert_nothing_routed,
    case_request,
    case_url,
    route,
)
from tests.routing.floor import on_shift_agent

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "case_id", ["a/b", "..", ".hidden", "-dash-first", "caf\u00e9", "a b", "a%2Fb", "a?b", "a#b"]
)
def test_a_case_id_that_cannot_be_a_url_segment_is_400(supervisor_client: APIClient, billing, case_id: str):
    response = route(supervisor_client, case_id=case_id)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_case_id"
    assert list(response.json()["fields"]) == ["case_id"]
    with pytest.raises(RoutingValidationError) as raised:
        case_route(request=case_request(case_id=case_id))
    assert list(raised.value.fields) == ["case_id"]
    assert_nothing_routed()


@pytest.mark.parametrize(
    "case_id", ["a/b", "..", ".hidden", "-dash-first", "caf\u00e9", "a b", "a%2Fb", "a?b", "a#b", "A" * 51]
)
def test_the_case_model_rejects_what_the_api_rejects(case_id: str):
    case = SupportCase(case_id=case_id, priority="high", complexity="low")
    with pytest.raises(DjangoValidationError) as raised:
        case.full_clean()
    assert "case_id" in raised.value.message_dict


@pytest.mark.parametrize("case_id", ["INC-2026.04.01_7", "7", "case_20260401_001", "A" * 50])
def test_the_case_model_accepts_what_the_api_accepts(case_id: str):
    SupportCase(case_id=case_id, priority="high", complexity="low").full_clean(validate_unique=False)


@pytest.mark.parametrize("case_id", ["INC-2026.04.01_7", "7", "case_20260401_001", "A" * 50])
def test_every_accepted_case_id_is_reachable_at_its_urls(supervisor_client: APIClient, billing, case_id: str):
    on_shift_agent()
    assert route(supervisor_client, case_id=case_id).status_code == 201
    assert supervisor_client.get(case_url(case_id)).json()["case_id"] == case_id
    assert act(supervisor_client, case_id, "start").status_code == 200
    assert act(supervisor_client, case_id, "complete", {}).status_code == 200


def test_a_url_that_cannot_name_a_case_is_404(supervisor_client: APIClient):
    assert supervisor_client.get(f"{CASES}.hidden/").status_code == 404
    assert supervisor_client.get(case_url("x" * 60)).json()["code"] == "case_not_found"
