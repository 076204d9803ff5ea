"""What goes in comes out (issue 25): every field of every source feed in
tests/data/roundtrip, ingested over HTTP, served by feedhub under a real
gunicorn as RSS 2.0, Atom 1.0 and JSON Feed 1.1, and read back over HTTP by
the clients people use: feedparser, gPodder's podcastparser, the `reader`
library and newsboat (headless: `-x reload`, then its cache database); and
each document as its specs say ("spec": RSS 2.0 with Media RSS and Apple's
iTunes tags, Atom 1.0 with Media RSS, JSON Feed 1.1), to show what the
format itself carries.

tests/data/roundtrip/expected.yaml says what each item must yield.  Every
field, in every format, read by every client, must come back as expected,
except where this file says why not: a format with no place for the field
(NOT_CARRIED), or a client that does not read what the format carries
(NOT_READ; some only for some items, SOMETIMES_UNREAD).  Each such absence
must be real: some item where the field is expected and the client does not
give it.  docs/fields.md lists the same, and a test keeps it so.
"""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import sqlite3
import subprocess
import urllib.request
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Callable

import feedparser
import httpx
import podcastparser
import pytest
import yaml
from helpers import gunicorn, write_config
from loopback import FeedServer
from lxml import etree
from reader import make_reader

from feedhub.config import load_config
from feedhub.ingest.cycle import run_cycle
from feedhub.store import Store

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).parent / "data" / "roundtrip"
EXPECTED: dict[str, dict[str, dict[str, Any]]] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
FORMATS = ("rss", "atom", "json")
# Which client reads which format; a client missing here for a format does not read it at all.
CLIENTS = {"rss": ("spec", "feedparser", "podcastparser", "reader", "newsboat"),
           "atom": ("spec", "feedparser", "podcastparser", "reader", "newsboat"),
           "json": ("spec", "reader")}
UNREAD_FORMATS = {
    ("json", "podcastparser"): "podcastparser reads RSS and Atom only",
    ("json", "feedparser"): "feedparser 6 reads no JSON Feed",
    ("json", "newsboat"): "newsboat 2.21 (Debian's) reads no JSON Feed",
}
ITUNES = ("episode", "season", "episode_type", "explicit")
NOT_CARRIED: dict[tuple[str, str], str] = {
    ("updated", "rss"): "RSS has only pubDate",
    ("emails", "rss"): "RSS's <author> holds one address and not beside dc:creator (the validator warns): "
                       "every name is a dc:creator",
    ("captions", "json"): "JSON Feed attachments have no caption",
    ("credits", "json"): "JSON Feed attachments have no credit",
    ("comments", "json"): "JSON Feed has no comments link",
    ("emails", "json"): "JSON Feed has no address field (feedhub writes mailto: as the url of an author "
                        "without a web page of their own, as the spec allows)",
    **{(field, "atom"): "Apple defines the iTunes tags for RSS only" for field in ITUNES},
    **{(field, "json"): "JSON Feed has no podcast episode fields" for field in ITUNES},
}
_PODCASTPARSER = "podcastparser reads no"
_READER = "reader keeps no"
_NEWSBOAT = "newsboat keeps no"
NOT_READ: dict[tuple[str, str, str], str] = {
    ("emails", "atom", "feedparser"): "feedparser gives a later author the address before it, cut short",
    ("emails", "atom", "reader"): "reader reads Atom with feedparser (addresses as above)",
    ("authors", "rss", "reader"): "reader keeps one author of an RSS item (feedparser's last)",
    ("authors", "atom", "reader"): "reader keeps one author of an Atom entry (feedparser's last)",
    ("files", "rss", "reader"): "reader reads <enclosure> only, not media:content",
    ("summary", "rss", "podcastparser"): "podcastparser takes content:encoded over the description",
    ("summary", "atom", "podcastparser"): "podcastparser takes the content for the description",
    ("authors", "atom", "podcastparser"): "podcastparser reads no Atom author",
    ("duration", "atom", "podcastparser"): "podcastparser reads itunes:duration only (RSS)",
    ("updated", "atom", "podcastparser"): "podcastparser keeps one time: published",
    ("authors", "rss", "newsboat"): "newsboat keeps the last dc:creator only",
    ("captions", "rss", "feedparser"): "feedparser files media:description as entry content, apart from its file",
    ("captions", "atom", "feedparser"): "feedparser files media:description as entry content, apart from its file",
    ("file_titles", "rss", "feedparser"): "feedparser reads no media:title",
    ("explicit", "rss", "feedparser"): "feedparser reads itunes:explicit yes/clean only, not Apple's true/false",
    **{(field, fmt, "podcastparser"): f"{_PODCASTPARSER} {field}" for fmt in ("rss", "atom") for field in (
        "tags", "emails", "file_titles", "captions", "credits", "comments", "related")},
    ("authors", "rss", "podcastparser"): "podcastparser reads itunes:author only, written for episodes by one author",
    **{(field, fmt, "reader"): f"{_READER} {field}" for fmt in FORMATS for field in (
        "tags", "image", "duration", "file_titles", "captions", "credits", "comments", "related", *ITUNES)},
    **{(field, fmt, "newsboat"): f"{_NEWSBOAT} {field}" for fmt in ("rss", "atom") for field in (
        "summary", "updated", "tags", "emails", "image", "file_length", "files", "file_titles", "captions",
        "credits", "duration", "comments", "related", *ITUNES)},
}
NOT_READ = {key: why for key, why in NOT_READ.items() if key[:2] not in NOT_CARRIED}
# Read for some items only: (why, which expected items it is not read for).
_CAPTIONS_IN_RSS = ("feedparser takes an RSS item's last media:description for its summary (the validator wants "
                    "the description before content:encoded, so it cannot come after the captions)")
SOMETIMES_UNREAD: dict[tuple[str, str, str], tuple[str, Callable[[dict[str, Any]], bool]]] = {
    **{(field, fmt, "newsboat"): ("newsboat keeps an enclosure only when it is sound or video",
                                  lambda item: not item.get("file_type", "").startswith(("audio/", "video/")))
       for fmt in ("rss", "atom") for field in ("file", "file_type")},
    ("summary", "rss", "feedparser"): (_CAPTIONS_IN_RSS, lambda item: bool(item.get("captions"))),
}
NEWSBOAT = shutil.which("newsboat")


# -- what the feeds must yield ------------------------------------------------------------


def wanted(item: dict[str, Any]) -> dict[str, Any]:
    """An expected.yaml item as the fields compared (its enclosure split in three)."""
    fields = {key: value for key, value in item.items() if key != "enclosure"}
    if enclosure := item.get("enclosure"):
        fields.update(file=enclosure["url"], file_type=enclosure["type"], file_length=enclosure.get("length"))
    for key in ("published", "updated"):
        if key in fields:
            fields[key] = as_time(fields[key])
    return {key: value for key, value in fields.items() if value not in (None, [], "")}


def as_time(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, tuple):  # a struct_time
        return datetime(*value[:6], tzinfo=timezone.utc)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.astimezone(timezone.utc)


def text_of(markup: str | None) -> str:
    """What a reader shows of HTML: its words."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup or "")).split())


def shown(detail: Any) -> str:
    """A feedparser text construct as shown: HTML's words, or the text itself."""
    if not detail:
        return ""
    return " ".join(detail.value.split()) if detail.type == "text/plain" else text_of(detail.value)


def once(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(value for value in values if value))


def seconds(value: str | None) -> int | None:
    if not value:
        return None
    total = 0
    for part in str(value).split(":"):
        total = total * 60 + int(float(part))
    return total


# -- each client's reading ----------------------------------------------------------------


def feedparser_view(url: str) -> dict[str, dict[str, Any]]:
    parsed = feedparser.parse(url)
    assert not parsed.bozo, parsed.bozo_exception
    view = {}
    for entry in parsed.entries:
        links = entry.get("links", [])
        files = once([e.href for e in entry.get("enclosures", [])] + [c.get("url") for c in entry.get("media_content", [])])
        enclosure = (entry.get("enclosures") or [{}])[0]
        main = next((c for c in entry.get("media_content", []) if c.get("url") == enclosure.get("href")), {})
        view[shown(entry.get("title_detail"))] = {
            "link": entry.get("link"),
            "published": as_time(dict.get(entry, "published_parsed")),
            "updated": as_time(dict.get(entry, "updated_parsed")),
            "summary": shown(entry.get("summary_detail")),
            "body": shown((entry.get("content") or [entry.get("summary_detail")])[0]),
            "authors": once([a.get("name") for a in entry.get("authors", [])]),
            "emails": once([a.get("email") for a in entry.get("authors", [])]),
            "tags": [t.term for t in entry.get("tags", [])],
            "image": (entry.get("media_thumbnail") or [{}])[0].get("url"),
            "file": enclosure.get("href"), "file_type": enclosure.get("type"),
            "file_length": int(enclosure["length"]) if enclosure.get("length") else None,
            "files": files,
            "file_titles": [link.get("title") for link in links if link.rel == "enclosure" and link.get("title")],
            "captions": [],
            "credits": [c.get("content") for c in entry.get("media_credit", [])],
            "duration": seconds(entry.get("itunes_duration") or main.get("duration")),
            "episode": int(entry["itunes_episode"]) if entry.get("itunes_episode") else None,
            "season": int(entry["itunes_season"]) if entry.get("itunes_season") else None,
            "episode_type": entry.get("itunes_episodetype"),
            "explicit": entry.get("itunes_explicit"),
            "comments": entry.get("comments") or next((link.href for link in links if link.rel == "replies"), None),
            "related": next((link.href for link in links if link.rel == "related"), None),
        }
    return view


def podcastparser_view(url: str) -> dict[str, dict[str, Any]]:
    with urllib.request.urlopen(url) as response:
        parsed = podcastparser.parse(url, io.BytesIO(response.read()))
    view = {}
    for episode in parsed["episodes"]:
        enclosure = (episode["enclosures"] or [{}])[0]
        view[episode["title"]] = {
            "link": episode.get("link"),
            "published": as_time(episode.get("published")),
            "summary": episode.get("description") or text_of(episode.get("description_html")),
            "body": text_of(episode.get("description_html")) or episode.get("description"),
            "authors": (episode.get("itunes_author") or "").split(", ") if episode.get("itunes_author") else [],
            "image": episode.get("episode_art_url"),
            "file": enclosure.get("url"), "file_type": enclosure.get("mime_type"),
            "file_length": enclosure.get("file_size") if enclosure.get("file_size", -1) > 0 else None,
            "files": once([e["url"] for e in episode["enclosures"]]),
            "duration": episode.get("total_time") or None,
            "episode": episode.get("number"),
            "season": episode.get("season"),
            "episode_type": episode.get("type"),
            "explicit": episode.get("explicit"),
        }
    return view


def reader_view(url: str, folder: Path, fmt: str) -> dict[str, dict[str, Any]]:
    with make_reader(str(folder / f"reader-{fmt}.sqlite")) as reader:
        reader.add_feed(url)
        reader.update_feeds()
        assert reader.get_feed(url).last_exception is None, reader.get_feed(url).last_exception
        entries = list(reader.get_entries())
    view = {}
    for entry in entries:
        # reader keeps no summary type: it is HTML in RSS, text in Atom (type="text") and JSON Feed.
        summary = text_of(entry.summary) if fmt == "rss" else " ".join((entry.summary or "").split())
        content = entry.content[0] if entry.content else None
        body = (text_of(content.value) if content.type == "text/html" else content.value) if content else summary
        enclosure = entry.enclosures[0] if entry.enclosures else None
        view[entry.title] = {
            "link": entry.link,
            "published": as_time(entry.published),
            "updated": as_time(entry.updated),
            "summary": summary,
            "body": body,
            "authors": once([a.name for a in entry.authors]),
            "emails": once([a.email for a in entry.authors]),
            "file": enclosure and enclosure.href, "file_type": enclosure and enclosure.type,
            "file_length": enclosure and enclosure.length,
            "files": [e.href for e in entry.enclosures],
        }
    return view


def newsboat_view(url: str, folder: Path, fmt: str) -> dict[str, dict[str, Any]]:
    # A cache of its own per feed: newsboat files items by guid alone, and
    # the RSS and Atom feeds share their ids.
    home = folder / f"newsboat-{fmt}"
    home.mkdir()
    (home / "urls").write_text(url + "\n", encoding="utf-8")
    (home / "config").write_text("", encoding="utf-8")
    subprocess.run([NEWSBOAT, "-u", str(home / "urls"), "-c", str(home / "cache.db"), "-C", str(home / "config"),
                    "-x", "reload"], env={"HOME": str(home), "PATH": "/usr/bin:/bin"}, check=True, timeout=60,
                   capture_output=True)
    with sqlite3.connect(home / "cache.db") as db:
        found = db.execute("SELECT title, author, url, pubDate, content, enclosure_url, enclosure_type FROM rss_item")
        return {
            title: {"link": link, "published": as_time(published), "body": text_of(content),
                    "authors": author.split(", ") if author else [], "file": enclosure or None,
                    "file_type": kind or None}
            for title, author, link, published, content, enclosure, kind in found.fetchall()
        }


MRSS = "{http://search.yahoo.com/mrss/}"
ITUNES_NS = "{http://www.itunes.com/dtds/podcast-1.0.dtd}"
ATOM = "{http://www.w3.org/2005/Atom}"
DC_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"


def xml_view(url: str, fmt: str) -> dict[str, dict[str, Any]]:
    """RSS 2.0 or Atom 1.0 as their specs (with Media RSS and iTunes) say, read with lxml."""
    root = etree.fromstring(httpx.get(url).content)
    atom = fmt == "atom"
    view = {}
    for item in root.iter(f"{ATOM}entry" if atom else "item"):
        links = {link.get("rel", "alternate"): link for link in item.findall(f"{ATOM}link")}
        enclosures = ([link for link in item.findall(f"{ATOM}link") if link.get("rel") == "enclosure"] if atom
                      else item.findall("enclosure"))
        main = enclosures[0] if enclosures else None
        main_url = main.get("href" if atom else "url") if main is not None else None
        contents = item.findall(f"{MRSS}content")
        by_url = {content.get("url"): content for content in contents}
        duration = item.findtext(f"{ITUNES_NS}duration") or by_url.get(main_url, etree.Element("x")).get("duration")
        view[atom_text(item.find(f"{ATOM}title")) if atom else item.findtext("title")] = {
            "link": links["alternate"].get("href") if atom else item.findtext("link"),
            "published": as_time(item.findtext(f"{ATOM}published")) if atom else as_time(
                parsedate_to_datetime(item.findtext("pubDate"))),
            "updated": as_time(item.findtext(f"{ATOM}updated")) if atom else None,
            "summary": atom_text(item.find(f"{ATOM}summary")) if atom else text_of(item.findtext("description")),
            "body": atom_text(item.find(f"{ATOM}content")) if atom else text_of(
                item.findtext("{http://purl.org/rss/1.0/modules/content/}encoded") or item.findtext("description")),
            "authors": ([a.findtext(f"{ATOM}name") for a in item.findall(f"{ATOM}author")] if atom
                        else [c.text for c in item.findall(DC_CREATOR)]),
            "emails": once([a.findtext(f"{ATOM}email") for a in item.findall(f"{ATOM}author")]),
            "tags": [c.get("term") if atom else c.text for c in item.findall(f"{ATOM}category" if atom else "category")],
            "image": item.find(f"{MRSS}thumbnail").get("url") if item.find(f"{MRSS}thumbnail") is not None else None,
            "file": main_url, "file_type": main.get("type") if main is not None else None,
            "file_length": int(main.get("length")) if main is not None and main.get("length") else None,
            "files": once([main_url] + [link.get("href" if atom else "url") for link in enclosures]
                          + [content.get("url") for content in contents]),
            "file_titles": once([link.get("title") for link in enclosures if atom]
                                + [content.findtext(f"{MRSS}title") for content in contents]),
            "captions": [c.findtext(f"{MRSS}description") for c in contents if c.find(f"{MRSS}description") is not None],
            "credits": [credit.text for content in contents for credit in content.findall(f"{MRSS}credit")],
            "duration": seconds(duration),
            "episode": int(item.findtext(f"{ITUNES_NS}episode")) if item.findtext(f"{ITUNES_NS}episode") else None,
            "season": int(item.findtext(f"{ITUNES_NS}season")) if item.findtext(f"{ITUNES_NS}season") else None,
            "episode_type": item.findtext(f"{ITUNES_NS}episodeType"),
            "explicit": {"true": True, "false": False}.get(item.findtext(f"{ITUNES_NS}explicit") or ""),
            "comments": links["replies"].get("href") if atom and "replies" in links else item.findtext("comments"),
            "related": links["related"].get("href") if "related" in links else None,
        }
    return view


def atom_text(element: Any) -> str:
    """An Atom text construct as shown: text as it is, HTML's words."""
    if element is None:
        return ""
    return text_of(element.text) if element.get("type") == "html" else " ".join((element.text or "").split())


def json_view(url: str) -> dict[str, dict[str, Any]]:
    """JSON Feed as its spec says, read with json.loads."""
    document = httpx.get(url).json()
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    view = {}
    for item in document["items"]:
        attachments = item.get("attachments", [])
        main = attachments[0] if attachments else {}
        view[item["title"]] = {
            "link": item.get("url"),
            "published": as_time(item.get("date_published")),
            "updated": as_time(item.get("date_modified")),
            "summary": item.get("summary"),
            "body": text_of(item["content_html"]) if "content_html" in item else item.get("content_text"),
            "authors": [a["name"] for a in item.get("authors", [])],
            "emails": [a["url"][len("mailto:"):] for a in item.get("authors", []) if a.get("url", "").startswith("mailto:")],
            "tags": item.get("tags", []),
            "image": item.get("image"),
            "file": main.get("url"), "file_type": main.get("mime_type"), "file_length": main.get("size_in_bytes"),
            "files": [a["url"] for a in attachments],
            "file_titles": [a["title"] for a in attachments if a.get("title")],
            "duration": main.get("duration_in_seconds"),
            "related": item.get("external_url"),
        }
    return view


# -- the round trip -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def readings(tmp_path_factory, databases):
    """{(format, client): {title: fields}} from the served feeds of the whole corpus."""
    assert NEWSBOAT, "newsboat (Debian's package, see .ci/run) is needed to read the feeds back"
    folder = tmp_path_factory.mktemp("roundtrip")
    database = databases.create(folder / "feedhub.db")
    sources = sorted(path.name for path in CORPUS.iterdir() if path.name != "expected.yaml")
    with FeedServer(CORPUS) as server:
        path = write_config(
            folder, database, feed_size=100,
            # The site's address: with it, RSS carries Apple's podcast tags.
            site={"title": "Round Trip", "link": "http://feeds.test", "language": "en", "email": "desk@feeds.test"},
            categories={"roundtrip": {"title": "Round trip"}},
            sources=[server.source(name.replace(".", "-"), name, "roundtrip") for name in sources],
        )
        config = load_config(path)
        with Store(config.database) as store:
            summary = run_cycle(config, store)
    assert not summary.errors, summary.errors
    assert summary.total("new") == sum(len(items) for items in EXPECTED.values())
    found: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    with gunicorn(path, workers=1) as base:
        for fmt in FORMATS:
            url = f"{base}/feeds/roundtrip.{fmt}"
            readers: dict[str, Callable[[], dict[str, dict[str, Any]]]] = {
                "feedparser": lambda: feedparser_view(url),
                "podcastparser": lambda: podcastparser_view(url),
                "reader": lambda: reader_view(url, folder, fmt),
                "newsboat": lambda: newsboat_view(url, folder, fmt),
                "spec": lambda: json_view(url) if fmt == "json" else xml_view(url, fmt),
            }
            for client in CLIENTS[fmt]:
                found[(fmt, client)] = readers[client]()
        for (fmt, client), why in UNREAD_FORMATS.items():
            found[(fmt, f"unread:{client}")] = unread(client, f"{base}/feeds/roundtrip.{fmt}", folder, fmt)
    databases.drop(database)
    return found


def unread(client: str, url: str, folder: Path, fmt: str) -> dict[str, dict[str, Any]]:
    """A client's reading of a format it does not read (nothing, or an error)."""
    try:
        if client == "feedparser":
            return feedparser_view(url)
        if client == "podcastparser":
            return podcastparser_view(url)
        return newsboat_view(url, folder, f"{fmt}-unread")
    except Exception:
        return {}


def agrees(field: str, want: Any, got: Any) -> bool:
    if field == "body":
        return isinstance(got, str) and want in got
    if field == "summary":
        return isinstance(got, str) and " ".join(got.split()) == " ".join(want.split())
    return got == want


def cases() -> list[tuple[str, str, str, str, Any, dict[str, Any]]]:
    """(source file, title, field, format, expected, the whole item) for every
    expected field in every format."""
    return [(source, title, field, fmt, value, fields) for source, items in EXPECTED.items()
            for title, item in items.items() for fields in [wanted(item)]
            for field, value in fields.items() for fmt in FORMATS]


def absent(field: str, fmt: str, client: str, item: dict[str, Any]) -> bool:
    """Whether the tables say `client` cannot get `field` of `item` from `fmt`."""
    sometimes = SOMETIMES_UNREAD.get((field, fmt, client))
    return (field, fmt) in NOT_CARRIED or (field, fmt, client) in NOT_READ or bool(sometimes and sometimes[1](item))


def test_every_field_comes_back_in_every_format_to_every_client(readings):
    problems = []
    for source, title, field, fmt, want, item in cases():
        for client in CLIENTS[fmt]:
            if absent(field, fmt, client, item):
                continue
            entry = readings[(fmt, client)].get(title)
            if entry is None:
                problems.append(f"{source}: {title!r} is missing from {fmt} as {client} reads it")
            elif not agrees(field, want, entry.get(field)):
                problems.append(f"{source}: {title!r} {field} in {fmt}, read by {client}: {entry.get(field)!r}, "
                                f"expected {want!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("absence", sorted(NOT_CARRIED) + sorted(NOT_READ) + sorted(SOMETIMES_UNREAD),
                         ids=lambda key: "-".join(key))
def test_every_absence_is_real(readings, absence):
    """The tables of what is not carried or not read say the truth: the
    field is expected of some item, and the client does not give it."""
    field, fmt, *only = absence
    clients = only or list(CLIENTS[fmt])
    sometimes = SOMETIMES_UNREAD.get(absence)
    expected = [(title, want) for _, title, name, form, want, item in cases()
                if name == field and form == fmt and (not sometimes or sometimes[1](item))]
    assert expected, f"no item of the corpus has {field}: nothing to show about {absence}"
    for client in clients:
        assert any(not agrees(field, want, readings[(fmt, client)].get(title, {}).get(field))
                   for title, want in expected), f"{client} reads {field} from {fmt} after all: {absence} is stale"


@pytest.mark.parametrize("fmt, client", sorted(UNREAD_FORMATS))
def test_clients_that_do_not_read_a_format_get_nothing_from_it(readings, fmt, client):
    assert readings[(fmt, f"unread:{client}")] == {}


FIELD_ORDER = ["title", "link", "published", "updated", "summary", "body", "authors", "emails", "tags", "image",
               "file", "file_type", "file_length", "files", "file_titles", "captions", "credits", "duration",
               "episode", "season", "episode_type", "explicit", "comments", "related"]
DOCS = Path(__file__).parent.parent / "docs" / "fields.md"
TABLE_START, TABLE_END = "<!-- round trip: made by tests/test_roundtrip.py -->", "<!-- end of round trip -->"


def roundtrip_table() -> str:
    """The round-trip table of docs/fields.md, from the tables above: ✓ read
    back, — the format has no place for it, · this client does not read it,
    ◐ read for some items only; then every reason."""
    columns = [(fmt, client) for fmt in FORMATS for client in (*CLIENTS[fmt], *(
        c for f, c in UNREAD_FORMATS if f == fmt))]
    lines = [TABLE_START, "", "| field | " + " | ".join(f"{fmt} {client}" for fmt, client in columns) + " |",
             "|---|" + "---|" * len(columns)]
    for field in FIELD_ORDER:
        cells = []
        for fmt, client in columns:
            if (fmt, client) in UNREAD_FORMATS:
                cells.append("✗")
            elif (field, fmt) in NOT_CARRIED:
                cells.append("—")
            elif (field, fmt, client) in NOT_READ:
                cells.append("·")
            else:
                cells.append("◐" if (field, fmt, client) in SOMETIMES_UNREAD else "✓")
        lines.append(f"| {field} | " + " | ".join(cells) + " |")
    lines += ["", "✓ read back as it came in; — the format has no place for it; · the client does not read it; "
              "◐ for some items only; ✗ the client does not read the format", ""]
    lines += [f"- {fmt}, {client}: {why}" for (fmt, client), why in sorted(UNREAD_FORMATS.items())]
    lines += [f"- {field}, {fmt}: {why}" for (field, fmt), why in sorted(NOT_CARRIED.items())]
    lines += [f"- {field}, {fmt}, {client}: {why}" for (field, fmt, client), why in sorted(NOT_READ.items())]
    lines += [f"- {field}, {fmt}, {client}: {why}" for (field, fmt, client), (why, _) in sorted(SOMETIMES_UNREAD.items())]
    return "\n".join([*lines, "", TABLE_END])


def test_every_compared_field_has_its_row():
    assert {field for _, _, field, *_ in cases()} <= set(FIELD_ORDER)


def test_the_docs_give_the_round_trip_table_as_it_is():
    """docs/fields.md lists what is not carried or read, as the tests find it."""
    text = DOCS.read_text(encoding="utf-8")
    found = text[text.index(TABLE_START):text.index(TABLE_END) + len(TABLE_END)]
    assert found == roundtrip_table(), "docs/fields.md's table is stale; it should read:\n" + roundtrip_table()
