"""What feedgen 1.0 cannot write, as feedgen extensions.

- RSS: the channel's hub and paging links (feedgen's RSS writer emits only
  the self atom:link), and an item's related page as an atom:link;
- Atom: enclosure links with their type, length and title (feedgen's entry
  links lose every attribute but href), the comments link (RFC 4685
  rel="replies") and the related page (rel="related");
- both: Media RSS (https://www.rssboard.org/media-rss): each media file's
  title, caption (media:description), credits and duration, the picture
  (media:thumbnail) and its caption and credit;
- RSS: Apple's podcast tags (itunes:duration, episode, season, episodeType,
  explicit, image, author) on episodes, with the channel tags the W3C feed
  validator asks of a feed that has them (itunes:category, explicit, owner);
- Atom: RFC 6721 at:deleted-entry elements for withdrawn items.

Atom elements are written unqualified: feedgen's are, under a default xmlns.
"""

from __future__ import annotations

from typing import Sequence

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from lxml import etree

from .. import media
from ..model import Enclosure, from_iso
from ..store import DeletedEntry
from .extras import Extras

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_NS = "http://search.yahoo.com/mrss/"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
TOMBSTONES_NS = "http://purl.org/atompub/tombstones/1.0"  # RFC 6721
DELETED_COMMENT = "This story was withdrawn."
# The file types an Apple podcast episode may have, as the W3C validator
# reads them off the enclosure's URL (it warns about an episode in another).
APPLE_FORMATS = {"m4a", "mp3", "mov", "mp4", "m4v", "pdf", "epub"}
# The podcast category of every channel with episodes: feedhub serves news.
ITUNES_CATEGORY = "News"


def episode_file(extras: Extras) -> Enclosure | None:
    """The file an item is a podcast episode of in RSS (its <enclosure>),
    when it is sound or video Apple takes and there is an iTunes tag to say."""
    if not extras.enclosures:
        return None
    best = extras.enclosures[0]
    said = extras.episode or best.duration is not None
    if not said or media.kind(best) not in ("audio", "video") or best.url.split(".")[-1] not in APPLE_FORMATS:
        return None
    return best


# feedgen ships no types, so its extension bases are Any to mypy.
class RssChannel(BaseExtension):  # type: ignore[misc]
    """Channel links feedgen leaves out, and the iTunes channel tags."""

    def __init__(self) -> None:
        self.links: list[tuple[str, str]] = []
        self.owner: tuple[str, str] | None = None  # (name, email) when the channel has episodes
        self.explicit = False

    def extend_ns(self) -> dict[str, str]:
        return {"atom": ATOM_NS, "media": MEDIA_NS, **({"itunes": ITUNES_NS} if self.owner else {})}

    def extend_rss(self, rss: etree._Element) -> etree._Element:
        channel = rss.find("channel")
        # feedgen's RSS always has its channel, and the self link _xml_feed gave it.
        assert channel is not None
        self_link = channel.find(f"{{{ATOM_NS}}}link")
        assert self_link is not None
        for offset, (rel, href) in enumerate(self.links, start=1):
            link = etree.Element(f"{{{ATOM_NS}}}link", href=href, rel=rel)
            channel.insert(channel.index(self_link) + offset, link)
        if self.owner:
            name, email = self.owner
            _add(channel, ITUNES_NS, "explicit", "true" if self.explicit else "false")
            etree.SubElement(channel, f"{{{ITUNES_NS}}}category", text=ITUNES_CATEGORY)
            owner = etree.SubElement(channel, f"{{{ITUNES_NS}}}owner")
            _add(owner, ITUNES_NS, "name", name)
            _add(owner, ITUNES_NS, "email", email)
        return rss


class AtomFeed(BaseExtension):  # type: ignore[misc]  # feedgen's base: Any, as above
    """The feed's RFC 6721 at:deleted-entry elements, one per withdrawn item:
    `ref` the entry's id, `when` its withdrawal, a comment saying what
    happened (never why: a reason may be a legal matter), and the link it
    had.  The namespace is declared only in a feed that uses it."""

    def __init__(self) -> None:
        self.deleted: Sequence[DeletedEntry] = ()

    def extend_ns(self) -> dict[str, str]:
        return {"media": MEDIA_NS, **({"at": TOMBSTONES_NS} if self.deleted else {})}

    def extend_atom(self, feed: etree._Element) -> etree._Element:
        for gone in self.deleted:
            when = from_iso(gone.withdrawn).isoformat().replace("+00:00", "Z")
            element = etree.SubElement(feed, f"{{{TOMBSTONES_NS}}}deleted-entry", ref=f"urn:uuid:{gone.id}", when=when)
            _add(element, TOMBSTONES_NS, "comment", DELETED_COMMENT)
            if gone.link:
                etree.SubElement(element, "link", rel="alternate", href=gone.link)
        return feed


class EntryMedia(BaseEntryExtension):  # type: ignore[misc]  # feedgen's base: Any, as above
    """An entry's media files, picture, links and (RSS) iTunes tags."""

    def __init__(self) -> None:
        self.extras: Extras | None = None
        self.itunes = False  # write the iTunes tags (the channel has its owner)

    def extend_rss(self, item: etree._Element) -> etree._Element:
        extras = self.extras
        assert extras is not None  # _add_entry sets it on every entry
        if extras.related:
            etree.SubElement(item, f"{{{ATOM_NS}}}link", rel="related", type="text/html", href=extras.related)
        best, *rest = extras.enclosures or (None,)
        episode = episode_file(extras) if self.itunes else None
        said = best is not None and (best.title or best.caption or best.credits)
        if best is not None and (said or (best.duration is not None and not episode)):
            rest.insert(0, best)  # only MRSS can say these of the <enclosure>
        # Not reordered as in Atom: the validator wants the description
        # before content:encoded, so feedparser takes an item's last caption
        # for its summary (its content stays right; see docs/fields.md).
        _mrss(item, [file for file in rest if file is not None], extras)
        if episode is not None:
            self._itunes(item, extras, episode)
        return item

    def _itunes(self, item: etree._Element, extras: Extras, episode: Enclosure) -> None:
        names = [person.name for person in extras.authors if person.name]
        if len(names) == 1:  # feedparser would read "A, B" as a third author
            _add(item, ITUNES_NS, "author", names[0][:255])
        if episode.duration is not None:
            _add(item, ITUNES_NS, "duration", str(episode.duration))
        if extras.image:
            etree.SubElement(item, f"{{{ITUNES_NS}}}image", href=extras.image)
        tags = extras.episode
        for name, value in (("episode", tags.number), ("season", tags.season), ("episodeType", tags.kind)):
            if value:
                _add(item, ITUNES_NS, name, str(value))
        if tags.explicit is not None:
            _add(item, ITUNES_NS, "explicit", "true" if tags.explicit else "false")

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        extras = self.extras
        assert extras is not None  # _add_entry sets it on every entry
        for file in extras.enclosures:
            link = etree.SubElement(entry, "link", rel="enclosure", href=file.url)
            if kind := media.guessed_type(file):  # Atom lets an unknown type go unsaid
                link.set("type", kind)
            if file.length is not None:
                link.set("length", str(file.length))
            if file.title:
                link.set("title", file.title)
        if extras.comments:
            etree.SubElement(entry, "link", rel="replies", type="text/html", href=extras.comments)
        if extras.related:
            etree.SubElement(entry, "link", rel="related", type="text/html", href=extras.related)
        # Atom's links carry no caption, credit or duration: MRSS does.
        _mrss(entry, [f for f in extras.enclosures if f.caption or f.credits or f.duration is not None], extras)
        # The summary last: feedparser takes each media:description (and a
        # content after the summary) for the summary, unless the real one
        # comes after them.
        if (summary := entry.find("summary")) is not None:
            entry.append(summary)
        return entry


def _mrss(parent: etree._Element, files: Sequence[Enclosure], extras: Extras) -> None:
    """media:content for each of `files` and the picture's caption, and the picture's media:thumbnail."""
    picture = extras.picture()
    for file in [*files, *([picture] if picture else [])]:
        content = etree.SubElement(parent, f"{{{MEDIA_NS}}}content", url=file.url)
        if kind := media.guessed_type(file):
            content.set("type", kind)
        if file.length is not None:
            content.set("fileSize", str(file.length))
        if file.medium:
            content.set("medium", file.medium)
        if file.duration is not None:
            content.set("duration", str(file.duration))
        for name, text in (("title", file.title), ("description", file.caption)):
            if text:
                _add(content, MEDIA_NS, name, text).set("type", "plain")
        for credit in file.credits:
            _add(content, MEDIA_NS, "credit", credit)
    if extras.image:
        etree.SubElement(parent, f"{{{MEDIA_NS}}}thumbnail", url=extras.image)


def _add(parent: etree._Element, namespace: str, name: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{namespace}}}{name}")
    element.text = text
    return element
