"""Seed 004 upgrade, steps 6 and 7 (schema only): the conversions table with every column and index.

Columns as the seed lists them, the Django way: `id` is the project's big-integer key (the seed's
VARCHAR(191) id came from Prisma's cuid default), `user_id` is a foreign key to the person (routing.Lead,
PROTECT: a conversion is a record of money), `primary_agent_id` a foreign key to agents.HumanAgent with
SET NULL on delete (the seed's step 7; primary keys never change here, so ON UPDATE CASCADE has nothing to
do). `contributing_agents` (a JSON list of agent ids in the seed, so a foreign key nothing checks) is a
many-to-many table. The seed's four indexes keep their names where Django's 30-character limit allows:
conversions_user_id_idx, conversions_converted_at_idx; conversion_type_idx and primary_agent_id_idx are
conversions_type_idx and conversions_primary_agent_idx. Amounts are CHECKed non-negative.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agents", "0010_automation_fulltext_and_delete_rules"),
        ("routing", "0011_lead_routing_tables"),
        ("scoring", "0005_backfill_score_upgrade_fields"),
    ]

    operations = [
        migrations.CreateModel(
            name="Conversion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("previous_queue_type", models.CharField(max_length=191)),
                (
                    "conversion_type",
                    models.CharField(
                        choices=[("signature", "Signature obtained"), ("requirements_met", "Requirements met")],
                        max_length=191,
                    ),
                ),
                ("conversion_reason", models.TextField(blank=True, null=True)),
                ("final_score", models.IntegerField(blank=True, null=True)),
                ("total_call_attempts", models.PositiveIntegerField(default=0)),
                ("last_call_at", models.DateTimeField(blank=True, null=True)),
                ("converted_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("documents_received", models.JSONField(blank=True, null=True)),
                ("signature_obtained", models.BooleanField(default=False)),
                ("requirements_met", models.JSONField(blank=True, null=True)),
                ("claim_value", models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True)),
                ("estimated_commission", models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True)),
                (
                    "person",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="conversions",
                        to="routing.lead",
                    ),
                ),
                (
                    "primary_agent",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="primary_conversions",
                        to="agents.humanagent",
                    ),
                ),
                (
                    "contributing_agents",
                    models.ManyToManyField(blank=True, related_name="contributed_conversions", to="agents.humanagent"),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["person"], name="conversions_user_id_idx"),
                    models.Index(fields=["conversion_type"], name="conversions_type_idx"),
                    models.Index(fields=["converted_at"], name="conversions_converted_at_idx"),
                    models.Index(fields=["primary_agent"], name="conversions_primary_agent_idx"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("claim_value__isnull", True), ("claim_value__gte", 0), _connector="OR"),
                        name="conversion_claim_value_gte_0",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("estimated_commission__isnull", True), ("estimated_commission__gte", 0), _connector="OR"
                        ),
                        name="conversion_commission_gte_0",
                    ),
                ],
            },
        ),
    ]
