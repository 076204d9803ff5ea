"""The scheduler runs one job per input, each at its own interval, never overlapping."""

from __future__ import annotations

import time
from pathlib import Path

from feedhub.scheduler import build_scheduler
from feedhub.store import Store


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
    assert set(jobs) == {f"articles:{articles_dir}", "feed:a", "feed:b"}
    assert jobs["feed:a"].trigger.interval.total_seconds() == 900
    assert jobs["feed:b"].trigger.interval.total_seconds() == 3600
    assert jobs[f"articles:{articles_dir}"].trigger.interval.total_seconds() == 120
    assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())


def test_running_scheduler_ingests_articles_and_feeds(make_config, articles_dir: Path, feed_server):
    config = make_config(
        articles=[{"path": str(articles_dir)}],
        sources=[{"name": "wire", "url": f"{feed_server.url}/world-wire.rss", "category": "international"}],
    )
    scheduler = build_scheduler(config)
    scheduler.start()
    try:
        deadline = time.monotonic() + 15
        with Store(config.database) as store:
            while time.monotonic() < deadline:
                sources = {row["source"] for row in store.db.query("SELECT DISTINCT source FROM items")}
                if sources == {f"articles:{articles_dir.name}", "feed:wire"}:
                    break
                time.sleep(0.1)
    finally:
        scheduler.shutdown()
    assert sources == {f"articles:{articles_dir.name}", "feed:wire"}
