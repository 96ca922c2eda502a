"""assignment_open_difficult_idx states "open" as "not finished" (the same rows under the status CHECK),
as the fatigue lockout's count now does, so that the planner cannot take one_open_assignment_per_case
for that count when its statistics predate the open rows (routing.models.OPEN_AS_NOT_FINISHED_Q).
Index only: no row changes; the reverse rebuilds the index as it was."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('agents', '0011_supervisor_help_texts'),
        ('routing', '0015_assignment_agent_metrics_index'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='caseassignment',
            name='assignment_open_difficult_idx',
        ),
        migrations.AddIndex(
            model_name='caseassignment',
            index=models.Index(condition=models.Q(models.Q(('status__in', ['completed', 'escalated', 'transferred']), _negated=True), models.Q(('complexity', 'high'), ('customer_frustration__in', ['high', 'critical']), _connector='OR')), fields=['agent'], name='assignment_open_difficult_idx'),
        ),
    ]
