"""Seed 004 upgrade, step 5 (schema only): callback_id, callback_scheduled_for, callback_reason on call_queue.

The seed adds these columns after converting the callback entries (its step 4), so the converted entries
could never carry the "callback flags" the seed promises them. Here the columns come first and 0004 sets
them while converting. Reversing drops the three columns (after 0004's reverse has put every legacy
callback entry back).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scoring", "0002_score_upgrade_fields")]

    operations = [
        migrations.AddField(
            model_name="callqueueentry",
            name="callback_id",
            field=models.CharField(blank=True, max_length=191, null=True),
        ),
        migrations.AddField(
            model_name="callqueueentry",
            name="callback_scheduled_for",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="callqueueentry", name="callback_reason", field=models.TextField(blank=True, null=True)
        ),
    ]
