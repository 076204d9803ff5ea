"""Retention: pruning old items with everything filed under them, tombstones
that keep a pruned story from coming back, paging and Last-Modified after a
prune, and the space given back to the file system."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest
from helpers import on_sqlite, values, write_config

from feedhub.cli import main
from feedhub.config import ConfigError, Retention, load_config
from feedhub.ingest import filing
from feedhub.model import NEW, UNCHANGED, Item
from feedhub.store import Store
from feedhub.web import create_app
from feedhub.worker import retention

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
WORDS = ("harbour levy council rail freight summit river plant grid match vote budget strike treaty market "
         "coast storm school bridge court ferry tunnel wheat copper").split()


def news(n: int, source: str = "feed:t", guid: str | None = None, published: datetime | None = None) -> Item:
    """Story n: its own words (long enough for a near-duplicate signature),
    published n days after T0."""
    rng = random.Random(n)
    text = " ".join(rng.choice(WORDS) for _ in range(60))
    return Item(category="business", source=source, guid=guid or f"urn:t:{n}", title=f"Story {n} {text[:30]}",
                link=f"http://t.test/{n}", summary=text[:80], content=f"<p>{text}</p>", text=text,
                published=published or T0 + timedelta(days=n))


@pytest.fixture
def clock(monkeypatch):
    """The store's clock (first seen, category changed), set by the test."""
    now = [T0]
    monkeypatch.setattr("feedhub.store.rows.utcnow", lambda: now[0])
    return now


def fill(config, count: int, copies: bool = True) -> None:
    """`count` stories, each also carried (same link) by a second source."""
    with Store(config.database) as store:
        for n in range(count):
            assert filing.add(store, news(n)).status == NEW
            if copies:
                assert filing.add(store, news(n, source="feed:copy", guid=f"copy-{n}")).status == "duplicate"


def test_retention_is_validated_and_a_category_overrides_the_site_default(tmp_path: Path, database: str):
    path = write_config(tmp_path, database, retention={"days": 0})
    with pytest.raises(ConfigError, match=r"feeds.yaml:\d+: retention.days: .*greater than or equal to 1"):
        load_config(path)
    config = load_config(write_config(
        tmp_path, database, retention={"days": 90, "items": 5000},
        categories={"business": {"title": "Business", "retention": {"items": 100}},
                    "sports": {"title": "Sports", "retention": {"days": None}},
                    "technology": {"title": "Technology"}}))
    assert config.retention_for("business") == Retention(days=90, items=100)
    assert config.retention_for("sports") == Retention(days=None, items=5000)
    assert config.retention_for("technology") == Retention(days=90, items=5000)


def test_the_first_page_is_never_chosen_whatever_the_limits():
    ranked = [(f"id{n}", (T0 - timedelta(days=n)).isoformat(), f"t{n}") for n in range(5, 20)]  # places 5..19
    ancient = T0 + timedelta(days=1000)
    assert retention.doomed(ranked, 5, Retention(days=1), ancient) == ranked
    assert retention.doomed(ranked, 5, Retention(items=1), T0) == ranked
    assert retention.doomed(ranked, 5, Retention(items=12), T0) == ranked[7:]
    assert retention.doomed(ranked, 5, Retention(days=10), T0) == ranked[6:]  # older than 10 days: 11 and more
    assert retention.doomed(ranked, 5, Retention(), ancient) == []


def test_prune_removes_items_with_keys_signatures_bands_and_duplicates_leaving_tombstones(make_config, clock):
    config = make_config(feed_size=5, retention={"days": 10})
    fill(config, 30)
    clock[0] = T0 + timedelta(days=30)  # items 0..19 are more than 10 days old
    with Store(config.database) as store:
        report = retention.prune(config, store, clock[0])
    assert report.removed == {"business": 20}
    assert sorted(n for (n,) in values(config, "SELECT CAST(substr(guid, 7) AS INT) FROM items")) == list(range(20, 30))
    for table in ("item_keys", "duplicates", "near_signatures"):
        assert values(config, f"SELECT count(*) FROM {table} WHERE item_id NOT IN (SELECT id FROM items)") == [(0,)]
    assert values(config, "SELECT count(*) FROM duplicates") == [(10,)]
    assert values(config, "SELECT count(*) FROM near_bands WHERE num NOT IN (SELECT num FROM near_signatures)") == [(0,)]
    assert values(config, "SELECT count(*) FROM near_band_lists WHERE num NOT IN (SELECT num FROM near_signatures)") == [(0,)]
    if on_sqlite(config):
        assert values(config, "PRAGMA integrity_check") == [("ok",)] and values(config, "PRAGMA foreign_key_check") == []
    tombstones = values(config, "SELECT kind, count(*) FROM tombstones GROUP BY kind ORDER BY kind")
    assert tombstones == [("entry", 40), ("guid", 20), ("text", 20), ("url", 20)]

    with Store(config.database) as store:
        # The sources still carry the pruned stories: none is published again.
        again = [filing.add(store, news(3)), filing.add(store, news(3, source="feed:copy", guid="copy-3")),
                 filing.add(store, news(3, source="feed:third", guid="elsewhere-3"))]  # same link, new source
        assert [(outcome.status, outcome.item_id) for outcome in again] == [(UNCHANGED, None)] * 3
        assert store.count("items", category="business") == 10
        assert filing.add(store, news(31)).status == NEW  # a new story still is


def test_items_held_back_by_a_rule_do_not_count_as_the_first_page(make_config, clock):
    config = make_config(feed_size=5, retention={"items": 5})
    fill(config, 8, copies=False)
    with Store(config.database) as store:
        for n in (5, 6, 7):  # the three newest are blocked: stories 0..4 are the served first page
            store.mark_blocked(news(n).id, "block[0]: test")
        report = retention.prune(config, store, clock[0])
    assert report.removed == {"business": 3}
    assert sorted(n for (n,) in values(config, "SELECT CAST(substr(guid, 7) AS INT) FROM items")) == [0, 1, 2, 3, 4]


def test_tombstones_expire_and_the_story_may_come_back(make_config, clock):
    config = make_config(feed_size=5, retention={"days": 10, "tombstone_days": 30})
    fill(config, 12, copies=False)
    clock[0] = T0 + timedelta(days=20)
    with Store(config.database) as store:
        assert retention.prune(config, store, clock[0]).removed == {"business": 7}  # 0..6; 7..11 are page 1
        assert filing.add(store, news(0)).status == UNCHANGED
        dry = retention.prune(config, store, clock[0] + timedelta(days=31), dry_run=True)
        assert dry.tombstones == {"business": 28, "international": 0, "technology": 0, "sports": 0}
        assert store.count("tombstones") == 28  # entry, guid, url and text keys of each
        retention.prune(config, store, clock[0] + timedelta(days=31))
        assert store.count("tombstones") == 0
        assert filing.add(store, news(0)).status == NEW


def feed_links(body: bytes) -> dict[str, str]:
    return {link.rel: link.href for link in feedparser.parse(body).feed.links}


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_paging_and_last_modified_are_right_after_a_prune(make_config, clock, fmt):
    config = make_config(feed_size=5, retention={"items": 12})
    fill(config, 30, copies=False)
    client = create_app(config).test_client()
    url = f"/feeds/business.{fmt}"
    before = client.get(url)
    assert feed_links(before.data)["last"].endswith("?page=6") and client.get(f"{url}?page=6").status_code == 200

    clock[0] = T0 + timedelta(days=40)
    with Store(config.database) as store:
        assert retention.prune(config, store, clock[0]).removed == {"business": 18}
    after = client.get(url, headers={"If-None-Match": before.headers["ETag"],
                                     "If-Modified-Since": before.headers["Last-Modified"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert parsedate_to_datetime(after.headers["Last-Modified"]) == clock[0]
    assert client.get(url, headers={"If-Modified-Since": format_datetime(clock[0], usegmt=True)}).status_code == 304
    parsed = feedparser.parse(after.data)
    assert [entry.title.split()[1] for entry in parsed.entries] == ["29", "28", "27", "26", "25"]
    assert feed_links(after.data)["last"].endswith("?page=3")
    last = client.get(f"{url}?page=3")
    assert [entry.title.split()[1] for entry in feedparser.parse(last.data).entries] == ["19", "18"]
    assert "next" not in feed_links(last.data) and feed_links(last.data)["previous"].endswith("?page=2")
    assert client.get(f"{url}?page=4").status_code == 404
    assert client.get(f"{url}?page=6").status_code == 404


def test_prune_command_dry_run_changes_nothing_then_prunes(make_config, tmp_path: Path, database: str, capsys):
    now = datetime.now(timezone.utc)
    path = write_config(tmp_path, database, feed_size=5, retention={"days": 30})
    config = load_config(path)
    with Store(config.database) as store:
        for n in range(12):  # story n is n * 5 days (and an hour) old: 6..11 are older than 30 days
            filing.add(store, news(n, published=now - timedelta(days=5 * n, hours=1)))

    assert main(["--config", str(path), "prune", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "business: would prune 6 items (published " in out and "0 tombstones would expire" in out
    assert f"  {news(6).title}" in out
    assert values(config, "SELECT count(*) FROM items") == [(12,)]

    assert main(["--config", str(path), "prune"]) == 0
    out = capsys.readouterr().out
    freed = "MB given back to the file system" if on_sqlite(config) else "autovacuum makes the space"
    assert "business: pruned 6 items" in out and freed in out
    assert values(config, "SELECT count(*) FROM items") == [(6,)]


@pytest.mark.sqlite_only("measures the SQLite file and its free pages (auto_vacuum, freelist_count)")
def test_a_prune_gives_the_space_back_without_a_full_vacuum(make_config, clock):
    config = make_config(feed_size=5, retention={"items": 10})
    with Store(config.database) as store:
        assert store.incremental(), "a new database is made with auto_vacuum=INCREMENTAL"
    # Enough items that their pages, not the fixed cost of the schema's
    # tables and indexes, make up most of the file.
    fill(config, 600, copies=False)
    full = config.database.stat().st_size
    clock[0] = T0 + timedelta(days=400)
    with Store(config.database) as store:
        report = retention.prune(config, store, clock[0])
        assert report.removed == {"business": 590} and report.freed > 0
        assert store.db.execute("PRAGMA freelist_count").fetchone()[0] == 0
    # What stays: the 10 newest items, and the tombstones of the 590 pruned
    # (four keys each, indexed twice), about a fifth of the full file.
    assert config.database.stat().st_size < full / 2.5


@pytest.mark.sqlite_only("SQLite's auto_vacuum mode of an older database file")
def test_an_older_database_is_switched_to_incremental_vacuum_once_on_request(make_config, tmp_path: Path, capsys):
    config = make_config(feed_size=5, retention={"items": 10})
    fill(config, 40, copies=False)
    with sqlite3.connect(config.database) as conn:  # as databases made before feedhub set auto_vacuum
        conn.execute("PRAGMA auto_vacuum = NONE")
        conn.execute("VACUUM")
        conn.execute("DELETE FROM near_band_lists")  # and before it listed each signature's bands
    path = tmp_path / "feeds.yaml"
    assert main(["--config", str(path), "prune"]) == 0
    assert "run `feedhub prune --vacuum` once" in capsys.readouterr().out
    assert values(config, "SELECT count(*) FROM items") == [(10,)]
    assert values(config, "SELECT count(*) FROM near_bands WHERE num NOT IN (SELECT num FROM near_signatures)") == [(0,)]
    assert main(["--config", str(path), "prune", "--vacuum"]) == 0
    assert "rebuilding with incremental vacuum" in capsys.readouterr().out
    assert values(config, "PRAGMA auto_vacuum") == [(2,)]


def test_the_worker_prunes_on_schedule(make_config):
    from feedhub.worker.scheduler import Worker

    now = datetime.now(timezone.utc)
    config = make_config(feed_size=5, retention={"days": 30})
    with Store(config.database) as store:
        for n in range(12):
            filing.add(store, news(n, published=now - timedelta(days=5 * n, hours=1)))
    worker = Worker(config)
    job = worker.scheduler.get_job("prune")
    assert job.trigger.interval.total_seconds() == retention.PRUNE_EVERY
    job.func()
    assert values(config, "SELECT count(*) FROM items") == [(6,)]
