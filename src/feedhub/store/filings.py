"""Filing many items at once: what the filing step (ingest/filing.py) reads
for a whole batch in a few set-based queries, and what it writes for it in
a few batched statements.

Filed one by one, an item cost about a dozen round trips to PostgreSQL (the
entry stored before, a copy recorded before, tombstones, key owners, band
candidates, then each insert), which a network multiplies.  Here a batch
costs two pipelines of reads (what is stored under all its items; then the
copies recorded before and the candidates' texts) and one of writes,
however many items it holds.  On SQLite the same statements simply run in
turn.  Whether an item is new or a copy is still decided by the filing
step, item by item, in order."""

from __future__ import annotations

from array import array
from collections import defaultdict
from typing import Iterable, Sequence

from ..dedup.candidates import KeyOwner, Match
from ..dedup.fingerprint import Prepared
from ..model import Item
from .engine import Cursor, Database, insert_rows
from .items import STANDING, Items, entry_key, entry_of, file_keys, file_tags, standing, tag_rows
from .rows import LIFE_COLUMNS, MEDIA_COLUMNS, Closer, Found, Triple, clock, iso


class Filings(Items):
    def gather(self, batch: Sequence[tuple[Item, Prepared]]) -> Found:
        """Everything stored under the batch's ids, keys and bands, in one
        round trip; and numbers for the signatures it may file."""
        ids = sorted({item.id for item, _ in batch})
        keys = {(item.category, kind, value) for item, prepared in batch for kind, value in prepared.keys}
        marked = keys | {(item.category, *entry_key(item)) for item, _ in batch}
        bands = sorted({band for _, prepared in batch if prepared.fingerprint for band in prepared.fingerprint.bands})
        pending = sorted({num for band in bands for num in self.bands.nums.get(band, ())})  # filed in this transaction
        signing = sum(1 for _, prepared in batch if prepared.fingerprint)
        db = self.db
        with db.pipeline():
            where, params = _among(db, "id", ids)
            stored = db.execute(
                f"SELECT id, title, link, content, updated, text, {', '.join(MEDIA_COLUMNS)}, blocked,"
                f" {', '.join(LIFE_COLUMNS)} FROM items WHERE {where}", params)
            where, params = _triples(db, marked)
            buried = db.execute(f"SELECT category, kind, value FROM tombstones WHERE {where}", params)
            where, params = _triples(db, keys, "k.")
            owners = db.execute(f"SELECT k.category, k.kind, k.value, k.item_id, i.priority, {STANDING}"
                                f" FROM item_keys k JOIN items i ON i.id = k.item_id WHERE {where}", params) if keys else None
            where, params = _among(db, "b.band", bands, "bigint")
            hits = db.execute("SELECT b.band, s.item_id FROM near_bands b JOIN near_signatures s ON s.num = b.num"
                              f" WHERE {where}", params) if bands else None
            where, params = _among(db, "num", pending, "bigint")
            mine = db.execute(f"SELECT num, item_id FROM near_signatures WHERE {where}", params) if pending else None
            nums = self._reserve(signing)
        filed: dict[int, list[str]] = defaultdict(list)
        for band, item_id in hits or ():
            filed[band].append(item_id)
        signed = dict(mine or ())
        for band in bands:
            filed[band] += [signed[num] for num in self.bands.nums.get(band, ()) if num in signed]
        return Found(
            entries={row[0]: entry_of(row[1:]) for row in stored},
            buried={(category, kind, value) for category, kind, value in buried},
            owners={(category, kind, value): KeyOwner(item_id, priority, standing(*life))
                    for category, kind, value, item_id, priority, *life in owners or ()},
            bands=dict(filed),
            nums=[num for (num,) in nums] if nums is not None else [],
        )

    def _reserve(self, count: int) -> Cursor | None:
        """A cursor of `count` signature numbers no row has or will be given
        (PostgreSQL: from the column's sequence; SQLite: past the largest,
        under the write lock the transaction holds); None for none."""
        if not count:
            return None
        if self.db.dialect == "postgresql":
            return self.db.execute(
                "SELECT nextval(pg_get_serial_sequence('near_signatures', 'num')) FROM generate_series(1, ?)", [count])
        return self.db.execute(
            "WITH RECURSIVE n(num) AS (SELECT coalesce(max(num), 0) + 1 FROM near_signatures"
            " UNION ALL SELECT num + 1 FROM n LIMIT ?) SELECT num FROM n", [count])

    def look_closer(self, unfiled: Sequence[Item], candidates: Sequence[str]) -> Closer:
        """Of the entries not filed before, those recorded as copies before (seen
        again now: their last_seen moves); the texts of the near candidates."""
        if not unfiled and not candidates:
            return Closer({}, {}, {})
        db = self.db
        with db.pipeline():
            copies = kept = None
            if unfiled:
                entries = {(item.category, item.source, item.guid) for item in unfiled}
                columns = ("category", "source", "guid")
                where, params = _triples(db, entries, columns=columns)
                copies = db.execute(f"UPDATE duplicates SET last_seen = ? WHERE {where}"
                                    " RETURNING category, source, guid, item_id", [iso(clock()), *params])
                # The kept stories' inputs: a copy from its story's own input is one of its versions.
                where, params = _triples(db, entries, "d.", columns)
                kept = db.execute("SELECT d.category, d.source, d.guid, i.source FROM duplicates d"
                                  f" JOIN items i ON i.id = d.item_id WHERE {where}", params)
            ids = sorted(set(candidates))
            where, params = _among(db, "i.id", ids)
            texts = db.execute(f"SELECT i.id, i.title, i.text, i.priority, {STANDING} FROM items i"
                               f" WHERE {where}", params) if ids else None
        return Closer({(category, source, guid): item_id for category, source, guid, item_id in copies or ()},
                      {item_id: (title, text or "", priority, standing(*life))
                       for item_id, title, text, priority, *life in texts or ()},
                      {(category, source, guid): kept_source for category, source, guid, kept_source in kept or ()})

    def file_many(self, new: Sequence[tuple[Item, Prepared, int | None]], copies: Sequence[tuple[Item, Match]]) -> None:
        """File the `new` items as stories (each with its reserved signature
        number, None if unsigned) and the `copies` as duplicates of their
        matches, in one round trip."""
        if not new and not copies:
            return
        rows = [self._item_row(item) for item, _, _ in new]
        signed = [(num, item, prepared.fingerprint) for item, prepared, num in new
                  if num is not None and prepared.fingerprint]
        duplicates = [self._duplicate_row({"category": item.category, "source": item.source, "guid": item.guid,
                                           "title": item.title, "link": item.link}, match.item_id, match)
                      for item, match in copies]
        db = self.db
        with db.pipeline():
            # Items first: copies point at them.  Their columns are TEXT but these.
            for table, dicts, typed in (("items", rows, {"priority": "INTEGER"}), ("duplicates", duplicates, {"score": "FLOAT"})):
                if dicts:
                    insert_rows(db, table, {column: typed.get(column, "TEXT") for column in dicts[0]},
                                [list(row.values()) for row in dicts])
            file_tags(db, [row for item, _, _ in new for row in tag_rows(item)])
            file_keys(db, [(item.category, kind, value, item.id) for item, prepared, _ in new
                           for kind, value in prepared.keys])
            insert_rows(db, "near_signatures", {"num": "INTEGER", "item_id": "TEXT"},
                        [(num, item.id) for num, item, _ in signed])
            insert_rows(db, "near_band_lists", {"num": "INTEGER", "bands": "BLOB"},
                        [(num, array("q", found.bands).tobytes()) for num, _, found in signed])
        for num, _, found in signed:
            self.bands.add([(band, num) for band in found.bands])
        for item, _, _ in new:
            self._touch_category(item.category)


def _among(db: Database, column: str, values: Sequence[object], kind: str = "text") -> tuple[str, list[object]]:
    """A condition that `column` is one of the values, and its parameters: on
    PostgreSQL one array (the statement's text, and so its parsing and plan,
    the same whatever the count), on SQLite an IN list."""
    if db.dialect == "postgresql":
        return f"{column} = ANY(CAST(?b AS {kind}[]))", [list(values)]
    return f"{column} IN ({','.join('?' * len(values))})", list(values)


def _triples(db: Database, triples: Iterable[Triple], prefix: str = "",
             columns: tuple[str, str, str] = ("category", "kind", "value")) -> tuple[str, list[object]]:
    """A WHERE clause matching any of the triples: one term per first two
    values, with the third among a list, so both engines look each up in the
    primary key (a row-value IN of VALUES made SQLite scan)."""
    grouped: dict[tuple[str, str], list[str]] = defaultdict(list)
    for first, second, third in sorted(triples):
        grouped[(first, second)].append(third)
    first, second, third = (prefix + column for column in columns)
    terms, params = [], []
    for (a, b), values in grouped.items():
        among, listed = _among(db, third, values)
        terms.append(f"({first} = ? AND {second} = ? AND {among})")
        params += [a, b, *listed]
    return " OR ".join(terms) or "1 = 0", params
