"""A story's life after it is filed: held for its embargo and released,
withdrawn (killed) and restored, and the RFC 6721 deleted entries its
category's Atom feeds carry for a while after (issue 26).

Every change here moves the item's category version, so every cached feed,
static file, tag and search feed follows at once and WebSub hubs are told;
filing a held item moves none (nothing served changed).  When things are
due is the caller's to say (`now`, `before`): the store keeps no clock of
its own for them."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable

from .categories import Categories
from .rows import DeletedEntry, StoredItem, Withdrawal, clock, iso, one_of, rows_of

# Withdrawal records: what was done.
WITHDRAW, RESTORE = "withdraw", "undo"


class Lifecycle(Categories):
    # -- embargoes ----------------------------------------------------------------

    def held_items(self, limit: int = 1000) -> list[StoredItem]:
        """Items waiting for their embargo, the first to go out first."""
        return rows_of(StoredItem, self.db.execute(
            "SELECT * FROM items WHERE embargo IS NOT NULL AND withdrawn IS NULL ORDER BY embargo, id LIMIT ?",
            [limit]))

    def held_count(self) -> int:
        return int(self.db.execute(
            "SELECT count(*) FROM items WHERE embargo IS NOT NULL AND withdrawn IS NULL").fetchone()[0])

    def release_due(self, now: datetime) -> list[str]:
        """Serve every item whose embargo is past, dated at its embargo time;
        returns the categories they went out in.  Items another worker
        released meanwhile are left alone (each goes out once), and withdrawn
        ones stay held (an undo before the embargo leaves it to this job)."""
        # Asked every second by every worker: a read of the index, and the
        # write lock only when something is due.
        if not self.db.execute("SELECT 1 FROM items WHERE embargo IS NOT NULL AND embargo <= ? AND withdrawn IS NULL"
                               " LIMIT 1", [iso(now)]).fetchone():
            return []
        with self.transaction() as db:
            due = db.execute(
                "SELECT id, category, embargo FROM items WHERE embargo IS NOT NULL AND embargo <= ? AND withdrawn IS NULL"
                " ORDER BY id", [iso(now)]).fetchall()
            if not due:
                return []
            self.lock_categories(category for _, category, _ in due)
            released = set()
            for item_id, category, embargo in due:
                if db.execute("UPDATE items SET published = ?, embargo = NULL WHERE id = ? AND embargo IS NOT NULL",
                              [embargo, item_id]).rowcount:
                    db.execute("UPDATE item_tags SET published = ? WHERE item_id = ?", [embargo, item_id])
                    released.add(category)
            for category in released:
                self._touch_category(category)
            return sorted(released)

    # -- withdrawals -------------------------------------------------------------

    def withdraw(self, item_id: str, who: str, reason: str, now: datetime | None = None) -> bool:
        """Take a stored item off every route now, and record who did it and
        why; False if it is withdrawn already (nothing is done).  An item that
        was served leaves an at:deleted-entry in its category's Atom feeds."""
        now = now or clock()
        with self.transaction() as db:
            row = self._lifecycle_row(item_id)
            if row is None or row.withdrawn is not None:
                return False
            served = row.blocked is None and row.embargo is None
            db.execute("UPDATE items SET withdrawn = ?, deleted_entry = ? WHERE id = ?",
                       [iso(now), int(served), item_id])
            self._record_withdrawal(row, WITHDRAW, who, reason, now)
            self._touch_category(row.category)
            return True

    def restore(self, item_id: str, who: str, reason: str, now: datetime | None = None) -> bool:
        """Undo a withdrawal: the item is served again, updated now (later
        than its deleted entry's time, so readers take it back); False if it
        is not withdrawn."""
        now = now or clock()
        with self.transaction() as db:
            row = self._lifecycle_row(item_id)
            if row is None or row.withdrawn is None:
                return False
            db.execute("UPDATE items SET withdrawn = NULL, deleted_entry = 0, updated = ? WHERE id = ?",
                       [iso(now), item_id])
            self._record_withdrawal(row, RESTORE, who, reason, now)
            self._touch_category(row.category)
            return True

    def _lifecycle_row(self, item_id: str) -> StoredItem | None:
        self.lock_categories([row[0] for row in self.db.execute("SELECT category FROM items WHERE id = ?", [item_id])])
        return one_of(StoredItem, self.db.execute("SELECT * FROM items WHERE id = ?", [item_id]))

    def _record_withdrawal(self, row: StoredItem, action: str, who: str, reason: str, now: datetime) -> None:
        self._insert_row("withdrawals", {
            "item_id": row.id, "category": row.category, "source": row.source, "guid": row.guid, "title": row.title,
            "link": row.link, "action": action, "who": who, "reason": reason or None, "at": iso(now),
        })

    def withdrawals(self, item_id: str | None = None, limit: int = 1000) -> list[Withdrawal]:
        """The record of withdrawals and undos (of one item, or all), newest first."""
        where, params = ("WHERE item_id = ? ", [item_id]) if item_id else ("", [])
        return rows_of(Withdrawal, self.db.execute(
            f"SELECT * FROM withdrawals {where}ORDER BY at DESC, id DESC LIMIT ?", [*params, limit]))

    def withdrawn_items(self, limit: int = 1000) -> list[StoredItem]:
        """Items withdrawn now, the most recent first."""
        return rows_of(StoredItem, self.db.execute(
            "SELECT * FROM items WHERE withdrawn IS NOT NULL ORDER BY withdrawn DESC, id LIMIT ?", [limit]))

    def withdrawn_article(self, link: str) -> StoredItem | None:
        """The newsroom article once at this address, if it was withdrawn (its page answers 410 Gone)."""
        return one_of(StoredItem, self.db.execute(
            "SELECT * FROM items WHERE link = ? AND source LIKE 'articles:%' AND withdrawn IS NOT NULL LIMIT 1", [link]))

    # -- deleted entries (RFC 6721) -----------------------------------------------------

    def deleted_entries(self, category: str) -> list[DeletedEntry]:
        """The category's withdrawn items its Atom feeds still name as deleted, the most recent first."""
        return rows_of(DeletedEntry, self.db.execute(
            "SELECT id, link, withdrawn FROM items WHERE category = ? AND deleted_entry = 1"
            " ORDER BY withdrawn DESC, id", [category]))

    def tag_deleted_entries(self, slug: str, categories: Iterable[str]) -> list[DeletedEntry]:
        """Like deleted_entries, for the items tagged `slug` in `categories`."""
        chosen = list(categories)
        if not chosen:
            return []
        return rows_of(DeletedEntry, self.db.execute(
            "SELECT items.id, items.link, items.withdrawn FROM item_tags t JOIN items ON items.id = t.item_id"
            f" WHERE t.slug = ? AND items.deleted_entry = 1 AND items.category IN ({', '.join('?' * len(chosen))})"
            " ORDER BY items.withdrawn DESC, items.id", [slug, *chosen]))

    def expire_deleted_entries(self, before: datetime) -> list[str]:
        """Stop naming the items withdrawn before `before` as deleted; returns
        the categories whose feeds changed."""
        if not self.db.execute("SELECT 1 FROM items WHERE deleted_entry = 1 AND withdrawn < ? LIMIT 1",
                               [iso(before)]).fetchone():
            return []  # the usual answer, without the write lock
        with self.transaction() as db:
            rows = db.execute("SELECT DISTINCT category FROM items WHERE deleted_entry = 1 AND withdrawn < ?",
                              [iso(before)]).fetchall()
            if not rows:
                return []
            categories = sorted(category for (category,) in rows)
            self.lock_categories(categories)
            db.execute("UPDATE items SET deleted_entry = 0 WHERE deleted_entry = 1 AND withdrawn < ?", [iso(before)])
            for category in categories:
                self._touch_category(category)
            return categories
