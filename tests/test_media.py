"""Images, media files, tags, authors and comments: read from a podcast RSS
feed, an MRSS feed with media:group, an Atom feed with enclosures and several
authors and a JSON Feed with attachments (served on 127.0.0.1), stored, and
served back in RSS, Atom and JSON Feed, each field read back by a reader."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import feedparser
import pytest
import sqlite_utils
from helpers import rows, story, write_config
from loopback import FeedServer
from lxml import etree

from feedhub import media
from feedhub.ingest import filing
from feedhub.ingest.cycle import run_cycle
from feedhub.model import Enclosure, Person
from feedhub.store import MIGRATIONS, Store
from feedhub.web import create_app

DATA = Path(__file__).parent / "data" / "media"
SOURCES = [("podcast", "podcast.rss"), ("pictures", "mrss.rss"), ("review", "authors.atom"), ("notes", "attachments.json")]
SEA_WALL = "Storm surge reaches the old sea wall"
EPISODE_12 = "Episode 12: Night shift at the container terminal"
EPISODE_11 = "Episode 11: A ferry captain's last crossing"
DREDGING = "Dredging the channel: who pays?"
LAMP_ROOM = "Restoring the lamp room at Hollow Point"
SEALS = "Seals return to the sandbank"


@pytest.fixture(scope="module")
def site(tmp_path_factory, databases):
    """The four media feeds fetched over HTTP from 127.0.0.1 into one category."""
    from feedhub.config import load_config

    folder = tmp_path_factory.mktemp("media")
    shutil.copytree(DATA, folder / "served")
    server = FeedServer(folder / "served")
    database = databases.create(folder / "feedhub.db")
    config = load_config(write_config(folder, database, sources=[server.source(name, file, "international") for name, file in SOURCES]))
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        stored = {row["title"]: row for row in rows(store, "SELECT * FROM items")}
    server.close()
    assert not summary.errors, summary.errors
    yield config, server.url, stored
    databases.drop(database)


def enclosures(row):
    return media.stored_enclosures(row["enclosures"])


def test_podcast_enclosure_itunes_image_author_tags_and_comments_are_stored(site):
    _, _, rows = site
    episode = rows[EPISODE_12]
    # itunes:duration 00:50:12 is the enclosure's.
    assert enclosures(episode) == (Enclosure("https://cdn.harbour-hour.example/audio/ep12.mp3", "audio/mpeg", 48213760,
                                             duration=3012),)
    assert episode["image"] == "https://harbour-hour.example/art/ep12.jpg"  # itunes:image
    # feedparser alone would give "ple (Mira Kowal" at "producer@harbour-hour.exam".
    assert media.stored_people(episode["authors"]) == (Person("Mira Kowal", "producer@harbour-hour.example"),)
    assert media.stored_tags(episode["tags"]) == ("Ports", "north sea", "cranes", "logistics")
    assert episode["comments"] == "https://harbour-hour.example/episodes/12#talk"


def test_javascript_enclosure_is_dropped_and_a_negative_length_is_unknown(site):
    _, _, rows = site
    assert enclosures(rows[EPISODE_11]) == (
        Enclosure("https://cdn.harbour-hour.example/audio/ep11.m4a", "audio/x-m4a", None, duration=2750),
    )


def test_mrss_group_default_first_thumbnail_image_and_checked_sizes_and_types(site):
    _, url, rows = site
    wall = rows[SEA_WALL]
    assert [(e.url.rsplit("/", 1)[1], e.type, e.length, e.medium) for e in enclosures(wall)] == [
        ("sea-wall-1080.mp4", "video/mp4", 73400320, "video"),  # isDefault, so the best
        ("sea-wall-480.mp4", "video/mp4", None, "video"),  # fileSize "not-a-number"
        ("sea-wall.jpg", "image/jpeg", None, "image"),  # images after sound and video
    ]
    assert wall["image"] == "https://media.coastline-pictures.example/i/sea-wall.jpg"
    assert [p.name for p in media.stored_people(wall["authors"])] == ["Tomas Reyes", "Ana Lindqvist"]
    assert media.stored_tags(wall["tags"]) == ("Weather", "North Sea", "storm", "flooding")
    seals = enclosures(rows[SEALS])
    # A relative URL is resolved against the feed's address; 10^20 bytes is no size.
    assert seals[0] == Enclosure(f"{url}/i/seals.jpg", "image/jpeg", None, "image")
    assert seals[1].type == "", "'not a type' is not a MIME type"
    assert rows[SEALS]["image"] == f"{url}/i/seals.jpg", "no thumbnail: its first image file"


def test_atom_enclosures_several_authors_categories_replies_and_updated(site):
    _, url, rows = site
    row = rows[DREDGING]
    assert enclosures(row) == (
        Enclosure(f"{url}/files/dredging-interview.ogg", "audio/ogg", 3145728),
        Enclosure("https://estuary-review.example/files/dredging-report.pdf", "application/pdf", 245760),
    )
    assert media.stored_people(row["authors"]) == (
        Person("Priya Natarajan", "priya@estuary-review.example", "https://estuary-review.example/people/priya"),
        Person("Ole Brandt"),  # not given Priya's address, as feedparser does
    )
    assert media.stored_tags(row["tags"]) == ("Infrastructure", "North Sea")  # the label of "Nörth Séa"
    assert row["comments"] == "https://estuary-review.example/2026/dredging#comments"
    assert row["published"] == "2026-11-22T08:00:00+00:00" and row["updated"] == "2026-11-25T09:00:00+00:00"


def test_json_feed_attachments_image_authors_tags_and_dates(site):
    _, _, rows = site
    row = rows[LAMP_ROOM]
    assert enclosures(row) == (
        Enclosure("https://lighthouse-notes.example/audio/41.mp3", "audio/mpeg", 2048000, duration=300),
        Enclosure("https://lighthouse-notes.example/docs/41.pdf", "application/pdf", None),  # relative, size -1
        Enclosure("https://lighthouse-notes.example/img/lamp-room.jpg", "image/jpeg", None),
    )
    assert row["image"] == "https://lighthouse-notes.example/img/lamp-room.jpg"
    assert media.stored_people(row["authors"]) == (
        Person("Jonas Berg", uri="https://lighthouse-notes.example/jonas"), Person("Elif Kaya"),
    )
    assert media.stored_tags(row["tags"]) == ("Lighthouses", "volunteering", "North-Sea")
    assert row["published"] == "2026-11-20T14:00:00+00:00" and row["updated"] == "2026-11-21T08:30:00+00:00"
    fog = rows["Fog signals, then and now"]
    assert media.stored_people(fog["authors"]) == (Person("Jonas Berg"),)  # JSON Feed 1.0 "author"
    assert "foghorn" in fog["content"]


def served(site, fmt):
    config, _, _ = site
    response = create_app(config).test_client().get(f"/feeds/international.{fmt}")
    assert response.status_code == 200
    return response.data


def test_rss_one_best_enclosure_the_rest_as_media_content_thumbnail_categories_creators(site):
    body = served(site, "rss")
    entries = {entry.title: entry for entry in feedparser.parse(body).entries}
    wall = entries[SEA_WALL]
    assert [(e.href, e.type, e.length) for e in wall.enclosures] == [
        ("https://media.coastline-pictures.example/v/sea-wall-1080.mp4", "video/mp4", "73400320")
    ]
    assert [c["url"].rsplit("/", 1)[1] for c in wall.media_content] == ["sea-wall-480.mp4", "sea-wall.jpg"]
    assert wall.media_thumbnail == [{"url": "https://media.coastline-pictures.example/i/sea-wall.jpg"}]
    assert [t.term for t in wall.tags] == ["Weather", "North Sea", "storm", "flooding"]
    assert [a.name for a in wall.authors] == ["Tomas Reyes", "Ana Lindqvist"]
    assert entries[EPISODE_12].comments == "https://harbour-hour.example/episodes/12#talk"
    # Unknown length: 0, as RSS requires the attribute.
    assert [(e.type, e.length) for e in entries[EPISODE_11].enclosures] == [("audio/x-m4a", "0")]
    root = etree.fromstring(body)
    for item in root.iter("item"):
        assert len(item.findall("enclosure")) <= 1, "RSS allows one enclosure"
        assert not (item.find("author") is not None and item.find("{http://purl.org/dc/elements/1.1/}creator") is not None)
        for enclosure in item.findall("enclosure"):
            assert enclosure.get("length").isdigit() and "/" in enclosure.get("type")


def test_content_image_is_the_fallback_picture(site):
    _, url, _ = site
    for fmt in ("rss", "atom"):
        entries = {entry.title: entry for entry in feedparser.parse(served(site, fmt)).entries}
        assert entries[EPISODE_11].media_thumbnail == [{"url": f"{url}/img/ep11-bridge.jpg"}], fmt
    items = {item["title"]: item for item in json.loads(served(site, "json"))["items"]}
    assert items[EPISODE_11]["image"] == f"{url}/img/ep11-bridge.jpg"


def test_atom_enclosure_links_categories_several_authors_and_replies(site):
    _, url, _ = site
    body = served(site, "atom")
    entries = {entry.title: entry for entry in feedparser.parse(body).entries}
    dredging = entries[DREDGING]
    assert [(e.href, e.type, e.length) for e in dredging.enclosures] == [
        (f"{url}/files/dredging-interview.ogg", "audio/ogg", "3145728"),
        ("https://estuary-review.example/files/dredging-report.pdf", "application/pdf", "245760"),
    ]
    assert [t.term for t in dredging.tags] == ["Infrastructure", "North Sea"]
    assert [a.name for a in dredging.authors] == ["Priya Natarajan", "Ole Brandt"]
    assert dredging.authors[0].href == "https://estuary-review.example/people/priya"
    replies = [link.href for link in dredging.links if link.rel == "replies"]
    assert replies == ["https://estuary-review.example/2026/dredging#comments"]
    assert entries[SEA_WALL].media_thumbnail == [{"url": "https://media.coastline-pictures.example/i/sea-wall.jpg"}]
    # The XML itself: each author once, with only its own address.
    atom = "{http://www.w3.org/2005/Atom}"
    entry = next(e for e in etree.fromstring(body).iter(f"{atom}entry") if e.findtext(f"{atom}title") == DREDGING)
    assert [(a.findtext(f"{atom}name"), a.findtext(f"{atom}email")) for a in entry.findall(f"{atom}author")] == [
        ("Priya Natarajan", "priya@estuary-review.example"), ("Ole Brandt", None),
    ]


def test_json_feed_attachments_image_tags_and_authors(site):
    items = {item["title"]: item for item in json.loads(served(site, "json"))["items"]}
    lamp = items[LAMP_ROOM]
    assert lamp["attachments"] == [
        {"url": "https://lighthouse-notes.example/audio/41.mp3", "mime_type": "audio/mpeg", "size_in_bytes": 2048000,
         "duration_in_seconds": 300},
        {"url": "https://lighthouse-notes.example/docs/41.pdf", "mime_type": "application/pdf"},
        {"url": "https://lighthouse-notes.example/img/lamp-room.jpg", "mime_type": "image/jpeg"},
    ]
    assert lamp["image"] == "https://lighthouse-notes.example/img/lamp-room.jpg"
    assert lamp["tags"] == ["Lighthouses", "volunteering", "North-Sea"]
    assert lamp["authors"] == [{"name": "Jonas Berg", "url": "https://lighthouse-notes.example/jonas"}, {"name": "Elif Kaya"}]
    wall = items[SEA_WALL]
    assert wall["attachments"][0]["mime_type"] == "video/mp4" and wall["attachments"][0]["size_in_bytes"] == 73400320
    assert items[EPISODE_12]["authors"] == [{"name": "Mira Kowal", "url": "mailto:producer@harbour-hour.example"}]


def test_an_edited_enclosure_updates_the_stored_item(make_config):
    config = make_config()
    with Store(config.database) as store:
        filing.add(store, story(1, tags=("Ports",), enclosures=(Enclosure("https://t.test/a.mp3", "audio/mpeg", 10),)))
        again = filing.add(store, story(1, tags=("Ports", "Ferries"), enclosures=(Enclosure("https://t.test/b.mp3", "audio/mpeg", 20),)))
        row = store.item(again.item_id)
        slugs = [r[0] for r in store.db.execute("SELECT slug FROM item_tags WHERE item_id = ? ORDER BY slug", [again.item_id])]
    assert again.status == "updated"
    assert media.stored_enclosures(row.enclosures)[0].url == "https://t.test/b.mp3"
    assert slugs == ["ferries", "ports"]


@pytest.mark.sqlite_only("makes a database of schema version 3 by hand, as SQLite numbers it (user_version)")
def test_a_database_from_before_media_is_migrated_and_served(tmp_path, make_config):

    config = make_config()
    db = sqlite_utils.Database(config.database)
    for migration in MIGRATIONS[:3]:
        migration(db)
    db.execute("PRAGMA user_version = 3")
    db["items"].insert({
        "id": "old", "category": "business", "source": "feed:t", "guid": "g", "title": "Old story", "link": "http://t.test/old",
        "summary": "s", "content": '<p><img src="https://t.test/old.jpg"></p>', "text": "t", "author": "Ann Lee <ann@t.test>",
        "published": "2026-11-01T00:00:00+00:00", "first_seen": "2026-11-01T00:00:00+00:00", "priority": 100,
    })
    db.close()
    with Store(config.database) as store:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
        filing.add(store, story(2, tags=("Ports",)))
    items = {i["title"]: i for i in json.loads(create_app(config).test_client().get("/feeds/business.json").data)["items"]}
    assert items["Old story"]["image"] == "https://t.test/old.jpg"
    assert items["Old story"]["authors"] == [{"name": "Ann Lee", "url": "mailto:ann@t.test"}]
    assert items["Story 2"]["tags"] == ["Ports"]


@pytest.mark.parametrize("name", ["North Sea", "north-sea", "NORTH   SEA", "Nörth Séa", "north_sea!"])
def test_tags_compare_by_one_slug(name):
    assert media.tag_slug(name) == "north-sea"


def test_tags_keep_the_first_spelling_of_each_slug():
    assert media.tags(["North Sea", "north-sea", " Ports ", "", "?!"]) == ("North Sea", "Ports")


# -- tags as a way in ------------------------------------------------------------------


def tagged(config, fmt, slug="north-sea", **headers):
    return create_app(config).test_client().get(f"/feeds/tag/{slug}.{fmt}", headers=headers)


def test_tag_feeds_gather_every_spelling_across_categories(make_config):
    config = make_config()
    with Store(config.database) as store:
        filing.add(store, story(1, tags=("North Sea",)))
        filing.add(store, story(2, category="international", tags=("nörth-séa", "Ports")))
        filing.add(store, story(3, tags=("Baltic",)))
    rss = feedparser.parse(tagged(config, "rss").data)
    assert not rss.bozo and [e.title for e in rss.entries] == ["Story 2", "Story 1"]
    assert rss.feed.title == "Test Hub: Tagged nörth-séa"  # the newest item's spelling
    assert rss.feed.link == "http://feeds.test/t/north-sea"
    self_links = [link.href for link in rss.feed.links if link.rel == "self"]
    assert self_links == ["http://feeds.test/feeds/tag/north-sea.rss"]
    atom = feedparser.parse(tagged(config, "atom").data)
    assert [e.title for e in atom.entries] == ["Story 2", "Story 1"] and atom.feed.id.endswith("/feeds/tag/north-sea.atom")
    document = json.loads(tagged(config, "json").data)
    assert [item["title"] for item in document["items"]] == ["Story 2", "Story 1"]
    assert document["feed_url"] == "http://feeds.test/feeds/tag/north-sea.json"
    moved = tagged(config, "rss", slug="North%20Sea")
    assert moved.status_code == 301 and moved.headers["Location"].endswith("/feeds/tag/north-sea.rss")
    missing = tagged(config, "rss", slug="atlantic")
    assert missing.status_code == 404 and b"No story is tagged 'atlantic'" in missing.data


def test_tag_feeds_are_cached_and_answer_304_until_an_item_changes(make_config):
    config = make_config()
    with Store(config.database) as store:
        filing.add(store, story(1, tags=("North Sea",)))
    client = create_app(config).test_client()
    first = client.get("/feeds/tag/north-sea.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert client.get("/feeds/tag/north-sea.atom", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feeds/tag/north-sea.atom", headers={"If-Modified-Since": modified}).status_code == 304
    with Store(config.database) as store:
        filing.add(store, story(5, category="sports", tags=("NORTH SEA",)))
    fresh = client.get("/feeds/tag/north-sea.atom", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and [e.title for e in feedparser.parse(fresh.data).entries] == ["Story 5", "Story 1"]
    # /metrics counts every tag feed under one label, not one series per tag.
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'feedhub_feed_requests_total{category="tag",format="atom",status="304"} 2.0' in metrics


def test_newsroom_articles_tags_take_the_same_path(make_config):
    config = make_config()
    with Store(config.database) as store:
        filing.add(store, story(1, source="articles:desk", tags=("Nörth Sea", "north sea", "Ports")))
        filing.add(store, story(2, tags=("NORTH-SEA",)))
        row = store.item(story(1, source="articles:desk").id)
    assert media.stored_tags(row.tags) == ("Nörth Sea", "Ports"), "one spelling per slug"
    assert [e.title for e in feedparser.parse(tagged(config, "rss").data).entries] == ["Story 2", "Story 1"]


def test_an_edit_that_drops_a_tag_leaves_the_tag_feed(make_config):
    config = make_config()
    with Store(config.database) as store:
        filing.add(store, story(1, tags=("North Sea",)))
        filing.add(store, story(2, tags=("North Sea",)))
        filing.add(store, story(2, title="Story 2 again", tags=("Baltic",)))
    assert [e.title for e in feedparser.parse(tagged(config, "rss").data).entries] == ["Story 1"]


def test_tag_page_lists_stories_with_tags_pictures_and_feed_links(make_config):
    config = make_config()
    with Store(config.database) as store:
        filing.add(store, story(1, tags=("North Sea", "Ports"), image="https://img.test/one.jpg"))
        filing.add(store, story(2, category="international", tags=("north sea",), content='<p><img src="https://img.test/two.png"></p>'))
    client = create_app(config).test_client()
    page = client.get("/t/north-sea")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.index("Story 2") < html.index("Story 1")
    for fmt, mime in (("rss", "application/rss+xml"), ("atom", "application/atom+xml"), ("json", "application/feed+json")):
        assert f'<link rel="alternate" type="{mime}"' in html and f'href="http://feeds.test/feeds/tag/north-sea.{fmt}"' in html
    assert '<img src="https://img.test/one.jpg" alt="Picture: Story 1" loading="lazy"' in html
    assert 'src="https://img.test/two.png"' in html, "the content's first picture"
    assert '<a rel="tag" href="/t/ports">Ports</a>' in html
    assert client.get("/t/North%20Sea").headers["Location"].endswith("/t/north-sea")
    assert client.get("/t/atlantic").status_code == 404
    category = client.get("/c/business").get_data(as_text=True)
    assert '<a rel="tag" href="/t/north-sea">North Sea</a>' in category


# -- hostile JSON Feeds --------------------------------------------------------------


@pytest.mark.parametrize("body, message", [
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "line 1, column 59: malformed JSON: Expecting value"),
    (b'{"title": "no version", "items": []}', 'not a JSON Feed: no https://jsonfeed.org/version/ "version"'),
    (b'{"version": "https://jsonfeed.org/version/1", "items": {}}', 'JSON Feed has no "items" list'),
    (b'{"version": "https://jsonfeed.org/version/1", "title": "caf\xe9", "items": []}', "line 1: JSON Feed is not UTF-8 (byte 0xe9)"),
])
def test_a_broken_json_feed_fails_with_a_clear_error(body, message):
    from feedhub.remote.parse import ParseError, parse

    with pytest.raises(ParseError) as caught:
        parse(body, "https://feed.test/feed.json", "application/feed+json")
    assert str(caught.value) == message


def test_a_json_label_on_an_rss_body_is_not_believed():
    from feedhub.remote.parse import parse

    body = b'<rss version="2.0"><channel><title>t</title><item><title>Still RSS</title></item></channel></rss>'
    [entry] = parse(body, None, "application/json")
    assert entry["title"] == "Still RSS"


def test_json_feed_fields_of_the_wrong_type_are_left_out_not_fatal():
    from datetime import datetime, timezone

    from feedhub.config import Source
    from feedhub.remote.parse import parse
    from feedhub.remote.to_item import to_item

    body = json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": [
        "not an item",
        {"id": 7, "title": ["a", "list"], "url": "javascript:alert(1)", "content_text": "<b>plain</b> & text",
         "date_published": "yesterday", "authors": "Ann", "tags": ["Ok", 5, None], "image": {"url": "x"},
         "attachments": [None, {"url": "https://a.test/a.mp3", "size_in_bytes": "12", "mime_type": 3}]},
    ]}).encode()
    [entry] = parse(body, "https://feed.test/feed.json", "application/feed+json")
    fetched = datetime(2026, 11, 30, tzinfo=timezone.utc)
    item = to_item(entry, Source(name="j", url="https://feed.test/feed.json", category="business"), fetched)
    assert (item.guid, item.title, item.link, item.published) == ("7", "(untitled)", "", fetched)
    assert item.content == "&lt;b&gt;plain&lt;/b&gt; &amp; text" and item.text == "<b>plain</b> & text"
    assert (item.authors, item.tags, item.image) == ((), ("Ok",), "")
    assert item.enclosures == (Enclosure("https://a.test/a.mp3", "", 12),)
