"""Readers hammer a real gunicorn while the scheduler (`feedhub worker`, its
jobs in threads) and `feedhub ingest` write: no 5xx, and "database is locked"
nowhere (responses, server log, writers' output)."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from helpers import gunicorn, values, write_config

READERS = 8
ROUNDS = 2  # ingest runs while the readers read, each changing every story
MAX_REQUESTS = 5000
CATEGORIES = ["international", "technology", "business", "sports"]
PATHS = [f"/feeds/{c}.{fmt}" for c in CATEGORIES for fmt in ("rss", "atom", "json")] + [
    "/", "/c/business", "/sources", "/metrics",
]


def write_articles(folder: Path, round_: int, count: int = 60) -> None:
    rng = random.Random(round_)
    words = ["harbour", "levy", "council", "rail", "freight", "summit", "river", "plant", "grid", "match",
             "vote", "budget", "strike", "treaty", "market", "coast", "storm", "school", "bridge", "court"]
    for n in range(count):
        body = "\n\n".join(" ".join(rng.choice(words) for _ in range(40)).capitalize() + "." for _ in range(2))
        (folder / f"s{n:03}.txt").write_text(
            f"{CATEGORIES[n % 4].upper()}\n\nStory {n} in round {round_}\n\n{body}\n", encoding="utf-8"
        )


def worker_beat(database: str, pid: int) -> bool:
    return values(database, "SELECT count(*) FROM heartbeats WHERE pid = ?", [pid]) == [(1,)]


@pytest.mark.slow
def test_readers_never_see_locks_or_errors_while_ingest_writes(tmp_path: Path, database: str, feed_server):
    news = tmp_path / "news"
    news.mkdir()
    write_articles(news, 0)
    config_path = write_config(
        tmp_path, database, articles=[{"path": str(news)}],
        sources=[feed_server.source("wire", "world-wire.rss", "international"),
                 feed_server.source("tech", "tech-daily.atom", "technology")],
    )
    ingest = [sys.executable, "-m", "feedhub.cli", "--config", str(config_path), "ingest"]
    assert subprocess.run(ingest, capture_output=True, timeout=120).returncode == 0  # schema and a first set of items
    server_log = tmp_path / "gunicorn.log"
    with gunicorn(config_path, threads=4, log=server_log) as base:
        worker = subprocess.Popen(  # runs every job at once on start: three writer threads
            [sys.executable, "-m", "feedhub.cli", "--config", str(config_path), "worker"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        statuses: Counter = Counter()
        problems: list[str] = []
        stop = threading.Event()

        def read(seed: int) -> None:
            rng = random.Random(seed)
            with httpx.Client(base_url=base, timeout=30) as client:
                while not stop.is_set() and sum(statuses.values()) < MAX_REQUESTS:
                    path = rng.choice(PATHS)
                    try:
                        response = client.get(path)
                    except httpx.HTTPError as exc:
                        problems.append(f"{path}: {exc!r}")
                        continue
                    statuses[response.status_code] += 1
                    if response.status_code >= 500 or "database is locked" in response.text:  # not "blocked"
                        problems.append(f"{path}: {response.status_code} {response.text[:200]}")

        readers = [threading.Thread(target=read, args=(n,)) for n in range(READERS)]
        writes, ingest_output = 0, []
        try:
            for thread in readers:
                thread.start()
            for writes in range(1, ROUNDS + 1):  # the writer
                write_articles(news, writes)
                run = subprocess.run(ingest, capture_output=True, text=True, timeout=120)
                ingest_output.append(run.stdout + run.stderr)
                assert run.returncode == 0, run.stdout + run.stderr
            deadline = time.monotonic() + 30  # on a slow machine, let the worker get going too
            while not worker_beat(database, worker.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            stop.set()
            for thread in readers:
                thread.join(timeout=60)
            worker.terminate()
            worker_log = worker.communicate(timeout=30)[0]
    log = server_log.read_text()
    assert worker_beat(database, worker.pid), worker_log
    latest = values(database, "SELECT count(*) FROM items WHERE title LIKE ?", [f"% in round {ROUNDS}"])
    assert latest == [(60,)], "every story was rewritten by the last round"

    assert sum(statuses.values()) >= 100, statuses
    assert problems == [], problems[:5]
    assert set(statuses) <= {200}, statuses
    everything = log + worker_log + "".join(ingest_output)
    assert "database is locked" not in everything and "Traceback" not in everything, everything[-3000:]
