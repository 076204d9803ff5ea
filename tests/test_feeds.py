"""Feed documents every reader accepts: the W3C feed validator's rules checked
on the served bytes, JSON Feed 1.1, RFC 5005 paging, OPML and autodiscovery."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

import feedparser
import pytest
from helpers import config_holding, story
from lxml import etree

from feedhub.ingest import filing
from feedhub.ingest.cycle import run_cycle
from feedhub.model import Person
from feedhub.publish import opml
from feedhub.store import Store
from feedhub.web import create_app

ATOM = "{http://www.w3.org/2005/Atom}"
RFC822 = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} (\+0000|GMT)$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

# What a hostile or sloppy source feed can put in an item.
AWKWARD = dict(
    title="Fish & Chips <b>tax</b> \x01rises",
    content='<p>Prices up 5% &amp; more</p><script>alert("x")</script>',
    author="desk@news.test (Jane Doe)",
)


@pytest.fixture
def client(make_config, articles_dir: Path):
    config = make_config(articles=[{"path": str(articles_dir)}], hubs=["http://hub.test/"])
    with Store(config.database) as store:
        run_cycle(config, store)
        filing.add(store, story(1, **AWKWARD))
        filing.add(store, story(2, link="", content="", author=""))  # no link, no HTML: text content needed
    return create_app(config).test_client()


def get_xml(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.data
    return etree.fromstring(response.data)  # raises if not well-formed


def test_rss_follows_the_validator_rules(client):
    url = "/feeds/business.rss"
    root = get_xml(client, url)
    assert root.tag == "rss" and root.get("version") == "2.0"
    [channel] = root.findall("channel")
    for required in ("title", "link", "description"):
        assert channel.findtext(required).strip(), required
    assert channel.findtext("link") == "http://feeds.test/c/business"
    assert channel.findtext("language") == "en"
    assert RFC822.match(channel.findtext("lastBuildDate"))
    links = {link.get("rel"): link for link in channel.findall(f"{ATOM}link")}
    assert links["self"].get("href") == "http://feeds.test" + url
    assert links["self"].get("type") == "application/rss+xml"
    assert links["hub"].get("href") == "http://hub.test/"
    assert client.get(url).headers["Link"] == f'<http://hub.test/>; rel="hub", <http://feeds.test{url}>; rel="self"'
    items = channel.findall("item")
    assert len(items) >= 3
    guids = [item.findtext("guid") for item in items]
    assert len(set(guids)) == len(guids) and all(g.startswith("urn:uuid:") for g in guids)
    for item in items:
        assert item.findtext("title") or item.findtext("description")
        assert item.find("guid").get("isPermaLink") == "false"
        assert RFC822.match(item.findtext("pubDate")), item.findtext("pubDate")
        parsedate_to_datetime(item.findtext("pubDate"))
        for field in ("description", "{http://purl.org/rss/1.0/modules/content/}encoded"):
            node = item.find(field)
            assert node is None or len(node) == 0, "HTML must be escaped text, not markup"
    awkward = next(item for item in items if item.findtext("title").startswith("Fish"))
    assert awkward.findtext("title") == "Fish & Chips <b>tax</b> rises"  # escaped, control char dropped
    assert "<script>" in awkward.findtext("{http://purl.org/rss/1.0/modules/content/}encoded")
    assert awkward.findtext("{http://purl.org/dc/elements/1.1/}creator") == "Jane Doe"
    parsed = feedparser.parse(client.get(url).data)
    assert not parsed.bozo and parsed.version == "rss20"


def test_atom_follows_the_validator_rules(client):
    url = "/feeds/business.atom"
    root = get_xml(client, url)
    assert root.tag == f"{ATOM}feed"
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert root.findtext(f"{ATOM}id") and root.findtext(f"{ATOM}title")
    assert RFC3339.match(root.findtext(f"{ATOM}updated"))
    assert root.findtext(f"{ATOM}author/{ATOM}name")
    links = {link.get("rel"): link for link in root.findall(f"{ATOM}link")}
    assert links["self"].get("href") == "http://feeds.test" + url
    assert links["self"].get("type") == "application/atom+xml"
    assert links["hub"].get("href") == "http://hub.test/"
    assert links["alternate"].get("href") == "http://feeds.test/c/business"
    entries = root.findall(f"{ATOM}entry")
    ids = [entry.findtext(f"{ATOM}id") for entry in entries]
    assert len(set(ids)) == len(ids) and all(i.startswith("urn:uuid:") for i in ids)
    for entry in entries:
        assert entry.findtext(f"{ATOM}title")
        assert RFC3339.match(entry.findtext(f"{ATOM}updated")) and RFC3339.match(entry.findtext(f"{ATOM}published"))
        assert entry.findtext(f"{ATOM}author/{ATOM}name").strip(), "every entry names an author"
        content = entry.find(f"{ATOM}content")
        alternate = [l for l in entry.findall(f"{ATOM}link") if l.get("rel", "alternate") == "alternate"]
        assert content is not None or alternate, "an entry without content needs an alternate link"
        if content is not None:
            assert content.get("type") in ("html", "text") and len(content) == 0
    by_title = {entry.findtext(f"{ATOM}title"): entry for entry in entries}
    awkward = by_title["Fish & Chips <b>tax</b> rises"]
    assert awkward.findtext(f"{ATOM}author/{ATOM}name") == "Jane Doe"
    assert awkward.findtext(f"{ATOM}author/{ATOM}email") == "desk@news.test"
    assert by_title["Story 2"].find(f"{ATOM}content").text == "Summary 2"
    assert by_title["Story 2"].findtext(f"{ATOM}author/{ATOM}name") == "Test Hub"
    parsed = feedparser.parse(client.get(url).data)
    assert not parsed.bozo and parsed.version == "atom10"


def test_ids_and_dates_agree_across_formats(client):
    rss = feedparser.parse(client.get("/feeds/business.rss").data)
    atom = feedparser.parse(client.get("/feeds/business.atom").data)
    feed = json.loads(client.get("/feeds/business.json").data)
    assert [e.id for e in rss.entries] == [e.id for e in atom.entries] == [i["id"] for i in feed["items"]]
    assert [e.published_parsed for e in rss.entries] == [e.published_parsed for e in atom.entries]
    json_dates = [datetime.fromisoformat(i["date_published"]) for i in feed["items"]]
    assert json_dates == [datetime(*e.published_parsed[:6], tzinfo=timezone.utc) for e in rss.entries]


def test_json_feed_has_what_version_1_1_requires(client):
    response = client.get("/feeds/business.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/feed+json; charset=utf-8"
    feed = json.loads(response.data)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert feed["feed_url"] == "http://feeds.test/feeds/business.json"
    assert feed["home_page_url"] == "http://feeds.test/c/business"
    assert feed["language"] == "en" and feed["authors"][0]["name"]
    assert feed["hubs"] == [{"type": "WebSub", "url": "http://hub.test/"}]
    assert "next_url" not in feed, "one page only"
    ids = [item["id"] for item in feed["items"]]
    assert len(ids) == len(set(ids)) and all(isinstance(i, str) and i for i in ids)
    for item in feed["items"]:
        assert ("content_html" in item) != ("content_text" in item)
        assert RFC3339.match(item["date_published"]) and RFC3339.match(item["date_modified"])
        assert item["authors"][0]["name"]
    by_title = {item["title"]: item for item in feed["items"]}
    # JSON Feed has no address field: its spec lets the author's url be a mailto: link.
    assert by_title["Fish & Chips <b>tax</b> rises"]["authors"] == [{"name": "Jane Doe", "url": "mailto:desk@news.test"}]
    assert by_title["Story 2"]["content_text"] == "Summary 2" and "url" not in by_title["Story 2"]


@pytest.fixture
def paged(make_config):
    """Business holds 12 stories, 5 per page: pages of 5, 5 and 2."""
    return create_app(config_holding(make_config, [story(n) for n in range(12)], feed_size=5)).test_client()


def page_links(client, fmt, query=""):
    """rel -> href of one page, and its entries' titles, read back per format."""
    data = client.get(f"/feeds/business.{fmt}{query}").data
    if fmt == "json":
        feed = json.loads(data)
        rels = {k: v for k, v in feed["_rfc5005"].items() if k != "about"}
        assert rels.get("next") == feed.get("next_url")
        return rels, [item["title"] for item in feed["items"]]
    if fmt == "rss":
        channel = etree.fromstring(data).find("channel")
        rels = {link.get("rel"): link.get("href") for link in channel.findall(f"{ATOM}link")}
    else:
        rels = {link.rel: link.href for link in feedparser.parse(data).feed.links}
    return rels, [entry.title for entry in feedparser.parse(data).entries]


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_paging_walks_back_through_every_item(paged, fmt):
    base = f"http://feeds.test/feeds/business.{fmt}"
    first, titles_1 = page_links(paged, fmt)
    assert first["self"] == first["first"] == base
    assert first["next"] == f"{base}?page=2" and first["last"] == f"{base}?page=3"
    assert "previous" not in first
    second, titles_2 = page_links(paged, fmt, "?page=2")
    assert second["previous"] == base and second["next"] == f"{base}?page=3"
    assert second["self"] == f"{base}?page=2"
    third, titles_3 = page_links(paged, fmt, "?page=3")
    assert third["previous"] == f"{base}?page=2" and "next" not in third
    assert titles_1 + titles_2 + titles_3 == [f"Story {n}" for n in range(11, -1, -1)]
    assert page_links(paged, fmt, "?page=1") == (first, titles_1)


def test_pages_out_of_range_are_clear_errors(paged):
    for page in ("4", "9" * 30):
        missing = paged.get(f"/feeds/business.atom?page={page}")
        assert missing.status_code == 404 and f"no page {page}" in missing.get_data(as_text=True)
    for bad in ("0", "-1", "two", ""):
        response = paged.get(f"/feeds/business.rss?page={bad}")
        assert response.status_code == 400 and "page must be a whole number" in response.get_data(as_text=True)


def test_an_empty_category_is_still_a_valid_feed(paged):
    for fmt in ("rss", "atom"):
        parsed = feedparser.parse(paged.get(f"/feeds/sports.{fmt}").data)
        assert not parsed.bozo and parsed.entries == [] and parsed.feed.title
    assert json.loads(paged.get("/feeds/sports.json").data)["items"] == []


MEDIA = "{http://search.yahoo.com/mrss/}"
ITUNES = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
# The W3C validator's own lists (feedvalidator/itunes.py, validators.py).
APPLE_CATEGORIES = {"Arts", "Business", "Comedy", "Education", "Fiction", "Government", "History", "Health & Fitness",
                    "Kids & Family", "Leisure", "Music", "News", "Religion & Spirituality", "Science", "Society & Culture",
                    "Sports", "Technology", "True Crime", "TV & Film"}
ITUNES_DURATION = re.compile(r"^\d+(:[0-5][0-9](:[0-5][0-9])?)?$")
APPLE_FORMATS = {"m4a", "mp3", "mov", "mp4", "m4v", "pdf", "epub"}


@pytest.fixture
def podcast(make_config):
    """Episodes, a gallery with captions and credits, a file without a type,
    an awkward tag and title; a site that names its address."""
    from feedhub.model import Enclosure, Episode

    config = make_config(site={"title": "Test Hub", "link": "http://feeds.test", "language": "en",
                               "email": "desk@feeds.test"})
    with Store(config.database) as store:
        filing.add(store, story(1, title="Use the <kbd> element & CSS", tags=("HTML & CSS", "F#"), episode=Episode(3, 1, "full", True),
                        enclosures=(Enclosure("https://cdn.test/3.mp3", "audio/mpeg", 1000, duration=3012),),
                        image="https://cdn.test/3.jpg", authors=(Person("Mira Kowal", "mira@news.test"),)))
        filing.add(store, story(2, enclosures=(
            Enclosure("https://cdn.test/a.jpg", "image/jpeg", medium="image", title="Noon", caption="Spray & <foam>",
                      credits=("Ana Lindqvist", "Agency")),
            Enclosure("https://cdn.test/b.jpg", medium="image", caption="Sandbags")), image="https://cdn.test/a.jpg"))
        filing.add(store, story(3, enclosures=(Enclosure("https://cdn.test/talk.ogg", duration=95),)))
    return create_app(config).test_client()


def test_podcast_and_media_tags_follow_the_validator_rules(podcast):
    rss = podcast.get("/feeds/business.rss").data
    channel = etree.fromstring(rss).find("channel")
    # A channel with iTunes tags has what the validator asks of it.
    assert channel.find(f"{ITUNES}category").get("text") in APPLE_CATEGORIES
    assert channel.findtext(f"{ITUNES}explicit") == "true" and channel.findtext("language") == "en"
    assert channel.findtext(f"{ITUNES}owner/{ITUNES}email") == "desk@feeds.test"
    items = {item.findtext("title"): item for item in channel.iter("item")}
    episode = items["Use the <kbd> element & CSS"]
    assert ITUNES_DURATION.match(episode.findtext(f"{ITUNES}duration"))
    assert episode.findtext(f"{ITUNES}episode") == "3" and episode.findtext(f"{ITUNES}season") == "1"
    assert episode.findtext(f"{ITUNES}episodeType") in ("full", "trailer", "bonus")
    assert episode.findtext(f"{ITUNES}explicit") in ("true", "false")
    assert episode.find(f"{ITUNES}image").get("href").startswith("https://")
    for item in items.values():
        if any(child.tag.startswith(ITUNES) for child in item):
            # An episode's file is one Apple takes, by the validator's reading of its URL.
            assert item.find("enclosure").get("url").split(".")[-1] in APPLE_FORMATS
    assert not any(child.tag.startswith(ITUNES) for child in items["Story 3"]), "an .ogg is no Apple episode"
    gallery = items["Story 2"]
    for content in gallery.findall(f"{MEDIA}content"):
        assert content.get("url") and "/" in content.get("type", "image/x")
        for text in content.findall(f"{MEDIA}description") + content.findall(f"{MEDIA}title"):
            assert text.get("type") == "plain"
        assert not [credit for credit in content.findall(f"{MEDIA}credit") if credit.get("role")]
    # Plain-text elements carry "&" and "<" as hexadecimal references (the RSS Profile's CharacterData rule).
    for name in (b"title", b"category", b"media:description"):
        for text in re.findall(rb"<" + name + rb"\b[^>]*>([^<]*)</", rss):
            assert b"&lt;" not in text and b"&amp;" not in text, text
    assert b"<title>Use the &#x3C;kbd&#x3E; element &#x26; CSS</title>" in rss
    assert "Use the <kbd> element & CSS" in [entry.title for entry in feedparser.parse(rss).entries]
    atom = etree.fromstring(podcast.get("/feeds/business.atom").data)
    assert not list(atom.iter(f"{ITUNES}duration")), "the iTunes tags are RSS's"
    types = {link.get("href"): link.get("type") for link in atom.iter(f"{ATOM}link") if link.get("rel") == "enclosure"}
    assert types["https://cdn.test/talk.ogg"] == "audio/ogg" and types["https://cdn.test/b.jpg"] == "image/jpeg"


def test_without_the_sites_address_rss_carries_no_itunes_tags(make_config):
    from feedhub.model import Enclosure, Episode

    config = make_config()
    with Store(config.database) as store:
        filing.add(store, story(1, episode=Episode(3), enclosures=(Enclosure("https://cdn.test/3.mp3", duration=60),)))
    rss = create_app(config).test_client().get("/feeds/business.rss").data
    assert b"itunes" not in rss  # the validator would ask for an itunes:owner address
    [content] = etree.fromstring(rss).iter(f"{MEDIA}content")
    assert content.get("duration") == "60", "the duration goes in Media RSS instead"


def test_opml_lists_every_category_feed(client):
    response = client.get("/opml")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/x-opml")
    root = etree.fromstring(response.data)
    assert root.get("version") == "2.0" and root.findtext("head/title") == "Test Hub"
    outlines = opml.read(response.data)
    assert [o.xml_url for o in outlines] == [
        f"http://feeds.test/feeds/{key}.rss" for key in ("international", "technology", "business", "sports")
    ]
    for outline in outlines:
        assert outline.text.startswith("Test Hub: ") and outline.type == "rss"
        for url in (outline.xml_url, outline.html_url):
            assert client.get(url.removeprefix("http://feeds.test")).status_code == 200, url


def test_opml_reader_finds_feeds_in_folders_and_reports_bad_files():
    document = b"""<?xml version="1.0"?><opml version="2.0"><head/><body>
      <outline text="News"><outline text="Wire" type="rss" xmlUrl="https://w.test/rss"/></outline>
      <outline text="Tech" xmlUrl="https://t.test/atom" category="technology"/></body></opml>"""
    assert opml.read(document) == [
        opml.Outline(text="Wire", xml_url="https://w.test/rss", category="News"),
        opml.Outline(text="Tech", xml_url="https://t.test/atom", category="technology"),
    ]
    with pytest.raises(opml.OpmlError, match=r"subs.opml:1: not well-formed XML"):
        opml.read(b"<opml><body>", "subs.opml")
    with pytest.raises(opml.OpmlError, match="expected an <opml> document"):
        opml.read(b"<rss/>")


class _Heads(HTMLParser):
    def __init__(self):
        super().__init__()
        self.alternates = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "alternate":
            self.alternates.append((attrs["type"], attrs["href"]))


def test_index_page_advertises_every_feed_for_autodiscovery(client):
    heads = _Heads()
    heads.feed(client.get("/").get_data(as_text=True))
    for key in ("international", "technology", "business", "sports"):
        for fmt, mime in (("rss", "application/rss+xml"), ("atom", "application/atom+xml"), ("json", "application/feed+json")):
            href = f"http://feeds.test/feeds/{key}.{fmt}"
            assert (mime, href) in heads.alternates
            assert client.get(href.removeprefix("http://feeds.test")).status_code == 200
