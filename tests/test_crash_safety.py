"""SIGKILL `feedhub ingest` at random points, many times: nothing half-stored.

A generated folder of articles and a feed served over HTTP are ingested by a
real `feedhub ingest` process, killed with SIGKILL again and again (seeded,
so a failure can be replayed).  Then the database must pass integrity_check,
every item must be whole (row, keys, signature and bands, its file record) or
absent, every feed stored with its validators or not at all (several feeds
share a transaction when they are fetched already), a last run must ingest the
rest, and no story may be stored twice.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import write_config

from feedhub.ingest.folders import FILE_BATCH

SEED = 6
KILLS = 15
# Articles are committed FILE_BATCH at a time: enough batches that every kill
# still finds a pass part-way through its writing.
ARTICLES = (KILLS + 1) * FILE_BATCH
FEEDS, ENTRIES = 6, 150  # entries in all, ENTRIES // FEEDS per feed
SECTIONS = ["INTERNATIONAL", "TECHNOLOGY", "BUSINESS", "SPORTS"]


def vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    letters = "abcdefghiklmnoprstuvz"
    return list({"".join(rng.choice(letters) for _ in range(rng.randint(4, 9))) for _ in range(size)})


def sentence(rng: random.Random, words: list[str], n: int) -> str:
    return " ".join(rng.choice(words) for _ in range(n)).capitalize() + "."


def generate(folder: Path, feeds: Path) -> None:
    """Articles and feed entries that share no story, so every one is new."""
    rng = random.Random(SEED)
    words = vocabulary(rng)
    folder.mkdir()
    for n in range(ARTICLES):
        paragraphs = "\n\n".join(sentence(rng, words, 45) for _ in range(3))
        headline = sentence(rng, words, 7)[:-1]
        (folder / f"story-{n:03}.txt").write_text(f"{SECTIONS[n % 4]}\n\n{headline}\n\n{paragraphs}\n", encoding="utf-8")
    each = ENTRIES // FEEDS
    for feed in range(FEEDS):
        items = "".join(
            f"<item><title>{sentence(rng, words, 6)}</title><link>https://wire.test/{n}</link>"
            f"<guid>https://wire.test/{n}</guid><description>{sentence(rng, words, 60)}</description></item>"
            for n in range(feed * each, (feed + 1) * each)
        )
        (feeds / f"wire-{feed}.rss").write_text(
            f'<rss version="2.0"><channel><title>w</title><link>https://wire.test/</link>'
            f"<description>d</description>{items}</channel></rss>", encoding="utf-8")


def progress(database: Path) -> int:
    """Rows written so far (0 before the schema exists)."""
    if not database.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
            return conn.execute("SELECT (SELECT count(*) FROM items) + (SELECT count(*) FROM article_files)").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def ingest(config_path: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "feedhub.cli", "--config", str(config_path), "--log-level", "ERROR", "ingest"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def kill_at_random_point(config_path: Path, database: Path, rng: random.Random, blind: bool) -> bool:
    """Start an ingest and SIGKILL it; False if it finished first."""
    before = progress(database)
    process = ingest(config_path)
    if blind:  # anywhere: start-up, schema creation, fetching, writing
        deadline = time.monotonic() + rng.uniform(0.05, 0.6)
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.005)
    else:  # in the writing: after a random number of rows, plus a random instant
        target = before + rng.randint(1, 40)
        deadline = time.monotonic() + 30
        while progress(database) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.01))
    finished = process.poll() is not None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return not finished


def check_consistent(database: Path) -> None:
    conn = sqlite3.connect(database)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        orphans = {
            "items without keys": "SELECT count(*) FROM items WHERE id NOT IN (SELECT item_id FROM item_keys)",
            "keys without item": "SELECT count(*) FROM item_keys WHERE item_id NOT IN (SELECT id FROM items)",
            "items without signature": "SELECT count(*) FROM items WHERE id NOT IN (SELECT item_id FROM near_signatures)",
            "signatures without item": "SELECT count(*) FROM near_signatures WHERE item_id NOT IN (SELECT id FROM items)",
            "signatures without bands": "SELECT count(*) FROM near_signatures WHERE num NOT IN (SELECT num FROM near_bands)",
            "bands without signature": "SELECT count(*) FROM near_bands WHERE num NOT IN (SELECT num FROM near_signatures)",
            "files pointing nowhere": "SELECT count(*) FROM article_files WHERE item_id IS NOT NULL AND item_id NOT IN (SELECT id FROM items)",
            "items of unrecorded category": "SELECT count(*) FROM items WHERE category NOT IN (SELECT key FROM categories)",
            "stories twice": "SELECT count(*) - count(DISTINCT source || ' ' || guid) FROM items",
            # A feed's entries and its validators are kept together or not at all.
            "feeds stored without validators": "SELECT count(DISTINCT source) FROM items WHERE source LIKE 'feed:%'"
            " AND substr(source, 6) NOT IN (SELECT name FROM sources WHERE last_success IS NOT NULL)",
            "feeds stored in part": "SELECT count(*) FROM (SELECT source FROM items WHERE source LIKE 'feed:%'"
            f" GROUP BY source HAVING count(*) != {ENTRIES // FEEDS})",
            "validators without the feed": "SELECT count(*) FROM sources WHERE last_success IS NOT NULL"
            " AND 'feed:' || name NOT IN (SELECT source FROM items)",
            "duplicates recorded": "SELECT count(*) FROM duplicates",
        }
        found = {name: conn.execute(sql).fetchone()[0] for name, sql in orphans.items()}
        assert found == dict.fromkeys(orphans, 0), found
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.sqlite_only("reads SQLite's file while ingest is killed, and checks it with integrity_check and "
                         "foreign_key_check (tests/test_batched_ingest.py kills a pass on either engine)")
def test_sigkill_at_random_points_loses_and_doubles_nothing(tmp_path: Path, database: str, feed_server):
    generate(tmp_path / "news", feed_server.root)
    config_path = write_config(
        tmp_path, database,
        articles=[{"path": str(tmp_path / "news")}],
        sources=[feed_server.source(f"wire-{n}", f"wire-{n}.rss", "international") for n in range(FEEDS)],
    )
    database = Path(database)

    rng = random.Random(SEED)
    killed = sum(kill_at_random_point(config_path, database, rng, blind=(n % 4 == 0)) for n in range(KILLS))
    assert killed >= KILLS - 1, "the kills landed while ingest was running"
    partial = progress(database)
    check_consistent(database)

    final = subprocess.run(
        [sys.executable, "-m", "feedhub.cli", "--config", str(config_path), "ingest"],
        capture_output=True, text=True, timeout=120,
    )
    assert final.returncode == 0, final.stdout + final.stderr
    check_consistent(database)
    with sqlite3.connect(database) as conn:
        by_source = dict(conn.execute("SELECT source, count(*) FROM items GROUP BY source").fetchall())
        recorded = conn.execute("SELECT count(*) FROM article_files WHERE item_id IS NOT NULL").fetchone()[0]
    assert by_source == {"articles:news": ARTICLES, **{f"feed:wire-{n}": ENTRIES // FEEDS for n in range(FEEDS)}}
    assert recorded == ARTICLES
    assert 0 < partial < 2 * ARTICLES + ENTRIES, "the kills left work for the last run"
