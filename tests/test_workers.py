"""Several `feedhub worker` processes on one database: each source fetched
once per interval, a killed worker's sources taken over when its lease
ends, one story filed once, one WebSub ping per change, and operators
seeing which worker holds which source."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from email.utils import formatdate
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import parse_qs

import pytest
from helpers import wait_until, write_config
from loopback import FeedServer

from feedhub.cli import main
from feedhub.config import load_config
from feedhub.model import utcnow
from feedhub.store import Store
from feedhub.web import create_app
from feedhub.worker.claims import SLACK
from feedhub.worker.scheduler import Worker

WORDS = ["harbour", "levy", "council", "rail", "freight", "summit", "river", "plant", "grid", "match", "vote",
         "budget", "strike", "treaty", "market", "coast", "storm", "school", "bridge", "court", "ferry", "mill"]
CATEGORIES = ["international", "technology", "business", "sports"]


def write_feed(path: Path, number: int, entries: int = 2) -> list[str]:
    """An RSS file of `entries` stories of their own (words drawn at random,
    so no two are near-duplicates); their guids."""
    rng = random.Random(number)
    guids = [f"urn:feed{number}:{i}" for i in range(entries)]
    items = "".join(
        f"<item><title>Feed {number} story {i}: {' '.join(rng.sample(WORDS, 4))}</title>"
        f"<link>https://feed{number}.example/{i}</link><guid>{guid}</guid>"
        f"<pubDate>{formatdate(1_790_000_000 + i * 60, usegmt=True)}</pubDate>"
        f"<description>{' '.join(rng.choice(WORDS) for _ in range(30))}.</description></item>"
        for i, guid in enumerate(guids)
    )
    path.write_text(f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {number}</title>'
                    f"<link>https://feed{number}.example/</link><description>d</description>{items}</channel></rss>",
                    encoding="utf-8")
    return guids


def timed(server: FeedServer, paths: list[str], hold: Callable[[], object] | None = None) -> dict[str, list[float]]:
    """When each path was asked for (time.monotonic()), filled in as the
    server answers; with `hold`, called before answering each of them."""
    times: dict[str, list[float]] = defaultdict(list)

    def note(path: str) -> None:
        times[path].append(time.monotonic())
        if hold:
            hold()

    for path in paths:
        server.before[path] = lambda path=path: note(path)
    return times


@contextlib.contextmanager
def workers(config: Path | list[Path], names: list[str], logs: Path) -> Iterator[dict[str, subprocess.Popen]]:
    """`feedhub worker` processes named `names` (FEEDHUB_WORKER_NAME), each
    reading its feeds.yaml (one for all, or one each); stopped on exit."""
    paths = config if isinstance(config, list) else [config] * len(names)
    started = {}
    try:
        for name, path in zip(names, paths):
            output = open(logs / f"{name}.log", "wb")
            started[name] = subprocess.Popen(
                [sys.executable, "-m", "feedhub.cli", "--config", str(path), "--log-level", "DEBUG", "worker"],
                env={**os.environ, "FEEDHUB_WORKER_NAME": name}, stdout=output, stderr=subprocess.STDOUT,
            )
            output.close()
        yield started
    finally:
        for process in started.values():
            if process.poll() is None:
                process.terminate()
        for process in started.values():
            process.wait(timeout=30)


def stored(database: str) -> Counter[str]:
    """How many stored items carry each guid."""
    with Store(database) as store:
        return Counter(guid for (guid,) in store.db.execute("SELECT guid FROM items").fetchall())


def log_of(logs: Path) -> str:
    return "".join(path.read_text(errors="replace") for path in sorted(logs.glob("*.log")))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[FeedServer]:
    root = tmp_path / "served"
    root.mkdir()
    with FeedServer(root) as server:
        yield server


# -- once per interval ------------------------------------------------------------

INTERVAL = 15  # seconds: a round of 100 sources by 3 workers fits well inside, on a slow machine too


@pytest.mark.slow
def test_three_workers_fetch_each_of_100_sources_once_per_interval(tmp_path: Path, server, database):
    guids = [guid for n in range(100) for guid in write_feed(server.root / f"s{n:03}.rss", n)]
    # Each answer takes 0.1 s, as a real source's does: a round is then longer
    # than the other workers' start-up, so the first to start cannot claim
    # every source before they claim theirs.
    times = timed(server, [f"/s{n:03}.rss" for n in range(100)], hold=lambda: time.sleep(0.1))
    config = write_config(tmp_path, database=database, sources=[
        {**server.source(f"s{n:03}", f"s{n:03}.rss", CATEGORIES[n % 4]), "interval": f"{INTERVAL}s"}
        for n in range(100)])
    with workers(config, ["w1", "w2", "w3"], tmp_path) as started:
        assert wait_until(lambda: len(times) == 100, 30, every=0.1), f"{len(times)} of 100 sources fetched\n{log_of(tmp_path)[-3000:]}"
        first = min(when[0] for when in times.values())
        # Watch two whole intervals from the first fetch (less a margin: the third round starts then).
        time.sleep(max(0.0, first + 2 * INTERVAL - 1.5 - time.monotonic()))
        for process in started.values():
            process.send_signal(signal.SIGKILL)
    # Each worker runs all its jobs at its start, then every INTERVAL from
    # then on: a round of fetches starts with the first worker's timers and
    # ends a few seconds later (the jobs queue for the worker's threads).  A
    # source is due again SLACK of an interval before its worker's next run,
    # stored to the second: no fetch of the second round comes before this.
    second_round = first + INTERVAL * (1 - SLACK) - 2.5
    rounds = Counter((sum(at < second_round for at in when), sum(at >= second_round for at in when))
                     for when in times.values())
    assert rounds == {(1, 1): 100}, sorted(rounds.items())
    assert stored(database) == Counter({guid: 1 for guid in guids})
    with Store(database) as store:
        holders = {lease.holder or lease.last_holder for lease in store.leases().values()
                   if lease.name.startswith("feed:")}
    assert holders <= {"w1", "w2", "w3"} and len(holders) >= 2, holders
    assert "Traceback" not in log_of(tmp_path)


# -- a worker killed mid-run -------------------------------------------------------

LEASE = 10  # seconds, the shortest worker_lease (and fetch_max_time) feeds.yaml allows


@pytest.mark.slow
def test_a_killed_workers_sources_are_taken_over_when_its_lease_ends(tmp_path: Path, server, database):
    guids = [guid for n in range(8) for guid in write_feed(server.root / f"k{n}.rss", n, entries=3)]
    release = threading.Event()
    times = timed(server, [f"/k{n}.rss" for n in range(8)], hold=lambda: release.wait(30))
    config = write_config(
        tmp_path, database=database, worker_lease=f"{LEASE}s", fetch_max_time=f"{LEASE}s",
        sources=[{**server.source(f"k{n}", f"k{n}.rss", "business"), "interval": "10s"} for n in range(8)])
    with workers(config, ["doomed"], tmp_path) as first:
        # The server holds every answer: all 8 sources are mid-fetch when it dies.
        assert wait_until(lambda: len(times) == 8, 30, every=0.1), log_of(tmp_path)[-3000:]
        first["doomed"].kill()
        first["doomed"].wait(timeout=30)
    killed = time.monotonic()
    claimed = min(when[0] for when in times.values())
    for path in list(server.before):
        server.before[path] = lambda path=path: times[path].append(time.monotonic())  # answer at once from now on
    release.set()
    with Store(database) as store:
        assert {lease.holder for lease in store.leases().values()} == {"doomed"}
    assert sum(stored(database).values()) == 0, "nothing was filed before the kill"
    with workers(config, ["heir1", "heir2"], tmp_path):
        assert wait_until(lambda: sum(stored(database).values()) == len(guids), 40, every=0.1), log_of(tmp_path)[-3000:]
        assert wait_until(lambda: all(len(when) >= 2 for when in times.values()), 10, every=0.1)
    assert stored(database) == Counter({guid: 1 for guid in guids}), "nothing lost, nothing twice"
    with Store(database) as store:
        assert store.count("duplicates") == 0
        heirs = {lease.holder or lease.last_holder for lease in store.leases().values() if lease.name.startswith("feed:")}
    assert heirs <= {"heir1", "heir2"} and heirs, heirs
    # Nobody fetched them again before the dead worker's lease ran out (it is stored to the second).
    assert min(when[1] - when[0] for when in times.values()) >= LEASE - 1.5
    assert killed < claimed + LEASE, "the takeover waited for the lease, not for the kill"
    assert "Traceback" not in log_of(tmp_path)


# -- one story, two workers at once ------------------------------------------------


def same_story_at_once(tmp_path: Path, server: FeedServer, database: str, **settings: object) -> str:
    """Two workers, each with a feeds.yaml of one source (sa, sb), both in
    business and both carrying the same story, answered at the same moment
    (so both file it at once); returns once both runs ended.  The guid."""
    [guid] = write_feed(server.root / "story.rss", 1, entries=1)
    (server.root / "copy.rss").write_text((server.root / "story.rss").read_text())
    both = threading.Barrier(2, timeout=30)
    timed(server, ["/story.rss", "/copy.rss"], hold=both.wait)
    configs = []
    for name, file in (("sa", "story.rss"), ("sb", "copy.rss")):
        (tmp_path / name).mkdir()
        configs.append(write_config(tmp_path / name, database=database, sources=[
            {**server.source(name, file, "business"), "interval": "1h"}], **settings))

    def both_done() -> bool:
        with Store(database) as store:
            held = store.leases()
        return all(held.get(f"feed:{name}") and held[f"feed:{name}"].last_holder for name in ("sa", "sb"))

    with workers(configs, ["wa", "wb"], tmp_path):
        assert wait_until(both_done, 40, every=0.1), log_of(tmp_path)[-3000:]
    assert "Traceback" not in log_of(tmp_path)
    return guid


@pytest.mark.slow
def test_two_workers_filing_one_story_at_once_store_it_once(tmp_path: Path, server, database):
    guid = same_story_at_once(tmp_path, server, database)
    assert stored(database) == Counter({guid: 1})
    with Store(database) as store:
        [(source, copy)] = store.db.execute("SELECT i.source, d.source FROM duplicates d JOIN items i ON i.id = d.item_id").fetchall()
        leases = store.leases()
    assert {source, copy} == {"feed:sa", "feed:sb"}
    assert leases["feed:sa"].last_holder == "wa" and leases["feed:sb"].last_holder == "wb"


@pytest.mark.slow
def test_two_workers_seeing_one_change_ping_the_hub_once(tmp_path: Path, server, database):
    server.overrides["/hub"] = (204, {}, b"")
    same_story_at_once(tmp_path, server, database, hubs=[f"{server.url}/hub"])
    topics = Counter(parse_qs(body.decode())["hub.url"][0] for path, _, body in server.posted if path == "/hub")
    # Both workers saw business change (each compared with its own start); one pinged.
    assert topics == {f"http://feeds.test/feeds/business.{fmt}": 1 for fmt in ("rss", "atom", "json")}, topics
    with Store(database) as store:
        assert store.claim_announcements(["business"]) == [], "the version is recorded as announced"


# -- what operators see ------------------------------------------------------------


def test_sources_and_the_sources_page_show_which_worker_holds_a_source(tmp_path: Path, database, capsys):
    config_path = write_config(tmp_path, database=database, sources=[
        {"name": name, "url": f"http://127.0.0.1:9/{name}.rss", "category": "business"}
        for name in ("busy", "done", "orphan")])
    now = utcnow()
    with Store(database) as store:
        assert store.claim("feed:busy", "host-a:101", now, now + timedelta(minutes=15))
        assert not store.claim("feed:busy", "host-b:202", now, now + timedelta(minutes=15)), "held: not claimed again"
        assert store.claim("feed:done", "host-b:202", now, now + timedelta(minutes=15))
        store.release("feed:done", "host-b:202", now + timedelta(minutes=14))
        assert not store.claim("feed:done", "host-a:101", now, now + timedelta(minutes=15)), "not due yet"
        assert store.claim("feed:orphan", "host-c:303", now - timedelta(minutes=20), now - timedelta(minutes=5))
    assert main(["--config", str(config_path), "sources"]) == 0
    out = capsys.readouterr().out
    assert "worker: held by host-a:101 until" in out and "(in 15m)" in out
    assert "last run by: host-b:202" in out
    assert "worker: host-c:303 stopped mid-run, its lease ended" in out
    page = create_app(load_config(config_path)).test_client().get("/sources")
    text = " ".join(page.get_data(as_text=True).split())
    assert page.status_code == 200
    assert "<dt>Worker</dt> <dd>host-a:101 is fetching it (lease until <time" in text
    assert "<dt>Last run by</dt> <dd>host-b:202</dd>" in text
    assert "host-c:303 stopped mid-run; its lease ended" in text


# -- static feeds ------------------------------------------------------------------


def test_a_worker_writes_the_static_feeds_another_worker_changed(tmp_path: Path, feed_server, database):
    """Each worker keeps its own static_dir (say, on its own machine) in step
    with the database, whoever filed the change."""
    paths = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        paths.append(write_config(tmp_path / name, database=database, static_dir="public",
                                  sources=[feed_server.source("wire", "world-wire.rss", "international")]))
    a, b = (Worker(load_config(path), path) for path in paths)
    feed = tmp_path / "b" / "public" / "international.rss"
    b.write_static()  # at its start
    empty = feed.read_bytes()
    a.run("feed:wire")  # b never fetches it
    assert feed.read_bytes() == empty
    b.watch()
    assert b"<item>" in feed.read_bytes()
    assert feed.read_bytes() == (tmp_path / "a" / "public" / "international.rss").read_bytes()


# -- one job, two workers, in one process ------------------------------------------


def test_a_job_another_worker_ran_is_skipped_until_due_and_enable_frees_it(
    tmp_path: Path, feed_server, articles_dir: Path, database, monkeypatch
):
    path = write_config(tmp_path, database=database, articles=[{"path": str(articles_dir), "interval": "15m"}],
                        sources=[{**feed_server.source("wire", "world-wire.rss", "international"), "interval": "15m"}])
    started = []
    for name in ("first", "second"):
        monkeypatch.setenv("FEEDHUB_WORKER_NAME", name)
        worker = Worker(load_config(path), path)
        worker.start(paused=True)
        started.append(worker)
    first, second = started
    folder = f"articles:{articles_dir}"
    try:
        later = utcnow() + timedelta(minutes=15)
        for job in ("feed:wire", folder):  # as after a run: the next one an interval away
            first.scheduler.modify_job(job, next_run_time=later)
        assert first.run("feed:wire").total("new") > 0 and first.run(folder).total("new") > 0
        fetched = len(feed_server.requests)
        assert second.run("feed:wire") is None and second.run(folder) is None
        assert len(feed_server.requests) == fetched, "the second worker fetched nothing"
        with Store(database) as store:
            held = store.leases()
        assert {held[job].last_holder for job in ("feed:wire", folder)} == {"first"}
        assert {held[job].holder for job in ("feed:wire", folder)} == {None}
        # Due again SLACK of an interval before the first worker's next run.
        assert held["feed:wire"].not_before == (later - timedelta(seconds=90)).isoformat(timespec="seconds")
        assert main(["--config", str(path), "enable", "wire"]) == 0
        assert second.run("feed:wire") is not None and len(feed_server.requests) == fetched + 1
        with Store(database) as store:
            assert store.leases()["feed:wire"].last_holder == "second"
    finally:
        for worker in started:
            worker.shutdown()
