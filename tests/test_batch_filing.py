"""Filing in batches (ingest/filing.py's file_batch): a batch is read in a
few set-based queries and written together, yet it files exactly what
filing its items one by one files, copies inside the batch included; and
two workers filing overlapping batches at once store each story once,
without a deadlock."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import values, write_config

from feedhub.config import load_config
from feedhub.ingest import filing
from feedhub.ingest.feeds import ingest_source
from feedhub.ingest.folders import ingest_folder
from feedhub.model import BLOCKED, DUPLICATE, NEW, UNCHANGED, Item
from feedhub.store import Store

WORDS = ("harbour council budget strike treaty market coast storm school bridge court ferry mill grain port minister"
         " talks election flood power line fire vaccine runner doping cabinet river plant grid match vote levy").split()
START = datetime(2026, 11, 1, tzinfo=timezone.utc)


def story(n: int, source: str = "feed:a", category: str = "business", priority: int = 100, **fields: object) -> Item:
    words = random.Random(n).choices(WORDS, k=80)
    values = dict(category=category, source=source, guid=f"urn:{source}:{n}", title=f"Story {n}: {' '.join(words[:4])}",
                  link=f"https://{source.replace(':', '-')}.test/{n}", summary="", content=f"<p>{' '.join(words)}</p>",
                  text=" ".join(words), published=START + timedelta(hours=n), priority=priority)
    values.update(fields)
    return Item(**values)


def reworded(item: Item, source: str, n: int, **fields: object) -> Item:
    """Another desk's rewrite of `item`: a new headline and link, a few words changed."""
    words = item.text.split()
    for i in range(0, len(words), 16):
        words[i] = "reportedly"
    return story(n, source, item.category, text=" ".join(words), title=f"Rewritten: {item.title}", **fields)


def batch_with_copies() -> tuple[list[Item], Item]:
    """A stored story, then a batch: new stories and, among them, copies of
    one another (same link, same text, reworded), of the stored story, the
    same entry twice, a better source's copy that replaces the first, and a
    copy that a rule holds back."""
    stored = story(1, "feed:old")
    a, b, c = story(10), story(11), story(12, category="sports")
    batch = [
        a, b,
        story(20, "feed:b", link=a.link),  # a's link
        story(21, "feed:c", title=b.title, text=b.text),  # b's text
        reworded(a, "feed:d", 22),  # a, rewritten
        story(30, "feed:k", guid=a.guid, title=stored.title, text=stored.text),  # a's guid (tried first), stored text
        story(23, "feed:e", link=stored.link),  # the stored story's link
        c,
        story(24, "feed:f", category="sports", text=c.text, title=c.title),  # c's text, in its category
        story(25, "feed:g", category="business", text=c.text, title=c.title),  # c's text, another category: new
        b,  # the same entry twice
        reworded(b, "feed:h", 26, priority=10),  # b, from a better source: it takes b's place
        story(27, "feed:i", link=a.link),  # a's link again
        story(28),
        story(29, "feed:j", link=a.link, title="Sponsored: a harbour tour"),  # a rule holds it back
    ]
    return batch, stored


def filed_rows(store: Store) -> dict[str, object]:
    return {
        "items": sorted(values(store, "SELECT id, category, source, guid FROM items")),
        "duplicates": sorted(values(store, "SELECT category, source, guid, item_id, reason FROM duplicates")),
        "keys": sorted(values(store, "SELECT category, kind, value, item_id FROM item_keys")),
        "signed": sorted(values(store, "SELECT item_id FROM near_signatures")),
        "bands": store.count("near_bands"),
    }


def test_a_batch_files_what_one_by_one_files_and_catches_the_copies_inside_it(make_config, make_database):
    batch, stored = batch_with_copies()
    results = []
    for batched in (False, True):
        config = make_config(database=make_database(), block=["sponsored"])
        with Store(config.database) as store:
            filing.add(store, stored)
            if batched:
                alone = []
                file_item = filing.file_item
                with pytest.MonkeyPatch.context() as patch:  # which items the batch could not take itself
                    patch.setattr(filing, "file_item", lambda config, store, item, *args: alone.append(item)
                                  or file_item(config, store, item, *args))
                    outcomes = filing.file_batch(config, store, [(item, None, None) for item in batch])
            else:
                outcomes = [filing.file_item(config, store, item, None) for item in batch]
            results.append((outcomes, filed_rows(store)))
            versions = store.category_versions()
    (one_by_one, rows_one_by_one), (batched, rows_batched) = results
    assert batched == one_by_one
    assert rows_batched == rows_one_by_one
    # The batch took every item itself, the copies among them too, but the
    # same entry twice, the better copy that replaces a story, the blocked one.
    assert alone == [batch[10], batch[11], batch[14]]
    assert versions == {"business": 2, "sports": 1}, "the batch moves each category it changed once"

    a, b, c = batch[0], batch[1], batch[7]
    statuses = [(outcome.status, outcome.item_id) for outcome in batched]
    assert statuses[:7] == [(NEW, a.id), (NEW, b.id), (DUPLICATE, a.id), (DUPLICATE, b.id), (DUPLICATE, a.id),
                            (DUPLICATE, a.id), (DUPLICATE, stored.id)]
    assert statuses[7:11] == [(NEW, c.id), (DUPLICATE, c.id), (NEW, batch[9].id), (UNCHANGED, b.id)]
    assert batched[11].status == NEW and batched[11].replaced == b.id  # the better source's copy
    assert statuses[12:] == [(DUPLICATE, a.id), (NEW, batch[13].id), (BLOCKED, batch[14].id)]
    # Each story once: a, the rewrite that replaced b, c, c's text in business,
    # 28, the stored one; and the blocked entry, outside dedup.
    assert len(rows_batched["items"]) == 7
    assert Counter(row[3] for row in rows_batched["duplicates"]) == {a.id: 4, batch[11].id: 2, c.id: 1, stored.id: 1}


def mixed_batch(seed: int) -> tuple[list[Item], list[Item]]:
    """Stored stories and a batch over them, drawn at random: new stories and
    copies of earlier ones of every kind (link, text, guid, rewrite, another
    category, a better or worse source, the same entry again)."""
    rng = random.Random(seed)
    stories = [story(n, f"feed:s{n % 4}", rng.choice(["business", "sports"])) for n in range(1, 16)]
    stored, batch = stories[:4], list(stories[4:])
    for n in range(100, 140):
        base = rng.choice(stories)
        kind = rng.choice(["link", "text", "guid", "rewrite", "category", "priority", "again", "new"])
        source = f"feed:c{n % 5}"
        made = {
            "link": lambda: story(n, source, base.category, link=base.link),
            "text": lambda: story(n, source, base.category, title=base.title, text=base.text),
            "guid": lambda: story(n, source, base.category, guid=base.guid),
            "rewrite": lambda: reworded(base, source, n, priority=rng.choice([10, 100, 200])),
            "category": lambda: story(n, source, "technology", title=base.title, text=base.text),
            "priority": lambda: story(n, source, base.category, link=base.link, priority=rng.choice([10, 200])),
            "again": lambda: base,
            "new": lambda: story(n, source, base.category),
        }[kind]()
        batch.insert(rng.randrange(len(batch) + 1), made)
    return stored, batch


@pytest.mark.parametrize("seed", range(4))
def test_random_batches_file_exactly_what_one_by_one_files(make_config, make_database, seed: int):
    stored, batch = mixed_batch(seed)
    results = []
    for batched in (False, True):
        config = make_config(database=make_database())
        with Store(config.database) as store:
            for item in stored:
                filing.add(store, item)
            if batched:
                outcomes = filing.file_batch(config, store, [(item, None, None) for item in batch])
            else:
                outcomes = [filing.file_item(config, store, item, None) for item in batch]
            results.append((outcomes, filed_rows(store)))
    assert results[1] == results[0]
    assert {outcome.status for outcome in results[1][0]} >= {NEW, DUPLICATE}


def test_a_feed_with_copies_among_its_entries_stores_each_story_once(tmp_path: Path, make_config, feed_server):
    entries = "".join(
        f"<item><title>{title}</title><link>{link}</link><guid>{guid}</guid>"
        f"<pubDate>Sun, 01 Nov 2026 0{n}:00:00 GMT</pubDate><description>{text}</description></item>"
        for n, (title, link, guid, text) in enumerate([
            ("Harbour levy passes", "https://w.test/levy", "w-1", " ".join(WORDS)),
            ("Harbour levy passes (update)", "https://w.test/levy?utm_source=x", "w-2", " ".join(WORDS)),
            ("Ferry strike ends", "https://w.test/ferry", "w-3", " ".join(reversed(WORDS))),
            ("Ferry strike ends", "https://w.test/ferry-again", "w-4", " ".join(reversed(WORDS))),
        ]))
    (feed_server.root / "copies.rss").write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title><link>https://w.test/</link>'
        f"<description>d</description>{entries}</channel></rss>", encoding="utf-8")
    config = make_config(sources=[feed_server.source("wire", "copies.rss", "business")])
    with Store(config.database) as store:
        summary = ingest_source(config, store, config.sources[0])
        # w-2 is a newer version of w-1 from the same feed: it updates the story in place (issue 26);
        # w-4 says what w-3 says, a copy.
        assert summary.counts["feed:wire"] == Counter(new=2, updated=1, duplicate=1)
        assert store.count("items") == 2 and store.count("duplicates") == 2
        assert sorted(row.title for row in store.items("business", 10)) == [
            "Ferry strike ends", "Harbour levy passes (update)"]
        again = ingest_source(config, store, config.sources[0])  # a 304: nothing to file
        assert not again.errors and store.count("items") == 2


@pytest.mark.slow
def test_two_workers_filing_overlapping_batches_store_each_story_once_without_deadlock(tmp_path: Path, database):
    """Each round, two workers file batches over three categories that carry
    the same stories from two sources, in opposite orders, at the same moment."""
    categories = ["business", "sports", "technology"]
    config = load_config(write_config(tmp_path, database))
    rounds, per_round = 6, 30
    failures: list[BaseException] = []
    start = threading.Barrier(2, timeout=30)

    def worker(source: str, reverse: bool) -> None:
        try:
            with Store(database) as store:
                for round_ in range(rounds):
                    items = [story(round_ * 1000 + n, f"feed:{source}", categories[n % 3],
                                   link=f"https://s.test/{round_}/{n}") for n in range(per_round)]
                    start.wait()
                    ordered = items[::-1] if reverse else items
                    filing.file_batch(config, store, [(item, None, None) for item in ordered])
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(name, reverse)) for name, reverse in (("x", False), ("y", True))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "the workers are stuck: a deadlock"
    assert not failures, failures
    with Store(database) as store:
        links = Counter(link for (link,) in values(store, "SELECT link FROM items"))
        copies = store.count("duplicates")
    assert len(links) == rounds * per_round and set(links.values()) == {1}, "each story once"
    assert copies == rounds * per_round, "the other worker's copy of each is recorded"


def test_when_a_batch_fails_its_files_are_filed_one_by_one_and_the_bad_one_fails_alone(
        tmp_path: Path, make_config, monkeypatch):
    articles = tmp_path / "articles"
    articles.mkdir()
    for n in range(6):
        headline = "Poisoned headline" if n == 3 else f"Harbour story {n}"
        body = " ".join(random.Random(n).choices(WORDS, k=60))
        (articles / f"s{n}.txt").write_text(f"BUSINESS\n\n{headline}\n\n{body}.\n", encoding="utf-8")
    file_many = Store.file_many

    def poisoned(store: Store, new, copies) -> None:
        if any(item.title == "Poisoned headline" for item, _, _ in new):
            raise RuntimeError("a bug met filing this one")
        file_many(store, new, copies)

    monkeypatch.setattr(Store, "file_many", poisoned)
    config = make_config(articles=[{"path": str(articles)}])
    with Store(config.database) as store:
        summary = ingest_folder(config, store, config.articles[0])
        titles = sorted(title for (title,) in values(store, "SELECT title FROM items"))
        recorded = store.count("article_files")
    assert summary.counts[f"articles:{articles.name}"] == Counter(new=5, failed=1)
    [error] = summary.errors
    assert "s3.txt" in error and "a bug met filing this one" in error
    assert titles == [f"Harbour story {n}" for n in (0, 1, 2, 4, 5)]
    assert recorded == 5, "the bad file is not recorded: the next pass tries it again"
