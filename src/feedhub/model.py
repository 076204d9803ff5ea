"""The types every side shares: the Item every input is turned into before
it reaches the store, and the states and outcomes the store hands back."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Literal, overload

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
def iso(moment: datetime) -> str: ...
@overload
def iso(moment: None) -> None: ...
@overload
def iso(moment: datetime | None) -> str | None: ...
def iso(moment: datetime | None) -> str | None:
    """A time as the store writes it (ISO 8601, to the second)."""
    return moment.isoformat(timespec="seconds") if moment else None


@overload
def from_iso(value: str) -> datetime: ...
@overload
def from_iso(value: str | None) -> datetime | None: ...
def from_iso(value: str | None) -> datetime | None:
    """A time as the store writes it (ISO 8601), read back as aware UTC."""
    return as_utc(datetime.fromisoformat(value)) if value else None


def item_id(source: str, guid: str) -> str:
    return str(uuid.uuid5(ITEM_NAMESPACE, f"{source}\n{guid}"))


# What became of a feed request made with a partner's key, as the partner
# statistics count it (store/partners.py): answered (200), not modified
# (304), refused (the key expired, or its category is not the partner's),
# rate-limited (429), or something else (a redirect, a bad page number).
PullOutcome = Literal["ok", "not_modified", "refused", "limited", "other"]


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
    word for what it is ("image", "audio", "video"), "" when not said;
    ``duration`` is in seconds.  ``title`` is the file's own name for itself
    (media:title, a JSON Feed attachment's title), ``caption`` what it shows
    in words (media:description, plain text), ``credits`` who made it
    (media:credit), each as the source wrote them."""

    url: str
    type: str = ""
    length: int | None = None
    medium: str = ""
    duration: int | None = None
    title: str = ""
    caption: str = ""
    credits: tuple[str, ...] = ()


@dataclass(frozen=True)
class Episode:
    """A podcast episode's number, season, kind ("full", "trailer", "bonus")
    and explicit flag, as the iTunes tags say them; all unset for a story."""

    number: int | None = None
    season: int | None = None
    kind: str = ""
    explicit: bool | None = None

    def __bool__(self) -> bool:
        return self != Episode()


@dataclass(frozen=True)
class Takedown:
    """An input's own order to take its story down (an article file's
    Status: killed line): who gave it, for the record, and why."""

    who: str  # "file <path>:<line>"
    reason: str = ""


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
    image_caption: str = ""  # what the picture shows, in words (plain text)
    image_credit: str = ""  # who made the picture
    episode: Episode = Episode()  # podcast episodes only
    related: str = ""  # the page the item is about, elsewhere (JSON Feed's external_url)
    # A story's life (issue 26): served from then on, not before (its
    # published time is then too); None: at once.
    embargo: datetime | None = None
    takedown: Takedown | None = None  # the input says: withdraw it
    id: str = field(init=False)

    def __post_init__(self) -> None:
        self.published = as_utc(self.published)
        self.updated = as_utc(self.updated) if self.updated else None
        self.embargo = as_utc(self.embargo) if self.embargo else None
        self.id = item_id(self.source, self.guid)

    @property
    def version_time(self) -> datetime:
        """When this version of the story was written: its updated time, else its published time."""
        return self.updated or self.published


def item_json(item: Item) -> str:
    """Every field the item was made with, as JSON (item_from_json makes it
    again, equal): a version of a story kept to be shown later."""
    values = asdict(item)  # nested dataclasses as dicts, tuples as lists
    del values["id"]  # made from its source and guid
    return json.dumps(values, ensure_ascii=False, default=datetime.isoformat)  # times to the microsecond


def item_from_json(text: str) -> Item:
    """The Item item_json wrote."""
    values = json.loads(text)
    moments = {name: datetime.fromisoformat(values[name]) if values[name] else None
               for name in ("published", "updated", "embargo")}
    return Item(**{
        **values, **moments,
        "authors": tuple(Person(**person) for person in values["authors"]),
        "tags": tuple(values["tags"]),
        "enclosures": tuple(Enclosure(**{**media, "credits": tuple(media["credits"])}) for media in values["enclosures"]),
        "episode": Episode(**values["episode"]),
        "takedown": Takedown(**values["takedown"]) if values["takedown"] else None,
    })


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


# Outcomes of filing an item (ingest/filing.py), as counted in ingest summaries.
NEW, UPDATED, UNCHANGED, DUPLICATE = "new", "updated", "unchanged", "duplicate"
BLOCKED = "blocked"  # held back by a keep/block rule (see rules.py)


@dataclass
class Outcome:
    status: str  # NEW, UPDATED, UNCHANGED or DUPLICATE
    item_id: str | None  # the stored item (for a duplicate: the one it duplicates); None: pruned
    reason: str = ""  # which key matched, for a duplicate
    replaced: str | None = None  # for NEW: the stored copy it took the place of


@dataclass(frozen=True, slots=True)
class SourceState:
    """A row of `sources`: a feed's fetch state.  A source never fetched has
    the defaults (SourceState(name))."""

    name: str
    location: str | None = None
    category: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_attempt: str | None = None
    last_success: str | None = None
    last_status: int | None = None
    last_error: str | None = None
    failures: int | None = 0
    items_seen: int | None = 0
    url: str | None = None  # where it moved to permanently
    next_attempt: str | None = None
    retired: int = 0


@dataclass(frozen=True, slots=True)
class PageState:
    """A row of `pages`: an entry's page fetched for a full_text source."""

    item_id: str
    source: str
    url: str | None
    stamp: str | None
    content: str | None
    text: str | None
    error: str | None
    status: int | None
    etag: str | None
    last_modified: str | None
    attempts: int
    fetched_at: str | None


@dataclass(frozen=True, slots=True)
class Lease:
    """A row of `leases`: who runs a scheduled job (named by its job id,
    e.g. ``feed:world-wire``) now, who ran it last, and when it may next be
    claimed (see leases.py)."""

    name: str
    holder: str | None  # the worker running it now; None between runs
    not_before: str | None  # while held, the lease's end; between runs, when it is due again
    last_holder: str | None = None
    last_claimed: str | None = None  # when the last run began
