"""Filing items: the reads the filing step makes (an entry stored before, a
copy recorded before, a tombstone, the owners of exact keys, near-duplicate
candidates) and the writes it asks for (a new story, a copy, the kept copy
replaced, an entry refreshed), with their keys, LSH bands and tags.

Whether an item is a new story or a copy is not decided here: the filing step
(ingest/filing.py) calls these inside one transaction, with the category
locked, and asks dedup.decide in between.  Blocked items are in blocked.py."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping

from .. import media
from ..dedup.candidates import MAX_CANDIDATES, KeyOwner, Match, NearCandidate
from ..dedup.fingerprint import Fingerprint, fingerprint, item_words, keys, prepare
from ..model import UNCHANGED, UPDATED, Item, Outcome
from .categories import Categories
from .rows import MEDIA_COLUMNS, StoredEntry, StoredItem, clock, iso, media_columns, one_of
from .signatures import file_signature


class Items(Categories):
    def item(self, item_id: str) -> StoredItem | None:
        return one_of(StoredItem, self.db.execute("SELECT * FROM items WHERE id = ?", [item_id]))

    # -- what filing reads --------------------------------------------------------

    def stored_entry(self, item_id: str) -> StoredEntry | None:
        """The item as filed before from the same source and guid, if it was."""
        row = self.db.execute(
            f"SELECT title, link, content, updated, text, {', '.join(MEDIA_COLUMNS)}, blocked FROM items WHERE id = ?",
            [item_id],
        ).fetchone()
        if row is None:
            return None
        title, link, content, updated, text, *stored_media, blocked = row
        return StoredEntry(title, link, content, updated, text, tuple(stored_media), blocked)

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
        keys = [("entry", f"{item.source}\n{item.guid}"), *item_keys]
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
            kind: KeyOwner(item_id, priority)
            for kind, item_id, priority in self.db.execute(
                f"SELECT k.kind, k.item_id, i.priority FROM item_keys k JOIN items i ON i.id = k.item_id"
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
            f"SELECT id, title, text, priority FROM items WHERE id IN ({marks})", [item_id for item_id, _ in best])}
        return [
            NearCandidate(item_id, title, text, count, priority)
            for item_id, count in best
            for title, text, priority in [texts[item_id]]
        ]

    # -- what filing writes -------------------------------------------------------

    def file_new(self, item: Item, item_keys: list[tuple[str, str]], fingerprinted: Fingerprint | None) -> None:
        """File the item as a story: its row, tags, keys and signature."""
        self._file_bands(self._insert(item, item_keys, fingerprinted))
        self._touch_category(item.category)

    def record_copy(self, item: Item, match: Match) -> None:
        """Remember the item as a copy of the stored match.item_id."""
        copy = {"category": item.category, "source": item.source, "guid": item.guid,
                "title": item.title, "link": item.link}
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
        """The same entry from the same source again: keep it current."""
        same_text = (item.title, item.link, item.content) == (stored.title, stored.link, stored.content)
        same_text = same_text and tuple(media_columns(item).values()) == stored.media
        # An entry without its own updated date keeps the one we stamped on it.
        if same_text and (item.updated is None or iso(item.updated) == stored.updated):
            return Outcome(UNCHANGED, item.id)
        changed = {
            "title": item.title, "link": item.link, "summary": item.summary,
            "content": item.content, "text": item.text, "author": item.author,
            "published": iso(item.published), "updated": iso(item.updated or clock()),
            **media_columns(item),
        }
        self.db.execute(f"UPDATE items SET {', '.join(f'{column} = ?' for column in changed)} WHERE id = ?",
                        [*changed.values(), item.id])
        self.db.execute("DELETE FROM item_tags WHERE item_id = ?", [item.id])
        self._file_tags(item)
        tokens = item_words(item)
        self._file_keys(item, keys(item, tokens))
        # New words get a new signature.  The old one stays (removing it would
        # need a second index on the largest table); a candidate found through
        # it is scored against the text as it is now, so it cannot misfire.
        if (item.title, item.text) != (stored.title, stored.text):
            self._file_bands(self._signature(item.id, fingerprint(item, tokens)))
        self._touch_category(item.category)
        return Outcome(UPDATED, item.id)

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
        row = {
            "id": item.id, "category": item.category, "source": item.source, "guid": item.guid,
            "title": item.title, "link": item.link, "summary": item.summary, "content": item.content,
            "text": item.text, "author": item.author, "published": iso(item.published),
            "updated": iso(item.updated), "first_seen": iso(clock()), "priority": item.priority,
            **media_columns(item),
        }
        self._insert_row("items", row)
        self._file_tags(item)
        self._file_keys(item, item_keys)
        return self._signature(item.id, fingerprinted)

    def _file_tags(self, item: Item) -> None:
        self.db.executemany(
            "INSERT INTO item_tags (slug, published, item_id, name) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(media.tag_slug(name), iso(item.published), item.id, name) for name in media.tags(item.tags)],
        )

    def _file_keys(self, item: Item, item_keys: list[tuple[str, str]]) -> None:
        # DO NOTHING: an edited entry keeps its old keys and gains the new ones;
        # a key another item already owns stays with that item.
        self.db.executemany(
            "INSERT INTO item_keys (category, kind, value, item_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [(item.category, kind, value, item.id) for kind, value in item_keys],
        )

    def _signature(self, item_id: str, fingerprinted: Fingerprint | None) -> list[tuple[int, int]]:
        """A signature row for the item; returns the (band, signature) rows to file."""
        return [] if fingerprinted is None else file_signature(self.db, item_id, fingerprinted.bands)

    def _file_bands(self, rows: list[tuple[int, int]]) -> None:
        self.bands.add(rows)  # into near_bands as the transaction commits

    def _record_duplicate(self, copy: Mapping[str, str | None], kept_id: str, match: Match, first_seen: str | None = None) -> None:
        """Remember `copy` (category, source, guid, title, link) as a duplicate
        of the kept item; first seen now unless it was stored before."""
        now = iso(clock())
        self._insert_row(
            "duplicates",
            {
                "item_id": kept_id, **copy, "reason": match.reason, "score": match.score,
                "detail": match.detail, "first_seen": first_seen or now, "last_seen": now,
            },
        )
