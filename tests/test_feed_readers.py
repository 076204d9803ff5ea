"""A pass with many new feed documents reads them in worker processes
(ingest.feeds.FeedReaders): the store must come out exactly as when the fetch
threads read them, and a bad document or entry must fail as it does there."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import write_config
from test_fetch_pool import write_feed
from test_parallel_read import stored

from feedhub.config import Source, load_config
from feedhub.ingest import feeds, pool
from feedhub.ingest.cycle import run_cycle
from feedhub.ingest.feeds import FeedReader
from feedhub.remote import to_item
from feedhub.remote.fetch import Document
from feedhub.store import Store

WORKERS_CALL = pool.Workers.__call__


def sources(server, tmp_path: Path) -> list[dict]:
    """Five feeds, another carrying the first one's stories (duplicates, by
    keys made in the worker), a document that is no feed, and a local feed file."""
    for number in range(5):
        write_feed(server.root / f"many-{number}.rss", number, items=12)
    (server.root / "copy.rss").write_bytes((server.root / "many-0.rss").read_bytes())
    (server.root / "page.rss").write_text("<html><body><p>Not a feed</p></body></html>", encoding="utf-8")
    write_feed(tmp_path / "local.rss", 9, items=4)
    listed = [{"name": f"s{n}", "url": f"{server.url}/many-{n}.rss", "category": "business"} for n in range(5)]
    return [*listed, {"name": "copy", "url": f"{server.url}/copy.rss", "category": "business"},
            {"name": "page", "url": f"{server.url}/page.rss", "category": "business"},
            {"name": "local", "path": str(tmp_path / "local.rss"), "category": "business"}]


def ingest_with(folder: Path, database: str, server, monkeypatch, read_apart_from: int) -> tuple[dict, list[str], int]:
    calls = []

    def spy(self, task):
        calls.append(task[0].name)
        return WORKERS_CALL(self, task)

    monkeypatch.setattr(feeds, "READ_APART_FROM", read_apart_from)
    monkeypatch.setattr(pool, "spare_cores", lambda: 1)  # workers even on one core
    monkeypatch.setattr(pool.Workers, "__call__", spy)
    folder.mkdir()
    config = load_config(write_config(folder, database, fetch_allow_networks=["127.0.0.1/32"], sources=sources(server, folder)))
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        seen = store.source_state("s1").items_seen
    counts = {outcome: summary.total(outcome) for outcome in ("new", "duplicate", "failed")}
    return {**stored(config.database), "counts": counts, "errors": summary.errors}, calls, seen


def test_workers_store_exactly_what_the_fetch_threads_do(tmp_path, make_database, feed_server, monkeypatch):
    here, here_calls, here_seen = ingest_with(tmp_path / "here", make_database(), feed_server, monkeypatch, 10**12)
    apart, apart_calls, apart_seen = ingest_with(tmp_path / "apart", make_database(), feed_server, monkeypatch, 0)

    assert here_calls == []
    assert sorted(apart_calls) == sorted(["s0", "s1", "s2", "s3", "s4", "copy", "page", "local"])
    assert apart["counts"] == here["counts"] == {"new": 5 * 12 + 4, "duplicate": 12, "failed": 1}
    assert apart["errors"] == here["errors"]
    assert "page" in here["errors"][0] and "not an RSS or Atom feed" in here["errors"][0]
    assert apart_seen == here_seen == 12
    for table in ("items", "duplicates", "keys"):
        assert apart[table] == here[table], table


@pytest.fixture
def broken_second_entry(monkeypatch):
    original = to_item.to_item

    def failing(entry, source, now):
        if entry.get("title") == "Feed 0 story 1":
            raise ValueError("boom")
        return original(entry, source, now)

    monkeypatch.setattr(to_item, "to_item", failing)


def test_a_bad_entry_fails_alone_with_its_index(make_config, feed_server, broken_second_entry):
    write_feed(feed_server.root / "bad.rss", 0)
    config = make_config(sources=[{"name": "bad", "url": f"{feed_server.url}/bad.rss", "category": "business"}],
                         fetch_allow_networks=["127.0.0.1/32"])
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    assert summary.errors == ["bad: entry 2 (https://feed0.example/1): ValueError('boom')"]
    assert summary.total("new") == 2


def test_a_worker_reads_each_entry_on_its_own(tmp_path, broken_second_entry):
    write_feed(tmp_path / "bad.rss", 0)
    source = Source(name="bad", path=tmp_path / "bad.rss", category="business")
    read = FeedReader()((source, Document((tmp_path / "bad.rss").read_bytes(), None, None)))
    assert not isinstance(read, str)
    assert [(e.label, e.error) for e in read] == [("https://feed0.example/0", None), ("https://feed0.example/1", "ValueError('boom')"),
                                                 ("https://feed0.example/2", None)]
    assert read[1].item is None and "ValueError: boom" in (read[1].trace or "")
    assert all(e.item is not None and e.prepared is not None for e in (read[0], read[2]))
    assert FeedReader()((source, Document(b"<html><p>no feed</p></html>", None, None))) == "not an RSS or Atom feed"
