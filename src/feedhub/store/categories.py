"""Categories' versions: what every cached feed and ETag is keyed on."""

from __future__ import annotations

from .connection import Connection
from .rows import clock, iso


class Categories(Connection):
    def _touch_category(self, category: str) -> None:
        self.db.execute(
            "INSERT INTO categories (key, version, changed) VALUES (?, 1, ?) "
            "ON CONFLICT(key) DO UPDATE SET version = version + 1, changed = excluded.changed",
            [category, iso(clock())],
        )

    def category_state(self, category: str) -> dict:
        """A version number that changes whenever the category's items do."""
        rows = list(self.db.query("SELECT version, changed FROM categories WHERE key = ?", [category]))
        return rows[0] if rows else {"version": 0, "changed": None}

    def category_version(self, category: str) -> int:
        """The category's version alone: asked on every feed request, so kept cheap."""
        row = self.db.conn.execute("SELECT version FROM categories WHERE key = ?", [category]).fetchone()
        return row[0] if row else 0

    def category_versions(self) -> dict[str, int]:
        return dict(self.db.conn.execute("SELECT key, version FROM categories"))

    def data_state(self) -> dict:
        """A version that moves whenever any category changes (the sum of
        theirs, which only grow), and when the last change was: what a feed
        across categories (a tag, a search) is cached by."""
        version, changed = self.db.conn.execute(
            "SELECT coalesce(sum(version), 0), max(changed) FROM categories"
        ).fetchone()
        return {"version": version, "changed": changed}

    def data_version(self) -> int:
        return self.db.conn.execute("SELECT coalesce(sum(version), 0) FROM categories").fetchone()[0]

    def category_counts(self) -> dict[str, dict]:
        """{category: {"items": n, "duplicates": n, "newest": published time of
        its newest item or None}} for every category with either."""
        counts: dict[str, dict] = {}
        items = "SELECT category, count(*), max(published) FROM items WHERE blocked IS NULL GROUP BY category"
        for category, n, newest in self.db.execute(items):
            counts[category] = {"items": n, "duplicates": 0, "newest": newest}
        for category, n in self.db.execute("SELECT category, count(*) FROM duplicates GROUP BY category"):
            counts.setdefault(category, {"items": 0, "duplicates": 0, "newest": None})["duplicates"] = n
        return counts
