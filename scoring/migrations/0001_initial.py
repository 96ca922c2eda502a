"""The pre-upgrade schema of seed 004, as it stood before the scoring upgrade.

user_call_scores (person, current score, created, updated), call_queue (person, queue type including the
legacy `callback`, status pending/in_progress/completed, priority, created) and call sessions (person,
human agent, started, ended, outcome, notes). The seed's `user_id BIGINT` is the sales floor's person,
routing.Lead, as a real foreign key.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("agents", "0010_automation_fulltext_and_delete_rules"),
        ("routing", "0011_lead_routing_tables"),
    ]

    operations = [
        migrations.CreateModel(
            name="UserCallScore",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("current_score", models.IntegerField(default=0)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "person",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="call_score", to="routing.lead"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="CallQueueEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "queue_type",
                    models.CharField(
                        choices=[
                            ("unsigned_users", "Unsigned users"),
                            ("outstanding_requests", "Outstanding requests"),
                            ("callback", "Callback"),
                        ],
                        max_length=191,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("in_progress", "In progress"), ("completed", "Completed")],
                        default="pending",
                        max_length=32,
                    ),
                ),
                ("priority", models.IntegerField(default=0)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="call_queue_entries",
                        to="routing.lead",
                    ),
                ),
            ],
            options={"verbose_name_plural": "call queue entries"},
        ),
        migrations.CreateModel(
            name="CallSession",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                ("outcome", models.CharField(blank=True, max_length=64)),
                ("notes", models.TextField(blank=True)),
                (
                    "agent",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="call_sessions",
                        to="agents.humanagent",
                    ),
                ),
                (
                    "person",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="call_sessions",
                        to="routing.lead",
                    ),
                ),
            ],
        ),
    ]
