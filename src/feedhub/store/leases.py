"""Leases: which worker runs a scheduled job now, so that several workers
sharing one database run each job once per interval (see leases.py for the
decisions: names, lease lengths, due times).

A claim is one conditional UPDATE: of several workers claiming at once,
exactly one sees its row changed (rowcount 1), on SQLite and on PostgreSQL
alike; the others find the job taken and skip it."""

from __future__ import annotations

from datetime import datetime

from ..model import Lease
from .connection import Connection
from .rows import iso, rows_of


class Leases(Connection):
    def claim(self, name: str, holder: str, now: datetime, until: datetime) -> bool:
        """Take the job `name` for `holder` until `until`, unless another
        worker holds it or it is not due yet; True if it is now `holder`'s."""
        with self.transaction() as db:
            # The row must exist for the conditional UPDATE to find it.
            db.execute("INSERT INTO leases (name) VALUES (?) ON CONFLICT (name) DO NOTHING", [name])
            claimed = db.execute(
                "UPDATE leases SET holder = ?, not_before = ?, last_claimed = ?"
                " WHERE name = ? AND (not_before IS NULL OR not_before <= ?)",
                [holder, iso(until), iso(now), name, iso(now)],
            )
            return claimed.rowcount == 1

    def release(self, name: str, holder: str, due: datetime) -> None:
        """`holder` is done with `name`; no worker claims it again before
        `due`.  Nothing changes if another worker took it over meanwhile
        (this one outlived its lease)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE leases SET holder = NULL, not_before = ?, last_holder = holder WHERE name = ? AND holder = ?",
                [iso(due), name, holder],
            )

    def leases(self) -> dict[str, Lease]:
        """Every job's lease, by name."""
        return {lease.name: lease for lease in rows_of(Lease, self.db.execute("SELECT * FROM leases"))}
