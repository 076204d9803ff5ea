"""Stored items of a category (or of a tag, or a saved search: a Channel) as
RSS 2.0, Atom 1.0 and JSON Feed 1.1 documents.

Each document is one RFC 5005 page of the category: page 1 is the newest
``feed_size`` items (what readers subscribe to), and every page links to the
first, last, previous and next ones so a subscriber can read further back.
Page 1 of an Atom feed also names the category's recently withdrawn items as
RFC 6721 deleted entries; RSS 2.0 and JSON Feed have no such element, and a
withdrawn item simply leaves them.
RSS and Atom are made with feedgen; the links feedgen's RSS writer leaves out
(hub and paging) are added by a small feedgen extension.  Output depends only
on the configuration and the stored rows, so every server process renders
the same bytes for the same category version.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields, replace
from datetime import datetime, timezone
from typing import Any, Sequence
from urllib.parse import urlencode

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .. import __version__, media
from ..config import Config
from ..model import Enclosure, Person, from_iso
from ..store import DeletedEntry, Preview, Store, StoredItem

FORMATS = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ATOM_NS = "http://www.w3.org/2005/Atom"
TOMBSTONES_NS = "http://purl.org/atompub/tombstones/1.0"  # RFC 6721
DELETED_COMMENT = "This story was withdrawn."
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
# Characters XML 1.0 forbids; one stray control character from a source feed
# must not make a whole feed unparseable (or unrenderable: lxml refuses them).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


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
    return Channel(f"tag/{slug}", f"Tagged {name}", f"Stories tagged {name}, in every category", tag_url(config, slug))


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
    """A tag's HTML page."""
    return f"{config.site.link}/t/{slug}"


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
    deleted: Sequence[DeletedEntry] = (),
) -> bytes:
    """One page of a feed (a category's key, or a Channel), `items` newest
    first; `deleted`: the withdrawn items it names as deleted (Atom only)."""
    channel = feed if isinstance(feed, Channel) else category_channel(config, feed)
    clean = [_clean(row) for row in items]
    if fmt == "json":
        return _json_feed(config, channel, clean, page)
    return _xml_feed(config, channel, clean, fmt, page, deleted)


# -- RSS 2.0 and Atom 1.0 -------------------------------------------------------


# feedgen ships no types, so its extension bases are Any to mypy.
class _ExtraLinks(BaseExtension):  # type: ignore[misc]
    """feedgen's RSS writer emits only the self atom:link; add the others."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str]] = []

    def extend_ns(self) -> dict[str, str]:
        return {"atom": ATOM_NS}

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        channel = rss.find("channel")
        # feedgen's RSS always has its channel, and the self link _xml_feed gave it.
        assert channel is not None
        self_link = channel.find(f"{{{ATOM_NS}}}link")
        assert self_link is not None
        for offset, (rel, href) in enumerate(self.links, start=1):
            link = etree.Element(f"{{{ATOM_NS}}}link", href=href, rel=rel)
            channel.insert(channel.index(self_link) + offset, link)
        return rss


class _DeletedEntries(BaseExtension):  # type: ignore[misc]  # feedgen's base: Any, as above
    """RFC 6721 at:deleted-entry elements, one per withdrawn item: `ref` the
    entry's id, `when` its withdrawal, a comment saying what happened (never
    why: a reason may be a legal matter), and the link it had."""

    def __init__(self) -> None:
        self.entries: Sequence[DeletedEntry] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"at": TOMBSTONES_NS}

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        for gone in self.entries:
            when = from_iso(gone.withdrawn).isoformat().replace("+00:00", "Z")
            element = etree.SubElement(feed, f"{{{TOMBSTONES_NS}}}deleted-entry", ref=f"urn:uuid:{gone.id}", when=when)
            etree.SubElement(element, f"{{{TOMBSTONES_NS}}}comment").text = DELETED_COMMENT
            if gone.link:
                # feedgen's Atom elements are unqualified under a default xmlns.
                etree.SubElement(element, "link", rel="alternate", href=gone.link)
        return feed


class _Nothing(BaseExtension):  # type: ignore[misc]  # feedgen's base: Any, as above
    """Feed level of an extension that only adds to entries."""


def _xml_feed(
    config: Config, channel: Channel, items: list[StoredItem], fmt: str, page: Page, deleted: Sequence[DeletedEntry]
) -> bytes:
    site = config.site
    pages = links(config, channel.path, fmt, page)
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.load_extension("media", atom=True, rss=True)
    fg.register_extension("feedhub_entry", _Nothing, _EntryLinks, atom=True, rss=False)
    fg.register_extension("feedhub_links", _ExtraLinks, atom=False, rss=True)
    if deleted and fmt == "atom":  # the namespace only where it is used
        fg.register_extension("feedhub_deleted", _DeletedEntries, atom=True, rss=False)
        fg.feedhub_deleted.entries = deleted
    # The Atom id names the category's feed as a whole, the same on every page.
    fg.id(feed_url(config, channel.path, "atom"))
    fg.title(f"{site.title}: {channel.title}")
    fg.description(channel.description)  # RSS <description>, Atom <subtitle>
    fg.link(href=pages.pop("self"), rel="self", type=FORMATS[fmt].split(";")[0])
    extra = [("hub", hub) for hub in hubs(config, channel.path)] + list(pages.items())
    for rel, href in extra:
        fg.link(href=href, rel=rel)
    fg.feedhub_links.links = extra
    # feedgen uses the last link as RSS's <channel><link>: the page, not the feed.
    fg.link(href=channel.page, rel="alternate", type="text/html")
    fg.language(site.language)  # RSS <language>, Atom xml:lang
    fg.author({"name": site.title})
    fg.generator("feedhub", __version__)
    # The document changed when an item did, or when one was withdrawn.  Also RSS lastBuildDate.
    fg.updated(max([*(_updated(row) for row in items), *(from_iso(gone.withdrawn) for gone in deleted)], default=EPOCH))
    for row in items:
        _add_entry(fg, site.title, row, fmt)
    document: bytes = fg.rss_str(pretty=False) if fmt == "rss" else fg.atom_str(pretty=False)
    return document


def _add_entry(fg: FeedGenerator, site_title: str, row: StoredItem, fmt: str) -> None:
    entry = fg.add_entry(order="append")
    entry.id(f"urn:uuid:{row.id}")
    entry.guid(f"urn:uuid:{row.id}", permalink=False)
    entry.title(row.title)
    if row.link:
        entry.link(href=row.link, rel="alternate")
    entry.published(from_iso(row.published))
    entry.updated(_updated(row))
    if row.summary:
        entry.summary(row.summary)  # RSS <description> too
    if row.content:
        entry.content(row.content, type="html")
    elif not row.link:
        # Atom: an entry with no alternate link must carry content.
        entry.content(row.summary or row.title, type="text")
    extras = Extras.of(row)
    if fmt == "rss":
        # dc:creator per author, never also <author>: the validator warns
        # about the pair on one item, and <author> takes only one address.
        for person in extras.authors:
            entry.dc.dc_creator(person.name or person.email)
        if extras.enclosures:  # RSS allows one <enclosure>: the best; MRSS carries the rest
            best, *rest = extras.enclosures
            entry.enclosure(best.url, str(best.length or 0), media.served_type(best))
            for other in rest:
                entry.media.content(_media_content(other), group=None)
        if extras.comments:
            entry.comments(extras.comments)
    else:
        # Every Atom entry names an author; the site vouches for unsigned ones.
        entry.author([_atom_person(person) for person in extras.authors] or [{"name": site_title}])
        entry.feedhub_entry.enclosures = extras.enclosures
        entry.feedhub_entry.replies = extras.comments
    if extras.image:
        entry.media.thumbnail({"url": extras.image}, group=None)
    if extras.tags:
        entry.category([{"term": name} for name in extras.tags])


@dataclass(frozen=True)
class Extras:
    """What a stored row carries beside its text, as it is served."""

    authors: tuple[Person, ...]
    tags: tuple[str, ...]
    image: str
    enclosures: tuple[Enclosure, ...]
    comments: str

    @classmethod
    def of(cls, row: StoredItem | Preview) -> "Extras":
        authors = media.stored_people(row.authors)
        if not authors and row.author and row.author.strip():
            authors = (media.person(row.author),)  # stored before authors were
        return cls(
            authors=authors,
            tags=media.stored_tags(row.tags),
            # An item with no picture of its own shows the first of its content.
            image=row.image or media.first_image(row.content or ""),
            enclosures=media.stored_enclosures(row.enclosures),
            comments=row.comments or "",
        )


def _media_content(file: Enclosure) -> dict[str, str]:
    found = {"url": file.url, "type": media.served_type(file)}
    if file.length is not None:
        found["fileSize"] = str(file.length)
    if file.medium:
        found["medium"] = file.medium
    return found


def _atom_person(person: Person) -> dict[str, str]:
    found = {"name": person.name or person.email}
    if person.email:
        found["email"] = person.email
    if person.uri:
        found["uri"] = person.uri
    return found


class _EntryLinks(BaseEntryExtension):  # type: ignore[misc]  # feedgen's base: Any, as above
    """Atom links feedgen 1.0 cannot write: its entry links lose every
    attribute but href, so enclosures (rel, type, length) and the comments
    link (RFC 4685 rel="replies") are written here."""

    def __init__(self) -> None:
        self.enclosures: tuple[Enclosure, ...] = ()
        self.replies = ""

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        # feedgen's Atom elements are unqualified under a default xmlns.
        for file in self.enclosures:
            link = etree.SubElement(entry, "link", rel="enclosure", type=media.served_type(file), href=file.url)
            if file.length is not None:
                link.set("length", str(file.length))
        if self.replies:
            etree.SubElement(entry, "link", rel="replies", type="text/html", href=self.replies)
        return entry


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
    if extras.enclosures:
        item["attachments"] = [_attachment(file) for file in extras.enclosures]
    return item


def _json_person(person: Person) -> dict[str, str]:
    found = {"name": person.name or person.email}
    if person.uri:
        found["url"] = person.uri
    return found


def _attachment(file: Enclosure) -> dict[str, str | int]:
    found: dict[str, str | int] = {"url": file.url, "mime_type": media.served_type(file)}
    if file.length is not None:
        found["size_in_bytes"] = file.length
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
