"""Filing items: the reads the filing step makes (an entry stored before, a
copy recorded before, a tombstone, the owners of exact keys, near-duplicate
candidates) and the writes it asks for (a new story, a copy, the kept copy
replaced, an entry refreshed), with their keys, LSH bands and tags.

Whether an item is a new story or a copy is not decided here: the filing step
(ingest/filing.py) calls these inside one transaction, with the category
locked, and asks dedup.decide in between.  Blocked items are in blocked.py."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import Iterable, Mapping, Sequence

from .. import media
from ..dedup.candidates import MAX_CANDIDATES, KeyOwner, Match, NearCandidate, Standing
from ..dedup.fingerprint import Fingerprint, fingerprint, item_words, keys, prepare
from ..model import UNCHANGED, UPDATED, Item, Outcome, from_iso, item_json
from .categories import Categories
from .engine import Database, insert_rows
from .rows import LIFE_COLUMNS, MEDIA_COLUMNS, StoredEntry, StoredItem, clock, iso, media_columns, one_of
from .signatures import file_signature


# What decide() needs of a stored story's life (dedup.candidates.Standing), as columns of `items i`.
STANDING = "i.source, coalesce(i.updated, i.published), i.withdrawn IS NOT NULL, i.embargo IS NOT NULL, i.title"


def standing(source: str, version: str, withdrawn: object, held: object, title: str) -> Standing:
    """A Standing from the STANDING columns."""
    return Standing(source, from_iso(version), bool(withdrawn), bool(held), title)


class Items(Categories):
    def item(self, item_id: str) -> StoredItem | None:
        return one_of(StoredItem, self.db.execute("SELECT * FROM items WHERE id = ?", [item_id]))

    # -- what filing reads --------------------------------------------------------

    def stored_entry(self, item_id: str) -> StoredEntry | None:
        """The item as filed before (the same source and guid, or the kept
        story a copy was recorded for), if it was."""
        row = self.db.execute(
            f"SELECT title, link, content, updated, text, {', '.join(MEDIA_COLUMNS)}, blocked,"
            f" {', '.join(LIFE_COLUMNS)} FROM items WHERE id = ?",
            [item_id],
        ).fetchone()
        return None if row is None else entry_of(row)

    def known_copy(self, item: Item) -> str | None:
        """The kept story's id if this entry was recorded as a copy of it
        before (and it is seen again now, as last_seen says); else None."""
        row = self.db.execute(
            "UPDATE duplicates SET last_seen = ? WHERE category = ? AND source = ? AND guid = ? RETURNING item_id",
            [iso(clock()), item.category, item.source, item.guid],
        ).fetchone()
        return None if row is None else str(row[0])

    def buried(self, item: Item, item_keys: list[tuple[str, str]]) -> bool:
        """True if the item, or a story it shares a key with, was pruned."""
        keys = [entry_key(item), *item_keys]
        terms = " OR ".join(["(category = ? AND kind = ? AND value = ?)"] * len(keys))
        return self.db.execute(
            f"SELECT 1 FROM tombstones WHERE {terms} LIMIT 1",
            [part for kind, value in keys for part in (item.category, kind, value)],
        ).fetchone() is not None

    def key_owners(self, category: str, item_keys: list[tuple[str, str]]) -> dict[str, KeyOwner]:
        """The items owning those of the keys that are filed in the category,
        by key kind, with their priority."""
        if not item_keys:
            return {}
        # One query for all the keys rather than a round trip per key.  Spelled
        # as ORs: SQLite does one primary-key lookup per term, where a row-value
        # IN (VALUES ...) would scan the whole category.
        terms = " OR ".join(["(k.category = ? AND k.kind = ? AND k.value = ?)"] * len(item_keys))
        return {
            kind: KeyOwner(item_id, priority, standing(*life))
            for kind, item_id, priority, *life in self.db.execute(
                f"SELECT k.kind, k.item_id, i.priority, {STANDING} FROM item_keys k JOIN items i ON i.id = k.item_id"
                f" WHERE {terms}",
                [part for kind, value in item_keys for part in (category, kind, value)],
            )
        }

    def near_candidates(self, fingerprinted: Fingerprint) -> list[NearCandidate]:
        """The stored items sharing most LSH bands with the fingerprint (one
        indexed lookup, and the bands this transaction filed so far), at most
        MAX_CANDIDATES, with the texts to score."""
        marks = ",".join("?" * len(fingerprinted.bands))
        hits: Counter[str] = Counter(dict(self.db.execute(
            f"SELECT s.item_id, count(*) AS hits FROM near_bands b JOIN near_signatures s ON s.num = b.num"
            f" WHERE b.band IN ({marks}) GROUP BY s.item_id ORDER BY hits DESC, s.item_id LIMIT ?",
            [*fingerprinted.bands, MAX_CANDIDATES],
        ).fetchall()))
        if pending := self.bands.hits(fingerprinted.bands):  # filed in this transaction
            marks = ",".join("?" * len(pending))
            for num, item_id in self.db.execute(
                    f"SELECT num, item_id FROM near_signatures WHERE num IN ({marks})", list(pending)):
                hits[item_id] += pending[num]
        if not hits:
            return []
        best = sorted(hits.items(), key=lambda hit: (-hit[1], hit[0]))[:MAX_CANDIDATES]
        marks = ",".join("?" * len(best))
        texts = {row[0]: row[1:] for row in self.db.execute(
            f"SELECT i.id, i.title, i.text, i.priority, {STANDING} FROM items i WHERE i.id IN ({marks})",
            [item_id for item_id, _ in best])}
        return [
            NearCandidate(item_id, title, text, count, priority, standing(*life))
            for item_id, count in best
            for title, text, priority, *life in [texts[item_id]]
        ]

    # -- what filing writes -------------------------------------------------------

    def file_new(self, item: Item, item_keys: list[tuple[str, str]], fingerprinted: Fingerprint | None) -> None:
        """File the item as a story: its row, tags, keys and signature.  One
        held for its embargo moves no feed until it is released (lifecycle.py)."""
        self._file_bands(self._insert(item, item_keys, fingerprinted))
        if item.embargo is None:
            self._touch_category(item.category)

    def record_copy(self, item: Item, match: Match, more: Mapping[str, str | None] | None = None) -> None:
        """Remember the item as a copy of the stored match.item_id (with `more` columns)."""
        copy = {"category": item.category, "source": item.source, "guid": item.guid,
                "title": item.title, "link": item.link, **(more or {})}
        self._record_duplicate(copy, match.item_id, match)

    def replace_kept(self, old_id: str, item: Item, match: Match) -> None:
        """The new item (filed) takes the stored one's place: everything that
        pointed at the old item (keys, signatures, duplicates, article files)
        moves to the new one, and the old item becomes one of its duplicates."""
        old = self.db.execute(
            "SELECT source, guid, title, link, first_seen FROM items WHERE id = ?", [old_id]
        ).fetchone()
        for table in ("item_keys", "near_signatures", "duplicates", "article_files"):
            self.db.execute(f"UPDATE {table} SET item_id = ? WHERE item_id = ?", [item.id, old_id])
        self.db.execute("DELETE FROM item_tags WHERE item_id = ?", [old_id])
        source, guid, title, link, first_seen = old
        copy = {"category": item.category, "source": source, "guid": guid, "title": title, "link": link}
        self._record_duplicate(copy, item.id, match, first_seen)
        self.db.execute("DELETE FROM items WHERE id = ?", [old_id])

    def refresh(self, item: Item, stored: StoredEntry) -> Outcome:
        """The same entry from the same source again: keep it current (its
        own text shown again, if a version of it was)."""
        return self._rewrite(item.id, item, stored, own=True)

    def show_version(self, kept_id: str, item: Item, stored: StoredEntry) -> Outcome:
        """Show `item`, a newer version of the stored story `kept_id` from the
        same input, in its place: the story keeps its id, link and published
        time, and takes the version's title, text, media and tags; its
        updated time moves to the version's (now, if that is not later).  The
        version's keys and signature are filed for the story, so later copies
        of either text find it."""
        return self._rewrite(kept_id, item, stored, own=False)

    def record_version(self, item: Item, match: Match, held: bool = False) -> None:
        """Remember the item as a version of the stored story match.item_id (a
        duplicate record); `held`: one under an embargo of its own, which the
        record keeps to be shown in the story's place then (held.py)."""
        shown = f"shown in the story's place from its embargo, {iso(item.embargo)}" if held else "shown in the story's place"
        why = f"a newer version from the same input, {shown}; {match.detail}"
        self.record_copy(item, replace(match, detail=why), held_columns(item, held))

    def _rewrite(self, item_id: str, item: Item, stored: StoredEntry, own: bool) -> Outcome:
        held = stored.embargo is not None
        # Held: until the entry's own embargo (none: it goes out now), or a
        # version's if it has one.  A story that is out is never held again.
        embargo = (iso(item.embargo) if own or item.embargo else stored.embargo) if held else None
        link = item.link if own else stored.link
        shown = (item.title, item.content, tuple(media_columns(item).values()), embargo)
        if unchanged(item, stored) if own else shown == (stored.title, stored.content, stored.media, stored.embargo):
            return Outcome(UNCHANGED, item_id)
        if own:
            published, updated = iso(item.published), iso(item.updated or clock())
        else:
            written = iso(item.version_time)
            published, updated = embargo or stored.published, written if written > stored.version else iso(clock())
        changed = {
            "title": item.title, "link": link, "summary": item.summary,
            "content": item.content, "text": item.text, "author": item.author,
            "published": published, "updated": updated, "embargo": embargo,
            "shown_version": None if own else item.guid, **media_columns(item),
        }
        self.db.execute(f"UPDATE items SET {', '.join(f'{column} = ?' for column in changed)} WHERE id = ?",
                        [*changed.values(), item_id])
        self.db.execute("DELETE FROM item_tags WHERE item_id = ?", [item_id])
        self._file_tags(item, item_id, published)
        tokens = item_words(item)
        self._file_keys(item, keys(item, tokens), item_id)
        # New words get a new signature.  The old one stays (removing it would
        # need a second index on the largest table); a candidate found through
        # it is scored against the text as it is now, so it cannot misfire.
        if (item.title, item.text) != (stored.title, stored.text):
            self._file_bands(self._signature(item_id, fingerprint(item, tokens)))
        if stored.blocked is None and stored.withdrawn is None and embargo is None:
            self._touch_category(item.category)  # only what is served moves the feeds
        return Outcome(UPDATED, item_id)

    def insert_many(self, items: Iterable[Item]) -> int:
        """File items known to be new and distinct stories (a bulk import, a
        benchmark's corpus) in one transaction, without looking for duplicates
        among them; much faster than filing them one by one.  Returns the count."""
        count, categories = 0, set[str]()
        with self.transaction():
            for item in items:
                if item.category not in categories:
                    self.lock_categories([item.category])
                self._file_bands(self._insert(item, *prepare(item)))  # sorted as it commits
                categories.add(item.category)
                count += 1
            for category in categories:
                self._touch_category(category)
        return count

    # -- rows, keys, bands and tags ---------------------------------------------

    def _insert(
        self, item: Item, item_keys: list[tuple[str, str]], fingerprinted: Fingerprint | None
    ) -> list[tuple[int, int]]:
        """Store a new item and its keys; returns its band rows, still to be filed."""
        self._insert_row("items", self._item_row(item))
        self._file_tags(item)
        self._file_keys(item, item_keys)
        return self._signature(item.id, fingerprinted)

    @staticmethod
    def _item_row(item: Item) -> dict[str, object]:
        """The item's row in the items table, first seen now."""
        return {
            "id": item.id, "category": item.category, "source": item.source, "guid": item.guid,
            "title": item.title, "link": item.link, "summary": item.summary, "content": item.content,
            "text": item.text, "author": item.author, "published": iso(item.published),
            "updated": iso(item.updated), "first_seen": iso(clock()), "priority": item.priority,
            "embargo": iso(item.embargo), **media_columns(item),
        }

    def _file_tags(self, item: Item, item_id: str | None = None, published: str | None = None) -> None:
        """The item's tags, filed for `item_id` (default: its own) at `published` (default: its own)."""
        file_tags(self.db, tag_rows(item, item_id, published))

    def _file_keys(self, item: Item, item_keys: list[tuple[str, str]], item_id: str | None = None) -> None:
        file_keys(self.db, [(item.category, kind, value, item_id or item.id) for kind, value in item_keys])

    def _signature(self, item_id: str, fingerprinted: Fingerprint | None) -> list[tuple[int, int]]:
        """A signature row for the item; returns the (band, signature) rows to file."""
        return [] if fingerprinted is None else file_signature(self.db, item_id, fingerprinted.bands)

    def _file_bands(self, rows: list[tuple[int, int]]) -> None:
        self.bands.add(rows)  # into near_bands as the transaction commits

    def _record_duplicate(self, copy: Mapping[str, str | None], kept_id: str, match: Match, first_seen: str | None = None) -> None:
        """Remember `copy` (category, source, guid, title, link) as a duplicate
        of the kept item; first seen now unless it was stored before."""
        self._insert_row("duplicates", self._duplicate_row(copy, kept_id, match, first_seen))

    @staticmethod
    def _duplicate_row(copy: Mapping[str, str | None], kept_id: str, match: Match,
                       first_seen: str | None = None) -> dict[str, object]:
        now = iso(clock())
        return {"item_id": kept_id, **copy, "reason": match.reason, "score": match.score, "detail": match.detail,
                "first_seen": first_seen or now, "last_seen": now}


def tag_rows(item: Item, item_id: str | None = None, published: str | None = None) -> list[tuple[str, str, str, str]]:
    """The item_tags rows of the item's tags, for `item_id` (default: its own)
    at `published` (default: its own)."""
    return [(media.tag_slug(name), published or iso(item.published), item_id or item.id, name)
            for name in media.tags(item.tags)]


def file_tags(db: Database, rows: Sequence[tuple[str, str, str, str]]) -> None:
    """File item_tags rows (slug, published, item_id, name)."""
    insert_rows(db, "item_tags", dict.fromkeys(("slug", "published", "item_id", "name"), "TEXT"), rows,
                "ON CONFLICT DO NOTHING")


def file_keys(db: Database, rows: Sequence[tuple[str, str, str, str]]) -> None:
    """File item_keys rows (category, kind, value, item_id).  DO NOTHING: an
    edited entry keeps its old keys and gains the new ones; a key another
    item already owns stays with that item."""
    insert_rows(db, "item_keys", dict.fromkeys(("category", "kind", "value", "item_id"), "TEXT"), rows,
                "ON CONFLICT DO NOTHING")


def entry_of(row: Sequence[object]) -> StoredEntry:
    """A StoredEntry from a row of (title, link, content, updated, text, the
    MEDIA_COLUMNS, blocked, the LIFE_COLUMNS)."""
    media_end = 5 + len(MEDIA_COLUMNS)
    title, link, content, updated, text = row[:5]
    blocked, source, published, embargo, withdrawn, shown = row[media_end:]
    return StoredEntry(title, link, content, updated, text, tuple(row[5:media_end]), blocked,  # type: ignore[arg-type]
                       source, published, embargo, withdrawn, shown)  # type: ignore[arg-type]


def unchanged(item: Item, stored: StoredEntry) -> bool:
    """Whether the entry is as it was filed (refresh would write nothing):
    its text shown (not a newer version's), held until the same time if held."""
    same_text = (item.title, item.link, item.content) == (stored.title, stored.link, stored.content)
    same_text = same_text and tuple(media_columns(item).values()) == stored.media and stored.shown_version is None
    same_text = same_text and (iso(item.embargo) if stored.embargo else None) == stored.embargo
    # An entry without its own updated date keeps the one we stamped on it.
    return same_text and (item.updated is None or iso(item.updated) == stored.updated)


def held_columns(item: Item, held: bool) -> dict[str, str | None]:
    """A duplicate record's columns keeping the item (a version) to show at its embargo, or none."""
    return {"held_version": item_json(item) if held else None, "held_until": iso(item.embargo) if held else None}


def entry_key(item: Item) -> tuple[str, str]:
    """The tombstone key of an entry itself, its source and guid (pruning.py files it)."""
    return ("entry", f"{item.source}\n{item.guid}")
