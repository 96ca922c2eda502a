"""Move every table of every installed app from the current database (SQLite) into an empty PostgreSQL
database, verified and resumable (manage.py move_database).

Steps, each recorded in the target (dbmove.state) so that a rerun continues where a stopped one left:
1. checks: the target is PostgreSQL and not the source; the source's migrations are exactly the code's
   (the target's schema is built from the code); the target is empty, or holds an unfinished move of
   this same source (resumed), or `replace` is given (its tables are dropped first). One move at a time
   per target (a PostgreSQL advisory lock).
2. schema: `migrate` runs on the target in a child process whose DATABASE_URL is the target, so the
   migrations' data steps and post_migrate handlers (permissions, role groups) write there and never to
   the source. The rows they seed are then removed (TRUNCATE), because the source's rows, with their
   primary keys, replace them.
3. copy: table by table in dependency order (dbmove.tables), in batches of `batch_size` rows read in
   primary-key order (keyset pagination) and written with COPY; each batch commits with its progress
   row, so an interrupted move leaves complete batches and a record of them. Tables that point at each
   other are copied in one transaction. Values go through the fields' own conversions on both sides
   (booleans, decimals, JSON, datetimes as UTC instants, UUIDs, text), primary keys unchanged.
4. sequences: every serial/identity sequence is set past the highest key copied, so the next INSERT
   works.
5. verification: per table, the row count and a content checksum (dbmove.values) of both sides: the
   source's from the rows as the copy read them (stored with each batch, so a resumed move has it
   too) and its live row count, the target's from reading every row back; the migration records
   compared too. `verify_only` reads the source again in full instead. A difference leaves the move
   `verification_failed`.
The source is never written: it is opened read-only (SQLite `mode=ro`, PostgreSQL
`default_transaction_read_only`), and the application must be stopped during the move (the downtime),
since rows written to the source after their table was copied would not be moved (verification would
report them).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import environ
import psycopg
from django.conf import settings
from django.core.management.color import no_style
from django.db import DatabaseError, connections, transaction
from django.db.migrations.executor import MigrationExecutor
from psycopg import sql

from config.errors import ConflictError, DomainError
from dbmove import state
from dbmove.tables import CopyGroup, TableSpec, copy_groups
from dbmove.values import TableChecksum

SOURCE_ALIAS = "dbmove_source"
TARGET_ALIAS = "dbmove_target"
DEFAULT_BATCH_SIZE = 5000
ADVISORY_LOCK = 0x5B_D0_B0_7E  # "switchboard database move"
MIGRATIONS_TABLE = "django_migrations"


class MoveError(DomainError):
    code = "move_refused"


class TargetNotPostgres(MoveError):
    default_detail = "The target must be a PostgreSQL database (postgres://...), not {engine}."


class SameDatabase(MoveError):
    default_detail = "The target is the source database."


class SourceNotMigrated(MoveError):
    default_detail = (
        "The source's migrations do not match the code: {detail}. Run `manage.py migrate` on the source "
        "first (the target's schema is built from the code's migrations)."
    )


class TargetNotEmpty(ConflictError):
    code = "target_not_empty"
    default_detail = (
        "The target already has {count} table(s) (e.g. {example}) and no unfinished move; pass --replace "
        "to drop them, or choose an empty database."
    )


class TargetAlreadyMoved(ConflictError):
    code = "target_already_moved"
    default_detail = (
        "The target already holds a completed move of {source} (finished {finished}); pass --replace to "
        "move again, or --verify-only to check it."
    )


class TargetOfAnotherSource(ConflictError):
    code = "target_of_another_source"
    default_detail = "The target holds an unfinished move of {other}, not of {source}; pass --replace."


class MoveRunning(ConflictError):
    code = "move_running"
    default_detail = "Another move into this target is running."


class MoveFailed(MoveError):
    code = "move_failed"


@dataclass(frozen=True)
class TableResult:
    table: str
    source_count: int
    target_count: int
    source_checksum: str
    target_checksum: str

    @property
    def ok(self) -> bool:
        return self.source_count == self.target_count and self.source_checksum == self.target_checksum


@dataclass
class MoveReport:
    source: str
    target: str
    resumed: bool = False
    copied_rows: int = 0
    skipped_tables: int = 0  # done by an earlier run
    phases: dict[str, float] = field(default_factory=dict)
    tables: list[TableResult] = field(default_factory=list)
    status: str = ""
    source_reread: bool = False  # the source checksums come from reading it again, not from the copy

    @property
    def ok(self) -> bool:
        return bool(self.tables) and all(table.ok for table in self.tables)

    @property
    def total_rows(self) -> int:
        return sum(table.source_count for table in self.tables if table.table != MIGRATIONS_TABLE)


Progress = Callable[[str, int, int], None]  # (phase, rows done now, rows in the phase)


def _quiet(phase: str, done: int, total: int) -> None:
    pass


# --- connections -----------------------------------------------------------------------------------------


def masked(url: str) -> str:
    """The URL with its password hidden, for printing."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _configured(database: dict[str, Any]) -> dict[str, Any]:
    return connections.configure_settings({"default": dict(database)})["default"]


def _register(alias: str, database: dict[str, Any]) -> None:
    _unregister(alias)
    connections.settings[alias] = _configured(database)


def _unregister(alias: str) -> None:
    if alias in connections.settings:
        connections[alias].close()
        with contextlib.suppress(AttributeError):  # never connected in this thread
            del connections[alias]
        del connections.settings[alias]


def _read_only(database: dict[str, Any]) -> dict[str, Any]:
    """The source's settings, opened so that no statement can write it."""
    database = {**database, "OPTIONS": dict(database.get("OPTIONS", {})), "CONN_MAX_AGE": 0}
    if database["ENGINE"].endswith("sqlite3"):
        path = Path(database["NAME"]).resolve()
        if not path.is_file():
            raise MoveError(f"The source database file {path} does not exist.")
        database["NAME"] = f"{path.as_uri()}?mode=ro"
        database["OPTIONS"].pop("transaction_mode", None)  # BEGIN IMMEDIATE takes a write lock
    elif database["ENGINE"].endswith("postgresql"):
        options = database["OPTIONS"].get("options", "")
        database["OPTIONS"]["options"] = f"{options} -c default_transaction_read_only=on".strip()
    return database


def _identity(database: dict[str, Any]) -> str:
    if database["ENGINE"].endswith("sqlite3"):
        return f"sqlite:{Path(database['NAME']).resolve()}"
    return f"{database['ENGINE'].rsplit('.', 1)[-1]}://{database.get('HOST')}:{database.get('PORT')}/{database['NAME']}"


def _ensure_database(target: dict[str, Any]) -> None:
    """Create the target database when the server does not have it yet."""
    params = {
        "host": target.get("HOST") or None,
        "port": target.get("PORT") or None,
        "user": target.get("USER") or None,
        "password": target.get("PASSWORD") or None,
    }
    try:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as server:
            exists = server.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [target["NAME"]]
            ).fetchone()
            if not exists:
                server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(target["NAME"])))
    except psycopg.Error as error:
        raise MoveError(f"Cannot reach the target server: {error}".strip()) from None


# --- checks ----------------------------------------------------------------------------------------------


def _check_source_migrated(alias: str) -> set[tuple[str, str]]:
    executor = MigrationExecutor(connections[alias])
    graph = executor.loader.graph
    unapplied = executor.migration_plan(graph.leaf_nodes())
    applied = set(executor.loader.applied_migrations)
    unknown = sorted(applied - set(graph.nodes))
    if unapplied:
        raise SourceNotMigrated(detail=f"{len(unapplied)} migration(s) not applied, e.g. {unapplied[0][0]}")
    if unknown:
        raise SourceNotMigrated(detail=f"applied migration(s) the code does not have, e.g. {unknown[0]}")
    return applied


def _migrate_target(target_url: str) -> None:
    """`migrate` in a child process whose default database is the target (see the module docstring)."""
    manage = Path(settings.BASE_DIR) / "manage.py"
    command = [sys.executable, str(manage)] if manage.is_file() else [sys.executable, "-m", "django"]
    env = {**os.environ, "DATABASE_URL": target_url, "DATABASE_REPLICA_URLS": ""}
    env.setdefault("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE)
    done = subprocess.run(
        [*command, "migrate", "--noinput", "--verbosity", "0"],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise MoveFailed(f"migrate on the target failed:\n{done.stderr.strip()[-2000:]}")


# --- copying ---------------------------------------------------------------------------------------------


def _source_rows(spec: TableSpec, *, after: Any, limit: int) -> list[tuple[Any, ...]]:
    rows = spec.model._base_manager.using(SOURCE_ALIAS).order_by(spec.pk)
    if after is not None:
        rows = rows.filter(**{f"{spec.pk}__gt": after})
    return list(rows.values_list(*[field.attname for field in spec.fields])[:limit])


def copy_rows(spec: TableSpec, rows: list[tuple[Any, ...]]) -> None:
    """COPY `rows` (source values, in spec.fields order) into the target table.

    A row PostgreSQL refuses (text SQLite took but PostgreSQL does not: a NUL character, a value longer
    than its column) stops the move with the table and the reason; the batch is rolled back, the target
    stays marked incomplete, and a rerun after fixing the source row continues from there."""
    target = connections[TARGET_ALIAS]
    prepare = [field.get_db_prep_save for field in spec.fields]
    quote = target.ops.quote_name
    statement = f"COPY {quote(spec.table)} ({', '.join(map(quote, spec.columns))}) FROM STDIN"
    try:
        with target.cursor() as cursor, cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([convert(value, target) for convert, value in zip(prepare, row, strict=True)])
    except (DatabaseError, psycopg.Error) as error:
        first = rows[0][0] if rows and rows[0] else None
        raise MoveFailed(
            f"PostgreSQL refused a row of {spec.table} (batch from {spec.pk or 'row'} {first!r}): "
            f"{str(error).strip()}. Nothing of that batch was written; fix the row in the source and run "
            "the command again to continue."
        ) from error


def _copy_table(
    spec: TableSpec, progress: state.TableProgress, batch_size: int, tick: Callable[[int], None]
) -> int:
    """Copy what is left of one table, a batch per transaction; returns the rows copied now."""
    target = connections[TARGET_ALIAS]
    after = None if progress.last_pk is None else spec.model._meta.pk.to_python(progress.last_pk)
    pk_index = [field.attname for field in spec.fields].index(spec.pk) if spec.pk else None
    checksum = TableChecksum(spec.fields).resume(
        count=progress.rows_copied, hexdigest=progress.source_checksum
    )
    copied = 0
    while True:
        rows = _source_rows(spec, after=after, limit=batch_size)
        full = len(rows) == batch_size
        with transaction.atomic(using=TARGET_ALIAS):
            if rows:
                checksum.add_rows(rows)
                copy_rows(spec, rows)
                after = rows[-1][pk_index]
            state.progress_advance(
                target,
                table=spec.table,
                rows=len(rows),
                last_pk=None if after is None else str(after),
                done=not full,
                source_checksum=checksum.hexdigest,
            )
        copied += len(rows)
        tick(len(rows))
        if not full:
            return copied


def _copy_group_at_once(group: CopyGroup, tick: Callable[[int], None]) -> int:
    """Tables pointing at each other: every row of the group in one transaction (constraints are
    deferred to its commit). Rerun from scratch if interrupted: the transaction left nothing."""
    target = connections[TARGET_ALIAS]
    copied = 0
    with transaction.atomic(using=TARGET_ALIAS):
        for spec in group.tables:
            rows = list(
                spec.model._base_manager.using(SOURCE_ALIAS).values_list(
                    *[field.attname for field in spec.fields]
                )
            )
            checksum = TableChecksum(spec.fields)
            checksum.add_rows(rows)
            if rows:
                copy_rows(spec, rows)
            state.progress_advance(
                target,
                table=spec.table,
                rows=len(rows),
                last_pk=None,
                done=True,
                source_checksum=checksum.hexdigest,
            )
            copied += len(rows)
            tick(len(rows))
    return copied


def _source_counts(groups: list[CopyGroup]) -> dict[str, int]:
    return {
        spec.table: spec.model._base_manager.using(SOURCE_ALIAS).count()
        for group in groups
        for spec in group.tables
    }


def _reset_sequences(groups: list[CopyGroup]) -> None:
    target = connections[TARGET_ALIAS]
    statements = target.ops.sequence_reset_sql(
        no_style(), [spec.model for group in groups for spec in group.tables]
    )
    with transaction.atomic(using=TARGET_ALIAS), target.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


# --- verification ----------------------------------------------------------------------------------------


def _checksum(spec: TableSpec, alias: str, tick: Callable[[int], None]) -> TableChecksum:
    checksum = TableChecksum(spec.fields)
    rows = (
        spec.model._base_manager.using(alias)
        .order_by()
        .values_list(*[field.attname for field in spec.fields])
    )
    batch: list[tuple[Any, ...]] = []
    for row in rows.iterator(chunk_size=DEFAULT_BATCH_SIZE):
        batch.append(row)
        if len(batch) == DEFAULT_BATCH_SIZE:
            checksum.add_rows(batch)
            tick(len(batch))
            batch = []
    checksum.add_rows(batch)
    tick(len(batch))
    return checksum


def _migrations_result() -> TableResult:
    """The migration records (app, name) of both sides: the target's schema is the source's."""
    sides = {}
    for alias in (SOURCE_ALIAS, TARGET_ALIAS):
        checksum = TableChecksum(canonical=[str, str])
        checksum.add_rows(sorted(MigrationExecutor(connections[alias]).loader.applied_migrations))
        sides[alias] = checksum
    source, target = sides[SOURCE_ALIAS], sides[TARGET_ALIAS]
    return TableResult(MIGRATIONS_TABLE, source.count, target.count, source.hexdigest, target.hexdigest)


def _verify(
    groups: list[CopyGroup],
    progress: Progress,
    counts: dict[str, int],
    copied: dict[str, state.TableProgress] | None,
) -> list[TableResult]:
    """Per table, both sides' count and checksum. The source side is either what the copy read (its
    checksum stored with each batch, `copied`) with the source's live row count, which exposes rows
    added or removed since; or, with `copied` None (--verify-only), the source read again in full."""
    results = [_migrations_result()]
    done = 0
    total = sum(counts.values()) * (1 if copied is not None else 2)

    def tick(rows: int) -> None:
        nonlocal done
        done += rows
        progress("verify", done, total)

    for group in groups:
        for spec in group.tables:
            if copied is not None:
                source_count, source_checksum = (
                    counts[spec.table],
                    copied[spec.table].source_checksum or f"{0:064x}",
                )
            else:
                source = _checksum(spec, SOURCE_ALIAS, tick)
                source_count, source_checksum = source.count, source.hexdigest
            target = _checksum(spec, TARGET_ALIAS, tick)
            results.append(
                TableResult(spec.table, source_count, target.count, source_checksum, target.hexdigest)
            )
    return results


# --- the move --------------------------------------------------------------------------------------------


def _prepare_target(
    report: MoveReport, *, source_identity: str, replace: bool, verify_only: bool
) -> state.MoveState | None:
    target = connections[TARGET_ALIAS]
    with target.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [ADVISORY_LOCK])
        if not cursor.fetchone()[0]:
            raise MoveRunning()
    if replace and not verify_only:
        state.drop_everything(target)
        return None
    current = state.state_read(target)
    if verify_only:
        if current is None:
            raise MoveError("The target holds no move to verify.")
        return current
    if current is None:
        tables = state.user_tables(target)
        if tables:
            raise TargetNotEmpty(count=len(tables), example=tables[0])
        return None
    if current.source != source_identity:
        raise TargetOfAnotherSource(other=current.source, source=source_identity)
    if current.status == "complete":
        raise TargetAlreadyMoved(source=current.source, finished=current.finished_at)
    report.resumed = True
    return current


def database_move(
    *,
    target_url: str,
    source_url: str | None = None,
    replace: bool = False,
    verify_only: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress = _quiet,
) -> MoveReport:
    """Move the source database (default: the current `default` one) into the PostgreSQL database at
    `target_url`, or, with `verify_only`, only compare them. Raises MoveError/ConflictError subclasses
    when refused; verification differences are in the report (`ok` False)."""
    source_settings = (
        environ.Env.db_url_config(source_url) if source_url else dict(settings.DATABASES["default"])
    )
    target_settings = environ.Env.db_url_config(target_url)
    if not target_settings["ENGINE"].endswith("postgresql"):
        raise TargetNotPostgres(engine=target_settings["ENGINE"].rsplit(".", 1)[-1])
    source_identity = _identity(source_settings)
    if source_identity == _identity(target_settings):
        raise SameDatabase()
    report = MoveReport(source=source_identity, target=masked(target_url))
    started = time.perf_counter()
    _register(SOURCE_ALIAS, _read_only(source_settings))
    try:
        _check_source_migrated(SOURCE_ALIAS)
        _ensure_database(target_settings)
        _register(TARGET_ALIAS, {**target_settings, "CONN_MAX_AGE": 0})
        current = _prepare_target(
            report, source_identity=source_identity, replace=replace, verify_only=verify_only
        )
        target = connections[TARGET_ALIAS]
        groups = copy_groups()
        specs = [spec for group in groups for spec in group.tables]
        report.phases["checks"] = time.perf_counter() - started

        status = current.status if current else None
        if status is None:
            with transaction.atomic(using=TARGET_ALIAS):
                state.state_create(target, source=source_identity)
            status = "migrating"
        if status == "migrating":
            phase = time.perf_counter()
            _migrate_target(target_url)
            with transaction.atomic(using=TARGET_ALIAS), target.cursor() as cursor:
                quote = target.ops.quote_name
                cursor.execute(f"TRUNCATE {', '.join(quote(spec.table) for spec in specs)} RESTART IDENTITY")
                state.progress_init(target, [spec.table for spec in specs])
                state.state_set(target, "copying")
            status = "copying"
            report.phases["migrate"] = time.perf_counter() - phase
        if status == "copying":
            phase = time.perf_counter()
            _copy_all(report, groups, batch_size, progress)
            report.phases["copy"] = time.perf_counter() - phase
            phase = time.perf_counter()
            _reset_sequences(groups)
            with transaction.atomic(using=TARGET_ALIAS):
                state.state_set(target, "verifying")
            report.phases["sequences"] = time.perf_counter() - phase
        phase = time.perf_counter()
        copied = None if verify_only else state.progress_read(target)
        report.tables = _verify(groups, progress, _source_counts(groups), copied)
        report.source_reread = copied is None
        report.phases["verify"] = time.perf_counter() - phase
        report.status = "complete" if report.ok else "verification_failed"
        if not verify_only:  # a check only reads
            with transaction.atomic(using=TARGET_ALIAS):
                state.state_set(target, report.status)
        return report
    finally:
        report.phases["total"] = time.perf_counter() - started
        _unregister(SOURCE_ALIAS)
        _unregister(TARGET_ALIAS)


def _copy_all(report: MoveReport, groups: list[CopyGroup], batch_size: int, progress: Progress) -> None:
    target = connections[TARGET_ALIAS]
    done_before = state.progress_read(target)
    counts = _source_counts(groups)
    total = sum(counts.values())
    done = sum(row.rows_copied for row in done_before.values())

    def tick(rows: int) -> None:
        nonlocal done
        done += rows
        progress("copy", done, total)

    progress("copy", done, total)
    for group in groups:
        if all(done_before[spec.table].done for spec in group.tables):
            report.skipped_tables += len(group.tables)
            continue
        if group.cyclic or any(spec.pk is None for spec in group.tables):
            with transaction.atomic(using=TARGET_ALIAS), target.cursor() as cursor:
                for spec in group.tables:  # a rerun starts the group over: clear what a crash left
                    cursor.execute(f"DELETE FROM {target.ops.quote_name(spec.table)}")
            report.copied_rows += _copy_group_at_once(group, tick)
            continue
        for spec in group.tables:
            report.copied_rows += _copy_table(spec, done_before[spec.table], batch_size, tick)
