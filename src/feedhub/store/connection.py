"""One connection and its transactions, shared by every part of the store."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping

from . import inuse
from .engine import Database, SQLiteDatabase, is_postgres
from .schema import MIGRATIONS, index_queued
from .signatures import PendingBands

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
# Advisory lock key of schema migrations (any fixed number; "feedhub" in hex).
MIGRATION_LOCK = 0x66656564687562


def connect(location: str | Path) -> Database:
    """The database at `location`: a PostgreSQL URL, or an SQLite file path."""
    if is_postgres(location):
        try:
            from .pgpool import PostgresDatabase  # psycopg is an optional dependency (the postgresql extra)
        except ImportError:
            raise RuntimeError("a postgresql:// database needs psycopg: pip install 'feedhub[postgresql]'") from None
        return PostgresDatabase(str(location))
    return SQLiteDatabase(Path(location))


class Connection(object):
    def __init__(self, location: str | Path):
        # Until close(), this process uses the database: restore refuses meanwhile (inuse.py).
        self._in_use = inuse.announce(location)
        try:
            self.db: Database = connect(location)
        except BaseException:
            self._in_use()
            raise
        # Categories whose items the open transaction changed: their versions
        # move once, as it commits (Categories._before_commit), not once per
        # item filed.
        self.changed: set[str] = set()
        # Likewise the LSH band rows it filed: inserted together as it commits.
        self.bands = PendingBands()
        # Categories whose lock the open transaction holds (lock_categories).
        self.locked: set[str] = set()
        try:
            self._migrate()
        except BaseException:
            self.close()
            raise

    def use_writer_cache(self) -> None:
        """Give this connection the larger page cache of a bulk writer (SQLite;
        PostgreSQL's server sizes its own cache)."""
        if self.db.dialect == "sqlite":
            self.db.execute(f"PRAGMA cache_size = -{WRITER_CACHE_MB * 1024}")
            self.db.execute(f"PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}")

    def close(self) -> None:
        self.db.close()
        self._in_use()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Database]:
        """All writes inside are kept or none; nested, the inner one is a
        savepoint, undone alone if it raises, kept when the outer one commits."""
        # The first reading gets a name: the later ones, after the caller's
        # block has run, can differ (mypy would narrow them all to this one).
        db, nested = self.db, self.db.in_transaction
        if nested:
            changed, filed, locked = set(self.changed), len(self.bands.rows), set(self.locked)
            db.defer("SAVEPOINT nested")  # sent with the first statement inside (PostgreSQL)
            try:
                yield db
            except BaseException:
                # A savepoint undone releases the locks taken after it (PostgreSQL).
                self.changed, self.locked = changed, locked
                self.bands.undo(filed)
                # in_transaction is False if SQLite itself already rolled back.
                if db.in_transaction:
                    db.execute("ROLLBACK TO nested")
                    db.defer("RELEASE nested")
                raise
            db.defer("RELEASE nested")
            return
        db.begin()
        try:
            yield db
            if db.in_transaction:
                self._before_commit(db)
        except BaseException:
            db.end(commit=False)
            raise
        finally:
            changed, self.changed = self.changed, set()
            self.locked = set()
            self.bands.clear()
        db.end(commit=True)
        self._after_commit(changed)

    def _before_commit(self, db: Database) -> None:
        """Work kept for the end of a transaction, done in it just before it commits."""
        self.bands.flush(db)
        if db.dialect == "sqlite":
            index_queued(db)  # the search index (see schema._search)

    def _after_commit(self, changed: set[str]) -> None:
        """Told once the transaction committed, with the categories it changed."""

    def lock_categories(self, categories: Iterable[str]) -> None:
        """Serialize filing in these categories until this transaction ends:
        two workers filing copies of one story must see each other's.  A
        transaction filing in several categories locks them all first, in
        order, so two of them never wait for each other (a deadlock).  On
        SQLite the write lock (BEGIN IMMEDIATE) serializes every writer."""
        if self.db.dialect == "postgresql":
            wanted = sorted(set(categories) - self.locked)  # held until the transaction ends
            if not wanted:
                return
            with self.db.pipeline():  # taken in this order, in one round trip
                for category in wanted:
                    self.db.execute("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", [category])
            self.locked.update(wanted)

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
        if self.db.migrated == len(MIGRATIONS):  # by this process already (PostgreSQL)
            return
        # The version is read under a lock: two processes opening a new
        # database at once must not both create the tables.
        with self.transaction() as db:
            if db.dialect == "postgresql":
                db.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATION_LOCK])
                db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
                row = db.execute("SELECT version FROM schema_version").fetchone()
                version = row[0] if row else 0
            else:
                version = db.execute("PRAGMA user_version").fetchone()[0]
            for migration in MIGRATIONS[version:]:
                migration(db)
            if len(MIGRATIONS) > version:
                if db.dialect == "postgresql":
                    db.execute("DELETE FROM schema_version")
                    db.execute("INSERT INTO schema_version (version) VALUES (?)", [len(MIGRATIONS)])
                else:
                    db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        self.db.migrated = len(MIGRATIONS)

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the database (a read transaction)."""
        self.db.begin("read")
        try:
            yield
        finally:
            self.db.end(commit=True)

    def count(self, table: str, **where: str) -> int:
        clause = " AND ".join(f"{column} = ?" for column in where) or "1 = 1"
        count: int = self.db.execute(f"SELECT count(*) FROM {table} WHERE {clause}", list(where.values())).fetchone()[0]
        return count
