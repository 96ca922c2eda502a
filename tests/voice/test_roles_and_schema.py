"""The project roles' grants on voice models (stated literally here), and the OpenAPI contract of the
voice endpoints (the organization parameter, the error answers)."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User

from agents.roles import ANALYSTS, SUPERVISORS

pytestmark = pytest.mark.django_db

EDITED_BY_SUPERVISORS = [
    "location",
    "locationhours",
    "locationexception",
    "service",
    "provider",
    "appointment",
    "agentconfig",
    "call",
    "knowledgeentry",
]
VIEW_ONLY = ["organization", "membership", "turn", "callevent", "historicalknowledgeentry"]


def _member(group: str) -> User:
    user = User.objects.create(username=f"{group}-voice", password="!")
    user.groups.add(Group.objects.get(name=group))
    return User.objects.get(pk=user.pk)


def test_every_voice_model_is_named_here() -> None:
    names = {model._meta.model_name for model in apps.get_app_config("voice").get_models()}
    assert names == set(EDITED_BY_SUPERVISORS) | set(VIEW_ONLY)


def test_supervisors_edit_the_voice_back_office_and_only_view_tenants_and_telemetry_rows() -> None:
    supervisor = _member(SUPERVISORS)
    for name in EDITED_BY_SUPERVISORS:
        for action in ("view", "add", "change", "delete"):
            assert supervisor.has_perm(f"voice.{action}_{name}"), f"{action} {name}"
    for name in VIEW_ONLY:
        assert supervisor.has_perm(f"voice.view_{name}")
        for action in ("add", "change", "delete"):
            assert not supervisor.has_perm(f"voice.{action}_{name}"), f"{action} {name}"


def test_analysts_only_view_voice_data() -> None:
    analyst = _member(ANALYSTS)
    for name in EDITED_BY_SUPERVISORS + VIEW_ONLY:
        assert analyst.has_perm(f"voice.view_{name}")
        assert not analyst.has_perm(f"voice.change_{name}")


@pytest.fixture(scope="module")
def schema() -> dict:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _voice_operations(schema: dict):
    for path, operations in schema["paths"].items():
        if path.startswith("/api/v1/voice/"):
            for method, operation in operations.items():
                yield path, method, operation


def test_every_voice_operation_documents_the_organization_parameter_and_its_errors(schema) -> None:
    operations = list(_voice_operations(schema))
    assert len(operations) == 46  # every route and method of voice.api.urls
    for path, method, operation in operations:
        names = {parameter["name"] for parameter in operation.get("parameters", [])}
        assert "organization" in names, f"{method} {path}"
        responses = operation["responses"]
        assert {"400", "401", "403", "404", "429"} <= set(responses), f"{method} {path}"
        assert ("413" in responses) == ("requestBody" in operation), f"{method} {path}"
        assert operation.get("summary"), f"{method} {path}"


def test_the_policies_schema_is_published_as_the_server_enforces_it(schema) -> None:
    from voice.schemas import POLICIES_SCHEMA

    published = schema["components"]["schemas"]["AgentConfigPublishRequest"]["properties"]["policies"]
    assert published["properties"] == POLICIES_SCHEMA["properties"]
    assert published["additionalProperties"] is False
