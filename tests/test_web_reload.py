"""The web side follows edits of feeds.yaml, as the worker does: a new
category is served without a restart, a bad edit leaves the site as it was,
and a feed whose title changed is not answered "not modified"."""

from __future__ import annotations

import logging
import os
import time
from email.utils import parsedate_to_datetime

import feedparser
import httpx
import pytest
import yaml
from helpers import gunicorn, write_config

from feedhub.config import load_config
from feedhub.ingest.cycle import run_cycle
from feedhub.store import Store
from feedhub.web import app as web
from feedhub.web import create_app


@pytest.fixture
def site(tmp_path, database, articles_dir):
    """feeds.yaml over the bundled articles, ingested; returns its path."""
    path = write_config(tmp_path, database, articles=[{"path": str(articles_dir)}])
    config = load_config(path)
    with Store(config.database) as store:
        run_cycle(config, store)
    return path


def edit(path, change) -> None:
    """Rewrite feeds.yaml with change(data) applied, a second later in mtime
    (so Last-Modified, whole seconds, can tell the versions apart)."""
    data = yaml.safe_load(path.read_text())
    change(data)
    # Later than the file's last write and than anything the ingest stamped
    # (a category's changed time): under load the fixture's ingest can take
    # longer than a second after feeds.yaml was first written.
    later = max(path.stat().st_mtime, time.time()) + 1
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    os.utime(path, (later, later))


def add_weather(data) -> None:
    data["categories"]["weather"] = {"title": "Weather", "description": "Forecasts and storms"}


@pytest.fixture
def look_every_request(monkeypatch):
    monkeypatch.setattr(web, "WATCH_EVERY", 0)


def test_a_category_added_to_feeds_yaml_is_served_without_a_restart(site, look_every_request):
    client = create_app(site).test_client()
    assert client.get("/feeds/weather.rss").status_code == 404
    edit(site, add_weather)
    response = client.get("/feeds/weather.rss")
    assert response.status_code == 200
    feed = feedparser.parse(response.data)
    assert not feed.bozo and feed.feed.title.endswith("Weather") and feed.entries == []
    assert "Weather" in client.get("/").get_data(as_text=True)
    assert "http://feeds.test/feeds/weather.rss" in client.get("/opml").get_data(as_text=True)
    assert client.get("/c/weather").status_code == 200


def test_a_broken_edit_is_logged_and_the_site_stays_as_it_was(site, look_every_request, caplog):
    client = create_app(site).test_client()
    before = client.get("/feeds/international.rss").data
    site.write_text(site.read_text().replace("international:", "international:\n    colour: blue", 1))
    with caplog.at_level(logging.ERROR, logger="feedhub.web"):
        response = client.get("/feeds/international.rss")
    assert response.status_code == 200 and response.data == before
    message = "\n".join(record.getMessage() for record in caplog.records)
    assert "feeds.yaml rejected, still serving the last good configuration" in message
    assert f"{site}:" in message and "categories.international.colour" in message
    # Mended (and a category added), it is served again.
    edit(site, lambda data: (data["categories"]["international"].pop("colour"), add_weather(data)))
    assert client.get("/feeds/weather.rss").status_code == 200


def test_a_retitled_feed_is_modified_for_every_kind_of_conditional_request(site, look_every_request):
    client = create_app(site).test_client()
    first = client.get("/feeds/international.atom")
    edit(site, lambda data: data["categories"]["international"].update(title="World News"))
    by_etag = client.get("/feeds/international.atom", headers={"If-None-Match": first.headers["ETag"]})
    by_date = client.get("/feeds/international.atom", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    for response in (by_etag, by_date):
        assert response.status_code == 200
        assert feedparser.parse(response.data).feed.title.endswith("World News")
    modified = parsedate_to_datetime(by_date.headers["Last-Modified"])
    assert modified > parsedate_to_datetime(first.headers["Last-Modified"])
    assert modified.timestamp() == int(site.stat().st_mtime)
    # And once the new version is held, it is not modified again.
    again = client.get("/feeds/international.atom", headers={"If-None-Match": by_date.headers["ETag"]})
    assert again.status_code == 304


def test_the_file_is_looked_at_only_every_so_often(site):
    client = create_app(site).test_client()
    edit(site, add_weather)
    assert client.get("/feeds/weather.rss").status_code == 404, "looked at again straight away"


def test_every_gunicorn_worker_follows_the_edit(site):
    with gunicorn(site) as base:
        url = f"{base}/feeds/weather.rss"
        assert httpx.get(url).status_code == 404
        edit(site, add_weather)
        time.sleep(web.WATCH_EVERY + 0.2)
        # A fresh connection per request, so both workers answer some of them.
        statuses = [httpx.get(url).status_code for _ in range(20)]
    # A worker looks at the file on its first request after WATCH_EVERY: that
    # request is already answered from the new file.
    assert statuses == [200] * 20


def test_making_a_category_private_and_adding_a_partner_apply_without_a_restart(site, look_every_request):
    from feedhub.publish.access import hash_key

    key = "a-partner-key-added-while-serving"
    client = create_app(site).test_client()
    assert client.get("/feeds/business.rss").status_code == 200

    def make_business_private(data):
        data["categories"]["business"]["private"] = True
        data["partners"] = {"acme": {"key_hash": hash_key(key), "categories": ["business"]}}

    edit(site, make_business_private)
    assert client.get("/feeds/business.rss").status_code == 404
    assert "/feeds/business.rss" not in client.get("/").text
    assert client.get("/feeds/business.rss", headers={"X-Feedhub-Key": key}).status_code == 200
