"""Stored items of a category as RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents.

Each document is one RFC 5005 page of the category: page 1 is the newest
``feed_size`` items (what readers subscribe to), and every page links to the
first, last, previous and next ones so a subscriber can read further back.
RSS and Atom are made with feedgen; the links feedgen's RSS writer leaves out
(hub and paging) are added by a small feedgen extension.  Output depends only
on the configuration and the stored rows, so every server process renders
the same bytes for the same category version.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from feedgen.ext.base import BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from . import __version__
from .config import Config
from .items import from_iso
from .store import Store

FORMATS = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ATOM_NS = "http://www.w3.org/2005/Atom"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
# Characters XML 1.0 forbids; one stray control character from a source feed
# must not make a whole feed unparseable (or unrenderable: lxml refuses them).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# "jane@example.com (Jane Doe)" (RSS) or "Jane Doe <jane@example.com>".
EMAIL_NAME = re.compile(r"^\s*([^\s@()]+@[^\s()]+)\s*\((.+)\)\s*$")
NAME_EMAIL = re.compile(r"^\s*(.+?)\s*<([^\s@<>]+@[^\s<>]+)>\s*$")


@dataclass(frozen=True)
class Page:
    """Page `number` of a category whose items fill `last` pages."""

    number: int = 1
    last: int = 1


def page_count(total_items: int, page_size: int) -> int:
    return max(1, -(-total_items // page_size))


def feed_url(config: Config, category: str, fmt: str, page: int = 1) -> str:
    """The public URL of a feed; page 1 is the plain URL readers subscribe to."""
    url = f"{config.site.link}/feeds/{category}.{fmt}"
    return url if page == 1 else f"{url}?page={page}"


def hubs(config: Config, category: str) -> list[str]:
    """The WebSub hubs of a category's feeds: none for a private one, which
    a hub could not fetch and should not learn of."""
    return [] if config.categories[category].private else config.hubs


def page_url(config: Config, category: str) -> str:
    """The category's HTML page, the feeds' rel="alternate"."""
    return f"{config.site.link}/c/{category}"


def links(config: Config, category: str, fmt: str, page: Page) -> dict[str, str]:
    """RFC 5005 paging links of one page, plus its own address (rel -> href)."""
    found = {
        "self": feed_url(config, category, fmt, page.number),
        "first": feed_url(config, category, fmt, 1),
        "last": feed_url(config, category, fmt, page.last),
    }
    if page.number > 1:
        found["previous"] = feed_url(config, category, fmt, page.number - 1)
    if page.number < page.last:
        found["next"] = feed_url(config, category, fmt, page.number + 1)
    return found


def render(config: Config, store: Store, category: str, fmt: str) -> bytes:
    """The first page of a category's feed, read from the store now (the web
    app serves it through feedcache instead)."""
    items = store.items(category, limit=config.feed_size)
    last = page_count(store.count("items", category=category), config.feed_size)
    return build(config, category, items, fmt, Page(1, last))


def build(config: Config, category: str, items: list[dict], fmt: str, page: Page = Page()) -> bytes:
    """One page of a category's feed, `items` newest first."""
    items = [_clean(row) for row in items]
    if fmt == "json":
        return _json_feed(config, category, items, page)
    return _xml_feed(config, category, items, fmt, page)


# -- RSS 2.0 and Atom 1.0 -------------------------------------------------------


class _ExtraLinks(BaseExtension):
    """feedgen's RSS writer emits only the self atom:link; add the others."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str]] = []

    def extend_ns(self) -> dict:
        return {"atom": ATOM_NS}

    def extend_rss(self, rss):
        channel = rss.find("channel")
        self_link = channel.find(f"{{{ATOM_NS}}}link")
        for offset, (rel, href) in enumerate(self.links, start=1):
            link = etree.Element(f"{{{ATOM_NS}}}link", href=href, rel=rel)
            channel.insert(channel.index(self_link) + offset, link)
        return rss


def _xml_feed(config: Config, category: str, items: list[dict], fmt: str, page: Page) -> bytes:
    site, meta = config.site, config.categories[category]
    pages = links(config, category, fmt, page)
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.register_extension("feedhub_links", _ExtraLinks, atom=False, rss=True)
    # The Atom id names the category's feed as a whole, the same on every page.
    fg.id(feed_url(config, category, "atom"))
    fg.title(f"{site.title}: {meta.title}")
    fg.description(meta.description or meta.title)  # RSS <description>, Atom <subtitle>
    fg.link(href=pages.pop("self"), rel="self", type=FORMATS[fmt].split(";")[0])
    extra = [("hub", hub) for hub in hubs(config, category)] + list(pages.items())
    for rel, href in extra:
        fg.link(href=href, rel=rel)
    fg.feedhub_links.links = extra
    # feedgen uses the last link as RSS's <channel><link>: the page, not the feed.
    fg.link(href=page_url(config, category), rel="alternate", type="text/html")
    fg.language(site.language)  # RSS <language>, Atom xml:lang
    fg.author({"name": site.title})
    fg.generator("feedhub", __version__)
    fg.updated(max((_updated(row) for row in items), default=EPOCH))  # also RSS lastBuildDate
    for row in items:
        _add_entry(fg, site.title, row)
    if fmt == "rss":
        return fg.rss_str(pretty=False)
    return fg.atom_str(pretty=False)


def _add_entry(fg: FeedGenerator, site_title: str, row: dict) -> None:
    entry = fg.add_entry(order="append")
    entry.id(f"urn:uuid:{row['id']}")
    entry.guid(f"urn:uuid:{row['id']}", permalink=False)
    entry.title(row["title"])
    if row["link"]:
        entry.link(href=row["link"], rel="alternate")
    entry.published(from_iso(row["published"]))
    entry.updated(_updated(row))
    if row["summary"]:
        entry.summary(row["summary"])  # RSS <description> too
    if row["content"]:
        entry.content(row["content"], type="html")
    elif not row["link"]:
        # Atom: an entry with no alternate link must carry content.
        entry.content(row["summary"] or row["title"], type="text")
    name, email = _person(row["author"])
    if name:
        entry.dc.dc_creator(name)
    # Every Atom entry names an author; the site vouches for unsigned ones.
    entry.author({"name": name or site_title, **({"email": email} if email else {})})


# -- JSON Feed 1.1 --------------------------------------------------------------


def _json_feed(config: Config, category: str, items: list[dict], page: Page) -> bytes:
    site, meta = config.site, config.categories[category]
    pages = links(config, category, "json", page)
    document = {
        "version": JSON_FEED_VERSION,
        "title": f"{site.title}: {meta.title}",
        "home_page_url": page_url(config, category),
        "feed_url": pages["self"],
        "description": meta.description or meta.title,
        "language": site.language,
        "authors": [{"name": site.title}],
    }
    if hubs(config, category):
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in hubs(config, category)]
    if "next" in pages:
        document["next_url"] = pages["next"]
    # JSON Feed has only next_url; the other RFC 5005 links go in an extension.
    document["_rfc5005"] = {"about": "https://www.rfc-editor.org/rfc/rfc5005", **pages}
    document["items"] = [_json_item(site.title, row) for row in items]
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_item(site_title: str, row: dict) -> dict:
    item = {"id": f"urn:uuid:{row['id']}", "title": row["title"]}
    if row["link"]:
        item["url"] = row["link"]
    if row["content"]:
        item["content_html"] = row["content"]
    else:
        item["content_text"] = row["summary"] or row["title"]
    if row["summary"]:
        item["summary"] = row["summary"]
    item["date_published"] = from_iso(row["published"]).isoformat()
    item["date_modified"] = _updated(row).isoformat()
    name, _ = _person(row["author"])
    item["authors"] = [{"name": name or site_title}]
    return item


# -- helpers ------------------------------------------------------------------


def _clean(row: dict) -> dict:
    return {key: NOT_XML.sub("", value) if isinstance(value, str) else value for key, value in row.items()}


def _person(author: str | None) -> tuple[str, str]:
    """(name, email) of an author string; email is "" when there is none."""
    author = (author or "").strip()
    if match := EMAIL_NAME.match(author):
        return match.group(2).strip(), match.group(1)
    if match := NAME_EMAIL.match(author):
        return match.group(1), match.group(2)
    return author, ""


def _updated(row: dict) -> datetime:
    return from_iso(row["updated"] or row["published"])
