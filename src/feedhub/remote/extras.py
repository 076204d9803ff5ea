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
ITEMS = {"item", "atom:entry"}
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
    return [_extras(item, feed_authors) for item in _items(root)]


def _items(root: etree._Element) -> Iterator[etree._Element]:
    for element in root.iter():
        if isinstance(element.tag, str) and _name(element) in ITEMS:
            yield element


def _name(element: etree._Element) -> str:
    """"prefix:local" by the PREFIXES above, "?:local" in another namespace."""
    qname = etree.QName(element)
    prefix = PREFIXES.get((qname.namespace or "").lower(), "?")
    return f"{prefix}:{qname.localname}" if prefix else qname.localname


def _children(element: etree._Element, *names: str) -> Iterator[etree._Element]:
    for child in element:
        if isinstance(child.tag, str) and _name(child) in names:
            yield child


def _text(element: etree._Element | None) -> str:
    return "".join(map(str, element.itertext())).strip() if element is not None else ""


def _first(element: etree._Element, name: str) -> str:
    return next((_text(child) for child in _children(element, name)), "")


def _extras(item: etree._Element, feed_authors: tuple[Person, ...]) -> EntryExtras:
    authors = [*_authors(item)]
    if not authors and _name(item) == "atom:entry":
        # RFC 4287 4.2.1: an entry without authors has its source's or its feed's.
        source = next(_children(item, "atom:source"), None)
        authors = [_atom_person(a) for a in _children(source, "atom:author")] if source is not None else []
        authors = authors or list(feed_authors)
    files = [*_enclosures(item), *_mrss(item, Caption())]
    descriptions = [child for child in _children(item, "description") if not len(child)]
    return EntryExtras(
        authors=tuple(authors),
        # MRSS: the publisher's default rendition first (the rest in document order).
        media=tuple(sorted(files, key=lambda file: not file.default)),
        captions=frozenset(_text(d) for d in item.iter() if isinstance(d.tag, str) and _name(d) == "media:description"),
        summaries=frozenset(_text(child) for child in _children(item, "itunes:summary", "itunes:subtitle")),
        episode=_episode(item),
        duration=_first(item, "itunes:duration"),
        description=(descriptions[0].text or "") if descriptions and _name(item) == "item" else None,
        related=next((web_url(link.get("href"), link.base) for link in _children(item, "atom:link")
                      if link.get("rel") == "related"), ""),
    )


def _authors(item: etree._Element) -> Iterator[Person]:
    for child in _children(item, "author", "atom:author", "dc:creator", "itunes:author"):
        if _name(child) == "atom:author":
            yield _atom_person(child)
        else:
            yield media.person(_text(child))


def _atom_person(element: etree._Element) -> Person:
    return Person(_first(element, "atom:name"), _first(element, "atom:email"),
                  _first(element, "atom:uri") or _first(element, "atom:url"))


def _enclosures(item: etree._Element) -> Iterator[RawMedia]:
    for child in _children(item, "enclosure", "atom:link"):
        if _name(child) == "enclosure":
            yield RawMedia(child.get("url", ""), child.get("type", ""), child.get("length", ""), base=child.base or "")
        elif child.get("rel") == "enclosure":
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


def _episode(item: etree._Element) -> Episode:
    kind = _first(item, "itunes:episodeType").lower()
    return Episode(
        _positive(_first(item, "itunes:episode")), _positive(_first(item, "itunes:season")),
        kind if kind in EPISODE_KINDS else "", EXPLICIT.get(_first(item, "itunes:explicit").lower()),
    )


def _positive(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) < 2**31 else None
