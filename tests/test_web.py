"""What subscribers and partner sites get over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest

from feedhub.ingest import filing
from feedhub.ingest.cycle import run_cycle
from feedhub.model import Item
from feedhub.store import Store
from feedhub.web import create_app


@pytest.fixture
def client(make_config, articles_dir: Path):
    config = make_config(articles=[{"path": str(articles_dir)}], feed_size=50)
    with Store(config.database) as store:
        run_cycle(config, store)
    return create_app(config).test_client()


def stored(client, category):
    config = client.application.config["FEEDHUB"]
    with Store(config.database) as store:
        return store.items(category, limit=1000)


@pytest.mark.parametrize("fmt, mime, version", [("rss", "application/rss+xml", "rss20"), ("atom", "application/atom+xml", "atom10")])
def test_category_feed_reads_back(client, fmt, mime, version):
    response = client.get(f"/feeds/international.{fmt}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == f"{mime}; charset=utf-8"
    feed = feedparser.parse(response.data)
    assert not feed.bozo and feed.version == version
    rows = stored(client, "international")
    assert [e.title for e in feed.entries] == [r.title for r in rows]
    assert [e.link for e in feed.entries] == [r.link for r in rows]
    published = [datetime(*e.published_parsed[:6], tzinfo=timezone.utc) for e in feed.entries]
    assert published == sorted(published, reverse=True), "newest first"
    assert published == [datetime.fromisoformat(r.published) for r in rows]
    assert len({e.id for e in feed.entries}) == len(feed.entries)
    assert any(link.rel == "self" and link.href == f"http://feeds.test/feeds/international.{fmt}" for link in feed.feed.links)


def test_category_names_are_case_insensitive(client):
    upper = client.get("/feeds/INTERNATIONAL.rss")
    assert upper.status_code == 200
    assert feedparser.parse(upper.data).entries


def test_unknown_category_is_a_clear_404(client):
    response = client.get("/feeds/weather.atom")
    assert response.status_code == 404
    assert "No category 'weather'" in response.get_data(as_text=True)
    assert "international" in response.get_data(as_text=True)


def test_feed_is_capped_at_the_configured_size(make_config):
    config = make_config(feed_size=5)
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    with Store(config.database) as store:
        for n in range(12):
            filing.add(store, Item(category="business", source="feed:t", guid=f"urn:t:{n}", title=f"Story {n}",
                           link=f"http://t.test/{n}", summary="s", content="<p>s</p>", text=f"story number {n} text",
                           published=start + timedelta(hours=n)))
    feed = feedparser.parse(create_app(config).test_client().get("/feeds/business.atom").data)
    assert [e.title for e in feed.entries] == [f"Story {n}" for n in range(11, 6, -1)]


def test_stable_ids_across_renders_and_restarts(client):
    first = feedparser.parse(client.get("/feeds/technology.atom").data)
    again = feedparser.parse(create_app(client.application.config["FEEDHUB"]).test_client().get("/feeds/technology.atom").data)
    assert [e.id for e in first.entries] == [e.id for e in again.entries]
    assert all(e.id.startswith("urn:uuid:") for e in first.entries)


def test_index_lists_every_category_with_feed_links(client):
    page = client.get("/").get_data(as_text=True)
    for key in ("international", "technology", "business", "sports"):
        assert f"/feeds/{key}.rss" in page and f"/feeds/{key}.atom" in page


def test_article_links_in_feeds_resolve_to_pages(client):
    feed = feedparser.parse(client.get("/feeds/business.rss").data)
    entry = feed.entries[0]
    page = client.get(entry.link.removeprefix("http://feeds.test"))
    assert page.status_code == 200
    assert entry.title in page.get_data(as_text=True)
