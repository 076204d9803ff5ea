"""PostgreSQL going away and coming back, with a real server behind a proxy
that the tests cut (tests/latency_proxy.py): a cut refuses new connections
and closes the open ones, as a server that stops does.

While it is down a web node answers at once: /healthz 503 within a second,
a feed it has cached served as it was (marked stale in Cache-Status), any
other page 503 with Retry-After; never a 500, never a wait of the pool's
timeout.  Once the server is back the node serves again within seconds, and
a restart costs no failed statement.  A worker keeps its schedule: its jobs
fail while the server is away and run again after, losing nothing."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers import story, wait_until, write_config
from latency_proxy import LatencyProxy

from feedhub.config import load_config
from feedhub.ingest import filing
from feedhub.store import DatabaseUnavailable, Store
from feedhub.store.pgpool import close_pools
from feedhub.web import create_app
from feedhub.worker import claims, scheduler

pytestmark = pytest.mark.slow


@pytest.fixture
def proxy(postgres_url: str):
    """A proxy in front of the test's PostgreSQL database; yields it with the URL through it."""
    with LatencyProxy(urlsplit(postgres_url).port or 5432) as made:
        made.url = made.route(postgres_url)
        yield made
        close_pools(made.url)


def timed(client, path: str, **headers: str):
    started = time.monotonic()
    response = client.get(path, headers=headers)
    return response, time.monotonic() - started


def test_an_outage_gives_fast_503s_and_stale_cached_feeds_and_the_node_serves_again_once_it_is_back(
        proxy, tmp_path: Path, caplog):
    config = load_config(write_config(tmp_path, proxy.url))
    with Store(proxy.url) as store:
        for n in range(1, 4):
            filing.add(store, story(n))
        store.beat("scheduler", 1)
    client = create_app(config).test_client()
    feed = client.get("/feeds/business.rss")
    assert feed.status_code == 200 and b"Story 3" in feed.data and "Cache-Status" not in feed.headers
    assert client.get("/healthz").status_code == 200

    proxy.cut()
    caplog.set_level(logging.WARNING)
    health, took = timed(client, "/healthz")
    assert health.status_code == 503 and took < 1.0, (health.status_code, took)
    assert health.json["status"] == "unhealthy"
    for _ in range(3):  # every request, not only the first
        stale, took = timed(client, "/feeds/business.rss")
        assert stale.status_code == 200 and took < 1.0
        assert stale.data == feed.data and stale.headers["ETag"] == feed.headers["ETag"]
        assert "stale" in stale.headers["Cache-Status"]
    polled, _ = timed(client, "/feeds/business.rss", **{"If-None-Match": feed.headers["ETag"]})
    assert polled.status_code == 304
    for path in ("/c/business", "/feeds/business.atom", "/feeds/sports.rss", "/healthz"):
        answer, took = timed(client, path)
        assert answer.status_code == 503 and took < 1.0, (path, answer.status_code, took)
    page, _ = timed(client, "/c/business")
    assert int(page.headers["Retry-After"]) > 0 and b"database" in page.data
    said = [record for record in caplog.records if "stale" in record.getMessage()]
    assert len(said) == 1, [record.getMessage() for record in caplog.records]

    proxy.restore()
    back = time.monotonic()
    assert wait_until(lambda: client.get("/c/business").status_code == 200, seconds=5)
    assert time.monotonic() - back < 5
    with Store(proxy.url) as store:  # and what is filed now is served at once
        filing.add(store, story(4, title="After the outage"))
    fresh = client.get("/feeds/business.rss")
    assert fresh.status_code == 200 and b"After the outage" in fresh.data and "Cache-Status" not in fresh.headers
    assert client.get("/healthz").status_code == 200


def test_a_node_that_never_reached_the_database_answers_503_at_once(proxy, tmp_path: Path):
    Store(proxy.url).close()  # the schema, through the proxy
    close_pools(proxy.url)  # a process that has not connected yet
    proxy.cut()
    client = create_app(load_config(write_config(tmp_path, proxy.url))).test_client()
    for path in ("/feeds/business.rss", "/c/business", "/healthz"):
        answer, took = timed(client, path)
        assert answer.status_code == 503 and took < 2.0, (path, answer.status_code, took)


def test_after_a_restart_the_first_statement_works(proxy):
    with Store(proxy.url) as store:
        filing.add(store, story(1))
        proxy.cut()  # the server restarts: every connection it had is gone
        proxy.restore()
        time.sleep(0.6)  # a restart takes longer than the pool's idle check
        assert store.item(story(1).id) is not None
        filing.add(store, story(2))
        assert store.item(story(2).id) is not None


def test_a_statement_on_a_lost_connection_says_the_database_is_unavailable(proxy):
    with Store(proxy.url) as store:
        filing.add(store, story(1))
        with pytest.raises(DatabaseUnavailable):
            with store.transaction() as db:
                db.execute("SELECT 1")
                proxy.cut()
                db.execute("SELECT 1")
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable):
            store.item(story(1).id)
        assert time.monotonic() - started < 0.5
        proxy.restore()
        assert wait_until(lambda: _readable(store), seconds=5)
        assert store.item(story(1).id) is not None


def test_a_worker_job_cut_off_midway_fails_fast_and_its_next_run_files_everything(
        proxy, tmp_path: Path, articles_dir: Path, monkeypatch):
    config = load_config(write_config(tmp_path, proxy.url, articles=[{"path": str(articles_dir)}]))
    files = len(list(articles_dir.glob("*.txt")))
    worker = scheduler.Worker(config)  # its scheduler not started: the test runs the job
    job = claims.job_name(config.articles[0])
    ingest = scheduler.ingest_folder

    def cut_midway(*args):
        proxy.cut()  # after the job's claim, before its files are filed
        return ingest(*args)

    monkeypatch.setattr(scheduler, "ingest_folder", cut_midway)
    started = time.monotonic()
    with pytest.raises(DatabaseUnavailable):
        worker.run(job)
    assert time.monotonic() - started < 5
    monkeypatch.setattr(scheduler, "ingest_folder", ingest)
    proxy.restore()
    with Store(proxy.url) as store:
        assert wait_until(lambda: _readable(store), seconds=5)
        assert store.count("items") == 0 and store.leases()[job].holder == worker.name

    # The next run is not skipped for the lease the outage kept it from
    # releasing, and files every article that the cut run lost.
    summary = worker.run(job)
    assert summary is not None and not summary.errors
    counts = summary.counts[f"articles:{articles_dir.name}"]
    assert counts["new"] + counts["duplicate"] == files
    with Store(proxy.url) as store:
        assert store.count("article_files") == files and store.count("items") == counts["new"]
        assert store.leases()[job].holder is None


def _readable(store: Store) -> bool:
    try:
        store.count("items")
    except DatabaseUnavailable:
        return False
    return True
