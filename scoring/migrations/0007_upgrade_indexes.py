"""Seed 004 upgrade, step 8 (schema only): the performance indexes.

user_call_scores_is_active_idx, the seed's user_call_scores_current_queue_type_idx (named
ucs_current_queue_type_idx: Django caps index names at 30 characters) and call_queue_callback_id_idx.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scoring", "0006_conversions")]

    operations = [
        migrations.AddIndex(
            model_name="usercallscore",
            index=models.Index(fields=["is_active"], name="user_call_scores_is_active_idx"),
        ),
        migrations.AddIndex(
            model_name="usercallscore",
            index=models.Index(fields=["current_queue_type"], name="ucs_current_queue_type_idx"),
        ),
        migrations.AddIndex(
            model_name="callqueueentry",
            index=models.Index(fields=["callback_id"], name="call_queue_callback_id_idx"),
        ),
    ]
