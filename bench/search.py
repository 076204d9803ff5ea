"""Benchmark: what a full-text search costs at 100,000 stored items.

    python bench/search.py [--items 100000] [--small 1000] [--rounds 5] [--calls 20]

Two databases are filled with generated stories (60-word bodies drawn from a
Zipf-like vocabulary of 5,000 words, so some words are in most stories and
most words in few; "ukraine" is in 1% of them, "kyiv" in 0.5%), written with
plain INSERTs so the store's triggers index them as an ingest would.  Then,
in interleaved rounds, each query is timed on both databases:

- the search page's ranked query (Store.search, best `feed_size` first),
- a saved search feed's query (newest first), with and without categories,
- and the baseline: a category feed's query (Store.items, newest 50).

Per query: milliseconds per call (median of the rounds' medians, and the
spread, min-max over rounds), at --small and --items stored items, the
ratio of the two, and the ratio to the category feed query at --items.
It also times filing --index-sample stories with the search triggers and
without them (dropped in a copy), to show what indexing adds to a write.
The last lines printed are the figures.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlite_utils  # noqa: E402
from common import sized  # noqa: E402

from feedhub.store import Store, index_queued  # noqa: E402

CATEGORIES = ["international", "technology", "business", "sports"]
VOCABULARY = [f"w{n}" for n in range(5000)]
WEIGHTS = [1 / (rank + 1) for rank in range(len(VOCABULARY))]  # Zipf: w0 in most stories, w4999 in few
QUERIES = [
    ("rare OR, ranked", "ukraine OR kyiv", None, False),
    ("rare OR, feed", "ukraine OR kyiv", None, True),
    ("rare OR, feed, 2 categories", "ukraine OR kyiv", ("international", "business"), True),
    ("common word, ranked", "w3", None, False),
    ("common word, feed", "w3", None, True),
    ("two words AND, ranked", "w20 w40", None, False),
    ("phrase, ranked", '"w1 w2"', None, False),
    ("prefix, ranked", "w49*", None, False),
    ("title field, ranked", "title:ukraine", None, False),
]


def rows(n: int, seed: int) -> list[tuple]:
    rng = random.Random(seed)
    found = []
    for i in range(n):
        words = rng.choices(VOCABULARY, WEIGHTS, k=60)
        if i % 100 == 0:
            words[rng.randrange(60)] = "ukraine"
        if i % 200 == 7:
            words[rng.randrange(60)] = "kyiv"
        title = " ".join(rng.choices(VOCABULARY, WEIGHTS, k=6)) + (" ukraine" if i % 1000 == 3 else "")
        published = f"2026-{1 + i % 11:02d}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00+00:00"
        found.append((str(uuid.UUID(int=rng.getrandbits(128))), CATEGORIES[i % 4], f"feed:s{i % 50}", f"urn:b:{i}",
                      title, f"https://b.test/{i}", "A summary.", "", " ".join(words), "", published,
                      "2026-11-01T00:00:00+00:00", 100, '["Bench", "Tag%d"]' % (i % 300)))
    return found


def fill(path: Path, n: int) -> Path:
    with Store(path) as store:
        with store.transaction() as db:
            db.conn.executemany(
                "INSERT INTO items (id, category, source, guid, title, link, summary, content, text, author,"
                " published, first_seen, priority, tags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows(n, seed=n))
            for category in CATEGORIES:
                store._touch_category(category)
    return path


def per_call(function, calls: int) -> float:
    """Median milliseconds of `calls` calls."""
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def filing(path: Path, sample: list[tuple]) -> float:
    """Milliseconds to file `sample` rows as an ingest batch does (a savepoint
    each, one commit: the search index is written just before it), rolled back."""
    db = sqlite_utils.Database(sqlite3.connect(str(path), isolation_level=None))
    db.execute("BEGIN IMMEDIATE")
    started = time.perf_counter()
    for row in sample:
        db.execute("SAVEPOINT nested")
        db.execute(
            "INSERT INTO items (id, category, source, guid, title, link, summary, content, text, author,"
            " published, first_seen, priority, tags) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
        db.execute("RELEASE nested")
    index_queued(db)
    elapsed = (time.perf_counter() - started) * 1000
    db.execute("ROLLBACK")
    db.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=sized(100_000, 400))
    parser.add_argument("--small", type=int, default=sized(1_000, 100))
    parser.add_argument("--rounds", type=int, default=sized(5, 1))
    parser.add_argument("--calls", type=int, default=sized(20, 2))
    parser.add_argument("--index-sample", type=int, default=sized(2_000, 50))
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="feedhub-search-bench-"))
    try:
        started = time.perf_counter()
        small, large = fill(folder / "small.db", args.small), fill(folder / "large.db", args.items)
        print(f"filled {args.small:,} and {args.items:,} items in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        plain = folder / "plain.db"
        shutil.copy(large, plain)
        with sqlite3.connect(str(plain)) as conn:
            for trigger in ("insert", "update", "delete"):
                conn.execute(f"DROP TRIGGER items_search_{trigger}")
        sample = rows(args.index_sample, seed=1)
        stores = {"small": Store(small), "large": Store(large)}
        cases = [(label, lambda s, q=q, c=c, n=n: s.search(q, c, 50, newest_first=n)) for label, q, c, n in QUERIES]
        cases.append(("category feed (baseline)", lambda s: s.items("business", 50)))
        for label, call in cases:  # each query's hits, at the large size
            print(f"{label}: {len(call(stores['large']))} of 50 shown", file=sys.stderr)
        timings: dict[tuple[str, str], list[float]] = {}
        index_costs: dict[str, list[float]] = {"with index": [], "without": []}
        for _ in range(args.rounds):
            for label, call in cases:
                for size, store in stores.items():
                    call(store)  # warm
                    timings.setdefault((label, size), []).append(per_call(lambda: call(store), args.calls))
            index_costs["with index"].append(filing(large, sample))
            index_costs["without"].append(filing(plain, sample))
        for store in stores.values():
            store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    def med(values: list[float]) -> float:
        return statistics.median(values)

    baseline = med(timings[("category feed (baseline)", "large")])
    print(f"\nms per query (median of {args.rounds} rounds x {args.calls} calls; spread min-max over rounds)")
    print(f"{'query':32} {f'at {args.small:,}':>18} {f'at {args.items:,}':>20} {'large/small':>12} {'/category':>10}")
    for label, _ in cases:
        s, l = timings[(label, "small")], timings[(label, "large")]
        print(f"{label:32} {med(s):7.3f} ({min(s):.3f}-{max(s):.3f}) {med(l):8.3f} ({min(l):.3f}-{max(l):.3f})"
              f" {med(l) / med(s):11.1f}x {med(l) / baseline:9.1f}x")
    with_index, without = med(index_costs["with index"]), med(index_costs["without"])
    print(f"filing {args.index_sample:,} items into {args.items:,}: {with_index / args.index_sample * 1000:.0f} µs an item"
          f" with the search index, {without / args.index_sample * 1000:.0f} µs without"
          f" (ratio {with_index / without:.2f}; rounds {min(index_costs['with index']) / args.index_sample * 1000:.0f}-"
          f"{max(index_costs['with index']) / args.index_sample * 1000:.0f} µs with)")


if __name__ == "__main__":
    main()
