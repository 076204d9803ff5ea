"""How fetching grows with workers: 1, 2 and 4 `feedhub worker` processes
sharing one database.

    python bench/workers.py [--postgres postgresql://user@127.0.0.1/any] [--rounds 3]

Fetch throughput over SOURCES loopback sources that each answer after a
200 ms delay (a slow publisher): sources fetched per second, from the first
request the server sees to the last.  Each worker runs up to 10 fetches at
once, so one worker is bound by the delay, and more workers should add up.

Rounds go round the cases in turn (1, 2, 4 workers), so load from elsewhere
on the machine hits every case alike; each figure is the median of its rounds
with the spread, and the ratios are taken within a round.  Without
--postgres the workers share one SQLite file (several processes of one
machine may); with it, a database on that server.  (PostgreSQL next to
SQLite, filing, serving and outages: bench/scale.py.)
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from email.utils import formatdate
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).parent))
from common import drop_database, fresh_database, sized  # noqa: E402
from loopback import FeedServer  # noqa: E402

SOURCES = sized(400, 30)
DELAY = 0.2  # seconds each source takes to answer
WORKERS = sized([1, 2, 4], [1, 2])
WORDS = ("harbour council budget strike treaty market coast storm school bridge court ferry mill grain port "
         "minister talks election flood power line fire vaccine runner doping cabinet").split()


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
        name = f"feedhub_bench_workers_{os.getpid()}_{self.made}"
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


def spread(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("FEEDHUB_TEST_DATABASE_URL"),
                        help="a PostgreSQL server to measure on (a database per case is made there and dropped)")
    parser.add_argument("--rounds", type=int, default=sized(3, 1))
    args = parser.parse_args()
    engine = "postgresql" if args.postgres else "sqlite"
    rates: dict[int, list[float]] = {n: [] for n in WORKERS}
    cpu: dict[int, list[float]] = {n: [] for n in WORKERS}
    with tempfile.TemporaryDirectory() as tmp_name, FeedServer(Path(tmp_name) / "feeds") as server:
        tmp = Path(tmp_name)
        (tmp / "feeds").mkdir()
        for n in range(SOURCES):
            (tmp / "feeds" / f"s{n}.rss").write_text(feed(n), encoding="utf-8")
        databases = Databases(tmp, args.postgres)
        for _ in range(args.rounds):
            for workers in WORKERS:
                location = databases.fresh(engine)
                rate, seconds = fetch_round(tmp, server, location, workers)
                rates[workers].append(rate)
                cpu[workers].append(seconds)
                databases.drop(location)
    print(f"{SOURCES} loopback sources answering after {DELAY * 1000:.0f} ms, workers on {engine}; "
          f"{args.rounds} rounds on {os.cpu_count()} CPUs")
    for workers in WORKERS:
        ratios = [rate / one for rate, one in zip(rates[workers], rates[WORKERS[0]])]
        # What the delay allows: each worker runs 10 fetches at once.
        print(f"fetch throughput, {workers} worker(s): {spread(rates[workers], 1)} sources/s "
              f"(the delay allows {workers * 10 / DELAY:.0f}), {spread(ratios)}x one worker; "
              f"worker CPU {spread([s * 1000 for s in cpu[workers]], 1)} ms per source")


if __name__ == "__main__":
    main()
