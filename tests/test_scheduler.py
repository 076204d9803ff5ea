"""The scheduler runs one job per input, each at its own interval, never overlapping."""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from helpers import rows, write_config

from feedhub.config import load_config
from feedhub.store import Store
from feedhub.worker.scheduler import Worker, build_scheduler


def test_one_job_per_input_at_its_interval(make_config, articles_dir: Path):
    config = make_config(
        articles=[{"path": str(articles_dir), "interval": "2m"}],
        sources=[
            {"name": "a", "url": "http://127.0.0.1:9/a.rss", "category": "international", "interval": "15m"},
            {"name": "b", "url": "http://127.0.0.1:9/b.rss", "category": "business", "interval": 3600},
        ],
    )
    scheduler = build_scheduler(config)
    scheduler.start(paused=True)  # job defaults apply once the scheduler starts
    jobs = {job.id: job for job in scheduler.get_jobs()}
    scheduler.shutdown()
    assert set(jobs) == {f"articles:{articles_dir}", "feed:a", "feed:b", "heartbeat", "watch-config", "prune", "release"}
    assert jobs["release"].trigger.interval.total_seconds() == 1, "embargoes lift within seconds"
    assert jobs["feed:a"].trigger.interval.total_seconds() == 900
    assert jobs["feed:b"].trigger.interval.total_seconds() == 3600
    assert jobs[f"articles:{articles_dir}"].trigger.interval.total_seconds() == 120
    assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())


def test_running_scheduler_ingests_articles_and_feeds(make_config, articles_dir: Path, feed_server):
    config = make_config(
        articles=[{"path": str(articles_dir)}],
        sources=[feed_server.source("wire", "world-wire.rss", "international")],
    )
    scheduler = build_scheduler(config)
    scheduler.start()
    try:
        deadline = time.monotonic() + 15
        with Store(config.database) as store:
            while time.monotonic() < deadline:
                sources = {row["source"] for row in rows(store, "SELECT DISTINCT source FROM items")}
                if sources == {f"articles:{articles_dir.name}", "feed:wire"}:
                    break
                time.sleep(0.1)
    finally:
        scheduler.shutdown()
    assert sources == {f"articles:{articles_dir.name}", "feed:wire"}


# -- feeds.yaml hot reload ---------------------------------------------------------

def source(name, category="international", interval="15m"):
    return {"name": name, "url": f"http://127.0.0.1:9/{name}.rss", "category": category, "interval": interval}


@pytest.fixture
def worker(tmp_path: Path, database: str):
    path = write_config(tmp_path, database, sources=[source("a"), source("b")])
    worker = Worker(load_config(path), path)
    worker.start(paused=True)
    yield worker
    worker.shutdown()


def feed_jobs(worker) -> dict:
    return {job.id: job for job in worker.scheduler.get_jobs() if job.id.startswith("feed:")}


def test_reload_adds_removes_and_reschedules_source_jobs(worker, tmp_path: Path, database: str):
    assert set(feed_jobs(worker)) == {"feed:a", "feed:b"}
    write_config(tmp_path, database, sources=[source("b", interval="1h"), source("c", category="business")])
    assert worker.reload() is True
    jobs = feed_jobs(worker)
    assert set(jobs) == {"feed:b", "feed:c"}
    assert jobs["feed:b"].trigger.interval.total_seconds() == 3600
    assert worker.config.source("c").category == "business"
    assert {job.id for job in worker.scheduler.get_jobs()} >= {"heartbeat", "watch-config"}


def test_an_invalid_edit_is_rejected_and_the_last_good_config_keeps_running(worker, tmp_path: Path, caplog):
    good = worker.config
    (tmp_path / "feeds.yaml").write_text(
        (tmp_path / "feeds.yaml").read_text().replace("interval: 15m", "interval: soon", 1)
    )
    with caplog.at_level(logging.ERROR, logger="feedhub.worker.scheduler"):
        assert worker.reload() is False
    assert worker.config is good
    assert set(feed_jobs(worker)) == {"feed:a", "feed:b"}
    assert all(job.trigger.interval.total_seconds() == 900 for job in feed_jobs(worker).values())
    [record] = caplog.records
    assert "still running the last good configuration" in record.getMessage()
    assert f"{tmp_path / 'feeds.yaml'}:" in record.getMessage()
    assert "sources[0].interval: expected a duration like '30s', '15m' or '1h', got 'soon'" in record.getMessage()


def test_the_watch_job_reloads_only_when_the_file_changed(worker, tmp_path: Path, database: str):
    worker.watch()
    assert set(feed_jobs(worker)) == {"feed:a", "feed:b"}
    stat = (tmp_path / "feeds.yaml").stat()
    path = write_config(tmp_path, database, sources=[source("a")])
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # the same mtime: the size tells
    worker.watch()
    assert set(feed_jobs(worker)) == {"feed:a"}


def test_a_job_removed_while_queued_does_nothing(worker, tmp_path: Path, database: str):
    write_config(tmp_path, database, sources=[source("b")])
    worker.reload()
    assert worker.run("feed:a") is None


def test_heartbeat_is_written_to_the_database(make_config):
    config = make_config()
    worker = Worker(config)
    worker.beat()
    with Store(config.database) as store:
        beat = store.heartbeat("scheduler")
    assert beat.pid == os.getpid()
    assert datetime.now(timezone.utc) - datetime.fromisoformat(beat.beat) < timedelta(seconds=30)


def test_heartbeat_and_reload_do_not_wait_behind_fetches(tmp_path: Path, database: str):
    path = write_config(tmp_path, database, sources=[source("a")])
    worker = Worker(load_config(path), path)
    worker.start(paused=True)
    try:
        jobs = {job.id: job for job in worker.scheduler.get_jobs()}
    finally:
        worker.shutdown()
    assert jobs["heartbeat"].executor == jobs["watch-config"].executor == "housekeeping"
    assert jobs["feed:a"].executor == "default"
