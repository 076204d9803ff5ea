"""Source feeds' fetch state and their full-text pages."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ..model import PageState, SourceState
from .connection import Connection
from .rows import PageHealth, clock, iso, one_of, rows_of

if TYPE_CHECKING:
    from ..model import Page


class Sources(Connection):
    def source_state(self, name: str) -> SourceState | None:
        """The source's fetch state; None if it was never fetched."""
        return one_of(SourceState, self.db.execute("SELECT * FROM sources WHERE name = ?", [name]))

    def sources(self) -> list[SourceState]:
        return rows_of(SourceState, self.db.execute("SELECT * FROM sources ORDER BY name"))

    def record_fetch(self, name: str, *, ok: bool, now: datetime | None = None, **fields: object) -> None:
        """Remember one fetch attempt; failures count up until the next success."""
        stamp = iso(now or clock())
        with self.transaction():
            row = {"name": name, "last_attempt": stamp, **fields}
            if ok:
                row.update(last_success=stamp, last_error=None, failures=0, next_attempt=None)
            else:
                # Read only for a failure: a success needs nothing from the stored row.
                previous = self.source_state(name)
                row["failures"] = ((previous.failures if previous else 0) or 0) + 1
            self._upsert("sources", row, pk="name")

    def pages(self, source: str) -> dict[str, PageState]:
        """The pages fetched for a source's entries, by item id."""
        return {row.item_id: row for row in rows_of(PageState, self.db.execute(
            "SELECT * FROM pages WHERE source = ?", [source]))}

    def record_pages(self, source: str, pages: list[Page]) -> None:
        """Remember fetched pages (fulltext.Page), replacing their earlier fetch."""
        if not pages:  # most fetches (every 304): not even a savepoint
            return
        with self.transaction():
            for page in pages:
                row = {column: getattr(page, column) for column in (
                    "item_id", "url", "stamp", "content", "text", "error", "status", "etag", "last_modified",
                    "attempts", "fetched_at")}
                self._upsert("pages", {**row, "source": source}, pk="item_id")

    def page_health(self, source: str) -> PageHealth:
        """How a source's entry pages fare: fetched, failing now, the latest failure."""
        pages, failed = self.db.execute(
            "SELECT count(*), count(error) FROM pages WHERE source = ?", [source]).fetchone()
        last = self.db.execute(
            "SELECT url, error FROM pages WHERE source = ? AND error IS NOT NULL ORDER BY fetched_at DESC LIMIT 1",
            [source]).fetchone()
        return PageHealth(pages, failed, f"{last[0]}: {last[1]}" if last else None)

    def reset_source(self, name: str) -> None:
        """Forget a source's moves, backoff, retirement and validators (a fresh
        start), and let any worker fetch it at its next run, not only after
        the interval since the last (a worker fetching it now keeps it)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sources SET url = NULL, next_attempt = NULL, retired = 0, failures = 0,"
                " etag = NULL, last_modified = NULL WHERE name = ?",
                [name],
            )
            db.execute("UPDATE leases SET not_before = NULL WHERE name = ? AND holder IS NULL", [f"feed:{name}"])
