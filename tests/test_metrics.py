"""/metrics and /healthz, as a Prometheus server and a supervisor see them."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from feedhub.ingest.cycle import run_cycle
from feedhub.model import utcnow
from feedhub.store import Store
from feedhub.web import create_app
from feedhub.worker.scheduler import Worker


def scrape(client) -> dict[tuple, float]:
    """{(sample name, sorted label items): value} from one /metrics response."""
    response = client.get("/metrics")
    assert response.status_code == 200 and response.content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_ingest_moves_the_counters(make_config, feed_server, articles_dir: Path):
    feed_server.overrides["/busy.rss"] = (503, {}, b"")
    config = make_config(
        articles=[{"path": str(articles_dir)}],
        sources=[
            feed_server.source("wire", "world-wire.rss", "international"),
            feed_server.source("partner", "syndicated.rss", "international"),
            feed_server.source("busy", "busy.rss", "business"),
        ],
    )
    client = create_app(config).test_client()
    before = scrape(client)
    assert value(before, "feedhub_items_ingested_total", input="feed:wire") == 0
    assert value(before, "feedhub_fetch_duration_seconds_count") == 0
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    after = scrape(client)
    assert value(after, "feedhub_items_ingested_total", input="feed:wire") == summary.counts["feed:wire"]["new"] >= 3
    assert value(after, "feedhub_items_ingested_total", input=f"articles:{articles_dir.name}") == len(list(articles_dir.glob("*.txt")))
    assert value(after, "feedhub_duplicates_total", input="feed:partner") == summary.total("duplicate") == 1
    assert value(after, "feedhub_fetch_errors_total", source="busy") == 1
    assert value(after, "feedhub_fetch_errors_total", source="wire") == 0
    assert value(after, "feedhub_fetches_total", source="wire") == 1
    assert value(after, "feedhub_fetch_duration_seconds_count") == 3
    assert value(after, "feedhub_fetch_duration_seconds_bucket", le="+Inf") == 3
    assert value(after, "feedhub_fetch_duration_seconds_sum") > 0
    assert value(after, "feedhub_sources", status="failing") == 1 and value(after, "feedhub_sources", status="ok") == 2
    stored = summary.counts["feed:wire"]["new"] + summary.counts["feed:partner"]["new"]
    assert value(after, "feedhub_items", category="international") >= stored


def test_feed_requests_are_counted_by_status_across_workers(make_config):
    config = make_config()
    # Two apps on one database stand for two gunicorn workers.
    first, second = create_app(config).test_client(), create_app(config).test_client()
    assert first.get("/feeds/business.rss").status_code == 200
    assert first.get("/feeds/business.rss").status_code == 200
    assert first.get("/feeds/weather.atom").status_code == 404
    first.application.extensions["feedhub_request_counts"].flush()  # what its thread does within a second
    samples = scrape(second)
    assert value(samples, "feedhub_feed_requests_total", category="business", format="rss", status="200") == 2
    assert value(samples, "feedhub_feed_requests_total", category="unknown", format="atom", status="404") == 1
    # The scraped worker's own counts are included at once.
    second.get("/feeds/technology.atom")
    assert value(scrape(second), "feedhub_feed_requests_total", category="technology", format="atom", status="200") == 1


def test_request_counts_reach_the_database_without_a_scrape(make_config):
    config = make_config()
    client = create_app(config).test_client()
    client.get("/feeds/sports.atom")
    deadline = time.monotonic() + 10
    with Store(config.database) as store:
        while time.monotonic() < deadline:  # the flushing thread writes within about a second
            saved = [row.value for row in store.counters() if row.name == "feedhub_feed_requests"]
            if saved:
                break
            time.sleep(0.05)
    assert saved == [1]


def test_healthz_needs_a_fresh_scheduler_heartbeat(make_config):
    config = make_config()
    client = create_app(config).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "no scheduler heartbeat" in response.get_json()["reason"]
    Worker(config).beat()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json()["status"] == "ok"
    with Store(config.database) as store:
        store.beat("scheduler", os.getpid(), now=utcnow() - timedelta(minutes=5))
    response = client.get("/healthz")
    assert response.status_code == 503 and response.get_json()["heartbeat_age_seconds"] >= 300
    assert "s old (limit 60s)" in response.get_json()["reason"]


def test_healthz_reports_an_unreachable_database(make_config, tmp_path: Path):
    (tmp_path / "not-a-folder").write_text("")
    config = make_config(database=str(tmp_path / "not-a-folder" / "hub.db"))
    response = create_app(config).test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["reason"].startswith("database: ")


def test_a_not_modified_answer_is_counted_as_a_304(make_config, articles_dir: Path):
    config = make_config(articles=[{"path": str(articles_dir)}])
    with Store(config.database) as store:
        run_cycle(config, store)
    client = create_app(config).test_client()
    first = client.get("/feeds/international.atom")
    assert first.status_code == 200 and first.headers["ETag"]
    again = client.get("/feeds/international.atom", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    samples = scrape(client)
    assert value(samples, "feedhub_feed_requests_total", category="international", format="atom", status="200") == 1
    assert value(samples, "feedhub_feed_requests_total", category="international", format="atom", status="304") == 1
