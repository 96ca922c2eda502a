"""How a row read on one database is compared with the same row read on the other.

Both sides are read through Django (values_list over the same model), so each value arrives as the
Python type of its field whatever the engine stored (SQLite keeps booleans as 0/1, decimals as REAL,
datetimes and UUIDs as text, JSON as text; PostgreSQL has native types). What still differs between two
faithful copies is normalised here and nothing else:
- decimals: written to the field's decimal places;
- datetimes: as the UTC instant (either side may return another offset);
- JSON: keys sorted, and a float with no fraction written as an integer (PostgreSQL's jsonb keeps 1.0 as
  1.0 but reads 1e2 as 100);
- durations: in microseconds.
A row's digest is sha256 over its values in column order; a table's checksum is the sum of its rows'
digests mod 2**256 (with the count alongside), so both sides may read in any order: PostgreSQL and
SQLite sort text differently.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from django.db import models

MODULUS = 2**256
NULL = "\x00"
SEPARATOR = "\x1f"


def _json_normal(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _json_normal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_normal(item) for item in value]
    return value


def _canonical_json(value: Any) -> str:
    return json.dumps(_json_normal(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _canonical_datetime(value: dt.datetime) -> str:
    return (value.astimezone(dt.UTC) if value.tzinfo else value).isoformat()


def _canonical_other(value: Any) -> str:
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, dt.datetime):
        return _canonical_datetime(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return str(value // dt.timedelta(microseconds=1))
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def canonicalizer(field: models.Field) -> Callable[[Any], str]:
    """The function that writes a value of `field` the same way whichever database it came from."""
    if isinstance(field, models.JSONField):
        return lambda value: NULL if value is None else _canonical_json(value)
    if isinstance(field, models.DecimalField):
        step = Decimal(1).scaleb(-field.decimal_places)
        return lambda value: NULL if value is None else str(Decimal(value).quantize(step))
    return lambda value: NULL if value is None else _canonical_other(value)


class TableChecksum:
    """Rows counted and summed by digest (order-independent)."""

    def __init__(
        self, fields: Iterable[models.Field] = (), *, canonical: list[Callable[[Any], str]] | None = None
    ) -> None:
        self.canonical = canonical if canonical is not None else [canonicalizer(field) for field in fields]
        self.count = 0
        self.total = 0

    def add_rows(self, rows: Iterable[tuple[Any, ...]]) -> None:
        canonical = self.canonical
        total = self.total
        count = 0
        for row in rows:
            text = SEPARATOR.join([convert(value) for convert, value in zip(canonical, row, strict=True)])
            total += int.from_bytes(hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest(), "big")
            count += 1
        self.total = total % MODULUS
        self.count += count

    def resume(self, *, count: int, hexdigest: str) -> TableChecksum:
        """Continue from a count and checksum stored earlier ('' for none)."""
        self.count = count
        self.total = int(hexdigest, 16) if hexdigest else 0
        return self

    @property
    def hexdigest(self) -> str:
        return f"{self.total:064x}"
