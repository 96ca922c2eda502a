"""queue_language_serving_idx: the dispatch's walk of the queue per language in serving order
(routing.selectors.queue_waiting), each language one ordered range, the band tested on the last key.
Index only: no row changes; the reverse drops it."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0011_supervisor_help_texts'),
        ('routing', '0016_open_difficult_index_not_finished'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='escalationqueueentry',
            index=models.Index(condition=models.Q(('status', 'queued')), fields=['language', '-priority_rank', 'queued_at', 'id', 'wait_deadline'], name='queue_language_serving_idx'),
        ),
    ]
