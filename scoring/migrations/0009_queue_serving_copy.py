"""Schema only: the queue entry's serving copy of its person's score row.

serving_score, serving_active, serving_time_zone, serving_call_attempts and serving_last_call_at: what the
next-person claim orders and filters on, so that one index on the entry table serves the whole walk (the
serving order used to span the score row and the entry, which no index can walk). Added with constant
defaults (no table rewrite on PostgreSQL); 0010 fills them, 0011 indexes them.

Also, before 0010 rewrites every entry, three indexes fewer to maintain on each write: the two agent
foreign keys (callback_agent, claimed_by) trade their full indexes, almost all NULLs, for partial ones
over the rows that have an agent (what SET NULL on an agent's delete looks up), and the person foreign
key drops its own index, which call_queue_person_type_idx (person, queue_type, status) already serves.

Reversible by Django's inverse operations (the columns dropped, the full indexes back).
"""

import django.db.models.deletion
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
        migrations.AlterField(
            model_name="callqueueentry",
            name="person",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="call_queue_entries",
                to="routing.lead",
            ),
        ),
        migrations.AlterField(
            model_name="callqueueentry",
            name="callback_agent",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                help_text="Empty: anyone may take the callback.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="agents.humanagent",
            ),
        ),
        migrations.AlterField(
            model_name="callqueueentry",
            name="claimed_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="agents.humanagent",
            ),
        ),
        migrations.AddIndex(
            model_name="callqueueentry",
            index=models.Index(
                condition=models.Q(("callback_agent__isnull", False)),
                fields=["callback_agent"],
                name="call_queue_callback_agent_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="callqueueentry",
            index=models.Index(
                condition=models.Q(("claimed_by__isnull", False)), fields=["claimed_by"], name="call_queue_claimed_by_idx"
            ),
        ),
    ]
