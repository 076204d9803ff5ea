"""Web nodes on PostgreSQL learn that a category changed from the server's
NOTIFY (store/watch.py) instead of asking on every request: a poll of a
cached feed costs no round trip, and a change filed through another node
(a worker, here this test's Store) is served from the next request once its
notice has arrived, also after the node lost its connection and listened
again.  The node reaches PostgreSQL through a proxy that counts round trips
(tests/latency_proxy.py)."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from helpers import gunicorn, story, wait_until, write_config
from latency_proxy import LatencyProxy

from feedhub.ingest import filing
from feedhub.store import Store
from feedhub.store.pgpool import close_pools

pytestmark = pytest.mark.slow

FEED = "/feeds/business.rss"
POLLS = 50
# A notice reaches the node within milliseconds; a loaded machine may take longer.
NOTICE_SECONDS = 5


def cheap_polls(client: httpx.Client, proxy: LatencyProxy, etag: str) -> int:
    """Round trips the node made to the database for POLLS conditional polls of a cached feed."""
    proxy.reset()
    for _ in range(POLLS):
        assert client.get(FEED, headers={"If-None-Match": etag}).status_code == 304
    return proxy.reset()[0]


def shows(client: httpx.Client, title: str) -> bool:
    answer = client.get(FEED)
    return answer.status_code == 200 and title.encode() in answer.content


def test_a_change_through_one_node_is_served_by_another_without_a_round_trip_per_poll(
        postgres_url: str, tmp_path: Path):
    with Store(postgres_url) as store:
        for n in range(1, 4):
            filing.add(store, story(n))
    with LatencyProxy(urlsplit(postgres_url).port or 5432) as proxy, \
            gunicorn(write_config(tmp_path, proxy.route(postgres_url)), workers=1, threads=2) as node, \
            httpx.Client(base_url=node) as client:
        etag = client.get(FEED).headers["ETag"]
        # Before its watch listens the node asks; from then on a poll costs
        # nothing (the node's request counters, written once a second, aside).
        assert wait_until(lambda: cheap_polls(client, proxy, etag) <= POLLS // 10, seconds=NOTICE_SECONDS)

        with Store(postgres_url) as store:  # another node files a story
            filing.add(store, story(4, title="Filed through another node"))
        assert wait_until(lambda: shows(client, "Filed through another node"), seconds=NOTICE_SECONDS, every=0)
        etag = client.get(FEED).headers["ETag"]
        assert cheap_polls(client, proxy, etag) <= POLLS // 10

        proxy.cut()  # the node loses its connections, its watch's too
        proxy.restore()
        time.sleep(0.6)  # past the pool's idle check: the node serves as if nothing happened
        assert client.get(FEED, headers={"If-None-Match": etag}).status_code == 304
        with Store(postgres_url) as store:
            filing.add(store, story(5, title="Filed after the reconnection"))
        assert wait_until(lambda: shows(client, "Filed after the reconnection"), seconds=NOTICE_SECONDS, every=0)
        etag = client.get(FEED).headers["ETag"]
        # Listening again: polls are free again.
        assert wait_until(lambda: cheap_polls(client, proxy, etag) <= POLLS // 10, seconds=NOTICE_SECONDS)
        close_pools(proxy.route(postgres_url))
