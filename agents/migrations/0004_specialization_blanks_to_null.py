"""Store a blank insurance line or customer segment as NULL, before 0005 forbids blanks.

0005 makes the (agent, insurance line, customer segment) key treat a NULL segment as one value and adds
CHECKs that refuse '' in both columns (see AgentSpecialization). Rows written earlier through the API may
hold ''; this turns them into NULL, one set-based UPDATE per column.

Reverse: nothing to undo. NULL and '' meant the same before 0005, and which rows held '' is not recorded.
If two rows of one agent differ only in '' against NULL for the segment, 0005 will refuse to build its
unique index: that is a real duplicate for a supervisor to resolve, not something to delete here.
"""

from django.db import migrations


def blanks_to_null(apps, schema_editor):
    AgentSpecialization = apps.get_model("agents", "AgentSpecialization")
    for column in ("insurance_line", "customer_segment"):
        AgentSpecialization.objects.filter(**{column: ""}).update(**{column: None})


class Migration(migrations.Migration):
    dependencies = [("agents", "0003_seed_roster")]

    operations = [
        migrations.RunPython(blanks_to_null, migrations.RunPython.noop, elidable=True),
    ]
