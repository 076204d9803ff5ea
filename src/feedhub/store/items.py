"""Filing items: exact and near duplicate lookups, keys, LSH bands, duplicates, blocked items."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Iterator, Mapping

from .. import dedup, media
from ..dedup import Match
from ..model import BLOCKED, DUPLICATE, NEW, UNCHANGED, UPDATED, Item, Outcome
from .categories import Categories
from .rows import MEDIA_COLUMNS, StoredItem, SubjectRow, clock, iso, item_from_row, media_columns, one_of, rows_of
from .signatures import file_signature


class Items(Categories):
    def add(
        self, item: Item, near_threshold: float = dedup.DEFAULT_THRESHOLD, prepared: dedup.Prepared | None = None
    ) -> Outcome:
        """File an item in its category: new, an update of itself, or a duplicate.

        The stored items under its exact keys and near-duplicate bands are
        read, dedup.decide says whether it is a copy and which copy is kept
        (`near_threshold`: how similar a near copy must be), and the decision
        is filed, all in this one transaction.  `prepared` is
        dedup.prepare(item) when the caller has worked it out already."""
        with self.transaction() as db:
            self.lock_categories([item.category])
            existing = self._existing(item.id)
            if existing and existing[-1] is not None:  # blocked before, passing the rules now
                self._unblock(item.id, near_threshold)
                existing = self._existing(item.id)
            if existing:
                return self._refresh(item, existing[:-1])
            known = db.execute(
                "SELECT item_id FROM duplicates WHERE category = ? AND source = ? AND guid = ?",
                [item.category, item.source, item.guid],
            ).fetchone()
            if known:
                db.execute(
                    "UPDATE duplicates SET last_seen = ? WHERE category = ? AND source = ? AND guid = ?",
                    [iso(clock()), item.category, item.source, item.guid],
                )
                return Outcome(UNCHANGED, known[0])
            item_keys, fingerprint = prepared or dedup.prepare(item)
            if self._buried(item, item_keys):
                return Outcome(UNCHANGED, None)  # pruned before: not published again
            candidates = self._candidates(item, item_keys, fingerprint)
            decision = dedup.decide(candidates, item, dedup.Rules(near_threshold), fingerprint)
            return self._apply(decision, item, item_keys, fingerprint)

    def _apply(
        self, decision: dedup.Decision, item: Item, item_keys: list[tuple[str, str]],
        fingerprint: dedup.Fingerprint | None,
    ) -> Outcome:
        """File the item as dedup.decide said: new, a copy, or the copy kept."""
        match = decision.match
        if decision.action == dedup.DUPLICATE:
            assert match is not None
            copy = {"category": item.category, "source": item.source, "guid": item.guid,
                    "title": item.title, "link": item.link}
            self._record_duplicate(copy, match.item_id, match)
            return Outcome(DUPLICATE, match.item_id, match.reason)
        self._file_bands(self._insert(item, item_keys, fingerprint))
        if decision.action == dedup.REPLACE:
            assert match is not None
            self._replace(match.item_id, item, match)
        self._touch_category(item.category)
        return Outcome(NEW, item.id, replaced=match.item_id if match else None)

    def item(self, item_id: str) -> StoredItem | None:
        return one_of(StoredItem, self.db.execute("SELECT * FROM items WHERE id = ?", [item_id]))

    def _existing(self, item_id: str) -> tuple[object, ...] | None:
        row: tuple[object, ...] | None = self.db.execute(
            f"SELECT title, link, content, updated, text, {', '.join(MEDIA_COLUMNS)}, blocked FROM items WHERE id = ?",
            [item_id],
        ).fetchone()
        return row

    def block(self, item: Item, reason: str) -> Outcome:
        """Hold back an entry a rule blocks: a stored item is marked (and
        leaves the served feeds); a new one is stored marked, outside dedup."""
        with self.transaction() as db:
            row = db.execute("SELECT blocked FROM items WHERE id = ?", [item.id]).fetchone()
            if row and row[0] is not None:
                return Outcome(UNCHANGED, item.id)
            if row:
                self.mark_blocked(item.id, reason)
                return Outcome(BLOCKED, item.id)
            self._insert(item, [], None)  # no keys, no signature: outside dedup
            db.execute("UPDATE items SET blocked = ?, blocked_at = ? WHERE id = ?", [reason, iso(clock()), item.id])
            return Outcome(BLOCKED, item.id)

    def mark_blocked(self, item_id: str, reason: str) -> None:
        """A stored item newly blocked (a rule changed): marked, not deleted."""
        with self.transaction() as db:
            db.execute("UPDATE items SET blocked = ?, blocked_at = ? WHERE id = ?", [reason, iso(clock()), item_id])
            self._touch_category(db.execute("SELECT category FROM items WHERE id = ?", [item_id]).fetchone()[0])

    def unblock(self, item_id: str, near_threshold: float = dedup.DEFAULT_THRESHOLD) -> None:
        """Serve a blocked item again (the rule that blocked it is gone)."""
        with self.transaction():
            self._unblock(item_id, near_threshold)

    def _unblock(self, item_id: str, near_threshold: float) -> None:
        row = self.item(item_id)
        assert row is not None, item_id
        filed = self.db.execute("SELECT 1 FROM item_keys WHERE item_id = ? LIMIT 1", [item_id]).fetchone()
        if filed:
            self.db.execute("UPDATE items SET blocked = NULL, blocked_at = NULL WHERE id = ?", [item_id])
            self._touch_category(row.category)
            return
        # Blocked as it arrived, so never compared with other stories: it
        # goes through deduplication now, as a new entry would.
        self.db.execute("DELETE FROM item_tags WHERE item_id = ?", [item_id])
        self.db.execute("DELETE FROM items WHERE id = ?", [item_id])
        self.add(item_from_row(row), near_threshold)

    def blocked_items(self, limit: int = 1000) -> list[StoredItem]:
        """Items held back by a rule, most recently blocked first."""
        return rows_of(StoredItem, self.db.execute(
            "SELECT * FROM items WHERE blocked IS NOT NULL ORDER BY blocked_at DESC, id LIMIT ?", [limit]))

    def blocked_count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM items WHERE blocked IS NOT NULL").fetchone()[0])

    def rule_subjects(self, blocked_only: bool = False) -> Iterator[SubjectRow]:
        """Every stored item (or every blocked one), with what keep/block rules look at."""
        cursor = self.db.execute(
            "SELECT id, category, source, title, summary, text, link, author, authors, tags, blocked FROM items"
            + (" WHERE blocked IS NOT NULL" if blocked_only else ""))
        names = [column[0] for column in cursor.description]
        for values in cursor:
            yield SubjectRow(**dict(zip(names, values)))

    def _candidates(
        self, item: Item, item_keys: list[tuple[str, str]], fingerprint: dedup.Fingerprint | None
    ) -> dedup.Candidates:
        """What is filed under the item's exact keys, and under its LSH bands.
        The bands are looked up only when no exact key is filed: an exact key
        always wins (dedup.decide), so near candidates could not change the
        decision, and most copies are exact ones."""
        owners = self._key_owners(item, item_keys)
        near = [] if owners or fingerprint is None else self._near_candidates(fingerprint)
        return dedup.Candidates(owners, near)

    def _key_owners(self, item: Item, item_keys: list[tuple[str, str]]) -> dict[str, dedup.KeyOwner]:
        """The items owning the keys that are filed, by key kind, with their priority."""
        if not item_keys:
            return {}
        # One query for all the keys rather than a round trip per key.  Spelled
        # as ORs: SQLite does one primary-key lookup per term, where a row-value
        # IN (VALUES ...) would scan the whole category.
        terms = " OR ".join(["(k.category = ? AND k.kind = ? AND k.value = ?)"] * len(item_keys))
        return {
            kind: dedup.KeyOwner(item_id, priority)
            for kind, item_id, priority in self.db.execute(
                f"SELECT k.kind, k.item_id, i.priority FROM item_keys k JOIN items i ON i.id = k.item_id"
                f" WHERE {terms}",
                [part for kind, value in item_keys for part in (item.category, kind, value)],
            )
        }

    def _near_candidates(self, fingerprint: dedup.Fingerprint) -> list[dedup.NearCandidate]:
        """The stored items sharing most LSH bands with the fingerprint (one
        indexed lookup, and the bands this transaction filed so far), at most
        dedup.MAX_CANDIDATES, with the texts to score."""
        marks = ",".join("?" * len(fingerprint.bands))
        hits: Counter[str] = Counter(dict(self.db.execute(
            f"SELECT s.item_id, count(*) AS hits FROM near_bands b JOIN near_signatures s ON s.num = b.num"
            f" WHERE b.band IN ({marks}) GROUP BY s.item_id ORDER BY hits DESC, s.item_id LIMIT ?",
            [*fingerprint.bands, dedup.MAX_CANDIDATES],
        ).fetchall()))
        if pending := self.bands.hits(fingerprint.bands):  # filed in this transaction
            marks = ",".join("?" * len(pending))
            for num, item_id in self.db.execute(
                    f"SELECT num, item_id FROM near_signatures WHERE num IN ({marks})", list(pending)):
                hits[item_id] += pending[num]
        if not hits:
            return []
        best = sorted(hits.items(), key=lambda hit: (-hit[1], hit[0]))[: dedup.MAX_CANDIDATES]
        marks = ",".join("?" * len(best))
        texts = {row[0]: row[1:] for row in self.db.execute(
            f"SELECT id, title, text, priority FROM items WHERE id IN ({marks})", [item_id for item_id, _ in best])}
        return [
            dedup.NearCandidate(item_id, title, text, count, priority)
            for item_id, count in best
            for title, text, priority in [texts[item_id]]
        ]

    def _insert(
        self, item: Item, item_keys: list[tuple[str, str]], fingerprint: dedup.Fingerprint | None
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
        return self._signature(item.id, fingerprint)

    def insert_many(self, items: Iterable[Item]) -> int:
        """File items known to be new and distinct stories (a bulk import, a
        benchmark's corpus) in one transaction, without looking for duplicates
        among them; much faster than add() one by one.  Returns the count."""
        count, categories = 0, set[str]()
        with self.transaction():
            for item in items:
                if item.category not in categories:
                    self.lock_categories([item.category])
                self._file_bands(self._insert(item, *dedup.prepare(item)))  # sorted as it commits
                categories.add(item.category)
                count += 1
            for category in categories:
                self._touch_category(category)
        return count

    def _replace(self, old_id: str, item: Item, match: Match) -> None:
        """The new item takes the stored one's place: everything that pointed
        at the old item (keys, signatures, duplicates, article files) moves to
        the new one, and the old item becomes one of its duplicates."""
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

    def _refresh(self, item: Item, existing: tuple[object, ...]) -> Outcome:
        """The same entry from the same source again: keep it current."""
        title, link, content, updated, text, *stored_media = existing
        same_text = (item.title, item.link, item.content) == (title, link, content)
        same_text = same_text and tuple(media_columns(item).values()) == tuple(stored_media)
        # An entry without its own updated date keeps the one we stamped on it.
        if same_text and (item.updated is None or iso(item.updated) == updated):
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
        tokens = dedup.item_words(item)
        self._file_keys(item, dedup.keys(item, tokens))
        # New words get a new signature.  The old one stays (removing it would
        # need a second index on the largest table); a candidate found through
        # it is scored against the text as it is now, so it cannot misfire.
        if (item.title, item.text) != (title, text):
            self._file_bands(self._signature(item.id, dedup.fingerprint(item, tokens)))
        self._touch_category(item.category)
        return Outcome(UPDATED, item.id)

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

    def _signature(self, item_id: str, fingerprint: dedup.Fingerprint | None) -> list[tuple[int, int]]:
        """A signature row for the item; returns the (band, signature) rows to file."""
        return [] if fingerprint is None else file_signature(self.db, item_id, fingerprint.bands)

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

    def _buried(self, item: Item, item_keys: list[tuple[str, str]]) -> bool:
        """True if the item, or a story it shares a key with, was pruned."""
        keys = [("entry", f"{item.source}\n{item.guid}"), *item_keys]
        terms = " OR ".join(["(category = ? AND kind = ? AND value = ?)"] * len(keys))
        return self.db.execute(
            f"SELECT 1 FROM tombstones WHERE {terms} LIMIT 1",
            [part for kind, value in keys for part in (item.category, kind, value)],
        ).fetchone() is not None
