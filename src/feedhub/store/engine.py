"""The two database engines behind one small interface: SQLite (a file, the
embedded default) and PostgreSQL (a ``postgresql://`` URL, for several
workers and web nodes).

The store writes its SQL once, in the dialect both share: ``?`` placeholders,
``INSERT ... ON CONFLICT``, standard functions.  The PostgreSQL side turns the
placeholders into psycopg's and maps the few schema words SQLite spells its
own way (see ``PostgresDatabase.translate``); a query that cannot be shared
asks ``db.dialect``.

PostgreSQL's side, its connection pools and what they do when the server
goes away, is pgpool.py.
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import time
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from typing import Any, ContextManager, Iterable, Iterator, Literal, Mapping, Protocol, Sequence

Dialect = Literal["sqlite", "postgresql"]
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# How often a connection tries to switch a new SQLite database to WAL, 50 ms
# apart (see SQLiteDatabase._enable_wal).
WAL_SWITCH_TRIES = 100


def is_postgres(location: str | Path) -> bool:
    return isinstance(location, str) and location.startswith(POSTGRES_SCHEMES)


class Cursor(Protocol):
    """What the store reads from a statement, on either engine."""

    @property
    def description(self) -> Any: ...
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Versions(Protocol):
    """What a process knows of the categories' versions without asking the
    database (PostgreSQL's watch.py); None from one means: ask it."""

    def version(self, category: str) -> int | None: ...
    def total(self) -> int | None: ...
    def learn(self, category: str, version: int) -> None: ...
    def forget(self, categories: Iterable[str]) -> None: ...


class Database(Protocol):
    dialect: Dialect

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...
    # Rows known to be new, into `columns` of `table`, as fast as the engine
    # takes them (PostgreSQL's COPY: a stream, not a statement per row).
    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None: ...
    # Statements executed inside go to the server without waiting for each
    # other's answers (PostgreSQL's pipeline mode: one round trip for all,
    # when a transaction is open); a cursor's rows are read after the block.
    def pipeline(self) -> ContextManager[None]: ...
    # Run `sql`, which returns no rows (SAVEPOINT, RELEASE, a lock, a write
    # whose error may surface with a later statement), before the next
    # statement: in its round trip on PostgreSQL, at once on SQLite.
    def defer(self, sql: str, params: Sequence[object] = ()) -> None: ...
    def defer_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...
    @property
    def in_transaction(self) -> bool: ...
    def begin(self, mode: str = "") -> None: ...
    def end(self, commit: bool) -> None: ...
    def close(self) -> None: ...
    # The schema version this connection (SQLite) or this process (PostgreSQL:
    # a Store opened after the first costs no round trip) brought it to; 0: none.
    migrated: int
    # The process's category versions kept current by the server (PostgreSQL's
    # NOTIFY, watch.py), started on first use unless not `start`; None on SQLite.
    def watch(self, start: bool = True) -> Versions | None: ...


class SQLiteDatabase:
    dialect: Dialect = "sqlite"
    migrated = 0

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE),
        # so sqlite3 never commits half of an item behind our back.
        self.conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        # Takes effect only on a new database (before its first table, and
        # before WAL mode writes its header): freed pages can then be given
        # back to the file system without a full VACUUM (see Pruning.reclaim).
        self.conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
        self._enable_wal()
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")

    def _enable_wal(self) -> None:
        """Switch a new database to WAL.  Several processes or threads opening
        a database that does not exist yet (a worker's jobs starting at once)
        race for this switch: of two connections switching at once, SQLite
        answers one "database is locked" without waiting out the busy timeout
        (both hold a shared lock, so waiting would deadlock).  It tries again."""
        for attempt in range(WAL_SWITCH_TRIES):
            try:
                if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.conn.execute("PRAGMA journal_mode = wal")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == WAL_SWITCH_TRIES - 1:
                    raise
                time.sleep(0.05)

    def execute(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self.conn.executemany(sql, rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        self.conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                              rows)

    def pipeline(self) -> ContextManager[None]:
        return contextlib.nullcontext()  # in the same process: no round trip to save

    def defer(self, sql: str, params: Sequence[object] = ()) -> None:
        self.conn.execute(sql, params)

    def defer_many(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        self.conn.executemany(sql, rows)

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def begin(self, mode: str = "") -> None:
        # IMMEDIATE takes the write lock up front: two writers queue on the
        # busy timeout instead of failing on a read-to-write upgrade.
        self.conn.execute("BEGIN" if mode == "read" else "BEGIN IMMEDIATE")

    def end(self, commit: bool) -> None:
        # A write that hit an error SQLite rolls back on its own (a full disk)
        # has ended the transaction already.
        if self.conn.in_transaction:
            self.conn.execute("COMMIT" if commit else "ROLLBACK")

    def close(self) -> None:
        self.conn.close()

    def watch(self, start: bool = True) -> None:
        return None  # one machine: reading the version is as cheap


class DatabaseUnavailable(RuntimeError):
    """The PostgreSQL server named in feeds.yaml or $DATABASE_URL cannot be
    reached (or has no free connection): an answer to give later, not a bug."""


def redacted(url: str) -> str:
    """The URL without its password, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def insert_rows(
    db: Database, table: str, columns: Mapping[str, str], rows: Sequence[Sequence[object]],
    conflict: str = "", defer: bool = False,
) -> None:
    """INSERT many `rows` into `columns` ({name: its schema type: INTEGER,
    TEXT, BLOB}) of `table`, `conflict` its ON CONFLICT clause, at once or
    (`defer`) with the next statement.  On PostgreSQL one statement binds one
    array per column (unnest): the same text and plan whatever the count, and
    a few values to send instead of a message per row (psycopg's executemany
    costs ~30 us a row on this side); on SQLite, in process, executemany."""
    if not rows:
        return
    names = ", ".join(columns)
    if db.dialect == "postgresql":
        arrays = ", ".join(f"CAST(?b AS {_ARRAY[kind]}[])" for kind in columns.values())
        sql = f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {conflict}"
        # One array a column, of one type (psycopg refuses ints among floats).
        params: list[object] = [[None if value is None else float(value) for value in values]
                                if kind == "FLOAT" else list(values)
                                for values, kind in zip(zip(*rows), columns.values())]
        if defer:
            db.defer(sql, params)
        else:
            db.execute(sql, params)
        return
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))}) {conflict}"
    if defer:
        db.defer_many(sql, rows)
    else:
        db.executemany(sql, rows)


_ARRAY = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea", "FLOAT": "double precision"}


# What SQLite's schema spells its own way, in PostgreSQL's words.  Text
# compares byte by byte, as in SQLite (its BINARY collation): feeds sort the
# same on both engines, and a path prefix is a range of keys.
_DDL = [
    (re.compile(r"\bINTEGER PRIMARY KEY\b"), "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bFLOAT\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
    (re.compile(r"\s*WITHOUT ROWID"), ""),
]
_GROUP_CONCAT = re.compile(r"group_concat\(DISTINCT ([\w.]+)\)")


@lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """An SQL statement of the store, as psycopg takes it on PostgreSQL."""
    if sql.lstrip().upper().startswith(("CREATE TABLE", "ALTER TABLE")):
        for pattern, replacement in _DDL:
            sql = pattern.sub(replacement, sql)
    sql = _GROUP_CONCAT.sub(r"string_agg(DISTINCT \1, ',')", sql)
    # psycopg's placeholders; a literal % is doubled.  The store never puts a
    # ? inside a string literal.  ?b: a parameter sent in binary, as arrays
    # are (text arrays would be quoted element by element, with a regular
    # expression each: most of the client's time for a batch's rows).
    return sql.replace("%", "%%").replace("?b", "%b").replace("?", "%s")
