"""An agent's capacity counts work of every kind (cases, leads, outbound calls), not only cases.

Seed 000 calls it `max_concurrent_cases`; the column and the API field become `max_concurrent_work`.
Schema only and reversible: a rename keeps every value.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("agents", "0006_availability_pool_walk_index")]

    operations = [
        # The CHECKs name the column: dropped before the rename and added back on the new name.
        migrations.RemoveConstraint(model_name="humanagent", name="agent_capacity_positive"),
        migrations.RemoveConstraint(model_name="humanagent", name="agent_capacity_within_limit"),
        migrations.RenameField("humanagent", "max_concurrent_cases", "max_concurrent_work"),
        migrations.RenameField("historicalhumanagent", "max_concurrent_cases", "max_concurrent_work"),
        migrations.AddConstraint(
            model_name="humanagent",
            constraint=models.CheckConstraint(
                condition=models.Q(("max_concurrent_work__gt", 0)), name="agent_capacity_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="humanagent",
            constraint=models.CheckConstraint(
                condition=models.Q(("max_concurrent_work__lte", 50)), name="agent_capacity_within_limit"
            ),
        ),
    ]
