"""Article files are stored many per transaction, yet every item, duplicate and
file record is kept, a failing write is undone alone, and a pass killed half
way leaves every item whole or absent and is completed by the next run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers import rows, write_config

from feedhub.config import load_config
from feedhub.ingest import filing
from feedhub.ingest.cycle import run_cycle
from feedhub.ingest.folders import FILE_BATCH
from feedhub.model import Item
from feedhub.store import Store


def write_articles(folder: Path, count: int, start: int = 0) -> None:
    sections = ["BUSINESS", "WORLD", "TECH", "SPORTS"]
    for n in range(start, start + count):
        day = folder / f"day-{n // 100:02d}"
        day.mkdir(parents=True, exist_ok=True)
        (day / f"story-{n:05d}.txt").write_text(
            f"{sections[n % 4]}\n\nCouncil number {n} approves harbour plan {n * 7}\n\n"
            f"The council numbered {n} voted on plan {n * 7} after a long debate about berths.\n\n"
            "Back to top button\n",
            encoding="utf-8",
        )


def test_many_batches_record_every_item_duplicate_and_file(tmp_path: Path, database: str):
    articles = tmp_path / "articles"
    count = 2 * FILE_BATCH + 50
    write_articles(articles, count)
    for n in range(5):  # resent copies, each in a later batch than its original
        (articles / f"zz-copy-{n}.txt").write_bytes((articles / "day-00" / f"story-{n:05d}.txt").read_bytes())
    (articles / "zz-empty.txt").write_text("")
    config_path = write_config(tmp_path, database, articles=[{"path": str(articles)}])
    config = load_config(config_path)
    with Store(config.database) as store:
        first = run_cycle(config, store)
        second = run_cycle(config, store)
        items = store.count("items")
        duplicates = store.count("duplicates")
        files = store.count("article_files")
        keyless = store.db.execute(
            "SELECT count(*) FROM items WHERE id NOT IN (SELECT item_id FROM item_keys)").fetchone()[0]
    assert (first.total("new"), first.total("duplicate"), first.total("failed")) == (count, 5, 1)
    assert (items, duplicates, files, keyless) == (count, 5, count + 6, 0)
    assert (second.total("unchanged"), second.total("failed"), second.total("new")) == (count + 5, 1, 0)


def test_a_failing_write_inside_a_batch_is_undone_alone(database: str):
    def item(n: int) -> Item:
        return Item(category="business", source="test", guid=f"guid-{n}", title=f"Story {n}",
                    link=f"https://example.org/{n}", summary="s", content=f"<p>Body {n}</p>",
                    text=f"Body {n}", published=datetime(2026, 11, 20, tzinfo=timezone.utc))

    with Store(database) as store:
        with store.transaction():
            filing.add(store, item(1))
            with pytest.raises(ZeroDivisionError):
                with store.transaction():
                    filing.add(store, item(2))
                    1 / 0
            filing.add(store, item(3))
        guids = [row["guid"] for row in rows(store, "SELECT guid FROM items ORDER BY guid")]
        keys_of_2 = store.count("item_keys", item_id=item(2).id)
    assert guids == ["guid-1", "guid-3"] and keys_of_2 == 0


def test_a_category_version_moves_once_per_transaction_and_not_for_undone_work(database: str):
    """Feeds' ETags follow category versions: a transaction filing many items
    moves each category it changed by one, and a savepoint undone changes nothing."""
    def item(n: int, category: str) -> Item:
        return Item(category=category, source="test", guid=f"guid-{n}", title=f"Story {n}",
                    link=f"https://example.org/{n}", summary="s", content=f"<p>Body {n}</p>",
                    text=f"Body {n} " + "word " * n, published=datetime(2026, 11, 20, tzinfo=timezone.utc))

    with Store(database) as store:
        filing.add(store, item(0, "business"))
        filing.add(store, item(1, "world"))
        before = store.category_versions()
        with store.transaction():
            for n in range(2, 12):
                filing.add(store, item(n, "business"))
            filing.add(store, item(12, "sport"))
            with pytest.raises(ZeroDivisionError):
                with store.transaction():
                    filing.add(store, item(13, "world"))
                    1 / 0
        after = store.category_versions()
        with pytest.raises(ZeroDivisionError):
            with store.transaction():
                filing.add(store, item(14, "world"))
                1 / 0
        unchanged = store.category_versions()
    assert before == {"business": 1, "world": 1}
    assert after == {"business": 2, "world": 1, "sport": 1} == unchanged


@pytest.mark.slow
def test_a_killed_pass_leaves_whole_items_and_the_next_run_completes(tmp_path: Path, database: str):
    articles = tmp_path / "articles"
    count = 10 * FILE_BATCH
    write_articles(articles, count)
    config_path = write_config(tmp_path, database, articles=[{"path": str(articles)}])
    with Store(database) as reader:  # the schema is in place before the worker starts
        worker = subprocess.Popen(
            [sys.executable, "-m", "feedhub.cli", "--config", str(config_path), "ingest"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            # Killed as soon as its first batch is committed: part of the way
            # through, most likely in the middle of writing the next one.
            while reader.count("article_files") == 0 and worker.poll() is None:
                time.sleep(0.002)
            os.kill(worker.pid, signal.SIGKILL)
        finally:
            worker.wait()
    assert worker.returncode == -signal.SIGKILL, "the pass ended before it could be killed"

    config = load_config(config_path)
    with Store(database) as store:
        done = store.count("article_files")
        whole = store.db.execute(
            "SELECT count(*) FROM items i JOIN article_files f ON f.item_id = i.id "
            "WHERE EXISTS (SELECT 1 FROM item_keys k WHERE k.item_id = i.id)").fetchone()[0]
        assert 0 < done < count and store.count("items") == whole == done
        rerun = run_cycle(config, store)
        assert (rerun.total("new"), rerun.total("unchanged")) == (count - done, done)
        assert store.count("items") == store.count("article_files") == count
