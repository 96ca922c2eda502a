"""Seed 004 upgrade, step 4 (data only): every `callback` queue entry becomes an `outstanding_requests` entry
that is still recognisably a callback.

Forward, for each entry whose queue type is `callback`:
- queue_type = 'outstanding_requests' (the seed's default for callbacks);
- callback_id = 'legacy-<entry id>' unless it already has one (the mark that makes the way back exact);
- callback_reason = LEGACY_REASON unless it already has one;
- callback_scheduled_for is left as it is: the pre-upgrade schema never recorded when a callback was
  promised, so there is no time to keep; the queue treats a callback without a time as due at once.
Status, priority, person and created time are untouched.

Reverse (the seed's rollback threw the callback entries away; this one does not): every entry whose
callback_id is 'legacy-<its own id>' gets queue_type 'callback' back, and the callback_id and reason this
step wrote are cleared, so the rows are exactly what they were before it ran. Callbacks scheduled after
the upgrade have other ids and are left alone.

Batches of BATCH_SIZE entries by primary key, one transaction per batch (`atomic = False` on the
migration), so 1,000,000 rows never sit in one long transaction and an interrupted run resumes where it
stopped: both directions only touch rows still in the state they change, so rerunning is harmless.
Historical models only (apps.get_model).
"""

from django.db import migrations, models, transaction
from django.db.models import F, Value
from django.db.models.functions import Cast, Coalesce, Concat

BATCH_SIZE = 10_000
LEGACY_QUEUE_TYPE = "callback"
CONVERTED_QUEUE_TYPE = "outstanding_requests"
LEGACY_ID_PREFIX = "legacy-"
LEGACY_REASON = "Callback entry from before the scoring upgrade (queue type 'callback'); time not recorded."


def _legacy_id():
    return Concat(Value(LEGACY_ID_PREFIX), Cast("id", models.CharField(max_length=32)), output_field=models.CharField())


def _batches(queryset, batch_size):
    """Yield (low, high] primary-key bounds covering `queryset`'s rows, batch_size rows at a time."""
    last = 0
    while True:
        ids = list(queryset.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:batch_size])
        if not ids:
            return
        yield last, ids[-1]
        last = ids[-1]


def convert_legacy_callbacks(apps, schema_editor, batch_size=None):
    batch_size = batch_size or BATCH_SIZE  # read at call time, so a test can shrink it
    Entry = apps.get_model("scoring", "CallQueueEntry")
    db = schema_editor.connection.alias
    callbacks = Entry.objects.using(db).filter(queue_type=LEGACY_QUEUE_TYPE)
    converted = 0
    for low, high in _batches(callbacks, batch_size):
        with transaction.atomic(using=db):
            converted += callbacks.filter(id__gt=low, id__lte=high).update(
                queue_type=CONVERTED_QUEUE_TYPE,
                callback_id=Coalesce(F("callback_id"), _legacy_id()),
                callback_reason=Coalesce(F("callback_reason"), Value(LEGACY_REASON)),
            )
    return converted


def restore_legacy_callbacks(apps, schema_editor, batch_size=None):
    batch_size = batch_size or BATCH_SIZE  # read at call time, so a test can shrink it
    Entry = apps.get_model("scoring", "CallQueueEntry")
    db = schema_editor.connection.alias
    marked = (
        Entry.objects.using(db)
        .filter(callback_id__startswith=LEGACY_ID_PREFIX)
        .alias(legacy_id=_legacy_id())
        .filter(callback_id=F("legacy_id"))
    )
    restored = 0
    for low, high in _batches(marked, batch_size):
        with transaction.atomic(using=db):
            batch = marked.filter(id__gt=low, id__lte=high)
            # The reason first, while callback_id still marks the rows.
            batch.filter(callback_reason=LEGACY_REASON).update(callback_reason=None)
            restored += batch.update(queue_type=LEGACY_QUEUE_TYPE, callback_id=None)
    return restored


class Migration(migrations.Migration):
    atomic = False  # one transaction per batch

    dependencies = [("scoring", "0003_call_queue_callback_fields")]

    operations = [migrations.RunPython(convert_legacy_callbacks, restore_legacy_callbacks, elidable=False)]
