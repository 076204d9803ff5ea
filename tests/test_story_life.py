"""A story's whole life (issue 26): held for its embargo and released on
time, updated in place, corrected, killed or withdrawn and brought back;
what every route, feed and static file shows at each step.

Times are set, never waited for, except in the one end-to-end test that
waits a few seconds for a real embargo to lift."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import feedparser
import pytest
from helpers import config_holding, rows, story
from lxml import etree

from feedhub.ingest.cycle import run_cycle
from feedhub.model import from_iso
from feedhub.store import Store
from feedhub.web import create_app
from feedhub.worker import release

ATOM = "{http://www.w3.org/2005/Atom}"
AT = "{http://purl.org/atompub/tombstones/1.0}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
SEARCHES = {"harbour": {"query": "harbour", "title": "Harbour news"}}


def harbour_story(n: int, **fields):
    return story(n, title=f"Harbour story {n}", text=f"harbour story number {n} with its own words",
                 tags=("Harbour",), **fields)


def served_everywhere(client, title: str) -> dict[str, bool]:
    """Where `title` can be read: every route a reader or a partner's system polls."""
    found = {}
    for url in ("/feeds/business.rss", "/feeds/business.atom", "/feeds/business.json", "/feeds/tag/harbour.atom",
                "/feeds/search/harbour.json", "/c/business", "/t/harbour", "/search?q=harbour"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        found[url] = title in response.get_data(as_text=True)
    return found


def deleted_entries(client, url: str) -> list[etree._Element]:
    response = client.get(url)
    assert response.status_code == 200
    return etree.fromstring(response.data).findall(f"{AT}deleted-entry")


# -- withdrawals ------------------------------------------------------------------


def test_a_withdrawn_story_leaves_every_route_at_once_and_atom_names_it_deleted(make_config):
    config = config_holding(make_config, [harbour_story(n) for n in range(3)], searches=SEARCHES)
    client = create_app(config).test_client()
    assert all(served_everywhere(client, "Harbour story 1").values()), "served everywhere before"
    assert re.search(r">3 items<", client.get("/").get_data(as_text=True))
    with Store(config.database) as store:
        victim = store.stories("http://t.test/1")[0]
        assert store.withdraw(victim.id, "command (desk@newsroom)", "legal advice")
        assert not store.withdraw(victim.id, "command (desk@newsroom)", "again"), "once"
    assert not any(served_everywhere(client, "Harbour story 1").values()), "gone from every route"
    assert all(served_everywhere(client, "Harbour story 2").values()), "the others stay"
    assert client.get("/feeds/business.json").json["items"][0]["title"] == "Harbour story 2"

    # Atom: an RFC 6721 deleted entry, its ref the entry's id, its when the withdrawal.
    document = client.get("/feeds/business.atom").data
    root = etree.fromstring(document)
    (gone,) = root.findall(f"{AT}deleted-entry")
    assert gone.get("ref") == f"urn:uuid:{victim.id}" and RFC3339.match(gone.get("when"))
    assert gone.findtext(f"{AT}comment") == "This story was withdrawn."
    assert "legal" not in document.decode(), "the reason is the operator's, never published"
    when = datetime.fromisoformat(gone.get("when").replace("Z", "+00:00"))
    assert datetime.fromisoformat(root.findtext(f"{ATOM}updated")) >= when, "the feed changed then"
    assert [ref.get("ref") for ref in deleted_entries(client, "/feeds/tag/harbour.atom")] == [gone.get("ref")]
    parsed = feedparser.parse(document)
    assert not parsed.bozo and [e.title for e in parsed.entries] == ["Harbour story 2", "Harbour story 0"]
    # RSS and JSON Feed have no such element: the item is simply gone.
    assert b"deleted-entry" not in client.get("/feeds/business.rss").data
    # The index page counts what is served.
    assert re.search(r">2 items<", client.get("/").get_data(as_text=True))

    with Store(config.database) as store:
        (record,) = store.withdrawals(victim.id)
    assert (record.action, record.who, record.reason, record.title) == (
        "withdraw", "command (desk@newsroom)", "legal advice", "Harbour story 1")
    assert from_iso(record.at) == when


def test_an_undone_withdrawal_serves_the_story_again_updated_after_its_deleted_entry(make_config):
    config = config_holding(make_config, [harbour_story(n) for n in range(2)], searches=SEARCHES)
    client = create_app(config).test_client()
    with Store(config.database) as store:
        victim = store.stories("http://t.test/0")[0]
        store.withdraw(victim.id, "command (a)", "legal advice", datetime(2026, 12, 1, 9, tzinfo=timezone.utc))
        assert deleted_entries(client, "/feeds/business.atom")
        assert store.restore(victim.id, "command (b)", "cleared by counsel", datetime(2026, 12, 2, 9, tzinfo=timezone.utc))
        assert not store.restore(victim.id, "command (b)", "again")
        records = [(r.action, r.who, r.reason) for r in store.withdrawals(victim.id)]
    assert records == [("undo", "command (b)", "cleared by counsel"), ("withdraw", "command (a)", "legal advice")]
    assert all(served_everywhere(client, "Harbour story 0").values())
    assert deleted_entries(client, "/feeds/business.atom") == []
    entry = {e.id: e for e in feedparser.parse(client.get("/feeds/business.atom").data).entries}[f"urn:uuid:{victim.id}"]
    # Newer than the deleted entry's when: readers that dropped it take it back (RFC 6721, section 4).
    assert entry.updated_parsed[:4] == (2026, 12, 2, 9)


def test_deleted_entries_are_named_for_a_while_then_dropped_and_the_feed_moves(make_config):
    config = config_holding(make_config, [harbour_story(n) for n in range(2)])
    client = create_app(config).test_client()
    withdrawn = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    with Store(config.database) as store:
        store.withdraw(store.stories("http://t.test/0")[0].id, "command (a)", "", withdrawn)
        etag = client.get("/feeds/business.atom").headers["ETag"]
        assert release.run(config, store, withdrawn + release.DELETED_ENTRIES_FOR - timedelta(seconds=1)) == []
        assert client.get("/feeds/business.atom", headers={"If-None-Match": etag}).status_code == 304
        assert release.run(config, store, withdrawn + release.DELETED_ENTRIES_FOR + timedelta(seconds=1)) == ["business"]
    response = client.get("/feeds/business.atom", headers={"If-None-Match": etag})
    assert response.status_code == 200 and etree.fromstring(response.data).find(f"{AT}deleted-entry") is None
    assert b"purl.org/atompub/tombstones" not in response.data, "the namespace only where it is used"


def test_the_page_of_a_withdrawn_article_answers_410_gone(make_config, articles_dir):
    config = make_config(articles=[{"path": str(articles_dir)}])
    with Store(config.database) as store:
        run_cycle(config, store)
        article = rows(store, "SELECT id, link FROM items WHERE source LIKE 'articles:%' ORDER BY link")[0]
        path = article["link"].removeprefix("http://feeds.test")
        client = create_app(config).test_client()
        assert client.get(path).status_code == 200
        store.withdraw(article["id"], "command (desk)", "legal advice", datetime(2026, 12, 3, 10, tzinfo=timezone.utc))
    page = client.get(path)
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert "This story was withdrawn" in text and "3 Dec 2026, 10:00 UTC" in text and "legal" not in text
    assert client.get("/articles/no-such-story").status_code == 404
