"""Filing an item's near-duplicate signature: its row, the list of its band
keys, and its band rows.  Shared by filing (items.py) and by the migration
that signs the stored items again when the band parameters change
(schema.py), so both write the same rows."""

from __future__ import annotations

from array import array
from collections import Counter

from .engine import Database, insert_rows

# Band rows of a transaction from which COPY files them (two round trips,
# but a stream the server takes faster than as many INSERTs).
COPY_FROM = 1000


def file_signature(db: Database, item_id: str, bands: list[int]) -> list[tuple[int, int]]:
    """A signature row for the item and the list of its band keys (see
    schema._retention); returns the (band, signature) rows, still to be filed
    with file_bands."""
    num = db.execute("INSERT INTO near_signatures (item_id) VALUES (?) RETURNING num", [item_id]).fetchone()[0]
    db.execute("INSERT INTO near_band_lists (num, bands) VALUES (?, ?)", [num, array("q", bands).tobytes()])
    return [(band, num) for band in bands]


def file_bands(db: Database, rows: list[tuple[int, int]]) -> None:
    """File band rows; many at once go in much faster sorted (see PendingBands)."""
    db.executemany("INSERT INTO near_bands (band, num) VALUES (?, ?) ON CONFLICT DO NOTHING", rows)


class PendingBands:
    """The band rows filed in the open transaction, not yet in near_bands:
    inserted all at once, in key order, as it commits (page by page, where
    item by item each row went to a random page of the largest index), and
    looked up here until then, so an item still finds a copy filed moments
    before it."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int]] = []
        self.nums: dict[int, list[int]] = {}  # band key -> signatures filed under it

    def add(self, rows: list[tuple[int, int]]) -> None:
        self.rows += rows
        for band, num in rows:
            self.nums.setdefault(band, []).append(num)

    def hits(self, bands: list[int]) -> Counter[int]:
        """Bands shared with each pending signature."""
        return Counter(num for band in bands for num in self.nums.get(band, ()))

    def undo(self, mark: int) -> None:
        """Forget the rows filed since len(rows) was `mark` (a savepoint undone)."""
        kept = self.rows[:mark]
        self.clear()
        self.add(kept)

    def flush(self, db: Database) -> None:
        """File the rows, as the transaction commits: none is filed yet (their
        signatures are new), so COPY can take many (a stream on PostgreSQL,
        at two round trips); a few go with the COMMIT, in its round trip."""
        if self.rows:
            rows = sorted(set(self.rows))
            if len(rows) >= COPY_FROM:
                db.copy_rows("near_bands", ("band", "num"), rows)
            else:
                insert_rows(db, "near_bands", {"band": "INTEGER", "num": "INTEGER"}, rows, defer=True)
            self.clear()

    def clear(self) -> None:
        self.rows, self.nums = [], {}
