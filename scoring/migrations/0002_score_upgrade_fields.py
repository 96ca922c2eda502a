"""Seed 004 upgrade, step 1 (schema only): the new columns of user_call_scores with safe defaults.

is_active (default true: Django fills every existing row with it as the column is added, so the seed's
`SET is_active = true WHERE is_active IS NULL` has nothing left to do), current_queue_type, last_reset_date
and last_queue_check (NULL until 0005 backfills them). Reversing drops the four columns; the rows and the
columns they had before stay as they were.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scoring", "0001_initial")]

    operations = [
        migrations.AddField(model_name="usercallscore", name="is_active", field=models.BooleanField(default=True)),
        migrations.AddField(
            model_name="usercallscore",
            name="current_queue_type",
            field=models.CharField(blank=True, max_length=191, null=True),
        ),
        migrations.AddField(
            model_name="usercallscore", name="last_reset_date", field=models.DateTimeField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="usercallscore", name="last_queue_check", field=models.DateTimeField(blank=True, null=True)
        ),
    ]
