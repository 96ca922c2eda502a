"""Schema only: the claim's indexes on the serving copy (after 0010 filled it, so the backfill does not
maintain them row by row).

- call_queue_serving_idx: (queue_type, serving_score DESC, created_at, id) over pending, active,
  non-callback entries: the regular walk's WHERE and ORDER BY;
- call_queue_cb_serving_idx: (queue_type, callback_scheduled_for, serving_score DESC, id) over pending,
  active callbacks with a time: the due-callback walk's, up to now;
- call_queue_legacy_cb_idx: (queue_type, serving_score DESC, id) over pending, active callbacks without a
  time (the upgrade's legacy ones): their walk, served first (PostgreSQL does not order by the columns
  after an `IS NULL` column of the index above, and picked a 10,000-row scan instead).
Reversible by Django's inverse operations (the indexes dropped).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scoring", "0010_backfill_queue_serving_copy")]

    operations = [
        migrations.AddIndex(
            model_name='callqueueentry',
            index=models.Index(condition=models.Q(('callback_id__isnull', True), ('serving_active', True), ('status', 'pending')), fields=['queue_type', '-serving_score', 'created_at', 'id'], name='call_queue_serving_idx'),
        ),
        migrations.AddIndex(
            model_name='callqueueentry',
            index=models.Index(condition=models.Q(('callback_id__isnull', False), ('serving_active', True), ('status', 'pending')), fields=['queue_type', 'callback_scheduled_for', '-serving_score', 'id'], name='call_queue_cb_serving_idx'),
        ),
        migrations.AddIndex(
            model_name="callqueueentry",
            index=models.Index(
                condition=models.Q(
                    ("callback_id__isnull", False),
                    ("callback_scheduled_for__isnull", True),
                    ("serving_active", True),
                    ("status", "pending"),
                ),
                fields=["queue_type", "-serving_score", "id"],
                name="call_queue_legacy_cb_idx",
            ),
        ),
    ]
