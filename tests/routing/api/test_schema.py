"""The published OpenAPI contract of the routing endpoints."""

from __future__ import annotations

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_schema_documents_201_and_202_for_routing(schema: dict[str, Any]):
    responses = schema["paths"]["/api/v1/routing/cases/"]["post"]["responses"]
    assert responses["201"]["content"]["application/json"]["schema"]["$ref"].endswith("/AssignedOutcome")
    assert responses["202"]["content"]["application/json"]["schema"]["$ref"].endswith("/QueuedOutcome")
    assert {"400", "401", "403", "409"} <= set(responses)


def test_schema_documents_every_routing_endpoint(schema: dict[str, Any]):
    paths = schema["paths"]
    assert "get" in paths["/api/v1/routing/cases/{case_id}/"]
    assert "post" in paths["/api/v1/routing/cases/{case_id}/start/"]
    complete = paths["/api/v1/routing/cases/{case_id}/complete/"]["post"]
    assert complete["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CaseCompleteInputRequest"
    )
    queue = paths["/api/v1/routing/queue/"]["get"]
    assert {parameter["name"] for parameter in queue["parameters"]} == {"page", "page_size"}
    waiting = schema["components"]["schemas"]["WaitingEntry"]["properties"]
    assert {"position", "waiting_seconds", "waiting_minutes", "sla_breached"} <= set(waiting)
    assert waiting["sla_breached"]["type"] == "boolean"


def test_every_routing_operation_documents_the_project_wide_answers(schema: dict[str, Any]):
    # 401/403 (permissions), 429 with Retry-After (throttling), 413 where a body is taken: config.openapi
    routing_paths = {path: ops for path, ops in schema["paths"].items() if path.startswith("/api/v1/routing")}
    assert (
        len(routing_paths) == 5 + 16
    )  # cases and the queue; lead routing (leads, queue, rules, experiments)
    for path, operations in routing_paths.items():
        for method, operation in operations.items():
            responses = operation["responses"]
            where = f"{method.upper()} {path}"
            assert {"401", "403", "429"} <= set(responses), where
            assert "Retry-After" in responses["429"].get("headers", {}), where
            assert ("413" in responses) == ("requestBody" in operation), where
            for code in {"401", "403", "413", "429"} & set(responses):
                assert responses[code]["content"]["application/json"]["schema"]["$ref"].endswith("/ApiError")


def test_schema_is_valid_without_warnings(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
