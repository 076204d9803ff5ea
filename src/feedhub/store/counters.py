"""Counters, heartbeats and settings."""

from __future__ import annotations

from datetime import datetime

from .connection import Connection
from .rows import Heartbeat, StoredCounter, clock, iso, one_of, rows_of


class Counters(Connection):
    def setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction():
            self._upsert("settings", {"key": key, "value": value}, pk="key")

    def add_counts(self, counts: list[tuple[str, str, float]]) -> None:
        """Add to counters, given as (metric name, labels as canonical JSON, amount)."""
        if not counts:
            return
        with self.transaction() as db:
            db.executemany(
                "INSERT INTO counters (name, labels, value) VALUES (?, ?, ?)"
                " ON CONFLICT(name, labels) DO UPDATE SET value = counters.value + excluded.value",
                # In key order: two workers adding to the same counters take
                # their row locks in the same order, never waiting on each other.
                sorted(counts),
            )

    def counters(self) -> list[StoredCounter]:
        return rows_of(StoredCounter, self.db.execute("SELECT name, labels, value FROM counters ORDER BY name, labels"))

    def beat(self, name: str, pid: int, now: datetime | None = None) -> None:
        with self.transaction() as db:
            self._upsert("heartbeats", {"name": name, "beat": iso(now or clock()), "pid": pid}, pk="name")

    def heartbeat(self, name: str) -> Heartbeat | None:
        """The process's last "I am alive"; None if it never beat."""
        return one_of(Heartbeat, self.db.execute("SELECT * FROM heartbeats WHERE name = ?", [name]))
