"""Being a polite client: backoff, Retry-After, permanent moves and 410 Gone.

Times are checked with a fake clock (`now=` passed to ingest), never sleeps;
fetches go to the real HTTP server of conftest.py."""

from __future__ import annotations

import contextlib
import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from feedhub.cli import main
from feedhub.ingest.feeds import ingest_source
from feedhub.ingest.summary import RETIRED
from feedhub.remote.politeness import backoff_delay, parse_retry_after
from feedhub.store import Store
from feedhub.worker.scheduler import Worker

T0 = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)
INTERVAL = 900  # 15m


def source_config(make_config, feed_server, path, **extra):
    return make_config(
        sources=[{"name": "wire", "url": f"{feed_server.url}{path}", "category": "international", "interval": "15m"}],
        **extra,
    )


def attempt(config, now, rng=None):
    with Store(config.database) as store:
        summary = ingest_source(config, store, config.sources[0], now=now, rng=rng)
        return summary, store.source_state("wire")


def when(state) -> datetime:
    return datetime.fromisoformat(state.next_attempt)


def test_backoff_doubles_per_failure_with_jitter_up_to_the_cap():
    rng = random.Random(7)
    cap = 6 * 3600
    for failures in range(1, 12):
        base = min(cap, INTERVAL * 2 ** (failures - 1))
        delays = [backoff_delay(failures, INTERVAL, cap, rng).total_seconds() for _ in range(50)]
        assert all(0.8 * base <= d <= min(cap, 1.2 * base) for d in delays), failures
        assert len(set(delays)) > 1, "jitter spreads the retries"
    assert max(backoff_delay(20, INTERVAL, cap, rng).total_seconds() for _ in range(50)) == pytest.approx(cap, rel=0.21)


def test_failing_source_is_retried_later_and_later(make_config, feed_server):
    feed_server.overrides["/broken.rss"] = (500, {}, b"oops")
    config = source_config(make_config, feed_server, "/broken.rss", max_backoff="2h")
    now, rng = T0, random.Random(1)
    waits = []
    for failures in range(1, 6):
        summary, state = attempt(config, now, rng)
        assert summary.total("failed") == 1 and state.failures == failures
        assert state.last_error == "HTTP 500 Internal Server Error" and state.last_status == 500
        waits.append((when(state) - now).total_seconds())
        now = when(state)  # the scheduler comes back exactly then
    expected = [900, 1800, 3600, 7200, 7200]
    for wait, base in zip(waits, expected):
        assert 0.8 * base - 1 <= wait <= min(7200, 1.2 * base)
    # A success clears the backoff.
    feed_server.overrides["/broken.rss"] = (200, {"Content-Type": "application/rss+xml"},
                                            (feed_server.root / "world-wire.rss").read_bytes())
    summary, state = attempt(config, now)
    assert summary.total("new") >= 3 and state.failures == 0 and state.next_attempt is None


def test_retry_after_seconds_on_429_is_honoured(make_config, feed_server):
    feed_server.overrides["/busy.rss"] = (429, {"Retry-After": "7200"}, b"slow down")
    config = source_config(make_config, feed_server, "/busy.rss")
    summary, state = attempt(config, T0)
    assert state.last_status == 429 and state.last_error == "HTTP 429 Too Many Requests"
    assert when(state) == T0 + timedelta(seconds=7200)


def test_retry_after_http_date_on_503_is_honoured(make_config, feed_server):
    back = T0 + timedelta(hours=3)
    feed_server.overrides["/down.rss"] = (503, {"Retry-After": format_datetime(back, usegmt=True)}, b"maintenance")
    config = source_config(make_config, feed_server, "/down.rss")
    _, state = attempt(config, T0)
    assert when(state) == back


def test_a_short_retry_after_never_makes_us_fetch_more_often_than_our_schedule(make_config, feed_server):
    feed_server.overrides["/busy.rss"] = (429, {"Retry-After": "10"}, b"")
    config = source_config(make_config, feed_server, "/busy.rss")
    _, state = attempt(config, T0)
    assert when(state) >= T0 + timedelta(seconds=0.8 * INTERVAL)


def test_retry_after_parsing():
    assert parse_retry_after("120", T0) == timedelta(seconds=120)
    assert parse_retry_after("Wed, 25 Nov 2026 12:30:00 GMT", T0) == timedelta(minutes=30)
    assert parse_retry_after("Wed, 25 Nov 2026 11:00:00 GMT", T0) == timedelta(0)  # already past
    assert parse_retry_after("in a while", T0) is None
    assert parse_retry_after("99999999", T0) == timedelta(days=7)  # capped


def test_permanent_redirect_updates_the_stored_url(make_config, feed_server):
    feed_server.overrides["/old.rss"] = (301, {"Location": f"{feed_server.url}/world-wire.rss"}, b"")
    config = source_config(make_config, feed_server, "/old.rss")
    summary, state = attempt(config, T0)
    assert summary.total("new") >= 3
    assert state.url == f"{feed_server.url}/world-wire.rss"
    assert state.location == f"{feed_server.url}/old.rss", "feeds.yaml's address is kept apart"
    feed_server.requests.clear()
    summary, state = attempt(config, T0 + timedelta(minutes=15))
    assert [path for path, _ in feed_server.requests] == ["/world-wire.rss"], "the old address is not asked again"
    assert state.last_status == 304 and state.url == f"{feed_server.url}/world-wire.rss"


def test_308_counts_as_permanent_and_302_does_not(make_config, feed_server):
    feed_server.overrides["/moved.rss"] = (308, {"Location": "/world-wire.rss"}, b"")
    config = source_config(make_config, feed_server, "/moved.rss")
    assert attempt(config, T0)[1].url == f"{feed_server.url}/world-wire.rss"

    feed_server.overrides["/for-now.rss"] = (302, {"Location": "/world-wire.rss"}, b"")
    config = source_config(make_config, feed_server, "/for-now.rss")
    _, state = attempt(config, T0)
    assert state.url is None and state.last_status == 200


def test_410_gone_retires_the_source_until_its_address_changes(make_config, feed_server):
    feed_server.overrides["/gone.rss"] = (410, {}, b"gone")
    config = source_config(make_config, feed_server, "/gone.rss")
    summary, state = attempt(config, T0)
    assert summary.total("failed") == 1 and state.retired == 1 and state.next_attempt is None
    assert "410" in state.last_error and "retired" in state.last_error
    feed_server.requests.clear()
    summary, state = attempt(config, T0 + timedelta(days=1))
    assert feed_server.requests == [], "a retired source is not fetched"
    assert summary.counts["feed:wire"][RETIRED] == 1 and summary.total("failed") == 0
    # The operator points the source somewhere else: it is fetched again.
    config = source_config(make_config, feed_server, "/world-wire.rss")
    summary, state = attempt(config, T0 + timedelta(days=2))
    assert summary.total("new") >= 3 and state.retired == 0 and state.failures == 0


@contextlib.contextmanager
def backed_off(make_config, feed_server, status: int, retry_after: str):
    """A paused worker whose one source has just answered `status` with that
    Retry-After; yields (config, worker)."""
    feed_server.overrides["/busy.rss"] = (status, {"Retry-After": retry_after}, b"")
    config = source_config(make_config, feed_server, "/busy.rss")
    worker = Worker(config)
    worker.start(paused=True)
    try:
        worker.run("feed:wire")
        yield config, worker
    finally:
        worker.shutdown()


def test_scheduler_moves_a_failing_source_job_to_its_next_attempt(make_config, feed_server):
    with backed_off(make_config, feed_server, 429, "3600") as (config, worker):
        with Store(config.database) as store:
            due = when(store.source_state("wire"))
        assert worker.scheduler.get_job("feed:wire").next_run_time == due
        assert due - datetime.now(timezone.utc) > timedelta(minutes=59)
        # Run early anyway (say, right after a restart): nothing is fetched.
        feed_server.requests.clear()
        assert worker.run("feed:wire") is None and feed_server.requests == []


def test_enable_brings_a_backed_off_source_back_to_its_interval(make_config, feed_server, tmp_path):
    with backed_off(make_config, feed_server, 503, "7200") as (config, worker):
        postponed = worker.scheduler.get_job("feed:wire").next_run_time
        assert postponed - datetime.now(timezone.utc) > timedelta(hours=1)
        worker.watch()  # nothing changed yet: it stays postponed
        assert worker.scheduler.get_job("feed:wire").next_run_time == postponed
        # The operator runs `feedhub enable wire` (another process, same database).
        assert main(["--config", str(tmp_path / "feeds.yaml"), "enable", "wire"]) == 0
        worker.watch()
        soon = worker.scheduler.get_job("feed:wire").next_run_time
    assert soon - datetime.now(timezone.utc) < timedelta(seconds=5)
