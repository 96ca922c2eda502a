"""The two staff roles and their permissions, in one place.

Supervisors edit agents and everything hanging off them, work the routing queue, and view the rest of
the back office. Analysts view only. `role_permissions_sync` grants what the table below says for every
model that exists when it runs: a post_migrate handler (agents.apps) calls it after every `migrate` and
`flush`, so models added by later migrations (routing, voice, scoring) are covered without
hand-maintained permission lists. Migration 0002 holds its own frozen copy of this table and logic, so
editing this module never changes what that migration did. It only adds permissions, never removes ones an
administrator granted by hand.
"""

from __future__ import annotations

from typing import Any

PROJECT_APPS = ("agents", "routing", "voice", "scoring")

SUPERVISORS = "Supervisors"
ANALYSTS = "Analysts"

# app_label -> models (lower-case) that supervisors may add/change/delete; "*" means every model of it.
SUPERVISOR_EDITABLE: dict[str, set[str]] = {
    "agents": {"*"},
    "routing": {
        "supportcase",
        "caseassignment",
        "escalationqueueentry",
        # Lead routing: leads, the rules and the experiments (with their variants) are worked by
        # supervisors; routing history, queue entries and experiment assignments are written by routing.
        "lead",
        "routingrule",
        "routingexperiment",
        "routingexperimentvariant",
    },
    # Outbound scoring: supervisors score people, work the call queue (claims, callbacks), log calls and
    # record conversions; the callback event log is written by the services.
    "scoring": {"usercallscore", "callqueueentry", "callsession", "conversion"},
}


def _editable(app_label: str, model_name: str) -> bool:
    """History tables and archives are records: everyone views them, nobody edits them."""
    editable = SUPERVISOR_EDITABLE.get(app_label, set())
    record = model_name.startswith("historical") or model_name.endswith("archive")
    return ("*" in editable or model_name in editable) and not record


def role_permissions_sync(apps: Any) -> None:
    from django.contrib.auth.management import create_permissions

    for label in PROJECT_APPS:
        try:
            app_config = apps.get_app_config(label)
        except LookupError:
            continue
        # Historical app configs (AppConfigStub) lack models_module, which create_permissions checks.
        stub = not hasattr(app_config, "models_module") or app_config.models_module is None
        if stub:
            app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        if stub:
            app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    supervisors, _ = Group.objects.get_or_create(name=SUPERVISORS)
    analysts, _ = Group.objects.get_or_create(name=ANALYSTS)

    supervisor_perms, analyst_perms = [], []
    for perm in Permission.objects.filter(content_type__app_label__in=PROJECT_APPS).select_related(
        "content_type"
    ):
        action = perm.codename.split("_", 1)[0]
        model_name = perm.content_type.model
        if action == "view":
            supervisor_perms.append(perm)
            analyst_perms.append(perm)
        elif _editable(perm.content_type.app_label, model_name):
            supervisor_perms.append(perm)
    supervisors.permissions.add(*supervisor_perms)
    analysts.permissions.add(*analyst_perms)
