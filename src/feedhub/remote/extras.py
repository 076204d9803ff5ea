"""What feedparser's entries drop or mangle, read from the XML itself.

feedparser gives each entry as a dict, right for most fields.  A few it gets
wrong, and those are read here, item by item, with lxml:

- authors: an address is cut after four letters of its last label
  ("ed@radio.example" -> "ed@radio.exam", the rest glued to the name), and a
  later Atom author is given the address of the one before;
- media files: an Atom enclosure without a type becomes text/html (every
  link's default); an MRSS caption (media:description) becomes the item's
  content or summary, and its credits one list for the whole item;
- iTunes tags: itunes:explicit "true" (what Apple asks for) reads as
  unknown, and itunes:summary takes the RSS description's place, or the
  content:encoded's.

parse.parse puts an ``EntryExtras`` in every entry it can (under KEY), and
jsonfeed.py one in every JSON Feed entry, so to_item reads either alike.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Iterable, Iterator

from lxml import etree

from .. import media
from ..model import Episode, Person
from ..sanitize import plain_text, web_url

KEY = "feedhub_extras"  # the entry key an EntryExtras is under
# Namespaces by what they are, whatever spelling a feed uses.
PREFIXES = {
    "": "", "http://purl.org/rss/1.0/": "", "http://my.netscape.com/rdf/simple/0.9/": "",
    "http://backend.userland.com/rss2": "",
    "http://www.w3.org/2005/atom": "atom", "http://purl.org/atom/ns#": "atom",
    "http://search.yahoo.com/mrss/": "media", "http://search.yahoo.com/mrss": "media",
    "http://www.itunes.com/dtds/podcast-1.0.dtd": "itunes", "http://example.com/dtds/podcast-1.0.dtd": "itunes",
    "http://purl.org/dc/elements/1.1/": "dc",
}
# Items and entries of RSS 0.9x/2.0, 1.0 and 0.90, Atom 1.0 and 0.3: what feedparser makes entries of.
ITEM_TAGS = ("item", "{http://purl.org/rss/1.0/}item", "{http://my.netscape.com/rdf/simple/0.9/}item",
             "{http://backend.userland.com/rss2}item", "{http://www.w3.org/2005/Atom}entry",
             "{http://purl.org/atom/ns#}entry")
CAPTION_TAGS = ("{http://search.yahoo.com/mrss/}description", "{http://search.yahoo.com/mrss}description")
EPISODE_KINDS = {"full", "trailer", "bonus"}
EXPLICIT = {"true": True, "yes": True, "explicit": True, "false": False, "no": False, "clean": False}


@dataclass(frozen=True)
class RawMedia:
    """A media file as the document says it, unchecked (media.enclosure checks
    it); `base` is what a relative URL is relative to, "" when unknown."""

    url: str
    type: str = ""
    size: str = ""
    medium: str = ""
    base: str = ""
    duration: str = ""
    title: str = ""
    caption: str = ""  # plain text
    credits: tuple[str, ...] = ()
    default: bool = False  # MRSS isDefault: the publisher's first choice


@dataclass(frozen=True)
class EntryExtras:
    """What an entry carries that feedparser's dict gets wrong."""

    authors: tuple[Person, ...] = ()
    media: tuple[RawMedia, ...] = ()
    # Every media:description of the item as written: text the item's body
    # (content, summary) must never be taken from.
    captions: frozenset[str] = frozenset()
    # Its itunes:summary and itunes:subtitle: a summary when there is no
    # other, never the content.
    summaries: frozenset[str] = frozenset()
    episode: Episode = Episode()
    duration: str = ""  # itunes:duration, as written
    description: str | None = None  # RSS <description> (HTML), None when it has none
    related: str = ""  # the page the item is about (Atom's rel="related", JSON Feed's external_url)


def read(body: bytes, encoding: str | None, url: str | None) -> list[EntryExtras] | None:
    """The extras of each item or entry of a feed document, in document
    order; None when lxml cannot read the document as feedparser did."""
    # In the encoding feedparser read it in (a document whose declaration
    # was wrong is read as what it really is).  Entities declared in the
    # document are expanded (parse.py refused those that would blow up),
    # external ones never: such a document is not read here, and its
    # entries keep what feedparser gave.
    parser = etree.XMLParser(  # lxml-stubs predate resolve_entities="internal" (lxml 5)
        encoding=encoding or None, resolve_entities="internal", no_network=True, load_dtd=False,  # type: ignore[arg-type]
        huge_tree=False)
    try:
        root = etree.fromstring(body, parser, **({"base_url": url} if url else {}))
    except (etree.XMLSyntaxError, LookupError, ValueError):
        return None
    feed_authors = tuple(_atom_person(child) for child in _children(root, "atom:author"))
    return [_extras(item, feed_authors) for item in root.iter(*ITEM_TAGS)]


@functools.lru_cache(maxsize=1024)
def _tag_name(tag: str) -> str:
    qname = etree.QName(tag)
    prefix = PREFIXES.get((qname.namespace or "").lower(), "?")
    return f"{prefix}:{qname.localname}" if prefix else qname.localname


def _name(element: etree._Element) -> str:
    """"prefix:local" by the PREFIXES above, "?:local" in another namespace
    ("" for a comment or processing instruction)."""
    return _tag_name(element.tag) if isinstance(element.tag, str) else ""


def _children(element: etree._Element, *names: str) -> Iterator[etree._Element]:
    for child in element:
        if _name(child) in names:
            yield child


def _by_name(element: etree._Element) -> dict[str, list[etree._Element]]:
    """An element's children by name, read once."""
    found: dict[str, list[etree._Element]] = {}
    for child in element:
        found.setdefault(_name(child), []).append(child)
    return found


def _text(element: etree._Element | None) -> str:
    return "".join(map(str, element.itertext())).strip() if element is not None else ""


def _first(element: etree._Element, name: str) -> str:
    return next((_text(child) for child in _children(element, name)), "")


def _extras(item: etree._Element, feed_authors: tuple[Person, ...]) -> EntryExtras:
    kids = _by_name(item)
    authors = _authors(kids)
    if not authors and _name(item) == "atom:entry":
        # RFC 4287 4.2.1: an entry without authors has its source's or its feed's.
        sources = kids.get("atom:source", [])
        authors = [_atom_person(a) for a in _children(sources[0], "atom:author")] if sources else []
        authors = authors or list(feed_authors)
    files = [*_enclosures(kids), *_mrss(item, Caption())]
    descriptions = [child for child in kids.get("description", []) if not len(child)]
    links = kids.get("atom:link", [])
    return EntryExtras(
        authors=tuple(authors),
        # MRSS: the publisher's default rendition first (the rest in document order).
        media=tuple(sorted(files, key=lambda file: not file.default)),
        captions=frozenset(_text(caption) for caption in item.iter(*CAPTION_TAGS)),
        summaries=frozenset(_text(child) for name in ("itunes:summary", "itunes:subtitle") for child in kids.get(name, [])),
        episode=_episode(kids),
        duration=_said(kids, "itunes:duration"),
        description=(descriptions[0].text or "") if descriptions and _name(item) == "item" else None,
        related=next((web_url(link.get("href"), link.base) for link in links if link.get("rel") == "related"), ""),
    )


def _said(kids: dict[str, list[etree._Element]], name: str) -> str:
    """The text of the first child called `name`, "" when there is none."""
    return _text(kids[name][0]) if name in kids else ""


def _authors(kids: dict[str, list[etree._Element]]) -> list[Person]:
    found = [_atom_person(child) if name == "atom:author" else media.person(_text(child))
             for name in ("author", "atom:author", "dc:creator") for child in kids.get(name, [])]
    # itunes:author is a podcast's credit line ("A, B & C"), which most
    # episodes with authors of their own repeat: read when there are none.
    return found or [Person(_text(child)) for child in kids.get("itunes:author", [])]


def _atom_person(element: etree._Element) -> Person:
    return Person(_first(element, "atom:name"), _first(element, "atom:email"),
                  _first(element, "atom:uri") or _first(element, "atom:url"))


def _enclosures(kids: dict[str, list[etree._Element]]) -> Iterator[RawMedia]:
    for child in kids.get("enclosure", []):
        yield RawMedia(child.get("url", ""), child.get("type", ""), child.get("length", ""), base=child.base or "")
    for child in kids.get("atom:link", []):
        if child.get("rel") == "enclosure":
            yield RawMedia(child.get("href", ""), child.get("type", ""), child.get("length", ""), base=child.base or "",
                           title=child.get("title", ""))


@dataclass(frozen=True)
class Caption:
    """MRSS title, description and credits, which apply from the item or
    group they are written in down to each media:content without its own."""

    title: str = ""
    caption: str = ""
    credits: tuple[str, ...] = ()

    def within(self, element: etree._Element) -> "Caption":
        title = next((_plain(child) for child in _children(element, "media:title")), "")
        caption = next((_plain(child) for child in _children(element, "media:description")), "")
        credits = tuple(filter(None, (_text(child) for child in _children(element, "media:credit"))))
        return Caption(title or self.title, caption or self.caption, credits or self.credits)


def _plain(element: etree._Element) -> str:
    # MRSS text is plain unless type="html".
    return plain_text(_text(element)) if element.get("type") == "html" else " ".join(_text(element).split())


def _mrss(element: etree._Element, outer: Caption) -> Iterable[RawMedia]:
    here = outer.within(element)
    for child in _children(element, "media:content", "media:group"):
        if _name(child) == "media:group":
            yield from _mrss(child, here)
        elif child.get("url"):
            own = here.within(child)
            yield RawMedia(
                child.get("url", ""), child.get("type", ""), child.get("fileSize", ""), child.get("medium", ""),
                child.base or "", child.get("duration", ""), own.title, own.caption, own.credits,
                child.get("isDefault", "").lower() == "true",
            )


def _episode(kids: dict[str, list[etree._Element]]) -> Episode:
    kind = _said(kids, "itunes:episodeType").lower()
    return Episode(
        _positive(_said(kids, "itunes:episode")), _positive(_said(kids, "itunes:season")),
        kind if kind in EPISODE_KINDS else "", EXPLICIT.get(_said(kids, "itunes:explicit").lower()),
    )


def _positive(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None
