"""Nodes starting at once (a deploy of several web and worker processes) on a
database of an older schema, or on one nobody has opened yet, migrate it
once: migrations run under a lock on either engine, and every process starts."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from helpers import values

import pytest

from feedhub.store import MIGRATIONS, Store
from feedhub.store.connection import connect

# Each process imports feedhub, then waits for the same moment to open the
# database; its last migration takes a second longer, so the processes are
# all inside their migration at once unless something serializes them.
OPEN = """
import sys, time
from feedhub.store import Store, schema
last = schema.MIGRATIONS[-1]
def slow(db):
    time.sleep(1)
    last(db)
schema.MIGRATIONS[-1] = slow
time.sleep(max(0, float(sys.argv[2]) - time.time()))
Store(sys.argv[1]).close()
"""


def older_schema(location: str) -> None:
    """Give the database every migration but the last, as the feedhub before this one left it."""
    db = connect(location)
    try:
        db.begin()
        for migration in MIGRATIONS[:-1]:
            migration(db)
        if db.dialect == "postgresql":
            db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
            db.execute("INSERT INTO schema_version (version) VALUES (?)", [len(MIGRATIONS) - 1])
        else:
            db.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
        db.end(commit=True)
    finally:
        db.close()


@pytest.mark.parametrize("start", ["new", "older"])
def test_processes_opening_a_database_at_once_migrate_it_once(databases, tmp_path: Path, start: str):
    location = databases.create(tmp_path / "new.db", blank=True)
    try:
        if start == "older":
            older_schema(location)
        moment = str(time.time() + 4)
        started = [subprocess.Popen([sys.executable, "-c", OPEN, location, moment], stderr=subprocess.PIPE, text=True)
                   for _ in range(6)]
        errors = [process.communicate(timeout=120)[1] for process in started]
        assert [process.returncode for process in started] == [0] * 6, errors
        with Store(location) as store:
            if store.db.dialect == "postgresql":
                assert values(store, "SELECT version FROM schema_version") == [(len(MIGRATIONS),)]
            else:
                assert values(store, "PRAGMA user_version") == [(len(MIGRATIONS),)]
            assert store.count("items") == 0 and store.category_versions() == {}
    finally:
        databases.drop(location)
