"""Seed 004 upgrade, steps 2 and 3 (data only): fill the new user_call_scores columns.

For every score row, each column only where it is still NULL (so rerunning changes nothing):
- last_reset_date = created_at (the seed: "use creation date as initial reset");
- last_queue_check = the time this migration started (one instant for every row, not one per batch);
- current_queue_type = the queue type of the person's pending queue entry. The seed's `LIMIT 1` without
  an order picks an arbitrary entry when a person has several; here it is the oldest pending one
  (created_at, then id), so every run and every database agree. A person without a pending entry keeps
  NULL. This runs after 0004, so a pending legacy callback counts as outstanding_requests: the seed's
  order (step 3 before step 4) would have written 'callback' into current_queue_type.
- is_active needs nothing: 0002 added it NOT NULL with default true, so no row has NULL.

Batches of BATCH_SIZE score rows by primary key, one transaction each (`atomic = False`).

Reverse: nothing to undo here (RunPython.noop on purpose): the values live only in the columns 0002
added, which reversing 0002 drops; clearing them on the way would also erase resets recorded after the
upgrade by a database that is only stepping back to 0004.
"""

from django.db import migrations, models, transaction
from django.db.models import F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

BATCH_SIZE = 10_000


def backfill_score_upgrade_fields(apps, schema_editor, batch_size=None, now=None):
    batch_size = batch_size or BATCH_SIZE  # read at call time, so a test can shrink it
    Score = apps.get_model("scoring", "UserCallScore")
    Entry = apps.get_model("scoring", "CallQueueEntry")
    db = schema_editor.connection.alias
    migration_time = now or timezone.now()
    pending_type = Subquery(
        Entry.objects.using(db)
        .filter(person_id=OuterRef("person_id"), status="pending")
        .order_by("created_at", "id")
        .values("queue_type")[:1],
        output_field=models.CharField(),
    )
    scores = Score.objects.using(db)
    updated, last = 0, 0
    while True:
        ids = list(scores.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            return updated
        with transaction.atomic(using=db):
            updated += scores.filter(id__gt=last, id__lte=ids[-1]).update(
                last_reset_date=Coalesce(F("last_reset_date"), F("created_at")),
                last_queue_check=Coalesce(F("last_queue_check"), Value(migration_time)),
                current_queue_type=Coalesce(F("current_queue_type"), pending_type),
            )
        last = ids[-1]


class Migration(migrations.Migration):
    atomic = False  # one transaction per batch

    dependencies = [("scoring", "0004_convert_legacy_callbacks")]

    operations = [migrations.RunPython(backfill_score_upgrade_fields, migrations.RunPython.noop, elidable=False)]
