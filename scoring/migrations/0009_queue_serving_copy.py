"""Schema only: the queue entry's serving copy of its person's score row.

serving_score, serving_active, serving_time_zone, serving_call_attempts and serving_last_call_at: what the
next-person claim orders and filters on, so that one index on the entry table serves the whole walk (the
serving order used to span the score row and the entry, which no index can walk). Added with constant
defaults (no table rewrite on PostgreSQL); 0010 fills them, 0011 indexes them. Reversible by Django's
inverse operations (the columns dropped).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0010_automation_fulltext_and_delete_rules'),
        ('routing', '0014_hot_table_autovacuum'),
        ('scoring', '0008_outbound_floor'),
    ]

    operations = [
        migrations.AddField(
            model_name='callqueueentry',
            name='serving_active',
            field=models.BooleanField(default=True, help_text="The person's score row is active."),
        ),
        migrations.AddField(
            model_name='callqueueentry',
            name='serving_call_attempts',
            field=models.PositiveIntegerField(default=0, help_text="The person's attempts."),
        ),
        migrations.AddField(
            model_name='callqueueentry',
            name='serving_last_call_at',
            field=models.DateTimeField(blank=True, help_text="The person's last call.", null=True),
        ),
        migrations.AddField(
            model_name='callqueueentry',
            name='serving_score',
            field=models.IntegerField(default=0, help_text="The person's current score."),
        ),
        migrations.AddField(
            model_name='callqueueentry',
            name='serving_time_zone',
            field=models.CharField(default='UTC', help_text="The person's time zone.", max_length=64),
        ),
    ]
