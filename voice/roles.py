"""The voice roles as groups: what a membership role lets a user do, as Django model permissions.

How model permissions and memberships combine (voice.access has the rest):
- A membership's role (staff, manager) puts the user in the group of that role, "Voice staff" or
  "Voice managers" (kept in step by voice.services.tenancy whenever memberships change). The groups
  carry the model permissions: staff view every voice model and add, change and delete appointments,
  knowledge base entries and calls (telemetry); managers also locations with their hours and
  exceptions, services, providers and agent configurations. Organizations and memberships are the
  superuser's.
- The project's own groups (agents.roles) still apply: Supervisors and Analysts view voice data.
- Every voice read and write also needs a membership in the row's organization, and a write needs a
  role there that allows it (voice.access.ROLE_WRITES): a user who manages one organization and is
  staff in another holds the managers' permissions, but edits locations only in the first.

The table below is the live one: a post_migrate handler (voice.apps) grants it after every `migrate`
and `flush`; migration 0003 holds its own frozen copy. Grants are only added, never removed.
"""

from __future__ import annotations

from typing import Any

from voice.access import MANAGER, ROLE_WRITES, STAFF

VOICE_STAFF = "Voice staff"
VOICE_MANAGERS = "Voice managers"
ROLE_GROUPS = {STAFF: VOICE_STAFF, MANAGER: VOICE_MANAGERS}
NOT_VIEWED = {"membership"}  # who belongs where: the superuser's


def group_grants() -> dict[str, set[str]]:
    """Group name -> permission codenames (of the voice app) it holds."""
    from django.apps import apps

    models = [model._meta.model_name for model in apps.get_app_config("voice").get_models()]
    views = {f"view_{name}" for name in models if name not in NOT_VIEWED}
    grants = {}
    for role, group in ROLE_GROUPS.items():
        writable = [name for name, roles in ROLE_WRITES.items() if role in roles]
        grants[group] = views | {
            f"{action}_{name}" for name in writable for action in ("add", "change", "delete")
        }
    return grants


def voice_roles_sync(apps: Any) -> None:
    """Create the voice permissions and the two groups, and grant the table (adds only)."""
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("voice")
    stub = not hasattr(app_config, "models_module") or app_config.models_module is None
    if stub:
        app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    if stub:
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in group_grants().items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="voice", codename__in=codenames)
        )
