"""The one shape every input is turned into before it reaches the store."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import overload

# Item ids are UUIDv5 under this namespace, so the same (source, guid) always
# gets the same id, across runs and machines, and feeds keep stable entry ids.
ITEM_NAMESPACE = uuid.UUID("6f1c1c52-55a8-4d3e-9c3e-7f1d5b0c2a61")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes are taken to be UTC already; aware ones are converted."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


@overload
def from_iso(value: str) -> datetime: ...
@overload
def from_iso(value: str | None) -> datetime | None: ...
def from_iso(value: str | None) -> datetime | None:
    """A time as the store writes it (ISO 8601), read back as aware UTC."""
    return as_utc(datetime.fromisoformat(value)) if value else None


def item_id(source: str, guid: str) -> str:
    return str(uuid.uuid5(ITEM_NAMESPACE, f"{source}\n{guid}"))


@dataclass(frozen=True)
class Person:
    """An author: a name, and an email address or web page when the source gives one."""

    name: str
    email: str = ""
    uri: str = ""


@dataclass(frozen=True)
class Enclosure:
    """A media file that goes with an item: a podcast's audio, a photo, a video.

    ``length`` is the size in bytes, ``None`` when unknown; ``medium`` is MRSS's
    word for what it is ("image", "audio", "video"), "" when not said."""

    url: str
    type: str = ""
    length: int | None = None
    medium: str = ""


@dataclass
class Item:
    category: str
    source: str  # "articles:<folder>" or "feed:<source name>"
    guid: str  # unique within its source
    title: str
    link: str
    summary: str  # plain text
    content: str  # HTML
    text: str  # plain text of the body, for duplicate detection
    published: datetime
    updated: datetime | None = None
    author: str = ""  # one line as the source wrote it ("Name <email>"); see authors
    priority: int = 100  # lower wins when two sources carry the same story
    # What partners and readers expect beside the text (issues 12 and 13):
    authors: tuple[Person, ...] = ()  # every author, in the source's order
    tags: tuple[str, ...] = ()  # categories/keywords as the source wrote them
    image: str = ""  # the item's picture (absolute http(s) URL), "" when none
    enclosures: tuple[Enclosure, ...] = ()  # media files, the best one first
    comments: str = ""  # link to the item's comments page
    id: str = field(init=False)

    def __post_init__(self) -> None:
        self.published = as_utc(self.published)
        self.updated = as_utc(self.updated) if self.updated else None
        self.id = item_id(self.source, self.guid)


@dataclass
class Page:
    """One entry's page as last fetched for full text (remote/fulltext.py): its
    article, or why there is none."""

    item_id: str
    url: str
    stamp: str  # entry_stamp() of the feed entry it was fetched for
    content: str = ""  # sanitized article HTML; "" when it failed
    text: str = ""
    error: str | None = None
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    attempts: int = 1
    fetched_at: str = ""
    retry_after: str | None = None  # the Retry-After of a 429 or 503 (not stored)

