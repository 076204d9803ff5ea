"""A parsed feed entry as an Item.

The entries are the dicts feedparser gives (remote.parse), or JSON Feed
entries jsonfeed gives the same shape.  Mapping one is pure: no network and
no parser here, only the rules for what becomes the title, link, text and
media, with every link checked (http(s) only) and every piece of HTML
sanitized (sanitize.clean_html).
"""

from __future__ import annotations

import calendar
import hashlib
import html
import time
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from .. import media
from ..config import Source
from ..model import Enclosure, Item, Person
from ..sanitize import clean_html, plain_text, web_url
from . import decoding, extras
from .extras import EntryExtras

if TYPE_CHECKING:
    from .parse import Entry


def to_item(entry: Entry, source: Source, fetched_at: datetime) -> Item:
    """One feed entry as an Item of the source's category."""
    # A plain dict: feedparser's FeedParserDict looks every key up in its
    # table of aliases first, a third of this function's time, and every key
    # read here is the canonical one.
    entry = dict(entry)
    extra: EntryExtras = entry.get(extras.KEY) or EntryExtras()
    # decoding.repair: a publisher's double-converted UTF-8 ("CafÃ©") is
    # turned back into the text it was.
    title = plain_text(decoding.repair(_html(entry, "title"))) or "(untitled)"
    # feedparser has resolved relative links against xml:base or the feed's
    # URL where it could; a link that is still not http(s) is dropped.
    link = web_url(entry.get("link"))
    # The body is the item's own text, never a picture's caption (feedparser
    # files a media:description as content, or as the summary), nor an
    # itunes:summary (feedparser files that as content too).
    summary_html = decoding.repair(_html(entry, "summary") if extra.description is None else extra.description)
    if summary_html.strip() in extra.captions:
        summary_html = ""
    asides = extra.captions | extra.summaries
    contents = [c for c in entry.get("content") or [] if str(c.get("value", "")).strip() not in asides]
    detail = (contents or [{}])[0]
    base = web_url(detail.get("base") or (entry.get("summary_detail") or {}).get("base")) or link
    content = clean_html(decoding.repair(_as_html(detail)) or summary_html, base)
    summary = plain_text(summary_html or content)
    guid = entry.get("id") or entry.get("link") or hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()
    # dict.get: feedparser's own get() silently swaps updated for published.
    published_at, updated_at = _when(dict.get(entry, "published_parsed")), _when(dict.get(entry, "updated_parsed"))
    published = published_at or updated_at or fetched_at
    return Item(
        category=source.category,
        source=f"feed:{source.name}",
        guid=guid,
        title=title,
        link=link,
        summary=summary,
        content=content,
        text=plain_text(content),
        published=published,
        updated=updated_at,
        author=decoding.repair(entry.get("author", "")),
        priority=source.priority,
        episode=extra.episode,
        related=extra.related,
        **_media(entry, extra, base),
    )


def _html(entry: Entry, key: str) -> str:
    """A title or summary as HTML, whether the feed gave it as HTML or as text."""
    return _as_html({"value": entry.get(key, ""), **(entry.get(f"{key}_detail") or {})})


def _as_html(detail: dict[str, Any]) -> str:
    # Atom's type="text", an RSS title: text in which "<kbd>" is four
    # characters to show, not a tag to drop.
    value = str(detail.get("value") or "")
    return html.escape(value, quote=False) if detail.get("type") == "text/plain" else value


def _media(entry: Entry, extra: EntryExtras, base: str) -> dict[str, Any]:
    """Authors, tags, picture, media files and comments link of an entry,
    as Item fields; what is not http(s) or not well-formed is left out."""
    if extra.media:
        files = [
            media.enclosure(f.url, f.type, f.size, f.medium, f.base or base, duration=f.duration, title=f.title,
                            caption=f.caption, credits=f.credits)
            for f in extra.media
        ]
    else:  # feedparser's reading, when the document was not read again (extras.read)
        files = _feedparser_media(entry, base)
    folded = media.with_duration(media.fold(files), media.seconds(extra.duration))
    # The picture: a thumbnail, else the entry's image (itunes:image, JSON
    # Feed's image), else its first image file.
    thumbnails = [t.get("url") for t in entry.get("media_thumbnail", [])]
    candidates = [*thumbnails, (entry.get("image") or {}).get("href")]
    image = next(filter(None, (web_url(url, base or None) for url in candidates)), "")
    image = image or next((file.url for file in folded if media.kind(file) == "image"), "")
    picture = next((file for file in folded if file.url == image), None)
    return {
        "authors": _authors(entry, extra),
        "tags": media.tags(decoding.repair(tag.get("label") or tag.get("term") or "") for tag in entry.get("tags", [])),
        "image": image,
        "image_caption": picture.caption if picture else "",
        "image_credit": ", ".join(picture.credits) if picture else "",
        "enclosures": folded,
        "comments": web_url(entry.get("comments"), base or None) or _replies(entry, base),
    }


def _feedparser_media(entry: Entry, base: str) -> list[Enclosure | None]:
    files: list[Enclosure | None] = [
        media.enclosure(link.get("href"), link.get("type"), link.get("length"), "", base)
        for link in entry.get("links", []) if link.get("rel") == "enclosure"
    ]
    # MRSS: the publisher's default rendition first (feedparser flattens media:group).
    contents = sorted(entry.get("media_content", []), key=lambda c: str(c.get("isdefault")).lower() != "true")
    return files + [media.enclosure(c.get("url"), c.get("type"), c.get("filesize"), c.get("medium"), base)
                    for c in contents]


def _authors(entry: Entry, extra: EntryExtras) -> tuple[Person, ...]:
    if extra.authors:  # read from the XML (or the JSON Feed) itself
        return media.people(Person(decoding.repair(a.name), a.email, a.uri) for a in extra.authors)
    found = [
        Person(decoding.repair(a.get("name") or ""), a.get("email") or "", a.get("href") or "")
        for a in entry.get("authors", [])
    ]
    if len(found) == 1 and (line := media.person(decoding.repair(dict.get(entry, "author") or ""))).email:
        # RSS <author>: feedparser cuts the address's last label to 4
        # letters ("jo@news.example" -> "jo@news.exam"); read the line ourselves.
        found = [Person(line.name, line.email, found[0].uri)]
    # feedparser gives a later Atom <author> the previous author's email
    # (cut short as above) when it has none of its own: drop such copies.
    earlier: list[str] = []
    for number, author in enumerate(found):
        if author.email and any(email.startswith(author.email) for email in earlier):
            found[number] = Person(author.name, "", author.uri)
        earlier.append(author.email)
    return media.people(found)


def _replies(entry: Entry, base: str) -> str:
    # Atom's comments link (RFC 4685).
    for link in entry.get("links", []):
        if link.get("rel") == "replies" and (url := web_url(link.get("href"), base or None)):
            return url
    return ""


def _when(parsed_time: time.struct_time | None) -> datetime | None:
    # feedparser normalises every date format to a UTC struct_time.
    if not parsed_time:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed_time), tz=timezone.utc)
