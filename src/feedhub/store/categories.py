"""Categories' versions: what every cached feed and ETag is keyed on."""

from __future__ import annotations

from .connection import Connection
from .engine import Database
from .rows import SERVED, CategoryCounts, CategoryState, ItemCounts, clock, iso, one_of


class Categories(Connection):
    def _touch_category(self, category: str) -> None:
        """The category's items changed: its version moves when this transaction commits."""
        assert self.db.in_transaction, "a category changes inside a transaction"
        self.changed.add(category)

    def _before_commit(self, db: Database) -> None:
        if self.changed:
            now = iso(clock())
            db.defer_many(  # with the COMMIT (PostgreSQL)
                "INSERT INTO categories (key, version, changed) VALUES (?, 1, ?) "
                "ON CONFLICT(key) DO UPDATE SET version = categories.version + 1, changed = excluded.changed",
                [(category, now) for category in sorted(self.changed)],
            )
        super()._before_commit(db)

    def claim_announcements(self, categories: list[str]) -> list[str]:
        """Of `categories`, those whose current version no process has
        announced to the WebSub hubs yet, now marked announced: the caller
        pings for these, and any other process asking about the same
        versions gets none of them."""
        claimed = []
        with self.transaction() as db:
            for category in categories:
                if db.execute(
                    "UPDATE categories SET announced = version WHERE key = ? AND (announced IS NULL OR announced < version)",
                    [category],
                ).rowcount == 1:
                    claimed.append(category)
        return claimed

    def category_state(self, category: str) -> CategoryState:
        """A version number that changes whenever the category's items do."""
        found = one_of(CategoryState, self.db.execute("SELECT version, changed FROM categories WHERE key = ?", [category]))
        return found or CategoryState(0, None)

    def _after_commit(self, changed: set[str]) -> None:
        watch = self.db.watch(start=False)
        if watch is not None and changed:
            watch.forget(changed)  # its notices may still be on their way
        super()._after_commit(changed)

    def category_version(self, category: str) -> int:
        """The category's version alone: asked on every feed request, so kept
        cheap (on PostgreSQL, known without asking: watch.py)."""
        watch = self.db.watch()
        known = watch.version(category) if watch else None
        if known is not None:
            return known
        row = self.db.execute("SELECT version FROM categories WHERE key = ?", [category]).fetchone()
        version = int(row[0]) if row else 0
        if watch:
            watch.learn(category, version)
        return version

    def category_versions(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT key, version FROM categories"))

    def data_state(self) -> CategoryState:
        """A version that moves whenever any category changes (the sum of
        theirs, which only grow), and when the last change was: what a feed
        across categories (a tag, a search) is cached by."""
        version, changed = self.db.execute(
            "SELECT CAST(coalesce(sum(version), 0) AS BIGINT), max(changed) FROM categories"
        ).fetchone()
        return CategoryState(version, changed)

    def data_version(self) -> int:
        watch = self.db.watch()
        known = watch.total() if watch else None
        if known is not None:
            return known
        return int(self.db.execute("SELECT CAST(coalesce(sum(version), 0) AS BIGINT) FROM categories").fetchone()[0])

    def category_counts(self) -> dict[str, CategoryCounts]:
        """Served items, duplicates and the newest item's published time, for
        every category with items or duplicates."""
        items: dict[str, tuple[int, str | None]] = {}
        for category, n, newest in self.db.execute(
            f"SELECT category, count(*), max(published) FROM items WHERE {SERVED} GROUP BY category"
        ):
            items[category] = (n, newest)
        duplicates = dict(self.db.execute("SELECT category, count(*) FROM duplicates GROUP BY category").fetchall())
        return {
            category: CategoryCounts(items.get(category, (0, None))[0], duplicates.get(category, 0),
                                     items.get(category, (0, None))[1])
            for category in {**items, **duplicates}
        }

    def item_counts(self) -> dict[str, ItemCounts]:
        """Items served and blocked, for every category with either (or with
        items held for their embargo or withdrawn, which are neither)."""
        return {
            category: ItemCounts(served, blocked) for category, served, blocked in self.db.execute(
                f"SELECT category, sum(CASE WHEN {SERVED} THEN 1 ELSE 0 END), count(blocked) FROM items GROUP BY category")
        }
