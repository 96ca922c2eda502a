"""Create the Supervisors and Analysts groups with their permissions (see agents.roles)."""

from django.db import migrations


def create_roles(apps, schema_editor):
    from agents.roles import role_permissions_sync

    role_permissions_sync(apps)


def remove_roles(apps, schema_editor):
    from agents.roles import roles_remove

    roles_remove(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
