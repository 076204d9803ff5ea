"""Benchmark: one fetch cycle over 200 remote sources of 50 items each.

    .venv/bin/python bench/fetch.py            # fetch_concurrency as feedhub's default
    .venv/bin/python bench/fetch.py 1 4 16     # the three cycles at each of these

The tests' loopback server (tests/loopback.py, HTTP/1.1, threaded, in this
process) serves 200 RSS feeds from files with ETag and Last-Modified and
answers conditional requests with 304.
`feedhub ingest` runs three times as a child process on one database:

1. every feed new;
2. nothing changed: must be 200 answers of 304 and no feed parsed (no entry
   of any source counted as new, updated or unchanged);
3. 10% of the feeds changed (5 new items each).

The last lines are the figures: wall time per cycle, requests by status and
the peak RSS of each feedhub process.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
from collections import Counter
from email.utils import formatdate
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bundled_categories, python_startup_seconds, run_feedhub, sized, write_config  # noqa: E402
from loopback import FeedServer  # noqa: E402

from feedhub.config import Config  # noqa: E402

SOURCES, ITEMS = sized(200, 10), sized(50, 10)
CHANGED_SHARE = 0.10
NEW_ITEMS_WHEN_CHANGED = 5
BASE_TIME = 1_790_000_000  # a fixed moment in 2026, so runs are repeatable
SYLLABLES = "ka lo mi ne ru sa ti vo de an or el us ba co fi gu ha ja ke li mo nu pe ra so tu ve wa yo ze".split()
VOCABULARY = sorted({"".join(random.Random(n).choices(SYLLABLES, k=1 + n % 4)) for n in range(20_000)})


class Feeds:
    """The 200 feed documents, each with a version that bumps when it changes.
    With a folder, each is also written there as feed-N.rss, its mtime the
    feed's Last-Modified, for a FeedServer over that folder to serve."""

    def __init__(self, folder: Path | None = None, sources: int = SOURCES, items: int = ITEMS):
        self.folder, self.items = folder, items
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
        self.versions = [0] * sources
        self.documents = [self.render(n) for n in range(sources)]

    def render(self, number: int) -> bytes:
        version = self.versions[number]
        first = version * NEW_ITEMS_WHEN_CHANGED
        items = []
        for index in range(first + self.items - 1, first - 1, -1):  # newest first, self.items of them
            when = formatdate(BASE_TIME + index * 600, usegmt=True)
            link = f"https://source{number}.example/news/{index}"
            # Invented words, different for every story, so that no two are
            # near duplicates of each other.
            words = random.Random(number * 100_000 + index).choices(VOCABULARY, k=60)
            items.append(
                f"<item><title>{' '.join(words[:8]).capitalize()}</title>"
                f"<link>{link}</link><guid>{link}</guid><pubDate>{when}</pubDate>"
                f"<description>{escape('<p>' + ' '.join(words[8:]).capitalize() + '.</p>')}</description></item>"
            )
        body = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>Source {number}</title><link>https://source{number}.example/</link>"
            f"<description>Bench feed {number}</description>{''.join(items)}</channel></rss>"
        ).encode()
        if self.folder:
            path = self.folder / f"feed-{number}.rss"
            path.write_bytes(body)
            modified = BASE_TIME + (first + self.items) * 600
            os.utime(path, (modified, modified))
        return body

    def change(self, number: int) -> None:
        self.versions[number] += 1
        self.documents[number] = self.render(number)


def take(server: FeedServer) -> tuple[Counter, int]:
    """The answers by status and the connections since the last take."""
    statuses, connections = Counter(server.statuses), server.connections
    server.reset()
    return statuses, connections


def totals(stdout: str) -> dict[str, int]:
    header = stdout.splitlines()[0].split()[1:]
    total = next(line for line in stdout.splitlines() if line.startswith("total")).split()[1:]
    return dict(zip(header, map(int, total)))


def main(concurrency: list[int | None]) -> None:
    startup = python_startup_seconds()
    for pool in concurrency:
        cycles(pool, startup)


def cycles(pool: int | None, startup: float) -> None:
    category = next(iter(bundled_categories()))
    results = []
    with tempfile.TemporaryDirectory(prefix="feedhub-bench-") as tmp, FeedServer(Path(tmp) / "served") as server:
        feeds = Feeds(server.root)
        config = write_config(
            Path(tmp),
            **({"fetch_concurrency": pool} if pool else {}),
            fetch_allow_networks=["127.0.0.1/32"],  # the loopback server; refused by default
            sources=[{"name": f"source-{n:03d}", "url": f"{server.url}/feed-{n}.rss", "category": category}
                     for n in range(SOURCES)],
        )
        changed = range(0, SOURCES, round(1 / CHANGED_SHARE))
        for cycle, label in enumerate(["all new", "unchanged", f"{len(changed)} changed"], start=1):
            if cycle == 3:
                for number in changed:
                    feeds.change(number)
            run = run_feedhub(config, "ingest")
            statuses, connections = take(server)
            counts = totals(run.stdout)
            if run.returncode != 0:
                sys.exit(f"cycle {cycle}: feedhub ingest failed:\n{run.stdout[-3000:]}")
            results.append((cycle, label, run, statuses, connections, counts))
            print(f"cycle {cycle} ({label}): {run.seconds:.2f} s, {dict(statuses)}, {counts}", flush=True)

    (_, _, _, s1, _, c1), (_, _, _, s2, _, c2), (_, _, _, s3, _, c3) = results
    assert s1 == {200: SOURCES} and c1["new"] == SOURCES * ITEMS, (s1, c1)
    # Unchanged: every answer a 304, and no entry of any feed looked at.
    parsed_entries = c2["new"] + c2["updated"] + c2["unchanged"] + c2["duplicate"]
    assert s2 == {304: SOURCES} and parsed_entries == 0, (s2, c2)
    assert s3 == {200: len(changed), 304: SOURCES - len(changed)}, s3
    assert c3["new"] == len(changed) * NEW_ITEMS_WHEN_CHANGED, c3

    print()
    default = Config.model_fields["fetch_concurrency"].default
    print(f"fetch_concurrency: {pool or f'{default} (the default)'}")
    print(f"machine: {os.cpu_count()} cores, shared with other jobs right now (load average "
          f"{os.getloadavg()[0]:.1f}): figures are noisy")
    print(f"python + feedhub import start-up: {startup:.2f} s (included in every cycle's wall time)")
    print(f"{'cycle':<22} {'wall s':>7} {'200':>5} {'304':>5} {'TCP conns':>10} {'new':>6} {'unchanged':>10} {'peak RSS':>9}")
    for cycle, label, run, statuses, connections, counts in results:
        print(f"{f'{cycle} ({label})':<22} {run.seconds:>7.2f} {statuses[200]:>5} {statuses[304]:>5} "
              f"{connections:>10} {counts['new']:>6} {counts['unchanged']:>10} {run.peak_rss_mb:>6.0f} MB")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [None])
