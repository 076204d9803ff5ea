"""Past one machine, on one machine: how fetching grows with workers, and what
PostgreSQL costs next to SQLite.

    python bench/scale.py --postgres postgresql://user@127.0.0.1/any [--rounds 3]

1. Fetch throughput of 1, 2 and 4 `feedhub worker` processes sharing one
   database, over SOURCES loopback sources that each answer after a 200 ms
   delay (a slow publisher): sources fetched per second, from the first
   request the server sees to the last.  Each worker runs up to 10 fetches at
   once, so one worker is bound by the delay, and more workers should add up.
2. Ingest per item: filing.add of ITEMS stories (a feed's entries, dedup
   included), on PostgreSQL next to SQLite.
3. Serve: requests per second of a category's RSS feed (cached per data
   version: one small query a request) and of its HTML page (read from the
   database each time), granian as in the Procfile, wrk -t2 -c16.

Rounds go round the cases in turn (1, 2, 4 workers; SQLite, PostgreSQL), so
load from elsewhere on the machine hits every case alike; each figure is the
median of its rounds with the spread, and the ratios are taken within a round.
Without --postgres, only SQLite is measured (the worker part on one SQLite
file, which several processes of one machine may share).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from common import drop_database, fresh_database, sized  # noqa: E402
from loopback import FeedServer  # noqa: E402
from serve import free_port, wait_until_up, wrk  # noqa: E402

from feedhub.ingest import filing  # noqa: E402
from feedhub.model import NEW  # noqa: E402
from feedhub.model import Item  # noqa: E402
from feedhub.store import Store  # noqa: E402

SOURCES = sized(400, 30)
DELAY = 0.2  # seconds each source takes to answer
WORKERS = sized([1, 2, 4], [1, 2])
ITEMS = sized(500, 40)
SERVE_ITEMS = sized(200, 20)
WORDS = ("harbour council budget strike treaty market coast storm school bridge court ferry mill grain port "
         "minister talks election flood power line fire vaccine runner doping cabinet").split()
START = datetime(2026, 11, 1, tzinfo=timezone.utc)


def story(n: int, rng: random.Random) -> Item:
    paragraphs = [" ".join(rng.choices(WORDS, k=50)).capitalize() + "." for _ in range(4)]
    return Item(category="business", source="feed:bench", guid=f"urn:bench:{n}", title=f"Story {n}: {paragraphs[0][:50]}",
                link=f"https://news.example.com/{n}", summary=paragraphs[0],
                content="".join(f"<p>{p}</p>" for p in paragraphs), text=" ".join(paragraphs),
                published=START + timedelta(minutes=n))


def write_config(folder: Path, database: str, **overrides: object) -> Path:
    data = {
        "site": {"title": "Scale Hub", "link": "http://127.0.0.1", "language": "en"},
        "database": database,
        "categories": {"business": {"title": "Business"}},
        **overrides,
    }
    path = folder / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


class Databases:
    """A fresh database per case: an SQLite file, or one on the PostgreSQL server."""

    def __init__(self, tmp: Path, server: str | None):
        self.tmp, self.server, self.made = tmp, server, 0

    def fresh(self, engine: str) -> str:
        self.made += 1
        name = f"feedhub_bench_scale_{self.made}"
        if engine == "postgresql":
            assert self.server
            return fresh_database(self.server, name)
        return str(self.tmp / f"{name}.db")

    def drop(self, location: str) -> None:
        if location.startswith("postgresql://"):
            assert self.server
            drop_database(self.server, location.rsplit("/", 1)[1])


# -- 1. workers ------------------------------------------------------------------


def feed(number: int) -> str:
    items = "".join(
        f"<item><title>Source {number} story {i}</title><link>https://s{number}.example/{i}</link>"
        f"<guid>urn:s{number}:{i}</guid><pubDate>{formatdate(1_790_000_000 + i * 60, usegmt=True)}</pubDate>"
        f"<description>{' '.join(random.Random(number * 10 + i).choices(WORDS, k=30))}.</description></item>"
        for i in range(2)
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Source {number}</title>'
            f"<link>https://s{number}.example/</link><description>d</description>{items}</channel></rss>")


def fetch_round(tmp: Path, server: FeedServer, database: str, workers: int) -> tuple[float, float]:
    """Sources fetched per second by `workers` worker processes, first request
    to last, and the workers' CPU seconds per source (start-up included)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server.reset()
    folder = tmp / f"workers-{workers}-{time.monotonic_ns()}"
    folder.mkdir()
    sources = [{"name": f"s{n}", "url": f"{server.url}/s{n}.rss", "category": "business", "interval": "1h"}
               for n in range(SOURCES)]
    config = write_config(folder, database, sources=sources, fetch_allow_networks=["127.0.0.0/8"])
    seen: dict[str, float] = {}
    for n in range(SOURCES):
        def slow(path: str = f"/s{n}.rss") -> None:
            seen.setdefault(path, time.monotonic())
            time.sleep(DELAY)
        server.before[f"/s{n}.rss"] = slow
    processes = [subprocess.Popen([sys.executable, "-m", "feedhub.cli", "--config", str(config), "--log-level",
                                   "WARNING", "worker"], env={**os.environ, "FEEDHUB_WORKER_NAME": f"w{i}"},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for i in range(workers)]
    try:
        deadline = time.monotonic() + 120
        while len(seen) < SOURCES and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(DELAY * 2)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    if len(seen) < SOURCES:
        raise SystemExit(f"{workers} workers fetched {len(seen)} of {SOURCES} sources in 120 s")
    fetched = [path for path, _ in server.requests]
    if len(fetched) != SOURCES:
        raise SystemExit(f"{workers} workers made {len(fetched)} requests for {SOURCES} sources: some twice")
    first, last = min(seen.values()), max(seen.values()) + DELAY
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return SOURCES / (last - first), cpu / SOURCES


# -- 2. ingest ---------------------------------------------------------------------


def ingest_round(location: str) -> float:
    """Seconds per filing.add over ITEMS new stories."""
    rng = random.Random(7)
    items = [story(n, rng) for n in range(ITEMS)]
    with Store(location) as store:
        start = time.perf_counter()
        for item in items:
            if filing.add(store, item).status != NEW:
                raise SystemExit(f"{item.guid} was not stored as new")
        return (time.perf_counter() - start) / ITEMS


# -- 3. serve ----------------------------------------------------------------------


def serve_round(tmp: Path, location: str, seconds: int) -> dict[str, float]:
    """Requests per second of the feed and the category page, from a database of SERVE_ITEMS stories."""
    folder = tmp / f"serve-{time.monotonic_ns()}"
    folder.mkdir()
    config = write_config(folder, location, feed_size=50)
    rng = random.Random(11)
    with Store(location) as store:
        store.insert_many(story(n, rng) for n in range(SERVE_ITEMS))
    port = free_port()
    command = [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
               "--workers", "2", "--blocking-threads", "4", "--log-level", "warning", "--factory",
               "feedhub.web:create_app"]
    process = subprocess.Popen(command, env={**os.environ, "FEEDHUB_CONFIG": str(config)})
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{base}/healthz")
        rates = {}
        for name, path in (("feed", "/feeds/business.rss"), ("page", "/c/business")):
            wrk(base + path, 1, {})  # warm: every worker has rendered it once
            rates[name] = wrk(base + path, seconds, {})
        return rates
    finally:
        process.terminate()
        process.wait(timeout=30)


def spread(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("FEEDHUB_TEST_DATABASE_URL"),
                        help="a PostgreSQL server to measure on (a database per case is made there and dropped)")
    parser.add_argument("--rounds", type=int, default=sized(3, 1))
    parser.add_argument("--seconds", type=int, default=sized(3, 1), help="length of each wrk run")
    args = parser.parse_args()
    engines = ["sqlite", "postgresql"] if args.postgres else ["sqlite"]
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed for the serving part: apt-get install -y wrk")
    fetch_engine = engines[-1]
    rates: dict[int, list[float]] = {n: [] for n in WORKERS}
    cpu: dict[int, list[float]] = {n: [] for n in WORKERS}
    per_item: dict[str, list[float]] = {engine: [] for engine in engines}
    served: dict[str, dict[str, list[float]]] = {engine: {"feed": [], "page": []} for engine in engines}
    with tempfile.TemporaryDirectory() as tmp_name, FeedServer(Path(tmp_name) / "feeds") as server:
        tmp = Path(tmp_name)
        (tmp / "feeds").mkdir()
        for n in range(SOURCES):
            (tmp / "feeds" / f"s{n}.rss").write_text(feed(n), encoding="utf-8")
        databases = Databases(tmp, args.postgres)
        for _ in range(args.rounds):
            for workers in WORKERS:
                location = databases.fresh(fetch_engine)
                rate, seconds = fetch_round(tmp, server, location, workers)
                rates[workers].append(rate)
                cpu[workers].append(seconds)
                databases.drop(location)
            for engine in engines:
                location = databases.fresh(engine)
                per_item[engine].append(ingest_round(location))
                databases.drop(location)
                location = databases.fresh(engine)
                for name, rate in serve_round(tmp, location, args.seconds).items():
                    served[engine][name].append(rate)
                databases.drop(location)
    print(f"{SOURCES} loopback sources answering after {DELAY * 1000:.0f} ms, workers on {fetch_engine}; "
          f"{ITEMS} stories filed; {SERVE_ITEMS} stored for serving; {args.rounds} rounds on {os.cpu_count()} CPUs")
    for workers in WORKERS:
        ratios = [rate / one for rate, one in zip(rates[workers], rates[WORKERS[0]])]
        # What the delay allows: each worker runs 10 fetches at once.
        print(f"fetch throughput, {workers} worker(s): {spread(rates[workers], 1)} sources/s "
              f"(the delay allows {workers * 10 / DELAY:.0f}), {spread(ratios)}x one worker; "
              f"worker CPU {spread([s * 1000 for s in cpu[workers]], 1)} ms per source")
    for engine in engines:
        print(f"ingest per item on {engine}: {spread([s * 1000 for s in per_item[engine]])} ms; "
              f"serve on {engine}: feed {spread(served[engine]['feed'], 0)} req/s, "
              f"page {spread(served[engine]['page'], 0)} req/s")
    if len(engines) == 2:
        def ratio(values: dict[str, list[float]]) -> str:
            return spread([pg / lite for pg, lite in zip(values["postgresql"], values["sqlite"])])
        print(f"PostgreSQL/SQLite ingest time per item: {ratio(per_item)}")
        print(f"PostgreSQL/SQLite serve rate: feed {ratio({e: served[e]['feed'] for e in engines})}, "
              f"page {ratio({e: served[e]['page'] for e in engines})}")


if __name__ == "__main__":
    main()
