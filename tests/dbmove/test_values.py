"""How the move compares a value read on SQLite with the same value read on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import models

from dbmove.move import masked
from dbmove.values import TableChecksum, canonicalizer


def test_json_compares_by_content_with_integral_floats_as_integers():
    canonical = canonicalizer(models.JSONField())

    assert canonical({"b": [1.0, 1e2], "a": "é"}) == canonical({"a": "é", "b": [1, 100]})
    assert canonical({"a": 1.5}) != canonical({"a": 1})
    assert canonical(None) != canonical("null")


def test_decimals_compare_at_the_fields_scale():
    canonical = canonicalizer(models.DecimalField(max_digits=5, decimal_places=2))

    assert canonical(Decimal("0.7")) == canonical(Decimal("0.70")) == "0.70"


def test_datetimes_compare_as_utc_instants():
    canonical = canonicalizer(models.DateTimeField())
    instant = dt.datetime(2026, 3, 5, 10, 15, 30, 123456, tzinfo=dt.UTC)

    assert canonical(instant) == canonical(instant.astimezone(ZoneInfo("Asia/Kolkata")))


def test_the_checksum_does_not_depend_on_row_order_but_on_every_value():
    fields = [models.IntegerField(), models.UUIDField(), models.BooleanField()]
    rows = [(1, uuid.UUID(int=1), True), (2, uuid.UUID(int=2), False)]
    forwards, backwards, changed = TableChecksum(fields), TableChecksum(fields), TableChecksum(fields)
    forwards.add_rows(rows)
    backwards.add_rows(reversed(rows))
    changed.add_rows([rows[0], (2, uuid.UUID(int=2), True)])

    assert (forwards.count, forwards.hexdigest) == (backwards.count, backwards.hexdigest)
    assert changed.hexdigest != forwards.hexdigest


def test_printed_urls_hide_the_password():
    assert masked("postgres://sb:s3cret@db:5432/switchboard") == "postgres://sb:***@db:5432/switchboard"
    assert masked("postgres://postgres@127.0.0.1/sb") == "postgres://postgres@127.0.0.1/sb"
