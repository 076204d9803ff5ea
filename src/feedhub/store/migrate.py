"""Copying an SQLite database into PostgreSQL (`feedhub migrate-db`), so a
user who outgrows one machine moves without losing history or fetching
everything again: items, their dedup keys and signatures, duplicates,
tombstones, sources' validators and backoff, article-file records, counters.

The tables and their columns are read from the two schemas, not listed here,
so a table a later migration adds is copied without a change to this file.
Everything is written in one PostgreSQL transaction and the counts are
compared before it commits: the target ends up holding the whole database,
or nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

import sqlite_utils

from . import MIGRATIONS, Store
from .engine import Database, SQLiteDatabase, is_postgres

# Rows read from SQLite, and sent to PostgreSQL, per COPY: large enough that
# round trips do not dominate, small enough that a batch of article bodies
# stays a few MB.
BATCH = 5000
# SQLite's full-text index (FTS5's tables, its row numbers and write queue):
# on PostgreSQL the search index is an expression index over items that the
# server builds itself, so there is nothing to copy.
SQLITE_ONLY = ("sqlite_", "items_search", "search_rows", "search_queue")

Progress = Callable[[str, int], None]  # (table, rows just copied)


class MigrateError(Exception):
    """A migration that cannot be done or did not check out; str() says why."""


@dataclass(frozen=True, slots=True)
class TableCount:
    table: str
    source: int
    target: int


@dataclass(frozen=True, slots=True)
class Migrated:
    """What `migrate` copied: rows per table on both sides, and schema versions."""

    tables: list[TableCount]
    source_schema: int
    target_schema: int


def migrate(source: Path | str, target: str, replace: bool = False, progress: Progress | None = None) -> Migrated:
    """Copy the SQLite database `source` into the PostgreSQL database at the
    URL `target`, which must hold no feedhub rows unless `replace` (then its
    rows are deleted first, in the same transaction)."""
    path = sqlite_source(source)
    if not is_postgres(target):
        raise MigrateError(f"--to {target!r}: expected a postgresql:// URL")
    with Store(path) as origin, Store(target) as destination:
        # One read snapshot: a worker still writing to the SQLite file cannot
        # make the copy of one table disagree with another's.
        assert isinstance(origin.db, SQLiteDatabase)  # sqlite_source() checked it is a file
        with origin.snapshot(), destination.transaction() as db:
            tables = tables_to_copy(origin.db.conn)
            schema = prepare_target(db, tables, replace)
            for table, columns in tables.items():
                copy_table(origin.db, db, table, columns, progress)
            move_sequences(db)
            counted = [TableCount(table, count(origin.db, table), count(db, table)) for table in tables]
            differ = [c for c in counted if c.source != c.target]
            if differ:
                raise MigrateError(
                    "row counts differ after the copy, so nothing was kept in the target: "
                    + "; ".join(f"{c.table}: {c.source} in SQLite, {c.target} in PostgreSQL" for c in differ))
    return Migrated(counted, len(MIGRATIONS), schema)


def prepare_target(db: Database, tables: dict[str, list[str]], replace: bool) -> int:
    """Check that the target has this feedhub's schema (every table and
    column to copy into) and holds no rows, or delete them if `replace`;
    returns its schema version."""
    schema: int = db.execute("SELECT version FROM schema_version").fetchone()[0]
    if schema != len(MIGRATIONS):
        raise MigrateError(f"the target is at schema version {schema}, this feedhub's is {len(MIGRATIONS)}:"
                           " it was set up by another feedhub; nothing was copied")
    present = columns_in_target(db)
    for table, columns in tables.items():
        # Copied by name: a column the target lacked would be lost.
        lost = [column for column in columns if column not in present.get(table, ())]
        if lost:
            raise MigrateError(f"the target has no {table} ({', '.join(lost)}); nothing was copied")
    occupied = [table for table in tables if count(db, table)]
    if occupied and not replace:
        raise MigrateError(f"the target already holds rows ({', '.join(occupied)}); nothing was copied. "
                           "Give --replace to delete them and copy this database in their place")
    for table in reversed(tables):  # rows pointing at others first
        db.execute(f"DELETE FROM {table}")
    return schema


def sqlite_source(source: Path | str) -> Path:
    """The SQLite file to copy, checked: a feedhub database at this code's
    schema version (refused otherwise, with what to do about it)."""
    if is_postgres(source) or not isinstance(source, Path):
        raise MigrateError(
            "the configured database is already PostgreSQL; migrate-db copies an SQLite file "
            "(set `database:` in feeds.yaml to its path, and unset $DATABASE_URL)")
    if not source.is_file():
        raise MigrateError(f"{source}: no such SQLite database (has feedhub ingested anything yet?)")
    try:
        # Read-only: checking a file must not create or change it.
        conn = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        try:
            schema: int = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise MigrateError(f"{source}: not an SQLite database ({exc})") from None
    if "items" not in tables:
        raise MigrateError(f"{source}: not a feedhub database (no items table)")
    if schema != len(MIGRATIONS):
        newer = schema > len(MIGRATIONS)
        raise MigrateError(
            f"{source}: schema version {schema}, this feedhub's is {len(MIGRATIONS)}; "
            + ("it was written by a newer feedhub: migrate it with that version" if newer else
               "run this feedhub on it once first (`feedhub stats` is enough: opening it brings it up to date)"))
    return source


def tables_to_copy(conn: sqlite3.Connection) -> dict[str, list[str]]:
    """The SQLite file's tables to copy and their columns, each table after
    the tables its foreign keys point at (items before item_keys, duplicates,
    item_tags...)."""
    tables = {table.name: table for table in sqlite_utils.Database(conn).tables
              if not table.name.startswith(SQLITE_ONLY)}
    ordered: dict[str, list[str]] = {}

    def place(name: str) -> None:
        if name not in ordered:
            for parent in sorted({key.other_table for key in tables[name].foreign_keys} - {name}):
                place(parent)
            ordered[name] = [column.name for column in tables[name].columns]

    for name in sorted(tables):
        place(name)
    return ordered


def columns_in_target(db: Database) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for table, column in db.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"):
        found.setdefault(table, set()).add(column)
    return found


def copy_table(source: Database, target: Database, table: str, columns: list[str], progress: Progress | None) -> None:
    for rows in batches(source.execute(f"SELECT {', '.join(columns)} FROM {table}")):
        try:
            target.copy_rows(table, columns, rows)  # COPY: ~10x the rows a second of INSERTs
        except Exception as exc:  # psycopg's errors: the table named, the transaction undone
            raise MigrateError(f"copying {table}: {exc}; nothing was kept in the target") from exc
        if progress:
            progress(table, len(rows))


def batches(rows: Iterable[tuple[object, ...]]) -> Iterator[list[tuple[object, ...]]]:
    batch: list[tuple[object, ...]] = []
    for row in rows:
        batch.append(tuple(row))
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def move_sequences(db: Database) -> None:
    """Rows came with their numbers (duplicates.id, near_signatures.num...):
    move each identity column's sequence past the largest, so the next row
    PostgreSQL numbers does not collide with a copied one."""
    identities = db.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'").fetchall()
    for table, column in identities:
        # setval with no rows (NULL) leaves the sequence as it is.
        db.execute(f"SELECT setval(pg_get_serial_sequence(?, ?), max({column})) FROM {table}", [table, column])


def count(db: Database, table: str) -> int:
    found: int = db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return found

