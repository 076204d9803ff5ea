"""The two database engines behind one small interface: SQLite (a file, the
embedded default) and PostgreSQL (a ``postgresql://`` URL, for several
workers and web nodes).

The store writes its SQL once, in the dialect both share: ``?`` placeholders,
``INSERT ... ON CONFLICT``, standard functions.  The PostgreSQL side turns the
placeholders into psycopg's and maps the few schema words SQLite spells its
own way (see ``PostgresDatabase.translate``); a query that cannot be shared
asks ``db.dialect``.

On PostgreSQL every process keeps one connection pool per database: a
transaction (or a snapshot) holds one connection from BEGIN to COMMIT, and a
single statement outside them borrows one for as long as it runs, so a web
process with many threads needs only as many connections as it has
statements running at once.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import time
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from typing import TYPE_CHECKING, Any, Iterable, Iterator, Literal, Protocol, Sequence

if TYPE_CHECKING:
    import psycopg
    import psycopg_pool

Dialect = Literal["sqlite", "postgresql"]
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# Connections each process may hold to one PostgreSQL database: a worker's
# job threads and housekeeping, or a web process's server threads.
POOL_MAX = int(os.environ.get("FEEDHUB_POOL_MAX", "20"))
CONNECT_TIMEOUT = 30  # seconds a process waits for its first connection
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


class Database(Protocol):
    dialect: Dialect

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor: ...
    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None: ...
    @property
    def in_transaction(self) -> bool: ...
    def begin(self, mode: str = "") -> None: ...
    def end(self, commit: bool) -> None: ...
    def close(self) -> None: ...


def connect(location: str | Path) -> Database:
    """The database at `location`: a PostgreSQL URL, or an SQLite file path."""
    if is_postgres(location):
        return PostgresDatabase(str(location))
    return SQLiteDatabase(Path(location))


class SQLiteDatabase:
    dialect: Dialect = "sqlite"

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


_pools: dict[tuple[int, str], psycopg_pool.ConnectionPool[Any]] = {}
_pools_lock = threading.Lock()


def pool(url: str) -> psycopg_pool.ConnectionPool[Any]:
    """This process's pool for `url` (a forked web worker makes its own)."""
    key = (os.getpid(), url)
    with _pools_lock:
        found = _pools.get(key)
    if found is not None:
        return found
    # Made outside the lock: a server that is slow to answer for one
    # database must not hold up the threads using another.
    made = _open_pool(url)
    with _pools_lock:
        found = _pools.setdefault(key, made)
    if found is not made:  # another thread made one meanwhile
        made.close()
    return found


def _open_pool(url: str) -> psycopg_pool.ConnectionPool[Any]:
    try:
        from psycopg_pool import ConnectionPool
    except ImportError:
        raise RuntimeError("a postgresql:// database needs psycopg: pip install 'feedhub[postgresql]'") from None
    # One connection first: a wrong password or database name is said at
    # once, in the server's words, not after the pool's wait.
    reason = _why(url)
    if reason:
        raise DatabaseUnavailable(f"cannot connect to {redacted(url)}: {reason}")
    # autocommit: the store opens its transactions itself, as on SQLite.
    made: psycopg_pool.ConnectionPool[Any] = ConnectionPool(
        url, min_size=1, max_size=POOL_MAX, kwargs={"autocommit": True}, open=True, name=f"feedhub-{os.getpid()}")
    try:
        made.wait(timeout=CONNECT_TIMEOUT)
    except Exception:
        made.close()
        reason = _why(url) or f"no connection within {CONNECT_TIMEOUT} s"
        raise DatabaseUnavailable(f"cannot connect to {redacted(url)}: {reason}") from None
    return made


class DatabaseUnavailable(RuntimeError):
    """The PostgreSQL server named in feeds.yaml or $DATABASE_URL cannot be reached."""


def redacted(url: str) -> str:
    """The URL without its password, fit for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@", 1)).geturl()


def _why(url: str) -> str:
    """Why a connection to `url` fails, in the server's words; "" if it does not."""
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=10).close()
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return ""


def close_pools(url: str | None = None) -> None:
    """Close this process's pools, or only its pool of `url` (tests dropping
    their databases, shutdown)."""
    with _pools_lock:
        for key in [key for key in _pools if key[0] == os.getpid() and url in (None, key[1])]:
            _pools.pop(key).close()


class PostgresDatabase:
    dialect: Dialect = "postgresql"

    def __init__(self, url: str):
        self.pool = pool(url)
        self.held: psycopg.Connection[Any] | None = None  # the connection of the open transaction

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        if self.held is not None:
            return self.held.execute(translate(sql), params)
        # Outside a transaction: the connection goes back to the pool as soon
        # as the statement ran; its rows are already on this side.
        with self.pool.connection() as conn:
            cursor: Cursor = conn.execute(translate(sql), params)
            return cursor

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        rows = list(rows)
        if not rows:
            return
        if self.held is not None:
            self.held.cursor().executemany(translate(sql), rows)
            return
        with self.pool.connection() as conn:
            conn.cursor().executemany(translate(sql), rows)

    @property
    def in_transaction(self) -> bool:
        return self.held is not None

    def begin(self, mode: str = "") -> None:
        conn = self.pool.getconn()
        try:
            # A snapshot reads one state of the whole database, as SQLite's
            # read transaction does; writers see each other's commits and
            # are serialized where it matters by row and advisory locks.
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if mode == "read" else "BEGIN")
        except BaseException:
            self.pool.putconn(conn)
            raise
        self.held = conn

    def end(self, commit: bool) -> None:
        conn, self.held = self.held, None
        if conn is None:
            return
        try:
            conn.execute("COMMIT" if commit else "ROLLBACK")
        finally:
            self.pool.putconn(conn)

    def close(self) -> None:
        if self.held is not None:
            self.end(commit=False)


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
    # ? inside a string literal.
    return sql.replace("%", "%%").replace("?", "%s")
