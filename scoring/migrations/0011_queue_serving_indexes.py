"""Schema only: the claim's indexes on the serving copy (after 0010 filled it, so the backfill does not
maintain them row by row).

- call_queue_serving_idx: (queue_type, serving_score DESC, created_at, id) over pending, active,
  non-callback entries: the regular walk's WHERE and ORDER BY;
- call_queue_cb_serving_idx: (queue_type, COALESCE(callback_scheduled_for, 1970-01-01 UTC),
  serving_score DESC, id) over pending, active callbacks: the due-callback walk's, a callback without a
  time (the upgrade's legacy ones) first, the range ending at now (scoring.models.callback_due_at). An
  ASC NULLS FIRST index on the column would serve PostgreSQL, but SQLite cannot build one.
Reversible by Django's inverse operations (the indexes dropped).
"""

import datetime

from django.db import migrations, models
import django.db.models.functions.comparison


class Migration(migrations.Migration):
    dependencies = [("scoring", "0010_backfill_queue_serving_copy")]

    operations = [
        migrations.AddIndex(
            model_name="callqueueentry",
            index=models.Index(
                condition=models.Q(("callback_id__isnull", True), ("serving_active", True), ("status", "pending")),
                fields=["queue_type", "-serving_score", "created_at", "id"],
                name="call_queue_serving_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="callqueueentry",
            index=models.Index(
                models.F("queue_type"),
                django.db.models.functions.comparison.Coalesce(
                    models.F("callback_scheduled_for"),
                    models.Value(
                        datetime.datetime(1970, 1, 1, 0, 0, tzinfo=datetime.UTC),
                        output_field=models.DateTimeField(),
                    ),
                ),
                models.OrderBy(models.F("serving_score"), descending=True),
                models.F("id"),
                condition=models.Q(("callback_id__isnull", False), ("serving_active", True), ("status", "pending")),
                name="call_queue_cb_serving_idx",
            ),
        ),
    ]
