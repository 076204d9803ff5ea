"""What leaves the store: outcomes and rows, and how an item is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import media
from ..dedup import Match
from ..items import Item, from_iso, utcnow

# Outcomes of Store.add, as counted in ingest summaries.
NEW, UPDATED, UNCHANGED, DUPLICATE = "new", "updated", "unchanged", "duplicate"
BLOCKED = "blocked"  # held back by a keep/block rule (see rules.py)


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


MEDIA_COLUMNS = ("authors", "tags", "image", "enclosures", "comments")


def media_columns(item: Item) -> dict:
    """The item's authors, tags, picture, media files and comments link as stored."""
    return {
        # Every input's tags go through media.tags: one spelling per slug.
        "authors": media.to_json(item.authors), "tags": media.to_json(media.tags(item.tags)), "image": item.image or None,
        "enclosures": media.to_json(item.enclosures), "comments": item.comments or None,
    }


def item_from_row(row: dict) -> Item:
    """A stored item as the Item it was filed from."""
    return Item(
        category=row["category"], source=row["source"], guid=row["guid"], title=row["title"],
        link=row["link"] or "", summary=row["summary"] or "", content=row["content"] or "",
        text=row["text"] or "", published=from_iso(row["published"]), updated=from_iso(row["updated"]),
        author=row["author"] or "", priority=row["priority"] if row["priority"] is not None else 100,
        authors=media.stored_people(row["authors"]), tags=media.stored_tags(row["tags"]), image=row["image"] or "",
        enclosures=media.stored_enclosures(row["enclosures"]), comments=row["comments"] or "",
    )


@dataclass
class Outcome:
    status: str  # NEW, UPDATED, UNCHANGED or DUPLICATE
    item_id: str | None  # the stored item (for a duplicate: the one it duplicates); None: pruned
    reason: str = ""  # which key matched, for a duplicate
    replaced: str | None = None  # for NEW: the stored copy it took the place of


def clock() -> datetime:
    """The store's clock (first seen, category changed, fetch times)."""
    return utcnow()
