"""Data only: fill every queue entry's serving copy (0009) from its person's score row.

serving_score = current_score, serving_active = is_active, serving_time_zone = time_zone,
serving_call_attempts = call_attempts, serving_last_call_at = last_call_at. An entry whose person has no
score row keeps 0009's defaults (score 0, active, UTC, no attempts, never called), which is what the
services write for it when they create the row.

Set-based: one `UPDATE ... FROM` per batch of BATCH_SIZE entries by primary key (PostgreSQL and SQLite
>= 3.33 both have it), one transaction per batch (`atomic = False`), so 1,000,000 rows never sit in one
transaction and a rerun writes the same values. Table names come from the historical models. On
PostgreSQL each batch looks its score rows up by the unique person_id (hash and merge joins off for the
batch's transaction): the planner otherwise hashes all 1,000,000 score rows for every 50,000-entry batch.

Reverse: nothing to undo (RunPython.noop on purpose): the values live only in the columns 0009 added,
which reversing 0009 drops.
"""

from django.db import migrations, transaction

BATCH_SIZE = 50_000


def backfill_queue_serving_copy(apps, schema_editor, batch_size=None):
    batch_size = batch_size or BATCH_SIZE  # read at call time, so a test can shrink it
    Entry = apps.get_model("scoring", "CallQueueEntry")
    Score = apps.get_model("scoring", "UserCallScore")
    db = schema_editor.connection.alias
    entries, scores = Entry._meta.db_table, Score._meta.db_table
    sql = (
        f"UPDATE {entries} SET serving_score = s.current_score, serving_active = s.is_active, "
        f"serving_time_zone = s.time_zone, serving_call_attempts = s.call_attempts, "
        f"serving_last_call_at = s.last_call_at FROM {scores} s "
        f"WHERE s.person_id = {entries}.person_id AND {entries}.id > %s AND {entries}.id <= %s"
    )
    ids = Entry.objects.using(db)
    updated, last = 0, 0
    while True:
        high = ids.filter(id__gt=last).order_by("id").values_list("id", flat=True)[batch_size - 1 : batch_size]
        high = next(iter(high), None)
        with transaction.atomic(using=db), schema_editor.connection.cursor() as cursor:
            if schema_editor.connection.vendor == "postgresql":
                # A batch's entries are a small range: look each score row up by its unique person_id
                # (nested loop) rather than hash all 1,000,000 score rows again for every batch.
                cursor.execute("SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off")
            if high is None:  # the last (partial) batch: everything above `last`
                cursor.execute(sql.replace(f" AND {entries}.id <= %s", ""), [last])
                return updated + cursor.rowcount
            cursor.execute(sql, [last, high])
            updated += cursor.rowcount
        last = high


class Migration(migrations.Migration):
    atomic = False  # one transaction per batch

    dependencies = [("scoring", "0009_queue_serving_copy")]

    operations = [migrations.RunPython(backfill_queue_serving_copy, migrations.RunPython.noop, elidable=False)]
