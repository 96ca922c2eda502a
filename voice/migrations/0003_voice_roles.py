"""Create the "Voice staff" and "Voice managers" groups with their permissions (data only).

Frozen copy of voice.roles as it stood when this migration was written (a migration must keep its
meaning when application code changes later, so it imports nothing from the app); the live table is
granted again by voice.apps' post_migrate handler after every migrate and flush.

Forward: create the voice app's permissions (post_migrate has not run yet inside `migrate`), the two
groups, and grant: both view every voice model but memberships; staff add/change/delete
appointments, knowledge base entries and calls; managers those and locations, their hours and
exceptions, services, providers and agent configurations. Existing members join their role's group.
Only adds grants. Reverse: delete the two groups (their grants and members go with them).
"""

from django.db import migrations

STAFF, MANAGERS = "Voice staff", "Voice managers"
STAFF_WRITES = {"appointment", "knowledgeentry", "call"}
MANAGER_WRITES = STAFF_WRITES | {"location", "locationhours", "locationexception", "service", "provider", "agentconfig"}
NOT_VIEWED = {"membership"}


def create_voice_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    app_config = apps.get_app_config("voice")
    stub = getattr(app_config, "models_module", None) is None
    if stub:
        app_config.models_module = True
    create_permissions(app_config, verbosity=0, apps=apps)
    if stub:
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    Membership = apps.get_model("voice", "Membership")
    models = [model._meta.model_name for model in app_config.get_models()]
    views = {f"view_{name}" for name in models if name not in NOT_VIEWED}
    for name, writes in ((STAFF, STAFF_WRITES), (MANAGERS, MANAGER_WRITES)):
        codenames = views | {f"{action}_{model}" for model in writes for action in ("add", "change", "delete")}
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*Permission.objects.filter(content_type__app_label="voice", codename__in=codenames))
    staff, managers = Group.objects.get(name=STAFF), Group.objects.get(name=MANAGERS)
    for membership in Membership.objects.select_related("user").order_by("pk").iterator():
        membership.user.groups.add(staff)
        if membership.role == "manager":
            membership.user.groups.add(managers)


def remove_voice_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=[STAFF, MANAGERS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("voice", "0002_knowledge_gin_indexes"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_voice_roles, remove_voice_roles)]
