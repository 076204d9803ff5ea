"""Retention: dropping the oldest items, tombstones, giving space back."""

from __future__ import annotations

from array import array
from datetime import datetime

from .categories import Categories
from .engine import SQLiteDatabase
from .rows import iso


# LIMIT of "every row after OFFSET" (SQLite needs a LIMIT to take an OFFSET).
ALL_ROWS = 2**62


class Pruning(Categories):
    def ranked(self, category: str, skip: int) -> list[tuple[str, str, str]]:
        """(id, published, title) of a category's items in feed order (newest
        first), after the first `skip`.  Items a keep/block rule holds back
        come last: they are on no served page, so the first `skip` are the
        feed's first page.  Items waiting for their embargo (not out yet) and
        withdrawn ones (kept for the record and for an undo) are never
        listed, so never pruned."""
        return self.db.execute(
            "SELECT id, published, title FROM items WHERE category = ? AND embargo IS NULL AND withdrawn IS NULL"
            " ORDER BY blocked IS NOT NULL, published DESC, id LIMIT ? OFFSET ?",
            [category, ALL_ROWS, skip],
        ).fetchall()

    def prune(self, category: str, doomed: list[tuple[str, str, str]], now: datetime, batch: int = 200) -> int:
        """Delete the (id, published, title) items of a category with their keys,
        signatures, bands and duplicates, leaving tombstones of their keys;
        `batch` items per transaction, so the ingest can write in between.  An
        item whose published time changed since it was chosen is kept.
        Returns how many were deleted."""
        removed, unlisted = 0, list[int]()
        for start in range(0, len(doomed), batch):
            with self.transaction():
                count, nums = self._prune_batch(category, doomed[start : start + batch], iso(now))
            removed, unlisted = removed + count, unlisted + nums
        if unlisted:
            # Signatures older than near_band_lists: their bands are found by
            # one scan of the table for the whole run.  Until then they point
            # at no signature, and a lookup (a join) never returns them.
            with self.transaction() as db:
                db.execute(f"DELETE FROM near_bands WHERE num IN ({','.join('?' * len(unlisted))})", unlisted)
        return removed

    def _prune_batch(self, category: str, chosen: list[tuple[str, str, str]], stamp: str) -> tuple[int, list[int]]:
        self.lock_categories([category])  # no worker files a copy of an item going now
        marks = ",".join("?" * len(chosen))
        now_published = dict(self.db.execute(
            f"SELECT id, published FROM items WHERE id IN ({marks})", [item_id for item_id, *_ in chosen]))
        ids = [item_id for item_id, published, _ in chosen if now_published.get(item_id) == published]
        if not ids:
            return 0, []
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (id TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM doomed")
        self.db.executemany("INSERT INTO doomed (id) VALUES (?)", [(item_id,) for item_id in ids])
        doomed = "IN (SELECT id FROM doomed)"
        bury = "INSERT INTO tombstones (category, kind, value, pruned) "
        again = " ON CONFLICT (category, kind, value) DO UPDATE SET pruned = excluded.pruned"
        self.db.execute(bury + f"SELECT category, kind, value, ? FROM item_keys WHERE item_id {doomed}" + again, [stamp])
        # The item's own entry and each recorded copy's: the same entry from
        # the same source is buried even if it shares no key (a near match).
        entry = "SELECT category, 'entry', source || ? || guid, ? FROM"
        self.db.execute(bury + f"{entry} items WHERE id {doomed}" + again, ["\n", stamp])
        self.db.execute(bury + f"{entry} duplicates WHERE item_id {doomed}" + again, ["\n", stamp])
        unlisted = self._drop_signatures(doomed)
        for table in ("item_keys", "duplicates", "pages", "item_tags"):
            self.db.execute(f"DELETE FROM {table} WHERE item_id {doomed}")
        # The file's record stays (it is not read again until it changes).
        self.db.execute(f"UPDATE article_files SET item_id = NULL WHERE item_id {doomed}")
        self.db.execute(f"DELETE FROM items WHERE id {doomed}")
        self._touch_category(category)
        return len(ids), unlisted

    def _drop_signatures(self, doomed: str) -> list[int]:
        """Delete the signatures of the doomed items and their listed bands;
        returns the signatures whose bands were not listed."""
        nums = [num for (num,) in self.db.execute(f"SELECT num FROM near_signatures WHERE item_id {doomed}")]
        if not nums:
            return []
        marks = ",".join("?" * len(nums))
        listed = dict(self.db.execute(f"SELECT num, bands FROM near_band_lists WHERE num IN ({marks})", nums))
        rows = sorted((band, num) for num, blob in listed.items() for band in array("q", blob))
        self.db.executemany("DELETE FROM near_bands WHERE band = ? AND num = ?", rows)
        self.db.execute(f"DELETE FROM near_band_lists WHERE num IN ({marks})", nums)
        self.db.execute(f"DELETE FROM near_signatures WHERE item_id {doomed}")
        return [num for num in nums if num not in listed]

    def expire_tombstones(self, category: str, before: datetime, dry_run: bool = False) -> int:
        """Forget the category's tombstones made before `before`; returns how
        many (dry: how many would be)."""
        verb = "SELECT count(*)" if dry_run else "DELETE"
        with self.transaction() as db:
            cursor = db.execute(f"{verb} FROM tombstones WHERE category = ? AND pruned < ?", [category, iso(before)])
            return cursor.fetchone()[0] if dry_run else cursor.rowcount

    def reclaim(self) -> int:
        """Give the database's free pages back to the file system (incremental
        vacuum: short, and readers go on); returns the bytes freed.  Does
        nothing on a database made before auto_vacuum was set (see vacuum())."""
        if self.db.dialect == "postgresql" or not self.incremental():
            return 0  # PostgreSQL's autovacuum gives space back by itself
        free: int = self.db.execute("PRAGMA freelist_count").fetchone()[0]
        # executescript: it steps the pragma to its end; execute() would free
        # one page per call.
        assert isinstance(self.db, SQLiteDatabase)
        self.db.conn.executescript("PRAGMA incremental_vacuum")
        # The file is cut only when the WAL is copied back into it.
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        page_size: int = self.db.execute("PRAGMA page_size").fetchone()[0]
        return free * page_size

    def vacuum(self) -> None:
        """Rebuild the file once with incremental auto_vacuum (a database made
        before feedhub set it): a full VACUUM, which holds the write lock for
        its whole run.  On PostgreSQL, a plain VACUUM of every table."""
        if self.db.dialect == "postgresql":
            self.db.execute("VACUUM")
            return
        self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        self.db.execute("VACUUM")

    def incremental(self) -> bool:
        """Whether freed pages can be given back without a full VACUUM."""
        if self.db.dialect == "postgresql":
            return True
        mode: int = self.db.execute("PRAGMA auto_vacuum").fetchone()[0]
        return mode == 2
