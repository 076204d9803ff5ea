"""One connection and its transactions, shared by every part of the store."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping

import sqlite_utils

from .schema import MIGRATIONS, index_queued

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self from Python 3.11

# Page cache of a connection that files many items (an ingest pass): the
# indexes written in random order (dedup keys, LSH bands) outgrow SQLite's
# 2 MB default after a few thousand items, and then every insert re-reads
# pages from the file; at 20k articles this cache makes ingest ~30% faster.
# Memory grows to this much and no further, whatever the number of items.
WRITER_CACHE_MB = 64
# WAL pages a bulk writer lets accumulate before copying them into the
# database file (SQLite's default is 1,000).  A batch of 200 articles dirties
# a few thousand pages of those random-order indexes, so at the default every
# commit was followed by a checkpoint rewriting them all; at 10,000 pages a
# page is copied once for several commits.  The cost: the -wal file grows to
# about 40 MB, and keeps that size while a process has the database open.
WRITER_CHECKPOINT_PAGES = 10_000
# How often a connection tries to switch a new database to WAL (see
# Store._enable_wal), 50 ms apart.
WAL_SWITCH_TRIES = 100



class Connection(object):
    def __init__(self, path: str | Path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE),
        # so sqlite3 never commits half of an item behind our back.
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        # Takes effect only on a new database (before its first table, and
        # before WAL mode writes its header): freed pages can then be given
        # back to the file system without a full VACUUM (see reclaim()).
        self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        self._enable_wal()
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _enable_wal(self) -> None:
        """Switch a new database to WAL.  Several processes or threads opening
        a database that does not exist yet (a worker's jobs starting at once)
        race for this switch: of two connections switching at once, SQLite
        answers one "database is locked" without waiting out the busy timeout
        (both hold a shared lock, so waiting would deadlock).  It tries again."""
        for attempt in range(WAL_SWITCH_TRIES):
            try:
                self.db.enable_wal()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == WAL_SWITCH_TRIES - 1:
                    raise
                time.sleep(0.05)

    def use_writer_cache(self) -> None:
        """Give this connection the larger page cache of a bulk writer."""
        self.db.execute(f"PRAGMA cache_size = -{WRITER_CACHE_MB * 1024}")
        self.db.execute(f"PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """All writes inside are kept or none; nested, the inner one is a
        savepoint, undone alone if it raises, kept when the outer one commits."""
        # The first reading gets a name: the later ones, after the caller's
        # block has run, can differ (mypy would narrow them all to this one).
        nested = self.db.conn.in_transaction
        if nested:
            self.db.execute("SAVEPOINT nested")
            try:
                yield self.db
            except BaseException:
                # in_transaction is False if SQLite itself already rolled back.
                if self.db.conn.in_transaction:
                    self.db.execute("ROLLBACK TO nested")
                    self.db.execute("RELEASE nested")
                raise
            self.db.execute("RELEASE nested")
            return
        # IMMEDIATE takes the write lock up front: two writers queue on the
        # busy timeout instead of failing on a read-to-write upgrade.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
            if self.db.conn.in_transaction:
                index_queued(self.db)  # the search index, in this same transaction
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        # A nested write that hit an error SQLite rolls back on its own (a
        # full disk) has ended the transaction: what it held is gone, and
        # the inputs behind it are read again on the next pass.
        if self.db.conn.in_transaction:
            self.db.execute("COMMIT")

    def _insert_row(self, table: str, row: Mapping[str, object]) -> None:
        # Plain SQL rather than Table.insert, which looks up the table's
        # schema on every call; the same text hits sqlite3's statement cache.
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        self.db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))

    def _upsert(self, table: str, row: Mapping[str, object], pk: str) -> None:
        """Insert the row, or update only the given columns of the existing one."""
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        updates = ", ".join(f"{column} = excluded.{column}" for column in row if column != pk)
        self.db.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT({pk}) DO UPDATE SET {updates}",
            list(row.values()),
        )

    def _migrate(self) -> None:
        # The version is read inside the write lock: two processes opening a
        # new database at once must not both create the tables.
        with self.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(db)
                db.execute(f"PRAGMA user_version = {number}")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the database (a read transaction)."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    def count(self, table: str, **where: str) -> int:
        clause = " AND ".join(f"{column} = ?" for column in where) or "1"
        count: int = self.db.execute(f"SELECT count(*) FROM {table} WHERE {clause}", list(where.values())).fetchone()[0]
        return count
