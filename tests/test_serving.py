"""Cheap polling: validators and 304s, compression, and a rendered-feed cache
that is rebuilt only when its category changes, in every server process."""

from __future__ import annotations

import gzip
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from email.utils import format_datetime, parsedate_to_datetime

import brotli
import feedparser
import httpx
import pytest
from helpers import REPO, config_holding, gunicorn, story

from feedhub.ingest import filing
from feedhub.store import Store
from feedhub.web import create_app

def long_story(n: int):
    return story(n, content=f"<p>Body {n} " + "words " * 200 + "</p>")


@pytest.fixture
def config(make_config):
    return config_holding(make_config, [long_story(n) for n in range(3)], feed_size=10)


def add(config, n):
    with Store(config.database) as store:
        filing.add(store, long_story(n))


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_feeds_carry_validators_and_answer_304(config, fmt):
    client = create_app(config).test_client()
    url = f"/feeds/business.{fmt}"
    first = client.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.status_code == 200 and first.data
    assert etag.startswith('"') and not etag.startswith("W/"), "a strong ETag"
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert first.headers["Vary"] == "Accept-Encoding"
    assert "Link" not in first.headers, "no hubs configured"
    with Store(config.database) as store:
        changed = datetime.fromisoformat(store.category_state("business").changed)
    assert parsedate_to_datetime(modified) == changed.replace(microsecond=0)

    for headers in ({"If-None-Match": etag}, {"If-Modified-Since": modified}, {"If-None-Match": f'W/{etag}, "other"'}):
        again = client.get(url, headers=headers)
        assert again.status_code == 304, headers
        assert again.data == b"" and again.headers["ETag"] == etag
    head = client.head(url)
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"] == etag
    earlier = format_datetime(parsedate_to_datetime(modified) - timedelta(seconds=1), usegmt=True)
    assert client.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
    # A matching date does not override a stale ETag.
    assert client.get(url, headers={"If-None-Match": '"stale"', "If-Modified-Since": modified}).status_code == 200

    add(config, 10)
    fresh = client.get(url, headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and b"Story 10" in fresh.data
    assert fresh.headers["ETag"] != etag


@pytest.mark.parametrize(
    "accept, coding",
    [("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br"), ("br;q=0, gzip", "gzip"),
     ("gzip;q=0, br;q=0", None), ("*", "br"), ("identity", None), (None, None)],
)
def test_compression_follows_accept_encoding(config, accept, coding):
    client = create_app(config).test_client()
    plain = client.get("/feeds/business.atom").data
    response = client.get("/feeds/business.atom", headers={"Accept-Encoding": accept} if accept else {})
    assert response.headers.get("Content-Encoding") == coding
    assert response.headers["Vary"] == "Accept-Encoding"
    decode = {"gzip": gzip.decompress, "br": brotli.decompress, None: bytes}[coding]
    assert decode(response.data) == plain
    if coding:
        assert len(response.data) < len(plain) / 3


def test_each_coding_has_its_own_etag_and_any_of_them_revalidates(config):
    client = create_app(config).test_client()
    tags = {c: client.get("/feeds/business.rss", headers={"Accept-Encoding": c}).headers["ETag"] for c in ("identity", "gzip", "br")}
    assert len(set(tags.values())) == 3
    answer = client.get("/feeds/business.rss", headers={"Accept-Encoding": "gzip", "If-None-Match": tags["identity"]})
    assert answer.status_code == 304 and answer.headers["ETag"] == tags["gzip"]


def test_unchanged_category_is_rendered_once_and_compressed_once(config):
    app = create_app(config)
    client, feeds = app.test_client(), app.extensions["feedhub.feeds"]
    bodies = {client.get("/feeds/business.rss", headers={"Accept-Encoding": "gzip"}).data for _ in range(5)}
    assert len(bodies) == 1 and feeds.renders == 1
    with Store(config.database) as store:
        rendered = feeds.get(store, "business", "rss")
        assert rendered.encoded("gzip") is rendered.encoded("gzip"), "compressed bytes are reused"
    client.get("/feeds/business.atom")
    client.get("/feeds/sports.atom")  # other categories and formats are their own documents
    assert feeds.renders == 3
    add(config, 11)
    assert b"Story 11" in client.get("/feeds/business.rss").data
    assert feeds.renders == 4
    client.get("/feeds/business.rss")
    client.get("/feeds/sports.atom")  # a change in business leaves sports cached
    assert feeds.renders == 4


def test_two_processes_agree_and_both_see_a_change(config):
    """Two app instances stand for two gunicorn workers sharing the database."""
    one, two = create_app(config).test_client(), create_app(config).test_client()
    assert one.get("/feeds/business.atom").headers["ETag"] == two.get("/feeds/business.atom").headers["ETag"]
    etag = one.get("/feeds/business.atom").headers["ETag"]
    add(config, 12)
    for client in (one, two):
        response = client.get("/feeds/business.atom", headers={"If-None-Match": etag})
        assert response.status_code == 200 and b"Story 12" in response.data
    assert one.get("/feeds/business.atom").data == two.get("/feeds/business.atom").data


def test_gunicorn_workers_serve_one_etag_and_drop_it_together(config, tmp_path):
    with gunicorn(tmp_path / "feeds.yaml") as base:
        url = f"{base}/feeds/business.atom"
        # A fresh connection per request, so both workers answer some of them.
        before = {httpx.get(url).headers["etag"] for _ in range(20)}
        add(config, 13)
        after = [httpx.get(url) for _ in range(20)]
    assert len(before) == 1
    assert {r.headers["etag"] for r in after} != before and len({r.headers["etag"] for r in after}) == 1
    assert all(feedparser.parse(r.content).entries[0].title == "Story 13" for r in after)


def test_the_cache_keeps_the_feeds_polled_most_recently(config):
    app = create_app(config)
    client, feeds = app.test_client(), app.extensions["feedhub.feeds"]
    feeds.max_entries = 2
    for fmt in ("rss", "atom", "rss", "json", "rss"):  # json evicts atom, not the busier rss
        client.get(f"/feeds/business.{fmt}")
    assert feeds.renders == 3
    client.get("/feeds/business.atom")
    assert feeds.renders == 4


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_the_fast_path_answers_as_the_flask_route_does(config, fmt):
    # No query: the plain-WSGI fast path; `?page=1`: the Flask route.  Same bytes, same headers.
    client = create_app(config).test_client()
    for headers in ({}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "br;q=1, gzip;q=0.5"}):
        fast, routed = client.get(f"/feeds/business.{fmt}", headers=headers), client.get(
            f"/feeds/business.{fmt}?page=1", headers=headers)
        assert fast.status_code == routed.status_code == 200
        assert fast.data == routed.data
        assert dict(fast.headers) == dict(routed.headers)
        again = {"If-None-Match": fast.headers["ETag"], **headers}
        fast, routed = client.get(f"/feeds/business.{fmt}", headers=again), client.get(
            f"/feeds/business.{fmt}?page=1", headers=again)
        assert fast.status_code == routed.status_code == 304
        assert fast.data == routed.data == b""
        assert dict(fast.headers) == dict(routed.headers)


def test_the_fast_path_keeps_the_rate_limit_and_counts_for_metrics(make_config):
    config = config_holding(make_config, [story(1)], rate_limits={"address": {"requests": 2, "per": 60}})
    client = create_app(config).test_client()
    statuses = [client.get("/feeds/business.rss").status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.get("/feeds/business.rss")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'feedhub_feed_requests_total{category="business",format="rss",status="200"} 2.0' in metrics
    assert 'feedhub_feed_requests_total{category="business",format="rss",status="429"} 2.0' in metrics
    assert 'feedhub_rate_limited_total{partner="",scope="address"} 2.0' in metrics


def test_the_procfiles_web_line_serves_feeds_and_304s(config, tmp_path):
    # The Procfile's own command (granian), on loopback, with feeds.yaml from $FEEDHUB_CONFIG.
    line = next(l for l in (REPO / "Procfile").read_text().splitlines() if l.startswith("web:"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = shlex.split(re.sub(r"\$\{PORT:-\d+\}", str(port), line.removeprefix("web:")).replace("0.0.0.0", "127.0.0.1"))
    # The program from this interpreter's own bin/, as a virtual environment
    # that is not activated has it (PATH may hold another one, or none).
    command[0] = str(Path(sys.executable).with_name(command[0]))
    path = tmp_path / "feeds.yaml"
    # Its own process group, so the teardown reaches granian's workers too.
    server = subprocess.Popen(command, env={**os.environ, "FEEDHUB_CONFIG": str(path)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}/feeds/business.rss"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                first = httpx.get(url)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and server.poll() is None, "the Procfile's web line did not start"
                time.sleep(0.2)
        assert first.status_code == 200
        assert [e.title for e in feedparser.parse(first.content).entries][:1] == ["Story 2"]
        again = httpx.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.content == b""
        assert httpx.get(f"http://127.0.0.1:{port}/feeds/nothing.rss").status_code == 404
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a loaded machine: never leave it running
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=10)
