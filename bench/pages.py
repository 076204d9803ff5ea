"""Benchmark: how long the HTML pages take on a large database.

    .venv/bin/python bench/pages.py [--items 200000] [--requests 20]

A database gets --items stories spread over the bundled categories and 50
sources, every tenth story with three duplicates from other sources, written
straight into SQLite (ingest speed is bench/ingest.py's business).  The Flask
test client then times, in this one process:

- index, first:  GET / after a write, when the per-category counts are taken;
- index, cached: GET / again, counts reused until a category's version moves;
- category:      GET /c/<category>, the newest feed_size stories;
- category deep: GET /c/<category>?page=100;
- sources:       GET /sources.

Figures are milliseconds per request (median over --requests), and the
cached index as a ratio of the first, both measured in the same run.
The last lines printed are the figures.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import sized, write_config  # noqa: E402

from feedhub.config import load_config  # noqa: E402
from feedhub.store import Store  # noqa: E402
from feedhub.web import create_app  # noqa: E402

DEEP_PAGE = sized(100, 2)  # a smoke run's few items fill two pages


def fill(store: Store, categories: list[str], n: int) -> None:
    rng = random.Random(7)
    items, duplicates = [], []
    for i in range(n):
        item_id, category = str(uuid.UUID(int=rng.getrandbits(128))), categories[i % len(categories)]
        published = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}T{i % 24:02d}:00:00+00:00"
        items.append((item_id, category, f"feed:s{i % 50}", f"urn:b:{i}", f"Story {i}", f"https://b.test/{i}",
                      "A summary of the story, a sentence or two long. " * 3, "", "", "", published,
                      "2026-11-01T00:00:00+00:00", 100))
        if i % 10 == 0:
            duplicates += [(item_id, category, f"feed:d{j}", f"urn:d:{i}:{j}", "t", "", "url", 1.0, published, published)
                           for j in range(3)]
    with store.transaction() as db:
        db.conn.executemany(
            "INSERT INTO items (id, category, source, guid, title, link, summary, content, text, author,"
            " published, first_seen, priority) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", items)
        db.conn.executemany(
            "INSERT INTO duplicates (item_id, category, source, guid, title, link, reason, score, first_seen,"
            " last_seen) VALUES (?,?,?,?,?,?,?,?,?,?)", duplicates)
        for category in categories:
            store._touch_category(category)


def timed(client, url: str, requests: int, before=None) -> float:
    """Median milliseconds of GET url; `before` runs untimed before each one."""
    samples = []
    for _ in range(requests):
        if before:
            before()
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=sized(200_000, 500))
    parser.add_argument("--requests", type=int, default=sized(20, 2))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config = load_config(write_config(Path(folder)))
        categories = list(config.categories)
        with Store(config.database) as store:
            fill(store, categories, args.items)
            client = create_app(config).test_client()
            category = categories[0]

            def write() -> None:  # what ingest does to a category's version
                with store.transaction():
                    store._touch_category(category)

            figures = {
                "index, first": timed(client, "/", args.requests, before=write),
                "index, cached": timed(client, "/", args.requests),
                "category": timed(client, f"/c/{category}", args.requests),
                "category deep": timed(client, f"/c/{category}?page={DEEP_PAGE}", args.requests),
                "sources": timed(client, "/sources", args.requests),
            }
    print(f"{args.items} items, {args.items // 10 * 3} duplicates, median of {args.requests} requests each")
    for name, ms in figures.items():
        print(f"{name:>14}: {ms:7.1f} ms")
    print(f"cached index / first index: {figures['index, cached'] / figures['index, first']:.3f}")


if __name__ == "__main__":
    main()
