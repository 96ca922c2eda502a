"""Fill the queue columns added in 0002 for entries that already exist.

- `language`: copied from the entry's case (the queue is scanned without joining cases).
- `next_escalation_at`: queued_at + max_wait x (escalation_count + 1), for waiting entries; computed in
  Python per batch because interval arithmetic is spelt differently on each database.

Batched by primary key, one transaction per batch, idempotent (only rows still missing a value are
touched). Reversing is a no-op: 0002's reverse drops the columns.
"""

from __future__ import annotations

import datetime as dt

from django.db import migrations, transaction
from django.db.models import OuterRef, Subquery

BATCH = 2_000


def backfill(apps, schema_editor) -> None:
    entry_model = apps.get_model("routing", "EscalationQueueEntry")
    case_model = apps.get_model("routing", "SupportCase")
    manager = entry_model.objects.using(schema_editor.connection.alias)

    language = Subquery(case_model.objects.filter(case_id=OuterRef("case_id")).values("language")[:1])
    while True:
        with transaction.atomic(using=schema_editor.connection.alias):
            ids = list(
                manager.filter(language="", case__language__gt="").order_by("pk").values_list("pk", flat=True)[
                    :BATCH
                ]
            )
            if not ids:
                break
            manager.filter(pk__in=ids).update(language=language)

    while True:
        with transaction.atomic(using=schema_editor.connection.alias):
            rows = list(
                manager.filter(status="queued", next_escalation_at__isnull=True)
                .order_by("pk")
                .values_list("pk", "queued_at", "max_wait_minutes", "escalation_count")[:BATCH]
            )
            if not rows:
                break
            updates = [
                entry_model(pk=pk, next_escalation_at=queued_at + dt.timedelta(minutes=wait * (count + 1)))
                for pk, queued_at, wait, count in rows
            ]
            manager.bulk_update(updates, ["next_escalation_at"])


class Migration(migrations.Migration):
    atomic = False  # one transaction per batch

    dependencies = [("routing", "0002_queue_sweep_columns_and_indexes")]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
