"""What an item carries beside its text: media files, its picture, tags and
authors, checked and folded the same way whatever format they came in.

Pure functions: remote/to_item.py and the article reader call them when an
entry becomes an Item, the store keeps their JSON, publish/feeds.py and the
pages read it back.
"""

from __future__ import annotations

import json
import mimetypes
import re
import unicodedata
from dataclasses import asdict, replace
from typing import Iterable, Sequence
from urllib.parse import urlsplit

from .model import Enclosure, Episode, Person
from .sanitize import web_url

# type/subtype as RFC 6838 allows them (parameters such as "; codecs=" dropped).
MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$")
MEDIUMS = {"image", "audio", "video", "document", "executable"}
# A length past this (1 TB) is a typo or a lie, not a file size: kept unknown.
MAX_LENGTH = 10**12
MAX_TAGS = 30
# "50:12", "3012.5": whole or decimal numbers, at most hours:minutes:seconds;
# past MAX_DURATION (a week) a duration is a typo, kept unknown.
DURATION_PART = re.compile(r"^\d{1,7}(\.\d{1,6})?$")
MAX_DURATION = 7 * 24 * 3600
CONTROL = re.compile("[\x00-\x1f\x7f\ufffe\uffff]")
MAX_TAG_LENGTH = 80
IMG_SRC = re.compile(r"""<img\b[^>]*?\ssrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
# "jane@example.com (Jane Doe)" (RSS), "Jane Doe <jane@example.com>", "Jane Doe (jane@example.com)".
EMAIL = r"[^\s@()<>]+@[^\s()<>]+"
EMAIL_NAME = re.compile(rf"^\s*({EMAIL})\s*\((.+)\)\s*$")
NAME_EMAIL = re.compile(rf"^\s*(.+?)\s*[<(]({EMAIL})[>)]\s*$")
# The marks a tag's slug leaves out, as accents that do not count: those of
# Latin, Greek and Cyrillic letters (U+0300-U+036F) and Arabic's optional
# vowel signs.  Marks other scripts spell with (Devanagari's vowel signs and
# virama, Japanese voicing marks) are part of their letters and stay.
ACCENTS = re.compile("[\u0300-\u036f\u064b-\u065f]")
# Signs that make a tag what it is: "F#", "F*" and "C++" are not "F" and "C".
SLUG_SIGNS = {"Sm", "Sc", "So"}
# Types of the files podcasts and galleries carry that Python's own table
# lacks; guessed with that table only (not the machine's mime.types), so every
# machine serves the same type for the same file.
EXTRA_TYPES = {".m4a": "audio/mp4", ".m4b": "audio/mp4", ".m4v": "video/mp4", ".ogg": "audio/ogg",
               ".oga": "audio/ogg", ".opus": "audio/ogg", ".flac": "audio/flac", ".webp": "image/webp",
               ".avif": "image/avif", ".epub": "application/epub+zip"}
_GUESSES = mimetypes.MimeTypes()


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


def seconds(value: object) -> int | None:
    """A duration in whole seconds: "3012", "3012.5", "50:12" or "0:50:12"
    (as itunes:duration, MRSS's duration and JSON Feed write it); else unknown."""
    parts = str(value if value is not None else "").strip().split(":")
    if not 1 <= len(parts) <= 3 or not all(DURATION_PART.match(part) for part in parts):
        return None
    total = 0.0
    for part in parts:
        total = total * 60 + float(part)
    return int(total) if total <= MAX_DURATION else None


def enclosure(
    url: object, type: object = "", size: object = None, medium: object = "", base: str = "", *,
    duration: object = None, title: object = "", caption: str = "", credits: Iterable[object] = (),
) -> Enclosure | None:
    """An Enclosure from what a feed says, or None when its URL is not http(s).
    `caption` is plain text already (the caller knows whether it was HTML)."""
    url = web_url(str(url or ""), base or None)
    if not url:
        return None
    medium = str(medium or "").strip().lower()
    return Enclosure(
        url, mime_type(type), length(size), medium if medium in MEDIUMS else "", seconds(duration), _line(title),
        _line(caption), tuple(dict.fromkeys(filter(None, map(_line, credits)))),
    )


def _line(text: object) -> str:
    """One line of text, without the control characters XML cannot carry."""
    return " ".join(CONTROL.sub(" ", str(text or "")).split())


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
                media.url, seen.type or media.type, _known(seen.length, media.length), seen.medium or media.medium,
                _known(seen.duration, media.duration), seen.title or media.title, seen.caption or media.caption,
                seen.credits or media.credits,
            )
    rank = {"audio": 0, "video": 0, "": 1, "image": 2}
    return tuple(sorted(merged.values(), key=lambda media: rank[kind(media)]))


def _known(first: int | None, second: int | None) -> int | None:
    return first if first is not None else second


def guessed_type(media: Enclosure) -> str:
    """The MIME type the source gave, else the one its file name says, else ""."""
    if media.type:
        return media.type
    path = urlsplit(media.url).path
    extension = path[path.rfind("."):].lower() if "." in path.rpartition("/")[2] else ""
    return EXTRA_TYPES.get(extension) or _GUESSES.guess_type(f"file{extension}")[0] or ""


def served_type(media: Enclosure) -> str:
    """The MIME type to announce where one is required (RSS, JSON Feed):
    guessed_type, or "application/octet-stream" (some file) when unknown."""
    return guessed_type(media) or "application/octet-stream"


def with_duration(files: tuple[Enclosure, ...], seconds: int | None) -> tuple[Enclosure, ...]:
    """The files with an item-level duration (itunes:duration) given to the
    first sound or video file that has none of its own: the one it times."""
    for number, media in enumerate(files):
        if kind(media) in ("audio", "video"):
            if media.duration is None and seconds is not None:
                return (*files[:number], replace(media, duration=seconds), *files[number + 1:])
            break
    return files


def first_image(content: str) -> str:
    """The first <img> of (sanitized, so absolute-linked) HTML with an http(s) source, or ""."""
    for match in IMG_SRC.finditer(content or ""):
        url = web_url(next(group for group in match.groups() if group is not None))
        if url:
            return url
    return ""


# -- tags ------------------------------------------------------------------------


def tag_slug(name: str) -> str:
    """The one form a tag is compared and linked by: its words in any script,
    and its signs ("F#", "C++", "€"), lower-cased and joined by "-".  Accents,
    case and punctuation do not count ("North Sea", "north-sea", "Nörth  SEA"
    -> "north-sea"; "Κρήτη" -> "κρητη"); nor does a hashtag's "#"."""
    bare = unicodedata.normalize("NFC", ACCENTS.sub("", unicodedata.normalize("NFKD", name))).casefold()
    spaced = "".join(char if _in_slug(char) else " " for char in bare)
    return "-".join(word for word in (part.lstrip("#") for part in spaced.split()) if word)


def _in_slug(char: str) -> bool:
    # Letters and digits of every script with their marks, and signs; "#"
    # and "*" are punctuation to Unicode but name things in tags (F#, F*).
    return char.isalnum() or unicodedata.category(char)[0] == "M" or unicodedata.category(char) in SLUG_SIGNS \
        or char in "#*"


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
    """Authors with a name or email, each once, URIs only when http(s).  A
    bare name that another author has with an address is that author (RSS's
    <author> and itunes:author name one person twice)."""
    kept: list[Person] = []
    for author in found:
        author = Person(" ".join(author.name.split()), author.email.strip(), web_url(author.uri))
        if (author.name or author.email) and author not in kept:
            kept.append(author)
    addressed = {author.name.casefold() for author in kept if author.email or author.uri}
    return tuple(a for a in kept if a.email or a.uri or a.name.casefold() not in addressed)


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
    if not value:
        return ()
    return tuple(Enclosure(**{**row, "credits": tuple(row.get("credits", ()))}) for row in json.loads(value))


def episode_json(episode: Episode) -> str | None:
    """A podcast episode's fields as the store keeps them (None for a story)."""
    if not episode:
        return None
    return json.dumps({k: v for k, v in asdict(episode).items() if v not in ("", None)}, separators=(",", ":"))


def stored_episode(value: str | None) -> Episode:
    return Episode(**json.loads(value)) if value else Episode()


def stored_tags(value: str | None) -> tuple[str, ...]:
    return tuple(json.loads(value)) if value else ()
