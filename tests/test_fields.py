"""The ten ways a field was lost or changed on its way through (issue 25),
each tried as a user meets it: a source served on 127.0.0.1, ingested, and
the served feeds or pages read back by a real client (feedparser, gPodder's
podcastparser) or by the operator's views (`feedhub sources`, /sources).
The round trip of every field in every format is tests/test_roundtrip.py."""

from __future__ import annotations

import html
import io
import json
import logging
import re
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import feedparser
import podcastparser
import pytest
from helpers import rows, write_config
from lxml import etree

from feedhub import media
from feedhub.cli import main
from feedhub.config import load_config
from feedhub.ingest.cycle import run_cycle
from feedhub.store import Store
from feedhub.web import create_app

ATOM = "{http://www.w3.org/2005/Atom}"
MEDIA = "{http://search.yahoo.com/mrss/}"
SITE = {"title": "Test Hub", "link": "http://feeds.test", "language": "en", "email": "desk@feeds.test"}


def rss(items: str, namespaces: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0" {namespaces}><channel><title>Wire</title>'
        f"<link>https://wire.test/</link><description>d</description>{items}</channel></rss>"
    ).encode("utf-8")


def atom(entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Review</title>'
        f"<id>urn:review</id><updated>2026-11-25T09:00:00Z</updated>{entries}</feed>"
    ).encode("utf-8")


def ingest(tmp_path: Path, database: str, feed_server, documents: dict[str, bytes], **overrides):
    """Serve each document, ingest them all into `international`; (config, summary, app client)."""
    sources = []
    for name, body in documents.items():
        feed_server.overrides[f"/{name}"] = (200, {"Content-Type": "application/xml"}, body)
        sources.append(feed_server.source(name.split(".")[0], name, "international"))
    config = load_config(write_config(tmp_path, database, sources=sources, **overrides))
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    return config, summary, create_app(config).test_client()


def shown(detail) -> str:
    """What a reader shows of a feedparser text construct: HTML's words, or the text."""
    if detail.type == "text/plain":
        return detail.value
    return html.unescape(re.sub(r"<[^>]+>", "", detail.value))


def entries(client, fmt: str = "rss") -> dict[str, feedparser.FeedParserDict]:
    parsed = feedparser.parse(client.get(f"/feeds/international.{fmt}").data)
    assert not parsed.bozo, parsed.bozo_exception
    return {entry.title: entry for entry in parsed.entries}


# 1 -------------------------------------------------------------------------------------


SCRIPTS = ["Одеса", "Κρήτη", "بيروت", "大阪", "हिन्दी", "F", "F#", "F*"]


def test_tags_in_every_script_and_with_signs_are_kept_apart(tmp_path, database, feed_server):
    items = "".join(
        f"<item><title>Story {n}</title><link>https://wire.test/{n}</link><description>Words of story {n}, "
        f"about {n * 7} ferries.</description><category>{tag}</category></item>"
        for n, tag in enumerate(SCRIPTS)
    )
    config, summary, client = ingest(tmp_path, database, feed_server, {"tags.rss": rss(items)})
    assert summary.total("new") == len(SCRIPTS), summary.errors
    served = entries(client)
    assert [served[f"Story {n}"].tags[0].term for n in range(len(SCRIPTS))] == SCRIPTS
    for n, tag in enumerate(SCRIPTS):
        slug = media.tag_slug(tag)
        feed = feedparser.parse(client.get(f"/feeds/tag/{quote(slug)}.atom").data)
        assert [e.title for e in feed.entries] == [f"Story {n}"], tag
        page = client.get(f"/t/{quote(slug)}")
        assert page.status_code == 200 and f"Story {n}" in page.get_data(as_text=True), tag
        # The page's own subscribe links work too.
        links = re.findall(r'<link rel="alternate" type="[^"]+" title="[^"]*" href="http://feeds.test([^"]+)"',
                           page.get_data(as_text=True))
        assert len(links) == 3, tag
        for href in links:
            data = client.get(href).data
            titles = ([item["title"] for item in json.loads(data)["items"]] if href.endswith(".json")
                      else [e.title for e in feedparser.parse(data).entries])
            assert titles == [f"Story {n}"], href
    # Accents and case still do not count, in Greek as in Latin.
    assert media.tag_slug("ΚΡΉΤΗ") == media.tag_slug("Κρήτη") == "κρητη"


# 2 -------------------------------------------------------------------------------------


def test_escaped_markup_stays_text_in_descriptions_and_titles(tmp_path, database, feed_server):
    # The description says, as text, "use the <kbd> element" (escaped twice:
    # once for HTML, once for XML); the title says the same as RSS text.
    item = ("<item><title>Shortcuts: use the &lt;kbd&gt; element</title><link>https://wire.test/kbd</link>"
            "<description>To show keys, use the &amp;lt;kbd&amp;gt; element &amp;amp; CSS.</description></item>")
    config, summary, client = ingest(tmp_path, database, feed_server, {"markup.rss": rss(item)}, site=SITE)
    text = "To show keys, use the <kbd> element & CSS."
    [episode] = podcastparser.parse("http://feeds.test/", io.BytesIO(client.get("/feeds/international.rss").data))[
        "episodes"]
    assert episode["description"] == text  # podcastparser shows the description's text
    assert episode["title"] == "Shortcuts: use the <kbd> element"
    for fmt in ("rss", "atom"):
        [entry] = entries(client, fmt).values()
        assert shown(entry.title_detail) == "Shortcuts: use the <kbd> element", fmt
        assert shown(entry.summary_detail) == text, fmt


# 3 -------------------------------------------------------------------------------------


def test_an_enclosure_without_a_type_is_served_with_the_type_of_its_file(tmp_path, database, feed_server):
    entry = ('<entry><title>Interview</title><id>urn:review:1</id><updated>2026-11-25T09:00:00Z</updated>'
             '<link href="https://review.test/1"/><link rel="enclosure" href="https://cdn.review.test/talk.mp3" '
             'length="1024"/><link rel="enclosure" href="https://cdn.review.test/notes.xyz"/></entry>')
    config, summary, client = ingest(tmp_path, database, feed_server, {"untyped.atom": atom(entry)})
    [row] = rows(config, "SELECT enclosures FROM items")
    assert [file.type for file in media.stored_enclosures(row["enclosures"])] == ["", ""], "stored as the source said"
    [episode] = podcastparser.parse("http://feeds.test/", io.BytesIO(client.get("/feeds/international.rss").data))[
        "episodes"]
    assert [(e["url"], e["mime_type"]) for e in episode["enclosures"]][0] == ("https://cdn.review.test/talk.mp3", "audio/mpeg")
    document = etree.fromstring(client.get("/feeds/international.atom").data)
    links = {link.get("href"): link.get("type") for link in document.iter(f"{ATOM}link") if link.get("rel") == "enclosure"}
    assert links == {"https://cdn.review.test/talk.mp3": "audio/mpeg", "https://cdn.review.test/notes.xyz": None}


# 4 -------------------------------------------------------------------------------------


def test_authors_keep_their_own_names_and_addresses(tmp_path, database, feed_server):
    item = ("<item><title>Night ferry</title><link>https://radio.test/1</link><description>The last crossing.</description>"
            "<author>editor@radio.example (Sam Okoye)</author><itunes:author>Sam Okoye</itunes:author></item>")
    entry = ('<entry><title>Dredging</title><id>urn:review:2</id><updated>2026-11-25T09:00:00Z</updated>'
             '<link href="https://review.test/2"/><summary>Who pays.</summary>'
             "<author><name>Priya Natarajan</name><email>priya@estuary-review.example</email></author>"
             "<author><name>Ole Brandt</name></author>"
             "<author><name>Mia Hart</name><email>mia@news.example</email></author></entry>")
    config, summary, client = ingest(tmp_path, database, feed_server, {
        "radio.rss": rss(item, 'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'),
        "review.atom": atom(entry),
    })
    # Read raw: feedparser, reading the served Atom, would mangle the
    # addresses again (the same fault, in the client).
    document = etree.fromstring(client.get("/feeds/international.atom").data)
    served = {
        entry.findtext(f"{ATOM}title"): [(a.findtext(f"{ATOM}name"), a.findtext(f"{ATOM}email"))
                                         for a in entry.findall(f"{ATOM}author")]
        for entry in document.iter(f"{ATOM}entry")
    }
    assert served["Night ferry"] == [("Sam Okoye", "editor@radio.example")]
    assert served["Dredging"] == [
        ("Priya Natarajan", "priya@estuary-review.example"), ("Ole Brandt", None), ("Mia Hart", "mia@news.example")]
    page = client.get("/c/international").get_data(as_text=True)
    assert "by Priya Natarajan, Ole Brandt, Mia Hart" in page and "by Sam Okoye" in page
    assert "@" not in page, "a page never shows an author's address"


# 5 -------------------------------------------------------------------------------------


def test_a_picture_caption_is_the_pictures_never_the_story(tmp_path, database, feed_server):
    item = ('<item><title>Storm surge</title><link>https://pictures.test/1</link>'
            "<description>Waves broke over the promenade for the first time in a decade.</description>"
            '<media:content url="https://pictures.test/wall.jpg" medium="image" type="image/jpeg">'
            "<media:description>The old sea wall at high tide</media:description>"
            '<media:credit role="photographer">Ana Lindqvist</media:credit></media:content></item>')
    config, summary, client = ingest(tmp_path, database, feed_server, {
        "pictures.rss": rss(item, 'xmlns:media="http://search.yahoo.com/mrss/"')})
    [row] = rows(config, "SELECT content, text, summary, enclosures FROM items")
    story = "Waves broke over the promenade for the first time in a decade."
    assert row["text"] == row["summary"] == story and story in row["content"]
    assert "sea wall" not in row["text"] + row["content"]
    [picture] = media.stored_enclosures(row["enclosures"])
    assert (picture.caption, picture.credits) == ("The old sea wall at high tide", ("Ana Lindqvist",))
    found = client.get("/search?q=promenade").get_data(as_text=True)
    assert "Storm surge" in found
    assert "Storm surge" not in client.get("/search?q=tide").get_data(as_text=True), "a caption is not the text searched"
    content = etree.fromstring(client.get("/feeds/international.rss").data).find(f".//{MEDIA}content")
    assert content.findtext(f"{MEDIA}description") == "The old sea wall at high tide"
    assert content.findtext(f"{MEDIA}credit") == "Ana Lindqvist"


# 6 -------------------------------------------------------------------------------------

ITUNES = 'xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'


def test_podcast_fields_reach_podcast_apps(tmp_path, database, feed_server):
    item = ("<item><title>Episode 12</title><link>https://harbour.test/12</link><guid>h-12</guid>"
            "<description>Night shift at the container terminal.</description>"
            '<enclosure url="https://cdn.harbour.test/12.mp3" length="48213760" type="audio/mpeg"/>'
            "<itunes:duration>00:50:12</itunes:duration><itunes:episode>12</itunes:episode>"
            "<itunes:season>3</itunes:season><itunes:episodeType>full</itunes:episodeType>"
            '<itunes:explicit>true</itunes:explicit><itunes:image href="https://harbour.test/art/12.jpg"/></item>')
    notes = json.dumps({"version": "https://jsonfeed.org/version/1.1", "title": "Notes", "items": [{
        "id": "n-41", "url": "https://notes.test/41", "title": "Lamp room", "content_text": "Paint and brass.",
        "external_url": "https://lighthouses.test/hollow-point",
        "attachments": [{"url": "https://notes.test/41.mp3", "mime_type": "audio/mpeg", "title": "Interview",
                         "duration_in_seconds": 300}]}]}).encode()
    config, summary, client = ingest(tmp_path, database, feed_server,
                                     {"harbour.rss": rss(item, ITUNES), "notes.json": notes}, site=SITE)
    assert not summary.errors
    episodes = {e["title"]: e for e in podcastparser.parse(
        "http://feeds.test/", io.BytesIO(client.get("/feeds/international.rss").data))["episodes"]}
    twelve = episodes["Episode 12"]
    assert (twelve["total_time"], twelve["number"], twelve["season"], twelve["type"], twelve["explicit"]) == (
        3012, 12, 3, "full", True)
    assert twelve["episode_art_url"] == "https://harbour.test/art/12.jpg"
    assert episodes["Lamp room"]["total_time"] == 300
    document = json.loads(client.get("/feeds/international.json").data)
    lamp = next(item for item in document["items"] if item["title"] == "Lamp room")
    assert lamp["external_url"] == "https://lighthouses.test/hollow-point"
    assert lamp["attachments"] == [{"url": "https://notes.test/41.mp3", "mime_type": "audio/mpeg", "title": "Interview",
                                    "duration_in_seconds": 300}]


def test_the_sites_address_must_be_one(tmp_path, database):
    from feedhub.config import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_config(write_config(tmp_path, database, site={**SITE, "email": "desk at feeds.test"}))
    assert "site.email" in str(caught.value) and "expected an email address such as news@example.com" in str(caught.value)


# 7 -------------------------------------------------------------------------------------


def test_the_article_page_shows_its_pictures_caption_and_credit(make_config, tmp_path):
    folder = tmp_path / "desk"
    folder.mkdir()
    (folder / "bridge.txt").write_text(
        "INTERNATIONAL\n\nThe Bridge Opens\n\n"
        "Image: https://img.feeds.test/bridge.jpg | The new bridge at dawn | Photo: AFP\n\n"
        "The bridge opened on Monday after four years of work.\n", encoding="utf-8")
    config = make_config(articles=[{"path": str(folder)}])
    with Store(config.database) as store:
        assert not run_cycle(config, store).errors
    client = create_app(config).test_client()
    html = client.get("/articles/bridge").get_data(as_text=True)
    assert '<img src="https://img.feeds.test/bridge.jpg" alt="The new bridge at dawn">' in html
    assert '<figcaption>The new bridge at dawn <span class="credit">Photo: AFP</span></figcaption>' in html
    [entry] = feedparser.parse(client.get("/feeds/international.atom").data).entries
    assert entry.media_content[0]["url"] == "https://img.feeds.test/bridge.jpg"
    assert [c["content"] for c in entry.media_credit] == ["Photo: AFP"]


# 8 -------------------------------------------------------------------------------------


def test_an_empty_category_is_dated_when_it_was_configured(tmp_path, database):
    path = write_config(tmp_path, database)
    client = create_app(path).test_client()  # a feeds.yaml file: its time is the category's
    written = Path(path).stat().st_mtime
    channel = etree.fromstring(client.get("/feeds/sports.rss").data).find("channel")
    assert channel.find("item") is None
    assert abs(parsedate_to_datetime(channel.findtext("lastBuildDate")).timestamp() - written) < 1
    updated = feedparser.parse(client.get("/feeds/sports.atom").data).feed.updated_parsed
    assert updated.tm_year >= 2024, "not 1 January 1970"


# 9 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding, title, tag", [
    ("shift_jis", "大阪で新しい橋が開通しました", "大阪"),
    ("koi8-r", "В Одессе открыли новый мост через залив", "Одеса"),
], ids=["shift_jis", "koi8-r"])
def test_an_undeclared_legacy_encoding_is_read(tmp_path, database, feed_server, encoding, title, tag):
    body = ("<rss version=\"2.0\"><channel><title>Local news</title><link>https://local.test/</link>"
            f"<description>d</description><item><title>{title}</title><link>https://local.test/1</link>"
            f"<description>{title}. {title}.</description><category>{tag}</category></item></channel></rss>")
    feed_server.overrides["/local.rss"] = (200, {"Content-Type": "application/rss+xml"}, body.encode(encoding))
    config = load_config(write_config(tmp_path, database, sources=[feed_server.source("local", "local.rss", "international")]))
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    assert not summary.errors
    [entry] = feedparser.parse(create_app(config).test_client().get("/feeds/international.atom").data).entries
    assert entry.title == title and [t.term for t in entry.tags] == [tag]


# 10 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("body, reason", [
    (b"", "empty document"),
    (b" \r\n\t ", "empty document"),
    (b"<?xml version='1.0'?>\n<!-- the feed will be here -->\n", "empty document"),
    (b"<rss version='2.0'><channel><title>Caf&eacute;</title></channel></rss>",
     "malformed feed at line 1, column 39: undefined entity"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
     "JSON nested too deep"),
], ids=["empty", "blank", "comment-only", "undefined-entity", "deep-json"])
def test_a_bad_document_gets_one_plain_reason(tmp_path, database, feed_server, caplog, capsys, body, reason):
    feed_server.overrides["/bad"] = (200, {"Content-Type": "application/rss+xml"}, body)
    path = write_config(tmp_path, database, sources=[feed_server.source("bad", "bad", "international")])
    config = load_config(path)
    with caplog.at_level(logging.INFO), Store(config.database) as store:
        summary = run_cycle(config, store)
        assert store.source_state("bad").last_error == reason
    assert summary.errors == [f"bad ({feed_server.url}/bad): {reason}"]
    assert not any(record.exc_info for record in caplog.records), "no traceback in the log"
    assert not any("unexpected" in record.getMessage() for record in caplog.records)
    capsys.readouterr()
    assert main(["--config", str(path), "sources"]) == 0
    assert f"last error: {reason}" in capsys.readouterr().out
    assert reason in create_app(config).test_client().get("/sources").get_data(as_text=True)
