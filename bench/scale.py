"""Past one machine: PostgreSQL on another host, next to SQLite on this one.

    python bench/scale.py [--postgres URL] [--rounds 3] [--latency 0 1] [--outage 20]
                          [--parts filing serving migrate outage]

PostgreSQL is reached through a latency proxy (tests/latency_proxy.py, in a
process of its own) that delays each direction by half of --latency (ms a
round trip: 0 is loopback, 1 two machines in one data centre) and counts
round trips.  Each round goes through the cases in turn, SQLite and then
PostgreSQL at each latency, so load from elsewhere on the machine hits all
alike; a figure is the median of its rounds (min-max), and every ratio is
taken within a round.

1. Filing: `feedhub ingest` (a child process, as a user runs it) of ARTICLES
   newsroom files (bench/ingest.py's, about 1 in 50 a resent copy) and FEEDS
   loopback feeds of ENTRIES entries (bench/fetch.py's) into a fresh
   database, its schema made before the clock starts (on both engines):
   wall time, PostgreSQL/SQLite, and round trips per filed item.
   Targets (issue 28): at most 1 round trip per item, and at 1 ms no more
   than 1.5x SQLite's time.
2. Serving: requests per second of a category's cached RSS feed and of its
   HTML page (read from the database each time), granian as in the
   Procfile, wrk -t2 -c16; and the round trips of POLLS conditional polls
   of the cached feed (each a 304), per poll.
3. Outage, at the highest latency: a web node serves, then the proxy is cut
   (as a server that stops): how long /healthz, the cached feed and a page
   take to answer, and with what; --outage seconds of a request every
   second; then the proxy is restored: seconds until the page answers 200.
4. migrate-db: rows per second copying an SQLite database of MIGRATE_ITEMS
   stories into PostgreSQL.

Without --postgres (or $FEEDHUB_TEST_DATABASE_URL) only SQLite is measured.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).parent))
from common import drop_database, fresh_database, run_feedhub, sized, write_config  # noqa: E402
from fetch import Feeds, totals  # noqa: E402
from ingest import Newsroom  # noqa: E402
from latency_proxy import ProxyProcess  # noqa: E402
from loopback import FeedServer  # noqa: E402
from serve import SERVERS, free_port, wait_until_up, wrk  # noqa: E402

from feedhub.metrics import HEARTBEAT  # noqa: E402
from feedhub.model import Item  # noqa: E402
from feedhub.store import Store  # noqa: E402
from feedhub.store.migrate import migrate  # noqa: E402

ARTICLES = sized(1500, 60)
FEEDS, ENTRIES = sized(40, 3), sized(25, 5)
SERVE_ITEMS = sized(200, 20)
POLLS = sized(100, 20)
MIGRATE_ITEMS = sized(5000, 100)
PARTS = ("filing", "serving", "migrate", "outage")  # what --parts may name
CATEGORY = "business"
FEED, PAGE = f"/feeds/{CATEGORY}.rss", f"/c/{CATEGORY}"
WORDS = ("harbour council budget strike treaty market coast storm school bridge court ferry mill grain port "
         "minister talks election flood power line fire vaccine runner doping cabinet").split()
START = datetime(2026, 11, 1, tzinfo=timezone.utc)


def story(n: int, rng: random.Random) -> Item:
    paragraphs = [" ".join(rng.choices(WORDS, k=50)).capitalize() + "." for _ in range(4)]
    return Item(category=CATEGORY, source="feed:bench", guid=f"urn:bench:{n}", title=f"Story {n}: {paragraphs[0][:50]}",
                link=f"https://news.example.com/{n}", summary=paragraphs[0],
                content="".join(f"<p>{p}</p>" for p in paragraphs), text=" ".join(paragraphs),
                published=START + timedelta(minutes=n))


def spread(values: list[float], digits: int = 2) -> str:
    if not values:
        return "not measured"
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


class Case:
    """SQLite, or PostgreSQL through a proxy adding `latency` ms a round trip."""

    def __init__(self, server: str | None = None, latency: float | None = None):
        self.server, self.latency = server, latency
        self.proxy = ProxyProcess(urlsplit(server).port or 5432, latency / 2000) if server and latency is not None else None
        self.name = "SQLite" if self.proxy is None else f"PostgreSQL at {latency:g} ms"
        self.made = 0

    def fresh(self, tmp: Path) -> str:
        """A new empty database: an SQLite file, or a database on the server reached through the proxy."""
        self.made += 1
        name = f"feedhub_bench_scale_{os.getpid()}_{self.made}"
        if self.proxy is None:
            return str(tmp / f"{name}-{time.monotonic_ns()}.db")
        assert self.server
        return self.proxy.route(fresh_database(self.server, name))

    def drop(self, location: str) -> None:
        if self.proxy is not None and self.server:
            drop_database(self.server, location.rsplit("/", 1)[1])

    def round_trips(self) -> int:
        """Round trips through the proxy since the last call."""
        return self.proxy.reset()[0] if self.proxy else 0

    def measured_latency(self, location: str) -> float:
        """Milliseconds a `SELECT 1` takes through the proxy, as measured."""
        with psycopg.connect(location, autocommit=True) as conn:
            started = time.perf_counter()
            for _ in range(50):
                conn.execute("SELECT 1").fetchone()
            return (time.perf_counter() - started) / 50 * 1000

    def close(self) -> None:
        if self.proxy:
            self.proxy.close()


# -- 1. filing --------------------------------------------------------------------


def filing(tmp: Path, case: Case, articles: Path, sources: list[dict]) -> tuple[float, int, int]:
    """Seconds of `feedhub ingest` of the corpus into a fresh database, items filed, round trips."""
    location = case.fresh(tmp)
    folder = Path(tempfile.mkdtemp(dir=tmp))
    config = write_config(folder, database=location, articles=[{"path": str(articles)}], sources=sources,
                          fetch_allow_networks=["127.0.0.0/8"])
    Store(location).close()  # the schema first, on both engines: only the filing is timed
    case.round_trips()
    run = run_feedhub(config, "ingest")
    trips = case.round_trips()
    if run.returncode != 0:
        raise SystemExit(f"feedhub ingest on {case.name} failed ({run.returncode}):\n{run.stdout[-3000:]}")
    counted = totals(run.stdout)
    filed = counted["new"] + counted["updated"] + counted["unchanged"] + counted["duplicate"]
    if filed != ARTICLES + FEEDS * ENTRIES:
        raise SystemExit(f"{case.name}: {filed} items filed of {ARTICLES + FEEDS * ENTRIES}:\n{run.stdout[-3000:]}")
    case.drop(location)
    return run.seconds, filed, trips


# -- 2. serving and 3. outage -----------------------------------------------------


class Node:
    """A web node (granian, as in the Procfile) over a database of SERVE_ITEMS stories."""

    def __init__(self, tmp: Path, location: str, workers: int = 2):
        folder = Path(tempfile.mkdtemp(dir=tmp))
        config = write_config(folder, database=location, feed_size=50)
        rng = random.Random(11)
        with Store(location) as store:
            store.insert_many(story(n, rng) for n in range(SERVE_ITEMS))
            store.beat(HEARTBEAT, os.getpid())  # /healthz answers 200 only with a scheduler's heartbeat
        port = free_port()
        command = SERVERS["granian"](port)
        command[command.index("--workers") + 1] = str(workers)
        # Its log (an outage's errors) in a file: the figures stay the last lines.
        self.log = (folder / "node.log").open("w")
        self.process = subprocess.Popen(command, env={**os.environ, "FEEDHUB_CONFIG": str(config)},
                                        stdout=self.log, stderr=subprocess.STDOUT)
        self.base = f"http://127.0.0.1:{port}"
        wait_until_up(f"{self.base}/healthz")

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def serving(tmp: Path, case: Case, seconds: int) -> dict[str, float]:
    """Requests per second of the cached feed and of the page; round trips per conditional poll."""
    location = case.fresh(tmp)
    node = Node(tmp, location)
    try:
        rates = {}
        for name, path in (("feed", FEED), ("page", PAGE)):
            wrk(node.base + path, 1, {})  # warm: every worker has rendered it once
            rates[name] = wrk(node.base + path, seconds, {})
        with httpx.Client(base_url=node.base) as client:
            etag = client.get(FEED).headers["ETag"]
            case.round_trips()
            for _ in range(POLLS):
                if client.get(FEED, headers={"If-None-Match": etag}).status_code != 304:
                    raise SystemExit(f"{case.name}: a conditional poll of an unchanged feed was not a 304")
            rates["poll_trips"] = case.round_trips() / POLLS
        return rates
    finally:
        node.close()
        case.drop(location)


def timed_get(url: str) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(url, timeout=120)
    return response, time.monotonic() - started


def outage(tmp: Path, case: Case, seconds: float) -> dict[str, object]:
    """A web node through a cut: its answers, their times, and its recovery."""
    assert case.proxy is not None
    location = case.fresh(tmp)
    node = Node(tmp, location, workers=1)
    found: dict[str, object] = {}
    try:
        for path in (FEED, PAGE, FEED, PAGE):
            if httpx.get(node.base + path, timeout=30).status_code != 200:
                raise SystemExit(f"{case.name}: {path} does not answer 200 before the outage")
        case.proxy.cut()
        cut = time.monotonic()
        for name, path in (("healthz", "/healthz"), ("feed", FEED), ("page", PAGE)):
            response, took = timed_get(node.base + path)
            found[name] = (response.status_code, took, response.headers.get("Cache-Status") or
                           response.headers.get("Retry-After"))
        slowest, statuses = 0.0, set()
        while time.monotonic() - cut < seconds:
            for path in (FEED, PAGE, "/healthz"):
                response, took = timed_get(node.base + path)
                slowest, statuses = max(slowest, took), statuses | {response.status_code}
            time.sleep(1)
        found["during"] = (slowest, sorted(statuses))
        case.proxy.restore()
        back = time.monotonic()
        while timed_get(node.base + PAGE)[0].status_code != 200:
            if time.monotonic() - back > 120:
                raise SystemExit(f"{case.name}: the node did not serve again within 120 s of the server's return")
            time.sleep(0.05)
        found["recovery"] = time.monotonic() - back
        return found
    finally:
        node.close()
        case.drop(location)


# -- 4. migrate-db ----------------------------------------------------------------


def migrating(tmp: Path, case: Case, source: Path) -> float:
    """Rows per second of copying `source` into a fresh PostgreSQL database."""
    location = case.fresh(tmp)
    Store(location).close()  # the schema first: only the copy is timed
    started = time.perf_counter()
    migrated = migrate(source, location)
    seconds = time.perf_counter() - started
    case.drop(location)
    return sum(table.source for table in migrated.tables) / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", metavar="URL", default=os.environ.get("FEEDHUB_TEST_DATABASE_URL"),
                        help="a PostgreSQL server to measure on (a database per case is made there and dropped)")
    parser.add_argument("--rounds", type=int, default=sized(3, 1))
    parser.add_argument("--latency", type=float, nargs="+", default=sized([0.0, 1.0], [1.0]),
                        help="round-trip latencies (ms) the proxy adds to PostgreSQL")
    parser.add_argument("--seconds", type=int, default=sized(3, 1), help="length of each wrk run")
    parser.add_argument("--outage", type=float, default=sized(20, 2), help="seconds the server stays unreachable")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="what to measure (all)")
    args = parser.parse_args()
    if "serving" in args.parts and not shutil.which("wrk"):
        raise SystemExit("wrk is needed for the serving part: apt-get install -y wrk")
    cases = [Case()] + ([Case(args.postgres, latency) for latency in args.latency] if args.postgres else [])
    figures: dict[str, dict[str, list[float]]] = {case.name: defaultdict(list) for case in cases}
    outages: list[dict[str, object]] = []
    latency: dict[str, float] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="feedhub-bench-scale-") as tmp_name:
            tmp = Path(tmp_name)
            Newsroom().write(tmp / "articles", 0, ARTICLES)
            feeds = Feeds(tmp / "feeds", FEEDS, ENTRIES)
            source = tmp / "migrate-source.db"
            with Store(source) as store:
                store.insert_many(story(n, random.Random(n)) for n in range(MIGRATE_ITEMS))
            with FeedServer(tmp / "feeds") as server:
                sources = [{"name": f"s{n}", "url": f"{server.url}/feed-{n}.rss", "category": CATEGORY}
                           for n in range(len(feeds.documents))]
                for _ in range(args.rounds):
                    for case in cases if "filing" in args.parts else ():
                        seconds, filed, trips = filing(tmp, case, tmp / "articles", sources)
                        figures[case.name]["filing"].append(seconds)
                        figures[case.name]["trips"].append(trips / filed)
                    for case in cases if "serving" in args.parts else ():
                        for name, value in serving(tmp, case, args.seconds).items():
                            figures[case.name][name].append(value)
                    for case in cases[1:] if "migrate" in args.parts else ():
                        figures[case.name]["migrate"].append(migrating(tmp, case, source))
                    if len(cases) > 1 and "outage" in args.parts:
                        outages.append(outage(tmp, cases[-1], args.outage))
            for case in cases[1:]:
                location = case.fresh(tmp)
                latency[case.name] = case.measured_latency(location)
                case.drop(location)
    finally:
        for case in cases:
            case.close()
    report(cases, figures, outages, latency, args.rounds)


def report(cases: list[Case], figures: dict[str, dict[str, list[float]]], outages: list[dict[str, object]],
           latency: dict[str, float], rounds: int) -> None:
    sqlite = figures["SQLite"]
    print(f"filing: {ARTICLES} article files and {FEEDS} feeds x {ENTRIES} entries; serving: {SERVE_ITEMS} stories, "
          f"wrk -t2 -c16; {POLLS} conditional polls; migrate-db of {MIGRATE_ITEMS} stories; {rounds} rounds on "
          f"{os.cpu_count()} CPUs (load {os.getloadavg()[0]:.1f})")
    for case in cases:
        mine = figures[case.name]
        measured = f" (SELECT 1 takes {latency[case.name]:.2f} ms through the proxy)" if case.name in latency else ""
        print(f"{case.name}{measured}: filing {spread(mine['filing'])} s; serve feed {spread(mine['feed'], 0)} req/s, "
              f"page {spread(mine['page'], 0)} req/s")
    for case in cases[1:]:
        mine = figures[case.name]
        ratios = {key: spread([pg / lite for pg, lite in zip(mine[key], sqlite[key])])
                  for key in ("filing", "feed", "page")}
        print(f"{case.name}: round trips per filed item {spread(mine['trips'])} (target <= 1); "
              f"per conditional poll {spread(mine['poll_trips'])} (target 0); migrate-db {spread(mine['migrate'], 0)} rows/s")
        print(f"{case.name} / SQLite: filing time {ratios['filing']} (target <= 1.5 at 1 ms); "
              f"serve rate feed {ratios['feed']}, page {ratios['page']}")
    for n, found in enumerate(outages, 1):
        slowest, statuses = found["during"]  # type: ignore[misc]
        answers = "; ".join(f"{name} {found[name][0]} in {found[name][1]:.2f} s ({found[name][2] or '-'})"  # type: ignore[index]
                            for name in ("healthz", "feed", "page"))
        print(f"outage {n} ({cases[-1].name}): {answers}; during it the slowest answer {slowest:.2f} s, "
              f"statuses {statuses}; serving again {found['recovery']:.2f} s after the server's return")


if __name__ == "__main__":
    main()
