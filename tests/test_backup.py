"""Backup while the worker writes and the web serves, and restore: the copy
passes integrity_check and serves the same feeds (same ETags) as the source
had at backup time; corrupt, truncated, foreign or newer files are refused."""

from __future__ import annotations

import contextlib
import random
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import sqlite_utils
from helpers import gunicorn, story, values, wait_until, write_config
from test_concurrency import write_articles

from feedhub.cli import main
from feedhub.config import load_config
from feedhub.ingest import filing
from feedhub.publish.cache import FeedCache
from feedhub.store import MIGRATIONS, Store, backup
from feedhub.web import create_app
from feedhub.worker.scheduler import Worker

FORMATS = ("rss", "atom", "json")
READERS = 4
MAX_REQUESTS = 3000  # bounds the load however slow the machine
LOAD_SECONDS = 30
# Why the tests of the backup file skip on the PostgreSQL run.
FILE_BACKUP = "feedhub backup and restore copy SQLite's database file"


def cli(*args: str, config: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "feedhub.cli", "--config", str(config), *args],
                          capture_output=True, text=True, timeout=120)


def integrity(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as conn:
        return conn.execute("PRAGMA integrity_check").fetchall()


@pytest.mark.slow
@pytest.mark.sqlite_only(FILE_BACKUP)
def test_a_backup_under_load_restores_to_the_feeds_the_source_served_at_that_moment(tmp_path: Path, make_database):
    news = tmp_path / "news"
    news.mkdir()
    write_articles(news, 0, count=150)  # international, technology, business, sports
    config_path = write_config(tmp_path, make_database(), articles=[{"path": str(news), "interval": "10s"}],
                               categories={"international": {"title": "International"},
                                           "technology": {"title": "Technology"},
                                           "business": {"title": "Business"},
                                           "sports": {"title": "Sports"},
                                           "wire": {"title": "Wire"}})
    config = load_config(config_path)
    with Store(config.database) as store:  # enough pages that the copy takes a while
        store.insert_many(story(n, category="technology", source="feed:old", text=f"archived story {n} " * 20)
                          for n in range(3000))

    # The test's own writer files a story in "wire" again and again; being
    # the only writer of that category, it can render the feeds of each
    # version it makes: what the source served at that version.
    served_at: dict[int, dict[str, str]] = {}
    stop = threading.Event()

    def write_wire() -> None:
        cache = FeedCache(config)
        with Store(config.database) as store:
            n = 0
            while not stop.is_set():
                filing.add(store, story(n, category="wire", source="feed:wire", guid=f"urn:wire:{n}"))
                renders = {fmt: cache.get(store, "wire", fmt) for fmt in FORMATS}
                served_at[renders["rss"].version] = {fmt: f'"{r.etag}"' for fmt, r in renders.items()}
                n += 1
                time.sleep(0.01)

    statuses: Counter = Counter()

    def read(base: str, seed: int) -> None:
        rng = random.Random(seed)
        paths = [f"/feeds/{c}.{fmt}" for c in config.categories for fmt in FORMATS] + ["/", "/c/wire"]
        with httpx.Client(base_url=base, timeout=30) as client:
            while not stop.is_set() and sum(statuses.values()) < MAX_REQUESTS:
                statuses[client.get(rng.choice(paths)).status_code] += 1

    worker = subprocess.Popen([sys.executable, "-m", "feedhub.cli", "--config", str(config_path), "worker"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    threads = [threading.Thread(target=write_wire)]
    try:
        with gunicorn(config_path) as base:
            threads += [threading.Thread(target=read, args=(base, n)) for n in range(READERS)]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + LOAD_SECONDS
            while len(served_at) < 20 and time.monotonic() < deadline:
                time.sleep(0.05)
            write_articles(news, 1, count=150)  # the worker rewrites every article on its next pass
            made = cli("backup", str(tmp_path / "backups" / "copy.db"), config=config_path)
            refused = cli("restore", str(tmp_path / "backups" / "copy.db"), config=config_path)
            time.sleep(0.5)  # writes go on after the backup
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
    finally:
        stop.set()
        worker.terminate()
        worker_log = worker.communicate(timeout=30)[0]

    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith(f"wrote {tmp_path / 'backups' / 'copy.db'}: ") and "schema version" in made.stdout
    assert refused.returncode == 1 and "is in use" in refused.stderr and "nothing was restored" in refused.stderr
    assert set(statuses) == {200} and sum(statuses.values()) >= 50, statuses
    assert "Traceback" not in worker_log, worker_log[-3000:]

    # Restored into another deployment (same feeds.yaml, its own database).
    other = tmp_path / "restored"
    other.mkdir()
    restored_db = make_database()
    restored_path = write_config(other, restored_db, articles=[], categories=config.model_dump()["categories"])
    restored = cli("restore", str(tmp_path / "backups" / "copy.db"), config=restored_path)
    assert restored.returncode == 0, restored.stderr
    assert restored.stdout.startswith("restored ") and "items (" in restored.stdout
    assert integrity(restored_db) == [("ok",)]
    with sqlite3.connect(restored_db) as conn:
        version = conn.execute("SELECT version FROM categories WHERE key = 'wire'").fetchone()[0]
        # Every item is whole: its keys and signature came with it.
        assert conn.execute("SELECT count(*) FROM items WHERE id NOT IN (SELECT item_id FROM item_keys)").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM items WHERE source LIKE 'articles:%'"
                            " AND id NOT IN (SELECT item_id FROM near_signatures)").fetchone() == (0,)
    assert min(served_at) < version < max(served_at), "the backup was taken while the writer wrote"
    with gunicorn(restored_path) as base:
        etags = {fmt: httpx.get(f"{base}/feeds/wire.{fmt}", headers={"Accept-Encoding": "identity"}).headers["ETag"] for fmt in FORMATS}
    assert etags == served_at[version]
    with Store(config.database) as store:
        assert store.category_version("wire") > version, "the source went on"


@pytest.mark.sqlite_only(FILE_BACKUP)
def test_restore_refuses_a_corrupt_truncated_foreign_or_newer_file_and_changes_nothing(tmp_path: Path, database: str,
                                                                                     capsys):
    path = write_config(tmp_path, database)
    config = load_config(path)
    assert main(["--config", str(path), "backup", str(tmp_path / "early.db")]) == 1
    assert f"{database}: no database to back up" in capsys.readouterr().err and not config.database.exists()
    with Store(config.database) as store:
        for n in range(200):
            filing.add(store, story(n, text=f"story number {n} " * 30))
    good = tmp_path / "good.db"
    assert main(["--config", str(path), "backup", str(good)]) == 0
    assert "200 items (business 200)" in capsys.readouterr().out
    with Store(config.database) as store:
        for n in range(200, 210):
            filing.add(store, story(n))
    data = good.read_bytes()
    cases = {
        "truncated.db": (data[: len(data) // 2], "not a usable SQLite database (database disk image is malformed)"),
        "corrupt.db": (data[:8192] + bytes(4096) + data[12288:], "(database disk image is malformed)"),
        "garbage.db": (random.Random(1).randbytes(20000), "not a usable SQLite database (file is not a database)"),
    }
    with sqlite3.connect(tmp_path / "foreign.db") as conn:
        conn.execute("CREATE TABLE notes (text)")
    cases["foreign.db"] = ((tmp_path / "foreign.db").read_bytes(), "not a feedhub database")
    inconsistent = tmp_path / "inconsistent.db"  # an index that no longer matches its table
    inconsistent.write_bytes(data)
    conn = sqlite3.connect(inconsistent, isolation_level=None)
    conn.executescript("PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = "
                       "'CREATE INDEX idx_items_link ON items (title)' WHERE name = 'idx_items_link';")
    conn.close()
    cases["inconsistent.db"] = (inconsistent.read_bytes(), "fails SQLite's integrity check (row 1 missing from index")
    newer = tmp_path / "newer.db"
    newer.write_bytes(data)
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    cases["newer.db"] = (newer.read_bytes(), f"made by a newer feedhub (schema version {len(MIGRATIONS) + 1}")
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        assert main(["--config", str(path), "restore", str(tmp_path / name)]) == 1
        err = capsys.readouterr().err
        assert f"feedhub restore: {tmp_path / name}: " in err and message in err and "nothing was restored" in err, err
    with Store(config.database) as store:
        assert store.count("items") == 210, "the database was left as it was"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    assert main(["--config", str(path), "restore", str(good)]) == 0
    with Store(config.database) as store:
        assert store.count("items") == 200


@pytest.mark.sqlite_only(FILE_BACKUP)
def test_an_older_backup_is_migrated_forward(tmp_path: Path, database: str, capsys):
    # A database as feedhub made it at schema version 3, before the later
    # migrations (rules, full text, retention, media, search) existed.
    old = sqlite_utils.Database(tmp_path / "old.db")
    for migration in MIGRATIONS[:3]:
        migration(old)
    old.execute("PRAGMA user_version = 3")
    old["items"].insert_all(
        {"id": f"id-{n}", "category": "business", "source": "feed:old", "guid": f"g{n}", "title": f"Story {n}",
         "link": f"http://old.test/{n}", "summary": "", "content": "", "text": f"story number {n} " * 30,
         "author": "", "published": "2026-01-01T00:00:00+00:00", "first_seen": "2026-01-01T00:00:00+00:00",
         "priority": 100}
        for n in range(30)
    )
    old.close()
    assert main(["--config", str(write_config(tmp_path, database)), "restore", str(tmp_path / "old.db")]) == 0
    out = capsys.readouterr().out
    assert "migrated from schema version 3" in out and f"schema version {len(MIGRATIONS)}" in out
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert conn.execute("SELECT count(*) FROM tombstones").fetchone() == (0,)
        assert conn.execute("PRAGMA auto_vacuum").fetchone() == (2,), "made incremental while nobody used it"
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (30,)
        # The search index was filled with the items the backup had.
        assert conn.execute("SELECT count(*) FROM items_search WHERE items_search MATCH 'number'").fetchone() == (30,)


@pytest.mark.sqlite_only(FILE_BACKUP)
def test_scheduled_backups_rotate(make_config, tmp_path: Path):
    config = make_config(backup={"path": "backups", "every": "1h", "keep": 2})
    assert config.backup.path == tmp_path / "backups" and config.backup.every == 3600
    with Store(config.database) as store:
        filing.add(store, story(1))
    start = datetime(2026, 12, 1, tzinfo=timezone.utc)
    for hour in range(3):
        backup.scheduled(config.database, config.backup.path, config.backup.keep, start + timedelta(hours=hour))
    assert sorted(p.name for p in config.backup.path.iterdir()) == [
        "feedhub-20261201T010000Z.db", "feedhub-20261201T020000Z.db"]
    assert integrity(config.backup.path / "feedhub-20261201T020000Z.db") == [("ok",)]
    # A worker started later takes the next one an interval after the newest.
    newest = backup.scheduled(config.database, config.backup.path, config.backup.keep)
    assert newest.path.name.startswith("feedhub-2") and len(list(config.backup.path.iterdir())) == 2
    job = Worker(config).scheduler.get_job("backup")
    assert job.trigger.interval.total_seconds() == 3600
    due = job.next_run_time - datetime.now(timezone.utc)
    assert timedelta(minutes=58) < due <= timedelta(hours=1)
    time.sleep(1)  # the job's backup is named for another second
    job.func()
    names = sorted(p.name for p in config.backup.path.iterdir())
    assert len(names) == 2 and names[0] == newest.path.name, "the worker's job wrote one and rotated"
    assert backup.next_due(["feedhub-20261201T020000Z.db", "notes.txt"], 3600, start) == start + timedelta(hours=3)
    assert backup.expired(["feedhub-20261201T020000Z.db", "x.db", "feedhub-20261201T010000Z.db"], 1) == [
        "feedhub-20261201T010000Z.db"]


def test_backup_settings_are_validated(tmp_path: Path, database: str):
    from feedhub.config import ConfigError

    with pytest.raises(ConfigError, match=r"feeds.yaml:\d+: backup.keep: .*greater than or equal to 1"):
        load_config(write_config(tmp_path, database, backup={"path": "b", "keep": 0}))
    with pytest.raises(ConfigError, match=r"backup.path: required key is missing"):
        load_config(write_config(tmp_path, database, backup={"every": "1d"}))


@pytest.mark.sqlite_only(FILE_BACKUP)
def test_the_restored_database_serves_what_the_backup_holds(make_config, tmp_path: Path):

    config = make_config(feed_size=5)
    with Store(config.database) as store:
        for n in range(12):
            filing.add(store, story(n))
    client = create_app(config).test_client()
    before = {fmt: client.get(f"/feeds/business.{fmt}?page=2").headers["ETag"] for fmt in FORMATS}
    backup.backup(config.database, tmp_path / "b.db")
    with Store(config.database) as store:
        filing.add(store, story(50))
    backup.restore(tmp_path / "b.db", tmp_path / "elsewhere.db")
    other = create_app(config.model_copy(update={"database": tmp_path / "elsewhere.db"})).test_client()
    assert {fmt: other.get(f"/feeds/business.{fmt}?page=2").headers["ETag"] for fmt in FORMATS} == before


def items_in(database: Path) -> int:
    """Read with sqlite3 itself: the test process must not be one more user of the database."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        return conn.execute("SELECT count(*) FROM items").fetchone()[0]


def feedhub(config: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "feedhub.cli", "--config", str(config), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def answers(url: str) -> bool:
    with contextlib.suppress(httpx.TransportError):
        return httpx.get(url).status_code == 200
    return False


@pytest.fixture
def eight_stories_and_a_backup_of_three(tmp_path: Path, database: str) -> tuple[Path, Path, Path]:
    """feeds.yaml, its database holding 8 stories, and a backup of it holding 3."""
    path = write_config(tmp_path, database)
    config = load_config(path)
    with Store(config.database) as store:
        for n in range(3):
            filing.add(store, story(n))
    backup.backup(config.database, tmp_path / "three.db")
    with Store(config.database) as store:
        for n in range(3, 8):
            filing.add(store, story(n))
    return path, config.database, tmp_path / "three.db"


@pytest.mark.slow
@pytest.mark.sqlite_only(FILE_BACKUP)
def test_restore_refuses_while_a_worker_or_a_web_server_runs_even_between_their_uses(
        eight_stories_and_a_backup_of_three):
    path, database, three = eight_stories_and_a_backup_of_three

    def refused() -> None:
        for _ in range(3):  # at different moments of the processes' lives
            done = cli("restore", str(three), config=path)
            assert done.returncode == 1, done.stdout
            assert f"feedhub restore: {database} is in use by a running feedhub process" in done.stderr
            assert "nothing was restored" in done.stderr
            time.sleep(0.3)
        assert items_in(database) == 8

    # The worker opens the database per job (a heartbeat every 15 s, a look at feeds.yaml every 5 s).
    worker = feedhub(path, "worker")
    try:
        assert wait_until(lambda: ("scheduler", worker.pid) in values(database, "SELECT name, pid FROM heartbeats"), 30)
        refused()
    finally:
        worker.kill()  # SIGKILL: a process that dies without a word leaves nothing locked
        worker.wait()
    # A web server that has not opened the database yet (no request has needed it).
    with gunicorn(path, workers=1, ready="/static/style.css"):
        refused()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    run = feedhub(path, "run", "--port", str(port), "--workers", "1")
    try:
        assert wait_until(lambda: answers(f"http://127.0.0.1:{port}/static/style.css"), 30)
        refused()
    finally:
        run.terminate()
        run.wait(30)
    done = cli("restore", str(three), config=path)
    assert done.returncode == 0, done.stderr
    assert items_in(database) == 3


@pytest.mark.sqlite_only(FILE_BACKUP)
def test_a_process_opening_the_database_during_a_restore_waits_and_reads_the_restored_file(
        eight_stories_and_a_backup_of_three, monkeypatch):
    _, database, three = eight_stories_and_a_backup_of_three
    checked, go = threading.Event(), threading.Event()
    check = backup._check

    def check_then_hold(*args):  # the backup passed its checks; the switch has not happened yet
        schema = check(*args)
        checked.set()
        assert go.wait(60)
        return schema

    monkeypatch.setattr(backup, "_check", check_then_hold)
    restoring = threading.Thread(target=backup.restore, args=(three, database))
    restoring.start()
    try:
        assert checked.wait(60)
        reader = subprocess.Popen(
            [sys.executable, "-c", "import sys\nfrom feedhub.store import Store\nprint('opening', flush=True)\n"
             "with Store(sys.argv[1]) as store:\n    print(store.count('items'))", str(database)],
            stdout=subprocess.PIPE, text=True)
        assert reader.stdout.readline() == "opening\n"
        with pytest.raises(subprocess.TimeoutExpired):  # it waits for the restore
            reader.wait(timeout=3)
    finally:
        go.set()
        restoring.join(60)
    assert reader.communicate(timeout=30)[0] == "3\n", "it opened the restored file, not the old one"
    assert items_in(database) == 3


@pytest.mark.sqlite_only(FILE_BACKUP)  # with PostgreSQL, feeds.yaml's backup: is refused (tests/test_config_refusals.py)
def test_a_backup_block_added_to_feeds_yaml_starts_the_job_without_a_restart(make_config):
    worker = Worker(make_config())
    assert worker.scheduler.get_job("backup") is None
    worker._apply(make_config(backup={"path": "backups", "every": "6h"}))
    assert worker.scheduler.get_job("backup").trigger.interval.total_seconds() == 6 * 3600
    worker._apply(make_config())
    assert worker.scheduler.get_job("backup") is None
