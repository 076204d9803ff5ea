"""What an item carries beside its text: media files, its picture, tags and
authors, checked and folded the same way whatever format they came in.

Pure functions: entries.py and jsonfeed.py call them when an entry becomes an
Item, the store keeps their JSON, publish.py and the pages read it back.
"""

from __future__ import annotations

import json
import mimetypes
import re
import unicodedata
from dataclasses import asdict
from typing import Iterable, Sequence

from .model import Enclosure, Person
from .sanitize import web_url

# type/subtype as RFC 6838 allows them (parameters such as "; codecs=" dropped).
MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
MEDIUMS = {"image", "audio", "video", "document", "executable"}
# A length past this (1 TB) is a typo or a lie, not a file size: kept unknown.
MAX_LENGTH = 10**12
MAX_TAGS = 30
MAX_TAG_LENGTH = 80
IMG_SRC = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
# "jane@example.com (Jane Doe)" (RSS), "Jane Doe <jane@example.com>", "Jane Doe (jane@example.com)".
EMAIL = r"[^\s@()<>]+@[^\s()<>]+"
EMAIL_NAME = re.compile(rf"^\s*({EMAIL})\s*\((.+)\)\s*$")
NAME_EMAIL = re.compile(rf"^\s*(.+?)\s*[<(]({EMAIL})[>)]\s*$")
NOT_SLUG = re.compile(r"[^a-z0-9]+")


# -- media files -----------------------------------------------------------------


def mime_type(value: object) -> str:
    """A MIME type in lower case, "" unless it has the shape type/subtype."""
    value = str(value or "").split(";")[0].strip().lower()
    return value if MIME.match(value) else ""


def length(value: object) -> int | None:
    """A size in bytes: a non-negative whole number up to MAX_LENGTH, else unknown."""
    text = str(value if value is not None else "").strip()
    if not text.isdigit():  # "-5", "1.5", "not-a-number", ""
        return None
    number = int(text)
    return number if number <= MAX_LENGTH else None


def enclosure(url: object, type: object = "", size: object = None, medium: object = "", base: str = "") -> Enclosure | None:
    """An Enclosure from what a feed says, or None when its URL is not http(s)."""
    url = web_url(str(url or ""), base or None)
    if not url:
        return None
    medium = str(medium or "").strip().lower()
    return Enclosure(url, mime_type(type), length(size), medium if medium in MEDIUMS else "")


def kind(media: Enclosure) -> str:
    """"audio", "video", "image" or "" (the medium, else the MIME type's first half)."""
    found = media.medium or media.type.partition("/")[0]
    return found if found in ("audio", "video", "image") else ""


def fold(found: Iterable[Enclosure | None]) -> tuple[Enclosure, ...]:
    """One Enclosure per URL, the best first.

    Copies of one URL (an <enclosure> that is also a media:content) are merged,
    keeping whatever each knew of type, length and medium.  Best is sound or
    video (what a podcast or video feed is for), then other files, then
    images; the source's order otherwise."""
    merged: dict[str, Enclosure] = {}
    for media in found:
        if media is None:
            continue
        seen = merged.get(media.url)
        if seen is None:
            merged[media.url] = media
        else:
            merged[media.url] = Enclosure(
                media.url, seen.type or media.type, seen.length if seen.length is not None else media.length,
                seen.medium or media.medium,
            )
    rank = {"audio": 0, "video": 0, "": 1, "image": 2}
    return tuple(sorted(merged.values(), key=lambda media: rank[kind(media)]))


def served_type(media: Enclosure) -> str:
    """The MIME type to announce: the known one, else guessed from the URL."""
    return media.type or mimetypes.guess_type(media.url)[0] or "application/octet-stream"


def first_image(content: str) -> str:
    """The first <img> of (sanitized, so absolute-linked) HTML with an http(s) source, or ""."""
    for match in IMG_SRC.finditer(content or ""):
        url = web_url(next(group for group in match.groups() if group is not None))
        if url:
            return url
    return ""


# -- tags ------------------------------------------------------------------------


def tag_slug(name: str) -> str:
    """The one form a tag is compared and linked by: accents, case and
    punctuation do not count ("North Sea", "north-sea", "Nörth  SEA" -> "north-sea")."""
    decomposed = unicodedata.normalize("NFKD", name)
    bare = "".join(char for char in decomposed if not unicodedata.combining(char))
    return NOT_SLUG.sub("-", bare.casefold()).strip("-")


def tags(names: Iterable[object]) -> tuple[str, ...]:
    """Tags as written, trimmed, one per slug (the first spelling wins), at most MAX_TAGS."""
    kept: dict[str, str] = {}
    for name in names:
        name = " ".join(str(name or "").split())[:MAX_TAG_LENGTH]
        slug = tag_slug(name)
        if slug and slug not in kept and len(kept) < MAX_TAGS:
            kept[slug] = name
    return tuple(kept.values())


# -- authors -----------------------------------------------------------------------


def person(text: str) -> Person:
    """An author line as feeds write it: "email (Name)", "Name <email>", "Name (email)", or a name."""
    text = " ".join((text or "").split())
    if match := EMAIL_NAME.match(text):
        return Person(match.group(2).strip(), match.group(1))
    if match := NAME_EMAIL.match(text):
        return Person(match.group(1), match.group(2))
    return Person(text)


def people(found: Iterable[Person]) -> tuple[Person, ...]:
    """Authors with a name or email, each once, URIs only when http(s)."""
    kept: list[Person] = []
    for author in found:
        author = Person(author.name.strip(), author.email.strip(), web_url(author.uri))
        if (author.name or author.email) and author not in kept:
            kept.append(author)
    return tuple(kept)


# -- as stored -------------------------------------------------------------------


def to_json(values: Sequence[Person | Enclosure | str]) -> str | None:
    """Persons, Enclosures or tag names as the store keeps them (None when there are none)."""
    if not values:
        return None
    rows = [value if isinstance(value, str) else {k: v for k, v in asdict(value).items() if v not in ("", None)}
            for value in values]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def stored_people(value: str | None) -> tuple[Person, ...]:
    return tuple(Person(**row) for row in json.loads(value)) if value else ()


def stored_enclosures(value: str | None) -> tuple[Enclosure, ...]:
    return tuple(Enclosure(**row) for row in json.loads(value)) if value else ()


def stored_tags(value: str | None) -> tuple[str, ...]:
    return tuple(json.loads(value)) if value else ()
