"""Versions held for their embargo: a newer version of a story that is out,
under an embargo of its own (a wire's embargoed UPDATE 1), waits in its
duplicate record (duplicates.held_version, held_until) while the story keeps
the text it shows; at the embargo the worker's release job
(worker/lifecycle.py) takes it out of the record and, if it is still the
newest version, shows it in the story's place (Items.show_version), as an
update arriving then would be.

Whether a version is held, and whether it is shown when its time comes, is
decided by the filing step and the release job (dedup/decide.py); the store
keeps the version and hands it back once."""

from __future__ import annotations

from datetime import datetime

from ..model import Item, item_from_json
from .items import Items, held_columns
from .rows import Duplicate, iso, rows_of


class HeldVersions(Items):
    def hold_version(self, item: Item, held: bool = True) -> None:
        """What the item's duplicate record (a version, read again) keeps to
        show at its embargo: the item (`held`), in place of any version it
        kept, or nothing."""
        kept = "" if held else " AND held_until IS NOT NULL"  # none kept, none to keep: nothing written
        self.db.execute(
            f"UPDATE duplicates SET held_version = ?, held_until = ? WHERE category = ? AND source = ? AND guid = ?{kept}",
            [*held_columns(item, held).values(), item.category, item.source, item.guid])

    def due_versions(self, now: datetime) -> list[tuple[str, str]]:
        """The stories (id, category) with a version held until `now` or
        before.  Asked every second by every worker: one look in the index
        of what is held, which is empty most of the time."""
        return [(item_id, category) for item_id, category in self.db.execute(
            "SELECT DISTINCT item_id, category FROM duplicates WHERE held_until IS NOT NULL AND held_until <= ?"
            " ORDER BY item_id", [iso(now)])]

    def take_due_versions(self, item_id: str, now: datetime) -> list[Item]:
        """The story's versions held until `now` or before, in the order they
        came, taken out of their records in the caller's transaction: none if
        another worker took them first (each is handed back once)."""
        due = self.db.execute(
            "SELECT id, held_version FROM duplicates WHERE item_id = ? AND held_until IS NOT NULL AND held_until <= ?"
            " ORDER BY id", [item_id, iso(now)]).fetchall()
        # Each taken only if it is still what was read: of workers reading it at once, one clears it.
        return [item_from_json(version) for record, version in due if self.db.execute(
            "UPDATE duplicates SET held_version = NULL, held_until = NULL WHERE id = ? AND held_version = ?",
            [record, version]).rowcount]

    def held_versions(self, limit: int = 1000) -> list[Duplicate]:
        """The version records keeping a version for its embargo, the first
        to go out first (for operators: each is shown then if it is still
        its story's newest)."""
        return rows_of(Duplicate, self.db.execute(
            "SELECT * FROM duplicates WHERE held_until IS NOT NULL ORDER BY held_until, id LIMIT ?", [limit]))
