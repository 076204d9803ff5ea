"""Backups of the database while feedhub runs, and restoring one.

A backup is SQLite's online backup API copying every page in one step: one
read snapshot, so the copy is the database as it was at one moment, while the
worker goes on writing (WAL) and the web goes on reading.  It is written
beside its final name and renamed into place, as a single file (not WAL), so
a half-written backup never carries a backup's name.

A restore is checked on a copy first (integrity_check, feedhub's schema
version), migrated forward there, and only then renamed over the database.
It holds the database alone from before the first check until after the
rename (inuse.py): refused while any feedhub process uses it (a web server
or worker even between requests and jobs), and a process that starts
meanwhile waits, then opens the restored file.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..model import utcnow
from . import MIGRATIONS, Store, inuse
from .engine import SQLiteDatabase

log = logging.getLogger(__name__)
# Scheduled backups are named for the time they were taken, so the names sort
# by age: feedhub-20261202T1625Z.db.
NAME = re.compile(r"^feedhub-(\d{8}T\d{6}Z)\.db$")
STAMP = "%Y%m%dT%H%M%SZ"


class BackupError(Exception):
    """A backup that cannot be made or restored; str() says why, for operators."""


@dataclass
class Contents:
    """What a database file holds, as `feedhub backup` and `restore` print it."""

    path: Path
    size: int  # bytes
    schema: int  # PRAGMA user_version
    items: dict[str, int]  # category -> items
    duplicates: int

    def __str__(self) -> str:
        per = ", ".join(f"{category} {count}" for category, count in sorted(self.items.items())) or "none"
        return (f"{self.path}: {self.size / 1024**2:.1f} MB, schema version {self.schema}, "
                f"{sum(self.items.values())} items ({per}), {self.duplicates} duplicates recorded")


def contents(path: Path) -> Contents:
    conn = sqlite3.connect(path)
    try:
        return _contents(conn, path)
    finally:
        conn.close()


def _contents(conn: sqlite3.Connection, path: Path) -> Contents:
    items = dict(conn.execute("SELECT category, count(*) FROM items GROUP BY category"))
    duplicates = conn.execute("SELECT count(*) FROM duplicates").fetchone()[0]
    schema = conn.execute("PRAGMA user_version").fetchone()[0]
    return Contents(path, path.stat().st_size, schema, items, duplicates)


def _sqlite_file(database: Path | str) -> Path:
    if not isinstance(database, Path):
        raise BackupError("the database is PostgreSQL: back it up with its own tools (pg_dump, or the"
                          " managed service's snapshots); feedhub backup and restore copy an SQLite file")
    return database


def backup(database: Path | str, target: Path) -> Contents:
    """Write a consistent copy of `database` to `target` while others use it."""
    database = _sqlite_file(database)
    if not database.is_file():
        raise BackupError(f"{database}: no database to back up (has feedhub ingested anything yet?)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    with Store(database) as store:
        copy = sqlite3.connect(partial, isolation_level=None)
        try:
            # pages=-1: every page in one step, from one read snapshot.  In
            # steps, each write by another connection would restart the copy.
            assert isinstance(store.db, SQLiteDatabase)  # backup() is given a file path
            store.db.conn.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            copy.close()
    _durable(partial)
    os.replace(partial, target)
    _durable(target.parent)
    return contents(target)


def restore(source: Path, database: Path | str) -> tuple[int, Contents]:
    """Put the backup `source` in place of `database`, which no process may
    be using; returns the backup's schema version and what the database now holds."""
    database = _sqlite_file(database)
    if not source.is_file():
        raise BackupError(f"{source}: no such file")
    try:
        with inuse.alone(database):
            schema = _replace(source, database)
    except inuse.InUse:
        raise BackupError(f"{database} is in use by a running feedhub process (`feedhub run`, the worker, the web "
                          "server, or a command such as ingest): stop them first; nothing was restored") from None
    return schema, contents(database)


def _replace(source: Path, database: Path) -> int:
    """Check, migrate and rename a copy of `source` over `database`, held alone."""
    _refuse_if_in_use(database)
    work = database.with_name(f".{database.name}.restoring")
    _remove(work)
    shutil.copyfile(source, work)
    if Path(f"{source}-wal").exists():  # a copy of a WAL database: what it holds is partly there
        shutil.copyfile(f"{source}-wal", f"{work}-wal")
    try:
        schema = _check(work, source)
        with Store(work) as store:  # migrates it forward
            if not store.incremental():
                store.vacuum()  # nobody has it open: the one moment a full VACUUM costs no one
        _refuse_if_in_use(database)
        _remove(database, only_journals=True)  # a crashed process's WAL must not be applied to the backup
        _durable(work)
        os.replace(work, database)
        _durable(database.parent)
    finally:
        _remove(work)
    return schema


def _check(path: Path, named: Path) -> int:
    """The schema version of a feedhub database file that passes integrity_check."""
    conn = sqlite3.connect(path)
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")}
        schema: int = conn.execute("PRAGMA user_version").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{named}: not a usable SQLite database ({exc}); nothing was restored") from None
    finally:
        conn.close()
    if problems != ["ok"]:
        shown = "; ".join(problems[:3]) + (f"; and {len(problems) - 3} more" if len(problems) > 3 else "")
        raise BackupError(f"{named}: fails SQLite's integrity check ({shown}); nothing was restored")
    if schema < 1 or not {"items", "item_keys", "categories"} <= tables:
        raise BackupError(f"{named}: not a feedhub database (no feedhub tables); nothing was restored")
    if schema > len(MIGRATIONS):
        raise BackupError(f"{named}: made by a newer feedhub (schema version {schema}; this one knows up to "
                          f"{len(MIGRATIONS)}); nothing was restored")
    return schema


def _refuse_if_in_use(database: Path) -> None:
    """Raise unless no process has `database` open: feedhub's own processes
    are kept out by inuse.alone, this is for any other (the sqlite3 shell).

    Every open connection to a WAL database holds a shared lock on it (on
    its -shm file); a connection in exclusive locking mode cannot start a
    transaction while one does, even an idle one."""
    if not database.exists():
        return
    conn = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA locking_mode = EXCLUSIVE")
        conn.execute("BEGIN EXCLUSIVE")
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()
        conn.execute("COMMIT")
    except sqlite3.OperationalError:
        raise BackupError(f"{database} is open in another program (the sqlite3 shell?): close it first; "
                          "nothing was restored") from None
    finally:
        conn.close()


def _remove(path: Path, only_journals: bool = False) -> None:
    # A work file's lock file goes with it; the database's never does (inuse.py).
    for suffix in ("-wal", "-shm", "-journal") if only_journals else ("", "-wal", "-shm", "-journal", "-lock"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _durable(path: Path) -> None:
    """fsync a file, or a folder after a rename in it."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# -- scheduled backups -----------------------------------------------------------


def taken(names: list[str]) -> list[tuple[datetime, str]]:
    """(time taken, name) of the scheduled backups among file names, oldest first."""
    found = []
    for name in names:
        match = NAME.match(name)
        if match:
            found.append((datetime.strptime(match.group(1), STAMP).replace(tzinfo=timezone.utc), name))
    return sorted(found)


def expired(names: list[str], keep: int) -> list[str]:
    """The scheduled backups to delete so that the newest `keep` remain."""
    backups = taken(names)
    return [name for _, name in backups[: max(len(backups) - keep, 0)]]


def next_due(names: list[str], every: int, now: datetime) -> datetime:
    """When the next scheduled backup is due: `every` after the newest one, or now."""
    backups = taken(names)
    return max(backups[-1][0] + timedelta(seconds=every), now) if backups else now


def scheduled(database: Path | str, folder: Path, keep: int, now: datetime | None = None) -> Contents:
    """The worker's backup job (feeds.yaml's ``backup:``): a new copy of
    `database` in `folder`, the oldest beyond the newest `keep` deleted."""
    contents_ = backup(database, folder / f"feedhub-{(now or utcnow()):{STAMP}}.db")
    for name in expired(os.listdir(folder), keep):
        (folder / name).unlink(missing_ok=True)
        log.info("old backup deleted", extra={"backup": str(folder / name)})
    log.info("backup written", extra={"backup": str(contents_.path), "bytes": contents_.size,
                                      "items": sum(contents_.items.values())})
    return contents_
