"""verify_scoring_upgrade's refusals (its passing run is in test_migrations.py, across the real upgrade)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

pytestmark = pytest.mark.django_db


def test_a_plain_run_without_a_snapshot_exits_non_zero_saying_what_to_do(tmp_path) -> None:
    with pytest.raises(CommandError, match="No snapshot at .*: run with --snapshot before migrating"):
        call_command("verify_scoring_upgrade", "--file", str(tmp_path / "none.json"))


def test_a_snapshot_that_is_not_json_is_refused(tmp_path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(CommandError, match="is not valid JSON"):
        call_command("verify_scoring_upgrade", "--file", str(broken))
