"""Create the Supervisors and Analysts groups with their permissions.

Frozen copy of agents.roles as it stood when this migration was written: a migration must keep its
meaning when application code changes later, so it imports nothing from the app. agents.roles stays
the live table; its post_migrate handler (agents.apps) grants the same roles on models that later
migrations add, and may evolve without changing what this step did.

Forward: create the permissions of the agents app (post_migrate has not run yet inside `migrate`), the two
groups, and grant supervisors add/change/delete on every agents model (history tables excepted) plus view
on everything in the project apps, analysts view only. It only adds grants, never removes any.
Reverse: delete the two groups (their grants go with them); permissions are Django's and stay.
"""

from django.db import migrations

PROJECT_APPS = ("agents", "routing", "voice", "scoring")
SUPERVISORS = "Supervisors"
ANALYSTS = "Analysts"

# app_label -> models (lower-case) that supervisors may add/change/delete; "*" means every model of it.
SUPERVISOR_EDITABLE = {
    "agents": {"*"},
    "routing": {"supportcase", "caseassignment", "escalationqueueentry"},
}


def _editable(app_label, model_name):
    editable = SUPERVISOR_EDITABLE.get(app_label, set())
    return ("*" in editable or model_name in editable) and not model_name.startswith("historical")


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for label in PROJECT_APPS:
        try:
            app_config = apps.get_app_config(label)
        except LookupError:
            continue
        # Historical app configs (AppConfigStub) lack models_module, which create_permissions checks.
        stub = getattr(app_config, "models_module", None) is None
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
        if action == "view":
            supervisor_perms.append(perm)
            analyst_perms.append(perm)
        elif _editable(perm.content_type.app_label, perm.content_type.model):
            supervisor_perms.append(perm)
    supervisors.permissions.add(*supervisor_perms)
    analysts.permissions.add(*analyst_perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[SUPERVISORS, ANALYSTS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
