"""The scoring upgrade (seed 004) as migrations, forward to the latest and back to 0001, row for row.

Rows are seeded at 0001 through the historical models: legacy `callback` entries (pending and
completed), people with and without a pending entry, a person with several pending entries, a score row
without any entry, NULLs (a session never ended), scores outside 0..100 (they are kept exactly). Then
the chain runs to the latest migration and every success indicator of the seed is checked; then back to
0001, and each table's checksum must equal the one taken before.

These tests rebuild the schema, so they are transactional (see tests/agents/test_migrations.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
import io
import json
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.migrations.loader import MigrationLoader
from django.db.models import Avg, Max, Min

pytestmark = pytest.mark.usefixtures("seed_rows_back_after_flush")

INITIAL = ("scoring", "0001_initial")
convert = importlib.import_module("scoring.migrations.0004_convert_legacy_callbacks")
backfill = importlib.import_module("scoring.migrations.0005_backfill_score_upgrade_fields")
serving = importlib.import_module("scoring.migrations.0010_backfill_queue_serving_copy")
SERVING_COPY = {
    "serving_score": "current_score",
    "serving_active": "is_active",
    "serving_time_zone": "time_zone",
    "serving_call_attempts": "call_attempts",
    "serving_last_call_at": "last_call_at",
}
T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)

# 0001's columns of each table: what the way back must restore exactly.
COLUMNS = {
    "UserCallScore": ["id", "person_id", "current_score", "created_at", "updated_at"],
    "CallQueueEntry": ["id", "person_id", "queue_type", "status", "priority", "created_at"],
    "CallSession": ["id", "person_id", "agent_id", "started_at", "ended_at", "outcome", "notes"],
}


def _latest() -> tuple[str, str]:
    leaves = [
        node
        for node in MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes()
        if node[0] == "scoring"
    ]
    return leaves[0]


def _model(state: Any, name: str, app: str = "scoring") -> Any:
    return state.apps.get_model(app, name)


def _checksums(state: Any) -> dict[str, str]:
    sums = {}
    for name, columns in COLUMNS.items():
        rows = list(_model(state, name).objects.order_by("id").values_list(*columns))
        sums[name] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return sums


def _seed(state: Any) -> dict[str, Any]:
    """The pre-upgrade rows; returns the people by label."""
    Lead = _model(state, "Lead", "routing")
    Agent = _model(state, "HumanAgent", "agents")
    Score, Entry, Session = (_model(state, n) for n in ("UserCallScore", "CallQueueEntry", "CallSession"))
    agent = Agent.objects.create(
        code="mig_agent",
        name="Mig Agent",
        email="mig@example.com",
        employee_id="E-mig",
        skill_level="intermediate",
    )
    people = {
        label: Lead.objects.create(
            external_id=f"mig-{label}",
            name=f"Person {label}",
            insurance_line="auto",
            customer_segment="retail",
            language="en",
        )
        for label in ("callback_only", "unsigned", "several", "no_pending", "no_entries", "no_score")
    }
    for offset, (label, score) in enumerate(
        [("callback_only", 55), ("unsigned", 80), ("several", -5), ("no_pending", 250), ("no_entries", 0)]
    ):
        Score.objects.create(
            person=people[label],
            current_score=score,
            created_at=T0 - dt.timedelta(days=10 + offset),
            updated_at=T0 - dt.timedelta(days=offset),
        )
    entries = [
        ("callback_only", "callback", "pending", 5, 1),
        ("callback_only", "outstanding_requests", "in_progress", 0, 2),
        ("unsigned", "unsigned_users", "pending", 1, 3),
        ("unsigned", "callback", "completed", 0, 4),
        ("several", "outstanding_requests", "pending", 0, 6),
        ("several", "unsigned_users", "pending", 2, 5),  # the oldest pending one
        ("several", "callback", "pending", 0, 7),
        ("no_pending", "unsigned_users", "completed", 0, 8),
        ("no_score", "callback", "pending", 0, 9),
    ]
    for label, queue_type, status, priority, hours in entries:
        Entry.objects.create(
            person=people[label],
            queue_type=queue_type,
            status=status,
            priority=priority,
            created_at=T0 - dt.timedelta(hours=48 - hours),
        )
    Session.objects.create(
        person=people["unsigned"],
        agent=agent,
        started_at=T0,
        ended_at=T0 + dt.timedelta(minutes=3),
        outcome="no_answer",
        notes="left a message",
    )
    Session.objects.create(person=people["several"], agent=agent, started_at=T0)  # never ended: NULL, blanks
    return people


def _counts(state: Any) -> dict[str, int]:
    return {name: _model(state, name).objects.count() for name in COLUMNS}


def _score_aggregates(state: Any) -> dict[str, Any]:
    return _model(state, "UserCallScore").objects.aggregate(
        min=Min("current_score"), max=Max("current_score"), avg=Avg("current_score")
    )


def test_upgrade_forward_meets_every_success_indicator_and_back_restores_every_row(
    migrator, tmp_path
) -> None:
    # given the pre-upgrade database, and its snapshot taken by the operator's command
    old = migrator.apply_initial_migration(INITIAL)
    people = _seed(old)
    snapshot_file = tmp_path / "before.json"
    call_command("verify_scoring_upgrade", "--snapshot", "--file", str(snapshot_file), stdout=io.StringIO())
    before_counts, before_scores, before_sums = _counts(old), _score_aggregates(old), _checksums(old)
    legacy_callbacks = set(
        _model(old, "CallQueueEntry").objects.filter(queue_type="callback").values_list("id", flat=True)
    )
    assert len(legacy_callbacks) == 4

    # when the upgrade runs
    new = migrator.apply_tested_migration(_latest())

    # then: counts unchanged, scores preserved
    Score, Entry = _model(new, "UserCallScore"), _model(new, "CallQueueEntry")
    assert _counts(new) == before_counts
    assert _score_aggregates(new) == before_scores
    # no 'callback' queue entries remain; each is an outstanding request still marked as a callback
    assert not Entry.objects.filter(queue_type="callback").exists()
    for entry in Entry.objects.filter(id__in=legacy_callbacks):
        assert entry.queue_type == "outstanding_requests"
        assert entry.callback_id == f"legacy-{entry.id}"
        assert entry.callback_reason == convert.LEGACY_REASON
        assert entry.callback_scheduled_for is None
    assert Entry.objects.exclude(id__in=legacy_callbacks).filter(callback_id__isnull=False).count() == 0
    # new fields filled (the seed's COUNT(is_active), COUNT(last_reset_date) = COUNT(*))
    total = Score.objects.count()
    assert Score.objects.filter(is_active=True).count() == total
    assert Score.objects.filter(last_reset_date__isnull=False).count() == total
    for score in Score.objects.all():
        assert score.last_reset_date == score.created_at
    assert Score.objects.values("last_queue_check").distinct().count() == 1  # one migration time
    queue_types = dict(Score.objects.values_list("person__external_id", "current_queue_type"))
    assert queue_types == {
        "mig-callback_only": "outstanding_requests",  # its pending legacy callback, converted first
        "mig-unsigned": "unsigned_users",
        "mig-several": "unsigned_users",  # the oldest of its pending entries
        "mig-no_pending": None,
        "mig-no_entries": None,
    }
    # every entry carries its person's score row as the queue's serving copy (0010); without one, defaults
    for entry in Entry.objects.select_related("person__call_score"):
        score = getattr(entry.person, "call_score", None)
        expected = (
            {f: getattr(score, s) for f, s in SERVING_COPY.items()}
            if score is not None
            else {"serving_score": 0, "serving_active": True, "serving_time_zone": "UTC"}
        )
        assert {f: getattr(entry, f) for f in expected} == expected, entry.person.external_id
    # the conversions table exists, empty
    assert _model(new, "Conversion").objects.count() == 0
    # relationships intact
    assert Entry.objects.filter(person__external_id="mig-no_score").count() == 1
    assert _model(new, "CallSession").objects.filter(agent__code="mig_agent").count() == 2
    assert all(str(people[label].pk) for label in people)
    # and the command says so, indicator by indicator
    out = io.StringIO()
    call_command("verify_scoring_upgrade", "--file", str(snapshot_file), stdout=out)
    assert "All 10 success indicators passed." in out.getvalue()
    assert "FAIL" not in out.getvalue()
    # a state that does not match the snapshot fails, naming the indicators
    state = json.loads(snapshot_file.read_text())
    state.update(scores=state["scores"] + 1, callback_entries=state["callback_entries"] + 1)
    snapshot_file.write_text(json.dumps(state))
    with pytest.raises(
        CommandError, match="UserCallScore count unchanged, .*Every callback entry kept as a callback"
    ):
        call_command("verify_scoring_upgrade", "--file", str(snapshot_file), stdout=io.StringIO())

    # when rolled back to 0001
    back = migrator.apply_tested_migration(INITIAL)

    # then every row is what it was, callback entries included
    assert _checksums(back) == before_sums
    assert (
        set(_model(back, "CallQueueEntry").objects.filter(queue_type="callback").values_list("id", flat=True))
        == legacy_callbacks
    )


def test_data_steps_work_in_batches_rerun_changes_nothing_and_later_callbacks_survive_rollback(
    migrator, monkeypatch
) -> None:
    # given batches of two rows, smaller than the data
    monkeypatch.setattr(convert, "BATCH_SIZE", 2)
    monkeypatch.setattr(backfill, "BATCH_SIZE", 2)
    old = migrator.apply_initial_migration(INITIAL)
    people = _seed(old)
    # when
    new = migrator.apply_tested_migration(("scoring", "0005_backfill_score_upgrade_fields"))
    Entry, Score = _model(new, "CallQueueEntry"), _model(new, "UserCallScore")
    snapshot = (
        sorted(Entry.objects.values_list("id", "queue_type", "callback_id", "callback_reason")),
        sorted(Score.objects.values_list("id", "last_reset_date", "last_queue_check", "current_queue_type")),
    )
    # then a rerun of both steps is a no-op
    assert convert.convert_legacy_callbacks(new.apps, _Editor(), batch_size=2) == 0
    backfill.backfill_score_upgrade_fields(new.apps, _Editor(), batch_size=2, now=T0)
    assert snapshot == (
        sorted(Entry.objects.values_list("id", "queue_type", "callback_id", "callback_reason")),
        sorted(Score.objects.values_list("id", "last_reset_date", "last_queue_check", "current_queue_type")),
    )
    assert not Entry.objects.filter(queue_type="callback").exists()

    # and a callback scheduled after the upgrade is left alone by the way back
    fresh = Entry.objects.create(
        person_id=people["unsigned"].pk,
        queue_type="unsigned_users",
        callback_id="cb_new",
        callback_reason="asked for Tuesday",
        callback_scheduled_for=T0,
    )
    back = migrator.apply_tested_migration(("scoring", "0003_call_queue_callback_fields"))
    row = _model(back, "CallQueueEntry").objects.get(pk=fresh.pk)
    assert (row.queue_type, row.callback_id, row.callback_reason) == (
        "unsigned_users",
        "cb_new",
        "asked for Tuesday",
    )
    assert _model(back, "CallQueueEntry").objects.filter(queue_type="callback").count() == 4


class _Editor:
    """Enough of a schema editor for calling a data step directly."""

    class connection:  # noqa: N801
        alias = "default"


def test_serving_copy_backfill_works_in_batches_and_a_rerun_changes_nothing(migrator) -> None:
    from django.db import connection

    old = migrator.apply_initial_migration(INITIAL)
    _seed(old)
    state = migrator.apply_tested_migration(("scoring", "0010_backfill_queue_serving_copy"))
    Score, Entry = _model(state, "UserCallScore"), _model(state, "CallQueueEntry")
    # given score rows changed after the backfill, and the copies reset to 0009's defaults
    Score.objects.update(current_score=77, time_zone="Europe/Paris", call_attempts=3, last_call_at=T0)
    Entry.objects.update(
        serving_score=0, serving_time_zone="UTC", serving_call_attempts=0, serving_last_call_at=None
    )
    with_score = Entry.objects.filter(person__call_score__isnull=False).count()
    # when the data step runs in batches of two entries, twice
    with connection.schema_editor(atomic=False) as editor:
        assert serving.backfill_queue_serving_copy(state.apps, editor, batch_size=2) == with_score
        first = sorted(Entry.objects.values_list("id", *SERVING_COPY))
        assert serving.backfill_queue_serving_copy(state.apps, editor, batch_size=2) == with_score
    # then every entry with a score row has its copy, the others keep the defaults, and the rerun agreed
    assert sorted(Entry.objects.values_list("id", *SERVING_COPY)) == first
    assert set(
        Entry.objects.filter(person__call_score__isnull=False).values_list(
            "serving_score", "serving_time_zone", "serving_call_attempts", "serving_last_call_at"
        )
    ) == {(77, "Europe/Paris", 3, T0)}
    assert set(
        Entry.objects.filter(person__call_score__isnull=True).values_list("serving_score", flat=True)
    ) == {0}
