"""Filing an item's near-duplicate signature: its row, the list of its band
keys, and its band rows.  Shared by filing (items.py) and by the migration
that signs the stored items again when the band parameters change
(schema.py), so both write the same rows."""

from __future__ import annotations

from array import array

from .engine import Database


def file_signature(db: Database, item_id: str, bands: list[int]) -> list[tuple[int, int]]:
    """A signature row for the item and the list of its band keys (see
    schema._retention); returns the (band, signature) rows, still to be filed
    with file_bands."""
    num = db.execute("INSERT INTO near_signatures (item_id) VALUES (?) RETURNING num", [item_id]).fetchone()[0]
    db.execute("INSERT INTO near_band_lists (num, bands) VALUES (?, ?)", [num, array("q", bands).tobytes()])
    return [(band, num) for band in bands]


def file_bands(db: Database, rows: list[tuple[int, int]]) -> None:
    """File band rows; many at once go in much faster sorted (see Items.insert_many)."""
    db.executemany("INSERT INTO near_bands (band, num) VALUES (?, ?) ON CONFLICT DO NOTHING", rows)
