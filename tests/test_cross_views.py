"""Views that span categories (tag pages and feeds, search, saved searches)
show only what their reader may see: no private category's items without
that partner's key, and never an entry a keep/block rule holds back."""

from __future__ import annotations

import json

import feedparser
import pytest
from helpers import story

from feedhub.ingest import filing
from feedhub.publish.access import hash_key
from feedhub.store import Store
from feedhub.web import create_app

KEY = "partner-key-for-the-cross-view-tests"


@pytest.fixture
def site(make_config):
    categories = {
        "business": {"title": "Business"},
        "wire": {"title": "Partner Wire", "private": True},
    }
    config = make_config(
        categories=categories,
        partners={"acme": {"key_hash": hash_key(KEY), "categories": ["wire"]}},
        searches={"harbour": {"query": "harbour"}, "wire-only": {"query": "harbour", "categories": ["wire"]}},
    )
    with Store(config.database) as store:
        filing.add(store, story(1, title="Harbour opens to the public", text="harbour news everyone may read",
                        tags=("North Sea",)))
        filing.add(store, story(2, category="wire", title="Harbour embargoed wire copy", text="harbour news for partners only",
                        tags=("North Sea",)))
        filing.add(store, story(3, title="Harbour advertorial", text="harbour sponsored placement", tags=("North Sea",)))
        store.mark_blocked(story(3).id, 'block "sponsored" (site)')
    return create_app(config).test_client()


def served_titles(client, url: str, **headers) -> list[str]:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    if url.endswith(".json"):
        return [item["title"] for item in json.loads(response.data)["items"]]
    return [entry.title for entry in feedparser.parse(response.data).entries]


def test_tag_and_search_feeds_leave_out_private_and_blocked_items(site):
    for fmt in ("rss", "atom", "json"):
        assert served_titles(site, f"/feeds/tag/north-sea.{fmt}") == ["Harbour opens to the public"]
        assert served_titles(site, f"/feeds/search/harbour.{fmt}") == ["Harbour opens to the public"]
    # A saved search over a private category alone serves nothing of it.
    assert served_titles(site, "/feeds/search/wire-only.rss") == []
    # The feed is one cached document for everybody: a key does not change it.
    assert served_titles(site, "/feeds/tag/north-sea.rss", **{"X-Feedhub-Key": KEY}) == ["Harbour opens to the public"]


def test_tag_and_search_pages_show_a_private_category_only_with_its_key(site):
    public = site.get("/t/north-sea").get_data(as_text=True)
    assert "Harbour opens to the public" in public
    assert "embargoed" not in public and "advertorial" not in public
    keyed = site.get("/t/north-sea", headers={"X-Feedhub-Key": KEY}).get_data(as_text=True)
    assert "Harbour embargoed wire copy" in keyed and "advertorial" not in keyed

    found = site.get("/search?q=harbour").get_data(as_text=True)
    assert "Harbour opens to the public" in found
    assert "embargoed" not in found and "advertorial" not in found
    # Asking for the private category by name does not open it either.
    assert "embargoed" not in site.get("/search?q=harbour&category=wire").get_data(as_text=True)
    keyed = site.get("/search?q=harbour", headers={"X-Feedhub-Key": KEY}).get_data(as_text=True)
    assert "Harbour embargoed wire copy" in keyed and "advertorial" not in keyed
