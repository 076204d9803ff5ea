"""Stored items of a category (or of a tag, or a saved search: a Channel) as
RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents.

Each document is one RFC 5005 page of the category: page 1 is the newest
``feed_size`` items (what readers subscribe to), and every page links to the
first, last, previous and next ones so a subscriber can read further back.
Page 1 of an Atom feed also names the category's recently withdrawn items as
RFC 6721 deleted entries; RSS 2.0 and JSON Feed have no such element, and a
withdrawn item simply leaves them.
RSS and Atom are made with feedgen; what it cannot write (paging links in
RSS, enclosure links in Atom, Media RSS, iTunes tags) by the extensions in
feedgen_ext.py.  Output depends only on the configuration and the stored
rows, so every server process renders the same bytes for the same category
version.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any, Sequence
from urllib.parse import quote, urlencode

from feedgen.feed import FeedGenerator

from .. import __version__, media
from ..config import Config
from ..model import Enclosure, Person, from_iso, utcnow
from ..store import DeletedEntry, Store, StoredItem
from .extras import Extras
from .feedgen_ext import AtomFeed, EntryMedia, RssChannel, episode_file

FORMATS = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
# Characters XML 1.0 forbids; one stray control character from a source feed
# must not make a whole feed unparseable (or unrenderable: lxml refuses them).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
# RSS elements of plain text (not HTML): "&", "<" and ">" in them are written
# as hexadecimal character references, the form the RSS Best Practices
# Profile finds every aggregator reads as text (&lt; some take for markup).
RSS_PLAIN_TEXT = re.compile(
    rb"(<(title|category|dc:creator|itunes:author|media:title|media:description|media:credit)\b[^>]*>)([^<]*)(</\2>)")
REFERENCES = {b"&lt;": b"&#x3C;", b"&gt;": b"&#x3E;", b"&amp;": b"&#x26;"}


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


def hubs(config: Config, path: str) -> list[str]:
    """The WebSub hubs of a channel's feeds (`path`: a category key, or
    tag/… and search/…, which hold public items only): none for a private
    category, which a hub could not fetch and should not learn of."""
    meta = config.categories.get(path)
    return [] if meta and meta.private else config.hubs


def page_url(config: Config, category: str) -> str:
    """The category's HTML page, the feeds' rel="alternate"."""
    return f"{config.site.link}/c/{category}"


@dataclass(frozen=True)
class Channel:
    """What a feed is of: a category, a tag or a saved search."""

    path: str  # its feeds are /feeds/<path>.<fmt>
    title: str
    description: str
    page: str  # the HTML page showing the same items, the feeds' rel="alternate"


def category_channel(config: Config, category: str) -> Channel:
    meta = config.categories[category]
    return Channel(category, meta.title, meta.description or meta.title, page_url(config, category))


def tag_channel(config: Config, slug: str, name: str) -> Channel:
    return Channel(f"tag/{quote(slug)}", f"Tagged {name}", f"Stories tagged {name}, in every category",
                   tag_url(config, slug))


def search_channel(config: Config, key: str) -> Channel:
    saved = config.searches[key]
    title = saved.title or f"Search: {saved.query}"
    description = saved.description or f"Stories matching {saved.query}" + (
        f" in {', '.join(config.categories[c].title for c in saved.categories)}" if saved.categories else ""
    )
    return Channel(f"search/{key}", title, description, search_url(config, saved.query, saved.categories))


def search_url(config: Config, query: str, categories: Sequence[str] = ()) -> str:
    """The search page for a query (in some categories)."""
    return f"{config.site.link}/search?" + urlencode([("q", query), *(("category", c) for c in categories)])


def tag_url(config: Config, slug: str) -> str:
    """A tag's HTML page (a slug is in any script, and may hold "#")."""
    return f"{config.site.link}/t/{quote(slug)}"


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


def build(
    config: Config, feed: str | Channel, items: list[StoredItem], fmt: str, page: Page = Page(),
    changed: datetime | None = None, deleted: Sequence[DeletedEntry] = (),
) -> bytes:
    """One page of a feed (a category's key, or a Channel), `items` newest
    first; `deleted`: the withdrawn items it names as deleted (Atom only).
    The feed was updated when its newest item was, or an item was withdrawn;
    a feed with neither when it last `changed` (its category, or feeds.yaml),
    else now."""
    channel = feed if isinstance(feed, Channel) else category_channel(config, feed)
    clean = [_clean(row) for row in items]
    if fmt == "json":
        return _json_feed(config, channel, clean, page)
    times = [*(_updated(row) for row in clean), *(from_iso(gone.withdrawn) for gone in deleted)]
    updated = max(times, default=None) or changed or utcnow().replace(microsecond=0)
    return _xml_feed(config, channel, clean, fmt, page, updated, deleted)


# -- RSS 2.0 and Atom 1.0 -------------------------------------------------------


def _xml_feed(
    config: Config, channel: Channel, items: list[StoredItem], fmt: str, page: Page, updated: datetime,
    deleted: Sequence[DeletedEntry],
) -> bytes:
    site = config.site
    pages = links(config, channel.path, fmt, page)
    extras = [Extras.of(row) for row in items]
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.register_extension("feedhub", RssChannel if fmt == "rss" else AtomFeed, EntryMedia,
                          atom=fmt == "atom", rss=fmt == "rss")
    # The Atom id names the category's feed as a whole, the same on every page.
    fg.id(feed_url(config, channel.path, "atom"))
    fg.title(f"{site.title}: {channel.title}")
    fg.description(channel.description)  # RSS <description>, Atom <subtitle>
    fg.link(href=pages.pop("self"), rel="self", type=FORMATS[fmt].split(";")[0])
    more_links = [("hub", hub) for hub in hubs(config, channel.path)] + list(pages.items())
    for rel, href in more_links:
        fg.link(href=href, rel=rel)
    if fmt == "rss":
        fg.feedhub.links = more_links
        # Apple's podcast tags, when an item is an episode and the site names
        # its owner's address (the validator asks it of a feed with them).
        if site.email and any(episode_file(e) for e in extras):
            fg.feedhub.owner = (site.title, site.email)
            fg.feedhub.explicit = any(e.episode.explicit for e in extras)
    else:
        fg.feedhub.deleted = deleted
    # feedgen uses the last link as RSS's <channel><link>: the page, not the feed.
    fg.link(href=channel.page, rel="alternate", type="text/html")
    fg.language(site.language)  # RSS <language>, Atom xml:lang
    fg.author({"name": site.title})
    fg.generator("feedhub", __version__)
    fg.updated(updated)  # also RSS lastBuildDate
    for row, row_extras in zip(items, extras):
        entry = _add_entry(fg, site.title, row, row_extras, fmt)
        entry.feedhub.extras = row_extras
        entry.feedhub.itunes = fmt == "rss" and fg.feedhub.owner is not None
    if fmt == "atom":
        document: bytes = fg.atom_str(pretty=False)
        return document
    return RSS_PLAIN_TEXT.sub(_references, fg.rss_str(pretty=False))


def _references(match: re.Match[bytes]) -> bytes:
    text = match[3]
    for escaped, reference in REFERENCES.items():
        text = text.replace(escaped, reference)
    return match[1] + text + match[4]


def _add_entry(fg: FeedGenerator, site_title: str, row: StoredItem, extras: Extras, fmt: str) -> Any:
    entry = fg.add_entry(order="append")
    entry.id(f"urn:uuid:{row.id}")
    entry.guid(f"urn:uuid:{row.id}", permalink=False)
    entry.title(row.title)
    if row.link:
        entry.link(href=row.link, rel="alternate")
    entry.published(from_iso(row.published))
    entry.updated(_updated(row))
    if row.summary:
        # The summary is plain text: Atom's <summary> says so.  RSS's
        # <description> is HTML, so there it is escaped ("<kbd>" is text),
        # in a paragraph: readers that guess (podcastparser) take a
        # description without tags for plain text and show "&lt;kbd&gt;".
        entry.summary(f"<p>{html.escape(row.summary, quote=False)}</p>" if fmt == "rss" else row.summary)
    if row.content:
        entry.content(row.content, type="html")
    elif not row.link:
        # Atom: an entry with no alternate link must carry content.
        entry.content(row.summary or row.title, type="text")
    if fmt == "rss":
        # dc:creator per author, never also <author>: the validator warns
        # about the pair on one item, and <author> takes only one address.
        for person in extras.authors:
            entry.dc.dc_creator(person.name or person.email)
        if extras.enclosures:  # RSS allows one <enclosure>: the best; MRSS carries the rest
            best = extras.enclosures[0]
            entry.enclosure(best.url, str(best.length or 0), media.served_type(best))
        if extras.comments:
            entry.comments(extras.comments)
    else:
        # Every Atom entry names an author; the site vouches for unsigned ones.
        entry.author([_atom_person(person) for person in extras.authors] or [{"name": site_title}])
    if extras.tags:
        entry.category([{"term": name} for name in extras.tags])
    return entry


def _atom_person(person: Person) -> dict[str, str]:
    found = {"name": person.name or person.email}
    if person.email:
        found["email"] = person.email
    if person.uri:
        found["uri"] = person.uri
    return found


# -- JSON Feed 1.1 --------------------------------------------------------------


def _json_feed(config: Config, channel: Channel, items: list[StoredItem], page: Page) -> bytes:
    site = config.site
    pages = links(config, channel.path, "json", page)
    document: dict[str, Any] = {
        "version": JSON_FEED_VERSION,
        "title": f"{site.title}: {channel.title}",
        "home_page_url": channel.page,
        "feed_url": pages["self"],
        "description": channel.description,
        "language": site.language,
        "authors": [{"name": site.title}],
    }
    if hubs(config, channel.path):
        document["hubs"] = [{"type": "WebSub", "url": hub} for hub in hubs(config, channel.path)]
    if "next" in pages:
        document["next_url"] = pages["next"]
    # JSON Feed has only next_url; the other RFC 5005 links go in an extension.
    document["_rfc5005"] = {"about": "https://www.rfc-editor.org/rfc/rfc5005", **pages}
    document["items"] = [_json_item(site.title, row) for row in items]
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_item(site_title: str, row: StoredItem) -> dict[str, Any]:
    item: dict[str, Any] = {"id": f"urn:uuid:{row.id}", "title": row.title}
    if row.link:
        item["url"] = row.link
    if row.content:
        item["content_html"] = row.content
    else:
        item["content_text"] = row.summary or row.title
    if row.summary:
        item["summary"] = row.summary
    item["date_published"] = from_iso(row.published).isoformat()
    item["date_modified"] = _updated(row).isoformat()
    extras = Extras.of(row)
    item["authors"] = [_json_person(person) for person in extras.authors] or [{"name": site_title}]
    if extras.tags:
        item["tags"] = list(extras.tags)
    if extras.image:
        item["image"] = extras.image
    if extras.related:
        item["external_url"] = extras.related
    if extras.enclosures:
        item["attachments"] = [_attachment(file) for file in extras.enclosures]
    return item


def _json_person(person: Person) -> dict[str, str]:
    found = {"name": person.name or person.email}
    # JSON Feed has no address field; its spec lets "url" be a mailto: link.
    if person.uri or person.email:
        found["url"] = person.uri or f"mailto:{person.email}"
    return found


def _attachment(file: Enclosure) -> dict[str, str | int]:
    found: dict[str, str | int] = {"url": file.url, "mime_type": media.served_type(file)}
    if file.title:
        found["title"] = file.title
    if file.length is not None:
        found["size_in_bytes"] = file.length
    if file.duration is not None:
        found["duration_in_seconds"] = file.duration
    return found


# -- helpers ------------------------------------------------------------------


_COLUMNS = tuple(column.name for column in fields(StoredItem))


def _clean(row: StoredItem) -> StoredItem:
    """The row without the characters XML cannot carry (a copy only if it had any)."""
    dirty: dict[str, Any] = {
        name: NOT_XML.sub("", value) for name in _COLUMNS
        if isinstance(value := getattr(row, name), str) and NOT_XML.search(value)
    }
    return replace(row, **dirty) if dirty else row


def _updated(row: StoredItem) -> datetime:
    return from_iso(row.updated or row.published)
