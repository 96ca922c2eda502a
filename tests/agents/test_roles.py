"""Supervisors edit agents and the rows hanging off them and view the rest; Analysts only view.

The expectations are written out here rather than derived from agents.roles, except for the routing
models supervisors work (SUPERVISOR_EDITABLE["routing"]), which the routing team extends as it goes.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps as global_apps
from django.contrib.auth.models import Group, Permission, User
from django.core.management.sql import emit_post_migrate_signal
from django.db import connection

from agents.roles import (
    ANALYSTS,
    PROJECT_APPS,
    SUPERVISOR_EDITABLE,
    SUPERVISORS,
    role_permissions_sync,
)

pytestmark = pytest.mark.django_db

EDIT_ACTIONS = ("add", "change", "delete")
# The agent and everything that hangs off it.
AGENT_MODELS = [
    "humanagent",
    "skilldomain",
    "agentskill",
    "agentlanguage",
    "agentspecialization",
    "agentschedule",
    "agentavailability",
    "agentperformance",
    "agentperiodmetrics",
    # the automated agents and their work (agents.models.automated, agents.models.workflows)
    "automatedagent",
    "agentcapability",
    "agentperformancesample",
    "agentmessage",
    "agenttask",
    "workflow",
    "workflowexecution",
]
# Records: everyone views them, nobody edits them.
AGENT_RECORD_MODELS = ["agentperiodmetricsarchive"]


def _member_of(group_name: str) -> User:
    user = User.objects.create_user(f"{group_name.lower()}-member", password="correct-horse-battery")
    user.groups.add(Group.objects.get(name=group_name))
    return User.objects.get(pk=user.pk)  # a fresh instance: no stale permission cache


def _project_models() -> list[Any]:
    return [
        model
        for label in PROJECT_APPS
        if global_apps.is_installed(label)
        for model in global_apps.get_app_config(label).get_models()
    ]


def _perm(model: Any, action: str) -> str:
    return f"{model._meta.app_label}.{action}_{model._meta.model_name}"


def _supervisor_edits(model: Any) -> bool:
    label, name = model._meta.app_label, model._meta.model_name
    if name.startswith("historical"):
        return False
    if label == "agents":
        return True
    return name in SUPERVISOR_EDITABLE.get(label, set()) - {"*"}


def test_every_agent_model_is_covered_by_this_test() -> None:
    names = {model._meta.model_name for model in global_apps.get_app_config("agents").get_models()}
    assert {name for name in names if not name.startswith("historical")} == {
        *AGENT_MODELS,
        *AGENT_RECORD_MODELS,
    }


@pytest.mark.parametrize("model_name", AGENT_RECORD_MODELS)
def test_archives_are_view_only_for_supervisors_and_analysts(model_name: str) -> None:
    for role in (SUPERVISORS, ANALYSTS):
        member = _member_of(role)
        assert member.has_perm(f"agents.view_{model_name}")
        assert not any(member.has_perm(f"agents.{action}_{model_name}") for action in EDIT_ACTIONS)


@pytest.mark.parametrize("model_name", AGENT_MODELS)
def test_supervisors_add_change_and_delete_agents_and_their_rows(model_name: str) -> None:
    supervisor = _member_of(SUPERVISORS)
    for action in ("view", *EDIT_ACTIONS):
        assert supervisor.has_perm(f"agents.{action}_{model_name}"), f"{action} {model_name}"


def test_supervisors_only_view_everything_else_in_the_project() -> None:
    supervisor = _member_of(SUPERVISORS)
    view_only = [model for model in _project_models() if not _supervisor_edits(model)]
    assert any(model._meta.app_label == "agents" for model in view_only)  # the history tables
    for model in view_only:
        assert supervisor.has_perm(_perm(model, "view")), _perm(model, "view")
        for action in EDIT_ACTIONS:
            assert not supervisor.has_perm(_perm(model, action)), _perm(model, action)


def test_supervisors_cannot_edit_history_rows() -> None:
    supervisor = _member_of(SUPERVISORS)
    assert supervisor.has_perm("agents.view_historicalhumanagent")
    assert not supervisor.has_perm("agents.change_historicalhumanagent")
    assert not supervisor.has_perm("agents.delete_historicalagentskill")


def test_supervisors_work_the_routing_queue_they_are_granted() -> None:
    supervisor = _member_of(SUPERVISORS)
    editable = [model for model in _project_models() if model._meta.app_label == "routing"]
    editable = [model for model in editable if _supervisor_edits(model)]
    assert editable, "no routing model is editable by supervisors; see agents.roles.SUPERVISOR_EDITABLE"
    for model in editable:
        for action in ("view", *EDIT_ACTIONS):
            assert supervisor.has_perm(_perm(model, action)), _perm(model, action)


def test_the_routing_grants_are_exactly_the_ones_a_supervisor_needs() -> None:
    # Stated here, not read from agents.roles: a wrong entry in the live table must fail this test.
    supervisor = _member_of(SUPERVISORS)
    for name in ("supportcase", "caseassignment", "escalationqueueentry"):  # route, assign, requeue
        assert supervisor.has_perm(f"routing.change_{name}"), name
    for name in ("lead", "routingrule", "routingexperiment", "routingexperimentvariant"):  # lead routing API
        for action in EDIT_ACTIONS:
            assert supervisor.has_perm(f"routing.{action}_{name}"), f"{action} {name}"
    for name in ("leadroutinghistory", "assignmentqueue", "leadexperimentassignment"):  # written by routing
        assert supervisor.has_perm(f"routing.view_{name}"), name
        for action in EDIT_ACTIONS:
            assert not supervisor.has_perm(f"routing.{action}_{name}"), f"{action} {name}"
    for name in ("routingdecision", "routingevent", "caseassignmentarchive"):  # the audit trail
        assert supervisor.has_perm(f"routing.view_{name}"), name
        for action in EDIT_ACTIONS:
            assert not supervisor.has_perm(f"routing.{action}_{name}"), f"{action} {name}"


def test_the_scoring_grants_are_the_ones_the_outbound_api_needs() -> None:
    # Score, claim, callbacks, call sessions and conversions (/api/v1/scoring/); the callback log is a record.
    supervisor = _member_of(SUPERVISORS)
    for name in ("usercallscore", "callqueueentry", "callsession", "conversion"):
        for action in ("view", *EDIT_ACTIONS):
            assert supervisor.has_perm(f"scoring.{action}_{name}"), f"{action} {name}"
    assert supervisor.has_perm("scoring.view_callbackevent")
    for action in EDIT_ACTIONS:
        assert not supervisor.has_perm(f"scoring.{action}_callbackevent"), action


def test_analysts_only_view() -> None:
    analyst = _member_of(ANALYSTS)
    for model in _project_models():
        assert analyst.has_perm(_perm(model, "view")), _perm(model, "view")
        for action in EDIT_ACTIONS:
            assert not analyst.has_perm(_perm(model, action)), _perm(model, action)


@pytest.mark.parametrize("group_name", [SUPERVISORS, ANALYSTS])
def test_roles_grant_nothing_outside_the_project_apps(group_name: str) -> None:
    member = _member_of(group_name)
    assert not member.has_perm("auth.view_user")
    assert not member.has_perm("auth.change_group")
    assert (
        Group.objects.get(name=group_name)
        .permissions.exclude(content_type__app_label__in=PROJECT_APPS)
        .count()
        == 0
    )


def _grants() -> dict[str, set[str]]:
    return {
        group.name: set(group.permissions.values_list("content_type__app_label", "codename"))
        for group in Group.objects.filter(name__in=[SUPERVISORS, ANALYSTS])
    }


def test_role_permissions_sync_is_idempotent() -> None:
    # given the state migrate leaves
    grants = _grants()
    permissions = Permission.objects.count()
    # when
    role_permissions_sync(global_apps)
    role_permissions_sync(global_apps)
    # then
    assert _grants() == grants
    assert Permission.objects.count() == permissions
    assert Group.objects.filter(name=SUPERVISORS).count() == 1
    assert Group.objects.filter(name=ANALYSTS).count() == 1


def test_role_permissions_sync_keeps_a_grant_made_by_hand() -> None:
    analysts = Group.objects.get(name=ANALYSTS)
    analysts.permissions.add(Permission.objects.get(codename="change_agentschedule"))
    role_permissions_sync(global_apps)
    assert analysts.permissions.filter(codename="change_agentschedule").exists()


def test_role_permissions_sync_restores_missing_groups() -> None:
    grants = _grants()
    Group.objects.filter(name__in=[SUPERVISORS, ANALYSTS]).delete()
    role_permissions_sync(global_apps)
    assert _grants() == grants


def test_post_migrate_without_apps_as_flush_sends_it_resyncs_roles() -> None:
    Group.objects.filter(name__in=[SUPERVISORS, ANALYSTS]).delete()
    emit_post_migrate_signal(0, False, connection.alias)
    assert Group.objects.filter(name__in=[SUPERVISORS, ANALYSTS]).count() == 2
