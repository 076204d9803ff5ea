"""Source feeds' fetch state and their full-text pages."""

from __future__ import annotations

from datetime import datetime

from .connection import Connection
from .rows import clock, iso


class Sources(Connection):
    def source_state(self, name: str) -> dict:
        rows = list(self.db.query("SELECT * FROM sources WHERE name = ?", [name]))
        return rows[0] if rows else {}

    def sources(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM sources ORDER BY name"))

    def record_fetch(self, name: str, *, ok: bool, now: datetime | None = None, **fields: object) -> None:
        """Remember one fetch attempt; failures count up until the next success."""
        now = iso(now or clock())
        with self.transaction():
            previous = self.source_state(name)
            row = {"name": name, "last_attempt": now, **fields}
            if ok:
                row.update(last_success=now, last_error=None, failures=0, next_attempt=None)
            else:
                row["failures"] = (previous.get("failures") or 0) + 1
            self._upsert("sources", row, pk="name")

    def pages(self, source: str) -> dict[str, dict]:
        """The pages fetched for a source's entries, by item id."""
        return {row["item_id"]: row for row in self.db.query("SELECT * FROM pages WHERE source = ?", [source])}

    def record_pages(self, source: str, pages: list) -> None:
        """Remember fetched pages (fulltext.Page), replacing their earlier fetch."""
        with self.transaction():
            for page in pages:
                row = {column: getattr(page, column) for column in (
                    "item_id", "url", "stamp", "content", "text", "error", "status", "etag", "last_modified",
                    "attempts", "fetched_at")}
                self._upsert("pages", {**row, "source": source}, pk="item_id")

    def page_health(self, source: str) -> dict:
        """{"pages": fetched, "failed": failing now, "last_error": the latest
        failure as "URL: why" or None} for a source's entry pages."""
        pages, failed = self.db.execute(
            "SELECT count(*), count(error) FROM pages WHERE source = ?", [source]).fetchone()
        last = self.db.execute(
            "SELECT url, error FROM pages WHERE source = ? AND error IS NOT NULL ORDER BY fetched_at DESC LIMIT 1",
            [source]).fetchone()
        return {"pages": pages, "failed": failed, "last_error": f"{last[0]}: {last[1]}" if last else None}

    def reset_source(self, name: str) -> None:
        """Forget a source's moves, backoff, retirement and validators (a fresh start)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sources SET url = NULL, next_attempt = NULL, retired = 0, failures = 0,"
                " etag = NULL, last_modified = NULL WHERE name = ?",
                [name],
            )
