"""Full-text search: an FTS5 index kept in step with the items however they
are written, a ranked search page that answers an unreadable query with a
400, and saved searches from feeds.yaml served as cached feeds."""

from __future__ import annotations

import json

import feedparser
import pytest
from helpers import on_sqlite, story, write_config

from feedhub.config import ConfigError, load_config
from feedhub.ingest import filing
from feedhub.store import MIGRATIONS, Store
from feedhub.store.connection import connect
from feedhub.web import create_app

SEARCHES = {
    "ukraine": {"query": "ukraine OR kyiv", "categories": ["business", "international"], "title": "Ukraine"},
    "everywhere": {"query": "harbour"},
}


def titles(rows):
    return [row.title for row in rows]


@pytest.fixture
def config(make_config):
    config = make_config(searches=SEARCHES, feed_size=10)
    with Store(config.database) as store:
        filing.add(store, story(1, title="Grain ships leave Odesa", text="ukraine exports grain through the black sea"))
        filing.add(store, story(2, title="Kyïv talks resume", category="international", text="delegations met again"))
        filing.add(store, story(3, title="Cup final", category="sports", text="ukraine beat the hosts"))
        filing.add(store, story(4, title="Harbour fees rise", text="ports charge more", tags=("Ports",)))
    return config


def test_search_is_ranked_accent_and_case_blind_and_filters_categories(config):
    with Store(config.database) as store:
        # A title match outranks body matches, whatever the dates; of those,
        # the shorter text (more of it about the word) first.
        assert titles(store.search("kyiv OR ukraine")) == ["Kyïv talks resume", "Cup final", "Grain ships leave Odesa"]
        assert titles(store.search("KYIV")) == ["Kyïv talks resume"]
        assert titles(store.search("ukraine", ["sports"])) == ["Cup final"]
        assert titles(store.search("tags:ports")) == ["Harbour fees rise"]
        assert titles(store.search('"black sea" NOT hosts')) == ["Grain ships leave Odesa"]
        assert titles(store.search("ukrain*", newest_first=True)) == ["Cup final", "Grain ships leave Odesa"]


def test_the_index_follows_edits_replacements_and_new_items(config):
    with Store(config.database) as store:
        filing.add(store, story(1, title="Grain ships leave the port", text="exports through the black sea resume"))
        assert titles(store.search("ukraine")) == ["Cup final"], "the edited words are gone from the index"
        assert titles(store.search("resume")) == ["Kyïv talks resume", "Grain ships leave the port"]
        filing.add(store, story(4, title="Harbour fees rise", text="ports charge more", tags=("Shipping",)))
        assert titles(store.search("tags:shipping")) == ["Harbour fees rise"] and not store.search("tags:ports")
        # A better source's copy of story 3 takes its place: the index follows.
        better = story(3, source="feed:better", title="Cup final: late winner", category="sports",
                       text="ukraine beat the hosts", priority=1)
        assert filing.add(store, better).replaced
        assert titles(store.search("ukraine")) == ["Cup final: late winner"]
        assert store.count("items") == 4
        if on_sqlite(config):  # FTS5's rows, one per item
            assert store.db.execute("SELECT count(*) FROM search_rows").fetchone()[0] == 4


@pytest.mark.sqlite_only("makes a database of the schema before search by hand, as SQLite numbers it (user_version)")
def test_an_existing_database_is_indexed_by_the_migration(make_config):
    config = make_config()
    db = connect(config.database)
    for migration in MIGRATIONS[:-1]:
        migration(db)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) - 1}")
    old = {
        "id": "old", "category": "business", "source": "feed:t", "guid": "g", "title": "Lighthouse keepers",
        "link": "", "summary": "", "content": "", "text": "the last keeper retires", "author": "",
        "tags": '["Coast"]', "published": "2026-11-01T00:00:00+00:00", "first_seen": "2026-11-01T00:00:00+00:00",
    }
    db.execute(f"INSERT INTO items ({', '.join(old)}) VALUES ({', '.join('?' * len(old))})", list(old.values()))
    db.close()
    with Store(config.database) as store:
        assert titles(store.search("keeper")) == ["Lighthouse keepers"]
        assert titles(store.search("tags:coast")) == ["Lighthouse keepers"]


def test_search_page_shows_ranked_results(config):
    client = create_app(config).test_client()
    page = client.get("/search?q=kyiv+OR+ukraine")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index("Kyïv talks resume") < html.index("Cup final") < html.index("Grain ships leave Odesa")
    assert "3 stories match" in html and 'value="kyiv OR ukraine"' in html
    only = client.get("/search?q=ukraine&category=SPORTS").get_data(as_text=True)
    assert "Cup final" in only and "Grain ships" not in only
    assert "No story matches “zebra”" in client.get("/search?q=zebra").get_data(as_text=True)
    assert client.get("/search").status_code == 200  # the form alone
    # The saved searches are listed with their feeds.
    assert 'href="http://feeds.test/feeds/search/ukraine.atom"' in html


@pytest.mark.parametrize("query", ['"kyiv', "AND", "ukraine OR", "where:kyiv", "(kyiv", "don't", "NEAR(a b", "*",
                                   "x" * 400, "a\x00b", "^", "kyiv -"])
def test_an_unreadable_query_gets_a_clear_400(config, query):
    response = create_app(config).test_client().get("/search", query_string={"q": query})
    assert response.status_code == 400, query
    text = response.get_data(as_text=True)
    assert 'role="alert">' in text and ("Cannot read the search" in text or "The search" in text)


def test_saved_searches_are_feeds_newest_first_in_their_categories(config):
    client = create_app(config).test_client()
    rss = feedparser.parse(client.get("/feeds/search/ukraine.rss").data)
    assert not rss.bozo and [e.title for e in rss.entries] == ["Kyïv talks resume", "Grain ships leave Odesa"]
    assert rss.feed.title == "Test Hub: Ukraine"
    assert [link.href for link in rss.feed.links if link.rel == "self"] == ["http://feeds.test/feeds/search/ukraine.rss"]
    atom = feedparser.parse(client.get("/feeds/search/ukraine.atom").data)
    assert [e.title for e in atom.entries] == ["Kyïv talks resume", "Grain ships leave Odesa"]
    document = json.loads(client.get("/feeds/search/everywhere.json").data)
    assert document["title"] == "Test Hub: Search: harbour" and [i["title"] for i in document["items"]] == ["Harbour fees rise"]
    missing = client.get("/feeds/search/nothing.rss")
    assert missing.status_code == 404 and b"Saved searches: everywhere, ukraine" in missing.data


def test_search_feeds_are_cached_per_data_version_and_answer_304(config):
    client = create_app(config).test_client()
    first = client.get("/feeds/search/ukraine.atom")
    etag = first.headers["ETag"]
    assert client.get("/feeds/search/ukraine.atom", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feeds/search/ukraine.atom", headers={"If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304
    with Store(config.database) as store:
        filing.add(store, story(9, title="Kyiv metro extension opens", category="international"))
    fresh = client.get("/feeds/search/ukraine.atom", headers={"If-None-Match": etag})
    assert fresh.status_code == 200
    assert feedparser.parse(fresh.data).entries[0].title == "Kyiv metro extension opens"


def test_feeds_yaml_searches_are_checked(tmp_path, database):
    path = write_config(tmp_path, database, searches={"ukraine": {"query": "ukraine OR"}})
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert "searches.ukraine.query: cannot read the search 'ukraine OR'" in str(caught.value)
    assert "feeds.yaml:" in str(caught.value)
    path = write_config(tmp_path, database, searches={"ukraine": {"query": "ukraine", "categories": ["weather"]}})
    with pytest.raises(ConfigError, match="search 'ukraine': category 'weather' is not one of"):
        load_config(path)
    path = write_config(tmp_path, database, searches={"Bad Key": {"query": "ukraine"}})
    with pytest.raises(ConfigError, match="search key 'Bad Key'"):
        load_config(path)


def test_ranking_looks_at_the_newest_matches_only(config, monkeypatch):
    from feedhub.store import search

    monkeypatch.setattr(search, "RANK_WINDOW", 2)
    with Store(config.database) as store:
        filing.add(store, story(5, title="Ukraine budget", text="a budget"))  # filed last: in the window
        # Of the three body matches and one title match, the newest two are ranked.
        assert titles(store.search("ukraine")) == ["Ukraine budget", "Cup final"]
