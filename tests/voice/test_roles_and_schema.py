"""Who may do what in the voice app, stated literally: the role groups a membership puts a user in,
the project groups' view grants, the frozen migration copy; and the OpenAPI contract of the voice
endpoints (the organization parameter, the error answers)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, User

from agents.roles import ANALYSTS, SUPERVISORS
from voice.models import MembershipRole
from voice.roles import VOICE_MANAGERS, VOICE_STAFF, group_grants
from voice.services.tenancy import membership_delete, membership_save

pytestmark = pytest.mark.django_db

STAFF_EDITS = ["appointment", "knowledgeentry", "call"]
MANAGER_EDITS = [
    *STAFF_EDITS,
    "location",
    "locationhours",
    "locationexception",
    "service",
    "provider",
    "agentconfig",
]
NEVER_EDITED = ["organization", "membership", "turn", "callevent", "historicalknowledgeentry"]


def _fresh(user: User) -> User:
    return User.objects.get(pk=user.pk)  # no stale permission cache


def _in_group(group: str) -> User:
    user = User.objects.create(username=f"{group}-member", password="!")
    user.groups.add(Group.objects.get(name=group))
    return _fresh(user)


def test_every_voice_model_is_named_here() -> None:
    names = {model._meta.model_name for model in apps.get_app_config("voice").get_models()}
    assert names == set(MANAGER_EDITS) | set(NEVER_EDITED)


@pytest.mark.parametrize(("group", "edits"), [(VOICE_STAFF, STAFF_EDITS), (VOICE_MANAGERS, MANAGER_EDITS)])
def test_the_role_groups_grant_their_table(group, edits) -> None:
    member = _in_group(group)
    for name in MANAGER_EDITS + NEVER_EDITED:
        assert member.has_perm(f"voice.view_{name}") == (name != "membership"), name
        for action in ("add", "change", "delete"):
            assert member.has_perm(f"voice.{action}_{name}") == (name in edits), f"{action} {name}"
    assert not member.has_perm("agents.view_humanagent")  # nothing outside the voice app


def test_the_project_groups_only_view_voice_data() -> None:
    for group in (SUPERVISORS, ANALYSTS):
        member = _in_group(group)
        for name in MANAGER_EDITS:
            assert member.has_perm(f"voice.view_{name}")
            assert not member.has_perm(f"voice.change_{name}")


def test_memberships_keep_the_role_groups_in_step(org_a, org_b) -> None:
    user = User.objects.create(username="someone", password="!")
    groups = lambda: set(_fresh(user).groups.values_list("name", flat=True))  # noqa: E731
    staff = membership_save(organization=org_a, user=user, role=MembershipRole.STAFF)
    assert groups() == {VOICE_STAFF}
    manager = membership_save(organization=org_b, user=user, role=MembershipRole.MANAGER)
    assert groups() == {VOICE_STAFF, VOICE_MANAGERS}
    membership_save(organization=org_b, user=user, role=MembershipRole.STAFF)  # demoted
    assert groups() == {VOICE_STAFF}
    membership_delete(membership=staff)
    membership_delete(membership=manager)
    assert groups() == set()


def test_the_migration_keeps_its_own_copy_of_the_table() -> None:
    migration = importlib.import_module("voice.migrations.0003_voice_roles")
    source = Path(migration.__file__).read_text()
    assert "from voice" not in source and "import voice" not in source
    live = group_grants()
    assert {f"{a}_{m}" for m in migration.STAFF_WRITES for a in ("add", "change", "delete")} <= live[
        VOICE_STAFF
    ]
    assert {f"{a}_{m}" for m in migration.MANAGER_WRITES for a in ("add", "change", "delete")} <= live[
        VOICE_MANAGERS
    ]


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
