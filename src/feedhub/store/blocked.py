"""Items a keep/block rule holds back: stored, marked, and out of the feeds."""

from __future__ import annotations

from typing import Iterator

from ..model import BLOCKED, UNCHANGED, Item, Outcome
from .items import Items
from .rows import StoredItem, SubjectRow, clock, iso, item_from_row, rows_of


class Blocked(Items):
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

    def unblock(self, item_id: str) -> Item | None:
        """Serve a blocked item again (the rule that blocked it is gone), in
        the caller's transaction.  One filed through dedup before is unmarked
        (None).  One blocked as it arrived was never compared with other
        stories: it is taken out and returned, and the caller files it as a
        new entry in the same transaction (ingest/filing.py)."""
        assert self.db.in_transaction, "an item is unblocked inside the transaction that files it again"
        row = self.item(item_id)
        assert row is not None, item_id
        filed = self.db.execute("SELECT 1 FROM item_keys WHERE item_id = ? LIMIT 1", [item_id]).fetchone()
        if filed:
            self.db.execute("UPDATE items SET blocked = NULL, blocked_at = NULL WHERE id = ?", [item_id])
            self._touch_category(row.category)
            return None
        self.db.execute("DELETE FROM item_tags WHERE item_id = ?", [item_id])
        self.db.execute("DELETE FROM items WHERE id = ?", [item_id])
        return item_from_row(row)

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
