"""What leaves the store: outcomes and rows, and how an item is stored.

Every row a store method returns is one of the frozen dataclasses below,
named for its table (or for what a query adds up), so a consumer reads
``row.title``, and a column that is not there is an error mypy can see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional, Tuple, TypeVar

from .. import media
from ..dedup.candidates import KeyOwner, Standing
from ..model import Item, from_iso, utcnow
from ..model import iso as iso  # how the store writes a time, for its modules
from .engine import Cursor

MEDIA_COLUMNS = ("authors", "tags", "image", "enclosures", "comments", "image_caption", "image_credit", "episode", "related")
# The condition every route shows an item on: no keep/block rule holds it
# back, it is not waiting for its embargo, and it was not withdrawn.
SERVED = "items.blocked IS NULL AND items.embargo IS NULL AND items.withdrawn IS NULL"
# The withdrawn items Atom feeds still name as deleted (RFC 6721).
DELETED_ENTRY = "items.deleted_entry = 1"
# What filing reads of an entry's life beside its text (StoredEntry's last fields, in order).
LIFE_COLUMNS = ("source", "published", "embargo", "withdrawn", "shown_version")


def media_columns(item: Item) -> dict[str, str | None]:
    """The item's authors, tags, picture, media files and comments link as stored."""
    return {
        # Every input's tags go through media.tags: one spelling per slug.
        "authors": media.to_json(item.authors), "tags": media.to_json(media.tags(item.tags)), "image": item.image or None,
        "enclosures": media.to_json(item.enclosures), "comments": item.comments or None,
        "image_caption": item.image_caption or None, "image_credit": item.image_credit or None,
        "episode": media.episode_json(item.episode), "related": item.related or None,
    }


def item_from_row(row: StoredItem) -> Item:
    """A stored item as the Item it was filed from."""
    return Item(
        category=row.category, source=row.source, guid=row.guid, title=row.title,
        link=row.link or "", summary=row.summary or "", content=row.content or "",
        text=row.text or "", published=from_iso(row.published), updated=from_iso(row.updated),
        author=row.author or "", priority=row.priority if row.priority is not None else 100,
        authors=media.stored_people(row.authors), tags=media.stored_tags(row.tags), image=row.image or "",
        enclosures=media.stored_enclosures(row.enclosures), comments=row.comments or "",
        image_caption=row.image_caption or "", image_credit=row.image_credit or "",
        episode=media.stored_episode(row.episode), related=row.related or "",
    )


def clock() -> datetime:
    """The store's clock (first seen, category changed, fetch times)."""
    return utcnow()


Row = TypeVar("Row")


def rows_of(kind: type[Row], cursor: Cursor) -> list[Row]:
    """The cursor's rows as `kind`, each built from its columns by name."""
    names = [column[0] for column in cursor.description]
    return [kind(**dict(zip(names, values))) for values in cursor]


def one_of(kind: type[Row], cursor: Cursor) -> Row | None:
    """The cursor's first row as `kind`; None if there is none."""
    values = cursor.fetchone()
    if values is None:
        return None
    return kind(**dict(zip([column[0] for column in cursor.description], values)))


@dataclass(frozen=True, slots=True)
class StoredItem:
    """A row of `items`: a story as filed (media columns as stored JSON, see media.py)."""

    id: str
    category: str
    source: str
    guid: str
    title: str
    link: str | None
    summary: str | None
    content: str | None
    text: str | None
    author: str | None
    published: str
    updated: str | None
    first_seen: str
    priority: int | None
    blocked: str | None = None  # the rule holding it back; None: served
    blocked_at: str | None = None
    authors: str | None = None
    tags: str | None = None
    image: str | None = None
    enclosures: str | None = None
    comments: str | None = None
    image_caption: str | None = None
    image_credit: str | None = None
    episode: str | None = None  # JSON, see media.episode_json
    related: str | None = None
    embargo: str | None = None  # held back until then; None: not held (lifecycle.py)
    withdrawn: str | None = None  # when it was withdrawn; None: it was not
    deleted_entry: int = 0  # 1 while its category's Atom feeds carry its at:deleted-entry
    shown_version: str | None = None  # the guid of the newer version it shows; None: its own
    duplicate_count: int | None = None  # copies it absorbed, where the query counts them (Store.items)


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry filed before, as filing compares the same entry again with it."""

    title: str
    link: str | None
    content: str | None
    updated: str | None
    text: str | None
    media: tuple[str | None, ...]  # the MEDIA_COLUMNS as stored
    blocked: str | None  # the rule holding it back; None: served
    source: str = ""
    published: str = ""
    embargo: str | None = None  # held back until then; None: not held
    withdrawn: str | None = None  # when it was withdrawn; None: it was not
    shown_version: str | None = None  # the guid of the newer version it shows; None: its own

    @property
    def served(self) -> bool:
        return self.blocked is None and self.embargo is None and self.withdrawn is None

    @property
    def version(self) -> str:
        """When the version it shows was written (updated, else published)."""
        return self.updated or self.published


@dataclass(frozen=True, slots=True)
class Preview:
    """A story as a preview page lists it, with the other sources that carried it."""

    id: str
    source: str
    title: str
    link: str | None
    summary: str | None
    content: str | None
    author: str | None
    authors: str | None
    tags: str | None
    image: str | None
    enclosures: str | None
    comments: str | None
    published: str
    updated: str | None
    other_sources: int  # how many other sources
    other_source_names: str | None  # their names, comma-separated


@dataclass(frozen=True, slots=True)
class SubjectRow:
    """What keep/block rules look at in a stored item (rules.row_subject)."""

    id: str
    category: str
    source: str
    title: str
    summary: str | None
    text: str | None
    link: str | None
    author: str | None
    authors: str | None
    tags: str | None
    blocked: str | None


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A row of `duplicates`: a copy of a kept story, and why it is one."""

    id: int
    item_id: str  # the kept story
    category: str
    source: str
    guid: str
    title: str | None
    link: str | None
    reason: str
    score: float
    first_seen: str
    last_seen: str
    detail: str | None = None
    held_version: str | None = None  # a version to show at its embargo (model.item_json); None: none waits
    held_until: str | None = None  # that embargo


@dataclass(frozen=True, slots=True)
class Withdrawal:
    """A row of `withdrawals`: an item taken down (action "withdraw") or
    served again ("undo"), by whom, when and why."""

    id: int
    item_id: str
    category: str
    source: str
    guid: str
    title: str | None
    link: str | None
    action: str
    who: str
    reason: str | None
    at: str


@dataclass(frozen=True, slots=True)
class DeletedEntry:
    """A withdrawn item as an Atom feed names it deleted (RFC 6721)."""

    id: str
    link: str | None
    withdrawn: str  # the deleted entry's `when`


@dataclass(frozen=True, slots=True)
class CategoryState:
    """A version that changes whenever the items do, and when they last did."""

    version: int
    changed: str | None


@dataclass(frozen=True, slots=True)
class CategoryCounts:
    items: int  # served
    duplicates: int
    newest: str | None  # published time of the newest served item


@dataclass(frozen=True, slots=True)
class ItemCounts:
    served: int
    blocked: int  # held back by a keep/block rule


@dataclass(frozen=True, slots=True)
class PageHealth:
    """A full_text source's pages: fetched, failing now, the latest failure ("URL: why")."""

    pages: int
    failed: int
    last_error: str | None


# An article file as read, to record: path, mtime_ns, size, item_id, error, rules, parse.
FileRecord = Tuple[str, int, int, Optional[str], Optional[str], Optional[str], Optional[str]]


@dataclass(frozen=True, slots=True)
class FileState:
    """A row of `article_files`: an article file as last read."""

    path: str
    mtime_ns: int | None
    size: int | None
    item_id: str | None
    error: str | None
    seen: str | None
    rules: str | None = None  # the boilerplate rules' version it was read under
    parse: str | None = None  # JSON, see articles.to_item.parse_record


@dataclass(frozen=True, slots=True)
class HouseLine:
    """A line counted in an article folder (articles/boilerplate.py): in
    `files` files, first seen when the folder had `since` files counted;
    `text` as first written."""

    text: str
    files: int
    since: int
    learned: bool = False  # house style at the last pass


@dataclass(frozen=True, slots=True)
class CountedFile:
    """An article file as its folder's house style counts it: its short
    lines {key: text}, the story it is a version of (articles/stories.py),
    and that story print's signature and band keys (empty: too short)."""

    path: str
    lines: dict[str, str]
    story: str
    signature: tuple[int, ...] = ()
    bands: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class FolderState:
    """What ingest has read under an article folder."""

    files: int
    last_read: str | None
    errors: list[tuple[str, str]]  # (path, error) of the files that failed


@dataclass(frozen=True, slots=True)
class StoredCounter:
    """A row of `counters`: a metric's total for one set of labels (canonical JSON)."""

    name: str
    labels: str
    value: float


@dataclass(frozen=True, slots=True)
class PartnerPulls:
    """A partner's feed requests over a time (partner_pulls summed)."""

    partner: str
    requests: int
    pulls: int  # answered: 200 or 304
    not_modified: int  # 304
    refused: int
    limited: int  # 429
    last_pull: str | None  # the newest answered request's time, over every hour kept


@dataclass(frozen=True, slots=True)
class Heartbeat:
    name: str
    beat: str
    pid: int | None


Triple = tuple[str, str, str]  # (category, kind, value): a key, or a tombstone


@dataclass(frozen=True, slots=True)
class Found:
    """What is stored under a batch's items, as the filing step asks it."""

    entries: dict[str, StoredEntry]  # item id -> the entry as filed before
    buried: set[Triple]  # the keys (and "entry" keys, source and guid) with a tombstone
    owners: dict[Triple, KeyOwner]  # exact key -> the item filed under it
    bands: dict[int, list[str]]  # LSH band key -> the items filed under it, a row each
    nums: list[int]  # signature numbers reserved for the batch's new items


@dataclass(frozen=True, slots=True)
class Closer:
    """The second look: copies recorded before (now seen again), candidates' texts."""

    copies: dict[tuple[str, str, str], str]  # (category, source, guid) -> the kept item's id
    texts: dict[str, tuple[str, str, int | None, Standing]]  # item id -> title, text, priority, standing
    kept_sources: dict[tuple[str, str, str], str]  # (category, source, guid) of a copy -> its kept story's source
