"""SQLite storage: items, their dedup keys, duplicates, sources and files seen.

One ``Store`` is one connection; open one per thread.  Every write happens in a
transaction, so a crash leaves either the whole item (row, keys, category
stamp) or nothing.  Callers may group many writes in one outer transaction (a
batch of files, one feed's entries): each write inside it is then a savepoint
that fails alone, and the batch costs one commit instead of one per item.
The schema is created and migrated by ``MIGRATIONS``, numbered by SQLite's
``user_version``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

import sqlite_utils

from . import dedup, media
from .items import Item, utcnow

# Outcomes of Store.add, as counted in ingest summaries.
NEW, UPDATED, UNCHANGED, DUPLICATE = "new", "updated", "unchanged", "duplicate"


def _v1(db: sqlite_utils.Database) -> None:
    db["items"].create(
        {
            "id": str, "category": str, "source": str, "guid": str, "title": str, "link": str,
            "summary": str, "content": str, "text": str, "author": str,
            "published": str, "updated": str, "first_seen": str, "priority": int,
        },
        pk="id",
        not_null={"category", "source", "guid", "title", "published", "first_seen"},
    )
    db["items"].create_index(["category", "published"])
    db["items"].create_index(["link"])
    db["item_keys"].create(
        {"category": str, "kind": str, "value": str, "item_id": str},
        pk=("category", "kind", "value"),
        foreign_keys=[("item_id", "items", "id")],
    )
    db["item_keys"].create_index(["item_id"])
    db["duplicates"].create(
        {
            "id": int, "item_id": str, "category": str, "source": str, "guid": str,
            "title": str, "link": str, "reason": str, "score": float,
            "first_seen": str, "last_seen": str,
        },
        pk="id",
        foreign_keys=[("item_id", "items", "id")],
    )
    db["duplicates"].create_index(["category", "source", "guid"], unique=True)
    db["duplicates"].create_index(["item_id"])
    db["categories"].create({"key": str, "version": int, "changed": str}, pk="key")
    db["sources"].create(
        {
            "name": str, "location": str, "category": str, "etag": str, "last_modified": str,
            "last_attempt": str, "last_success": str, "last_status": int, "last_error": str,
            "failures": int, "items_seen": int,
        },
        pk="name",
        defaults={"failures": 0, "items_seen": 0},
    )
    db["article_files"].create(
        {"path": str, "mtime_ns": int, "size": int, "item_id": str, "error": str, "seen": str},
        pk="path",
    )


def _v2(db: sqlite_utils.Database) -> None:
    """Near-duplicate signatures: one row per signed text, and its LSH band keys.

    Bands point at a small integer, not the 36-character item id, because the
    band table is by far the largest (about 30 rows per item).  A signature
    row's item_id moves to the kept item when a better copy replaces it."""
    db.execute(
        "CREATE TABLE near_signatures (num INTEGER PRIMARY KEY, "
        "item_id TEXT NOT NULL REFERENCES items(id))"
    )
    db.execute("CREATE INDEX near_signatures_item ON near_signatures (item_id)")
    db.execute(
        "CREATE TABLE near_bands (band INTEGER NOT NULL, num INTEGER NOT NULL, "
        "PRIMARY KEY (band, num)) WITHOUT ROWID"
    )
    # Why a copy matched, in words (shared shingles and similarity for "near").
    db.execute("ALTER TABLE duplicates ADD COLUMN detail TEXT")


def _v3(db: sqlite_utils.Database) -> None:
    # Politeness: where a moved source is fetched now, when it may be fetched
    # again after failures, and whether it is gone for good (410).
    db["sources"].add_column("url", str)
    db["sources"].add_column("next_attempt", str)
    db["sources"].add_column("retired", int, not_null_default=0)
    # Counters for /metrics, written by whichever process counts them, so that
    # every web worker serves the same numbers.
    db["counters"].create({"name": str, "labels": str, "value": float}, pk=("name", "labels"))
    # The scheduler's "I am alive" stamp, for /healthz.
    db["heartbeats"].create({"name": str, "beat": str, "pid": int}, pk="name")


def _media(db: sqlite_utils.Database) -> None:
    """What an item carries beside its text (JSON lists, see media.to_json),
    and its tags by slug, for the tag views."""
    for column in ("authors", "tags", "image", "enclosures", "comments"):
        db.execute(f"ALTER TABLE items ADD COLUMN {column} TEXT")
    db.execute(
        "CREATE TABLE item_tags (slug TEXT NOT NULL, item_id TEXT NOT NULL REFERENCES items(id),"
        " name TEXT NOT NULL, PRIMARY KEY (slug, item_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX item_tags_item ON item_tags (item_id)")


def _article_metadata(db: sqlite_utils.Database) -> None:
    """What each article file was read into (metadata, lines dropped and why,
    warnings) under which boilerplate rules; and each folder's house style:
    how many of its files each short line is in."""
    db.execute("ALTER TABLE article_files ADD COLUMN rules TEXT")  # Rules.version() it was read under
    db.execute("ALTER TABLE article_files ADD COLUMN parse TEXT")  # JSON, see ingest.parse_record
    db.execute(
        "CREATE TABLE house_lines (folder TEXT NOT NULL, key TEXT NOT NULL, text TEXT NOT NULL,"
        " files INTEGER NOT NULL, since INTEGER NOT NULL, learned INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (folder, key)) WITHOUT ROWID"
    )
    db.execute("CREATE TABLE house_folders (folder TEXT PRIMARY KEY, files INTEGER NOT NULL)")
    # The keys each file was counted under, taken back when the file changes.
    db.execute("CREATE TABLE house_files (path TEXT PRIMARY KEY, folder TEXT NOT NULL, keys TEXT NOT NULL)")


MIGRATIONS = [_v1, _v2, _v3, _media, _article_metadata]


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


MEDIA_COLUMNS = ("authors", "tags", "image", "enclosures", "comments")


def _media_columns(item: Item) -> dict:
    """The item's authors, tags, picture, media files and comments link as stored."""
    return {
        "authors": media.to_json(item.authors), "tags": media.to_json(item.tags), "image": item.image or None,
        "enclosures": media.to_json(item.enclosures), "comments": item.comments or None,
    }


@dataclass
class Outcome:
    status: str  # NEW, UPDATED, UNCHANGED or DUPLICATE
    item_id: str  # the stored item (for a duplicate: the one it duplicates)
    reason: str = ""  # which key matched, for a duplicate
    replaced: str | None = None  # for NEW: the stored copy it took the place of


@dataclass
class Match:
    """A stored item that a new one is the same story as, and why."""

    item_id: str
    reason: str  # guid, url, text or near
    score: float  # 1.0 for exact keys, the similarity for near
    detail: str  # the why, for operators


# Page cache of a connection that files many items (an ingest pass): the
# indexes written in random order (dedup keys, LSH bands) outgrow SQLite's
# 2 MB default after a few thousand items, and then every insert re-reads
# pages from the file; at 20k articles this cache makes ingest ~30% faster.
# Memory grows to this much and no further, whatever the number of items.
WRITER_CACHE_MB = 64
# WAL pages a bulk writer lets accumulate before copying them into the
# database file (SQLite's default is 1,000).  A batch of 200 articles dirties
# a few thousand pages of those random-order indexes, so at the default every
# commit was followed by a checkpoint rewriting them all; at 10,000 pages a
# page is copied once for several commits.  The cost: the -wal file grows to
# about 40 MB, and keeps that size while a process has the database open.
WRITER_CHECKPOINT_PAGES = 10_000


class Store:
    def __init__(self, path: str | Path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE),
        # so sqlite3 never commits half of an item behind our back.
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def use_writer_cache(self) -> None:
        """Give this connection the larger page cache of a bulk writer."""
        self.db.execute(f"PRAGMA cache_size = -{WRITER_CACHE_MB * 1024}")
        self.db.execute(f"PRAGMA wal_autocheckpoint = {WRITER_CHECKPOINT_PAGES}")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite_utils.Database]:
        """All writes inside are kept or none; nested, the inner one is a
        savepoint, undone alone if it raises, kept when the outer one commits."""
        if self.db.conn.in_transaction:
            self.db.execute("SAVEPOINT nested")
            try:
                yield self.db
            except BaseException:
                # in_transaction is False if SQLite itself already rolled back.
                if self.db.conn.in_transaction:
                    self.db.execute("ROLLBACK TO nested")
                    self.db.execute("RELEASE nested")
                raise
            self.db.execute("RELEASE nested")
            return
        # IMMEDIATE takes the write lock up front: two writers queue on the
        # busy timeout instead of failing on a read-to-write upgrade.
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            if self.db.conn.in_transaction:
                self.db.execute("ROLLBACK")
            raise
        # A nested write that hit an error SQLite rolls back on its own (a
        # full disk) has ended the transaction: what it held is gone, and
        # the inputs behind it are read again on the next pass.
        if self.db.conn.in_transaction:
            self.db.execute("COMMIT")

    def _insert_row(self, table: str, row: dict) -> None:
        # Plain SQL rather than Table.insert, which looks up the table's
        # schema on every call; the same text hits sqlite3's statement cache.
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        self.db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", list(row.values()))

    def _upsert(self, table: str, row: dict, pk: str) -> None:
        """Insert the row, or update only the given columns of the existing one."""
        columns = ", ".join(row)
        marks = ", ".join("?" * len(row))
        updates = ", ".join(f"{column} = excluded.{column}" for column in row if column != pk)
        self.db.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) ON CONFLICT({pk}) DO UPDATE SET {updates}",
            list(row.values()),
        )

    def _migrate(self) -> None:
        # The version is read inside the write lock: two processes opening a
        # new database at once must not both create the tables.
        with self.transaction() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(db)
                db.execute(f"PRAGMA user_version = {number}")

    # -- items ---------------------------------------------------------------

    def add(
        self, item: Item, near_threshold: float = dedup.DEFAULT_THRESHOLD, prepared: dedup.Prepared | None = None
    ) -> Outcome:
        """File an item in its category: new, an update of itself, or a duplicate.

        Exact keys are tried first, then near-duplicate signatures: a stored
        item whose text is at least `near_threshold` similar is the same story.
        Of two copies the first seen stays, unless the later one comes from a
        source with a better (lower) priority: then it takes the earlier one's
        place, all in this one transaction.  `prepared` is dedup.prepare(item)
        when the caller has worked it out already."""
        with self.transaction() as db:
            existing = db.execute(
                f"SELECT title, link, content, updated, text, {', '.join(MEDIA_COLUMNS)} FROM items WHERE id = ?",
                [item.id],
            ).fetchone()
            if existing:
                return self._refresh(item, existing)
            known = db.execute(
                "SELECT item_id FROM duplicates WHERE category = ? AND source = ? AND guid = ?",
                [item.category, item.source, item.guid],
            ).fetchone()
            if known:
                db.execute(
                    "UPDATE duplicates SET last_seen = ? WHERE category = ? AND source = ? AND guid = ?",
                    [iso(utcnow()), item.category, item.source, item.guid],
                )
                return Outcome(UNCHANGED, known[0])
            item_keys, fingerprint = prepared or dedup.prepare(item)
            match = self._exact_match(item, item_keys) or self._near_match(item, fingerprint, near_threshold)
            if match and not self._outranks(item, match.item_id):
                copy = {"category": item.category, "source": item.source, "guid": item.guid,
                        "title": item.title, "link": item.link}
                self._record_duplicate(copy, match.item_id, match)
                return Outcome(DUPLICATE, match.item_id, match.reason)
            self._file_bands(self._insert(item, item_keys, fingerprint))
            if match:
                self._replace(match.item_id, item, match)
            self._touch_category(item.category)
            return Outcome(NEW, item.id, replaced=match.item_id if match else None)

    def _exact_match(self, item: Item, item_keys: list[tuple[str, str]]) -> Match | None:
        """The item owning the first of the keys (in their order) that is filed."""
        if not item_keys:
            return None
        # One query for all the keys rather than a round trip per key.  Spelled
        # as ORs: SQLite does one primary-key lookup per term, where a row-value
        # IN (VALUES ...) would scan the whole category.
        terms = " OR ".join(["(category = ? AND kind = ? AND value = ?)"] * len(item_keys))
        found = dict(self.db.execute(
            f"SELECT kind, item_id FROM item_keys WHERE {terms}",
            [part for kind, value in item_keys for part in (item.category, kind, value)],
        ).fetchall())
        for kind, _ in item_keys:
            if kind in found:
                return Match(found[kind], kind, 1.0, dedup.EXACT_REASONS[kind])
        return None

    def _near_match(self, item: Item, fingerprint: dedup.Fingerprint | None, threshold: float) -> Match | None:
        """The most similar stored item at or above the threshold, found through
        shared LSH bands (one indexed lookup) and scored on the real texts."""
        if fingerprint is None:
            return None
        marks = ",".join("?" * len(fingerprint.bands))
        candidates = self.db.execute(
            f"SELECT s.item_id, count(*) AS hits FROM near_bands b JOIN near_signatures s ON s.num = b.num"
            f" WHERE b.band IN ({marks}) GROUP BY s.item_id ORDER BY hits DESC, s.item_id LIMIT ?",
            [*fingerprint.bands, dedup.MAX_CANDIDATES],
        ).fetchall()
        if not candidates:
            return None
        marks = ",".join("?" * len(candidates))
        texts = {row[0]: row[1:] for row in self.db.execute(
            f"SELECT id, title, text FROM items WHERE id IN ({marks})", [item_id for item_id, _ in candidates])}
        best = None
        for item_id, hits in candidates:
            title, text = texts[item_id]
            other = dedup.story_shingles(title, text or "")
            score = dedup.similarity(fingerprint.shingles, other)
            if score >= threshold and (best is None or score > best.score):
                why = f"{dedup.explain(fingerprint.shingles, other)}; {hits} LSH bands shared"
                best = Match(item_id, "near", round(score, 3), why)
        return best

    def _outranks(self, item: Item, stored_id: str) -> bool:
        """A later copy wins only from a source with a strictly better priority."""
        priority = self.db.execute("SELECT priority FROM items WHERE id = ?", [stored_id]).fetchone()[0]
        return priority is not None and item.priority < priority

    def _insert(
        self, item: Item, item_keys: list[tuple[str, str]], fingerprint: dedup.Fingerprint | None
    ) -> list[tuple[int, int]]:
        """Store a new item and its keys; returns its band rows, still to be filed."""
        row = {
            "id": item.id, "category": item.category, "source": item.source, "guid": item.guid,
            "title": item.title, "link": item.link, "summary": item.summary, "content": item.content,
            "text": item.text, "author": item.author, "published": iso(item.published),
            "updated": iso(item.updated), "first_seen": iso(utcnow()), "priority": item.priority,
            **_media_columns(item),
        }
        self._insert_row("items", row)
        self._file_tags(item)
        self._file_keys(item, item_keys)
        return self._signature(item.id, fingerprint)

    def insert_many(self, items: Iterable[Item]) -> int:
        """File items known to be new and distinct stories (a bulk import, a
        benchmark's corpus) in one transaction, without looking for duplicates
        among them; much faster than add() one by one.  Returns the count."""
        count, categories, bands = 0, set(), []
        with self.transaction():
            for item in items:
                bands += self._insert(item, *dedup.prepare(item))
                categories.add(item.category)
                count += 1
            # In key order, the band rows go into the index page by page
            # instead of all over it: much less to write.
            self._file_bands(sorted(bands))
            for category in categories:
                self._touch_category(category)
        return count

    def _replace(self, old_id: str, item: Item, match: Match) -> None:
        """The new item takes the stored one's place: everything that pointed
        at the old item (keys, signatures, duplicates, article files) moves to
        the new one, and the old item becomes one of its duplicates."""
        old = self.db.execute(
            "SELECT source, guid, title, link, first_seen FROM items WHERE id = ?", [old_id]
        ).fetchone()
        for table in ("item_keys", "near_signatures", "duplicates", "article_files"):
            self.db.execute(f"UPDATE {table} SET item_id = ? WHERE item_id = ?", [item.id, old_id])
        self.db.execute("DELETE FROM item_tags WHERE item_id = ?", [old_id])
        source, guid, title, link, first_seen = old
        copy = {"category": item.category, "source": source, "guid": guid, "title": title, "link": link}
        self._record_duplicate(copy, item.id, match, first_seen)
        self.db.execute("DELETE FROM items WHERE id = ?", [old_id])

    def _refresh(self, item: Item, existing: tuple) -> Outcome:
        """The same entry from the same source again: keep it current."""
        title, link, content, updated, text, *stored_media = existing
        same_text = (item.title, item.link, item.content) == (title, link, content)
        same_text = same_text and tuple(_media_columns(item).values()) == tuple(stored_media)
        # An entry without its own updated date keeps the one we stamped on it.
        if same_text and (item.updated is None or iso(item.updated) == updated):
            return Outcome(UNCHANGED, item.id)
        self.db["items"].update(
            item.id,
            {
                "title": item.title, "link": item.link, "summary": item.summary,
                "content": item.content, "text": item.text, "author": item.author,
                "published": iso(item.published), "updated": iso(item.updated or utcnow()),
                **_media_columns(item),
            },
        )
        self.db.execute("DELETE FROM item_tags WHERE item_id = ?", [item.id])
        self._file_tags(item)
        tokens = dedup.item_words(item)
        self._file_keys(item, dedup.keys(item, tokens))
        # New words get a new signature.  The old one stays (removing it would
        # need a second index on the largest table); a candidate found through
        # it is scored against the text as it is now, so it cannot misfire.
        if (item.title, item.text) != (title, text):
            self._file_bands(self._signature(item.id, dedup.fingerprint(item, tokens)))
        self._touch_category(item.category)
        return Outcome(UPDATED, item.id)

    def _file_tags(self, item: Item) -> None:
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO item_tags (slug, item_id, name) VALUES (?, ?, ?)",
            [(media.tag_slug(name), item.id, name) for name in item.tags if media.tag_slug(name)],
        )

    def _file_keys(self, item: Item, item_keys: list[tuple[str, str]]) -> None:
        # OR IGNORE: an edited entry keeps its old keys and gains the new ones;
        # a key another item already owns stays with that item.
        self.db.conn.executemany(
            "INSERT OR IGNORE INTO item_keys (category, kind, value, item_id) VALUES (?, ?, ?, ?)",
            [(item.category, kind, value, item.id) for kind, value in item_keys],
        )

    def _signature(self, item_id: str, fingerprint: dedup.Fingerprint | None) -> list[tuple[int, int]]:
        """A signature row for the item; returns the (band, signature) rows to file."""
        if fingerprint is None:
            return []
        num = self.db.execute("INSERT INTO near_signatures (item_id) VALUES (?)", [item_id]).lastrowid
        return [(band, num) for band in fingerprint.bands]

    def _file_bands(self, rows: list[tuple[int, int]]) -> None:
        self.db.conn.executemany("INSERT OR IGNORE INTO near_bands (band, num) VALUES (?, ?)", rows)

    def _record_duplicate(self, copy: dict, kept_id: str, match: Match, first_seen: str | None = None) -> None:
        """Remember `copy` (category, source, guid, title, link) as a duplicate
        of the kept item; first seen now unless it was stored before."""
        now = iso(utcnow())
        self._insert_row(
            "duplicates",
            {
                "item_id": kept_id, **copy, "reason": match.reason, "score": match.score,
                "detail": match.detail, "first_seen": first_seen or now, "last_seen": now,
            },
        )

    def _touch_category(self, category: str) -> None:
        self.db.execute(
            "INSERT INTO categories (key, version, changed) VALUES (?, 1, ?) "
            "ON CONFLICT(key) DO UPDATE SET version = version + 1, changed = excluded.changed",
            [category, iso(utcnow())],
        )

    def items(self, category: str, limit: int, offset: int = 0) -> list[dict]:
        """Newest first, with how many duplicates each item absorbed."""
        return list(
            self.db.query(
                "SELECT items.*, (SELECT count(*) FROM duplicates d WHERE d.item_id = items.id)"
                " AS duplicate_count FROM items WHERE category = ?"
                " ORDER BY published DESC, id LIMIT ? OFFSET ?",
                [category, limit, offset],
            )
        )

    def item(self, item_id: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM items WHERE id = ?", [item_id]))
        return rows[0] if rows else None

    def item_by_link(self, link: str) -> dict | None:
        rows = list(self.db.query("SELECT * FROM items WHERE link = ? LIMIT 1", [link]))
        return rows[0] if rows else None

    def stories(self, ref: str) -> list[dict]:
        """Stored items named by `ref`: an item id (as in feeds, `urn:uuid:...`,
        or bare), or a link to the item or to one of its recorded copies
        (tracking parameters do not matter)."""
        found = self.item(ref.removeprefix("urn:uuid:"))
        if found:
            return [found]
        return list(
            self.db.query(
                "SELECT * FROM items WHERE link = ? OR id IN ("
                " SELECT item_id FROM item_keys WHERE kind = 'url' AND value = ?"
                " UNION SELECT item_id FROM duplicates WHERE link = ?) ORDER BY category",
                [ref, dedup.canonical_url(ref), ref],
            )
        )

    def duplicates_of(self, item_id: str) -> list[dict]:
        return list(
            self.db.query("SELECT * FROM duplicates WHERE item_id = ? ORDER BY first_seen, id", [item_id])
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

    def feed_page(self, category: str, limit: int, offset: int) -> tuple[dict, list[dict], int]:
        """(category state, a page of items, total items), read from one snapshot
        so the version always describes exactly the items returned."""
        self.db.execute("BEGIN")
        try:
            state = self.category_state(category)
            rows = self.items(category, limit, offset)
            total = self.count("items", category=category)
        finally:
            self.db.execute("COMMIT")
        return state, rows, total

    # -- what the HTML pages show ------------------------------------------

    def article_by_link(self, link: str) -> dict | None:
        """The newsroom article at one of this site's /articles/ addresses;
        a feed entry claiming the same link is never shown in its place."""
        rows = list(self.db.query(
            "SELECT * FROM items WHERE link = ? AND source LIKE 'articles:%' LIMIT 1", [link]
        ))
        return rows[0] if rows else None

    def preview(self, category: str, limit: int, offset: int = 0) -> list[dict]:
        """The newest items of a category as a reader sees them, each with the
        other sources that carried the same story (from the duplicates table)."""
        # The page of items is chosen first, so the duplicate lookups (indexed
        # by item_id) run only for the rows shown.
        return list(
            self.db.query(
                "WITH page AS (SELECT id, source, title, link, summary, author, published, updated"
                "  FROM items WHERE category = ? ORDER BY published DESC, id LIMIT ? OFFSET ?)"
                " SELECT page.*, count(DISTINCT d.source) AS other_sources,"
                "  group_concat(DISTINCT d.source) AS other_source_names"
                " FROM page LEFT JOIN duplicates d ON d.item_id = page.id AND d.source != page.source"
                " GROUP BY page.id ORDER BY page.published DESC, page.id",
                [category, limit, offset],
            )
        )

    def count(self, table: str, **where: str) -> int:
        clause = " AND ".join(f"{column} = ?" for column in where) or "1"
        return self.db.execute(f"SELECT count(*) FROM {table} WHERE {clause}", list(where.values())).fetchone()[0]

    # -- fetch state of sources ---------------------------------------------

    def source_state(self, name: str) -> dict:
        rows = list(self.db.query("SELECT * FROM sources WHERE name = ?", [name]))
        return rows[0] if rows else {}

    def sources(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM sources ORDER BY name"))

    def record_fetch(self, name: str, *, ok: bool, now: datetime | None = None, **fields: object) -> None:
        """Remember one fetch attempt; failures count up until the next success."""
        now = iso(now or utcnow())
        with self.transaction():
            previous = self.source_state(name)
            row = {"name": name, "last_attempt": now, **fields}
            if ok:
                row.update(last_success=now, last_error=None, failures=0, next_attempt=None)
            else:
                row["failures"] = (previous.get("failures") or 0) + 1
            self._upsert("sources", row, pk="name")

    def reset_source(self, name: str) -> None:
        """Forget a source's moves, backoff, retirement and validators (a fresh start)."""
        with self.transaction() as db:
            db.execute(
                "UPDATE sources SET url = NULL, next_attempt = NULL, retired = 0, failures = 0,"
                " etag = NULL, last_modified = NULL WHERE name = ?",
                [name],
            )

    def category_counts(self) -> dict[str, dict]:
        """{category: {"items": n, "duplicates": n, "newest": published time of
        its newest item or None}} for every category with either."""
        counts: dict[str, dict] = {}
        items = "SELECT category, count(*), max(published) FROM items GROUP BY category"
        for category, n, newest in self.db.execute(items):
            counts[category] = {"items": n, "duplicates": 0, "newest": newest}
        for category, n in self.db.execute("SELECT category, count(*) FROM duplicates GROUP BY category"):
            counts.setdefault(category, {"items": 0, "duplicates": 0, "newest": None})["duplicates"] = n
        return counts

    # -- counters for /metrics and the scheduler's heartbeat ------------------

    def add_counts(self, counts: list[tuple[str, str, float]]) -> None:
        """Add to counters, given as (metric name, labels as canonical JSON, amount)."""
        if not counts:
            return
        with self.transaction() as db:
            db.conn.executemany(
                "INSERT INTO counters (name, labels, value) VALUES (?, ?, ?)"
                " ON CONFLICT(name, labels) DO UPDATE SET value = value + excluded.value",
                counts,
            )

    def counters(self) -> list[dict]:
        return list(self.db.query("SELECT name, labels, value FROM counters ORDER BY name, labels"))

    def beat(self, name: str, pid: int, now: datetime | None = None) -> None:
        with self.transaction() as db:
            db["heartbeats"].upsert({"name": name, "beat": iso(now or utcnow()), "pid": pid}, pk="name")

    def heartbeat(self, name: str) -> dict:
        rows = list(self.db.query("SELECT * FROM heartbeats WHERE name = ?", [name]))
        return rows[0] if rows else {}

    # -- article files already read -----------------------------------------

    def file_state(self, path: str) -> dict:
        # execute() rather than db.query(): this runs once per article file.
        cursor = self.db.execute("SELECT * FROM article_files WHERE path = ?", [path])
        row = cursor.fetchone()
        return dict(zip([column[0] for column in cursor.description], row)) if row else {}

    def article_folder(self, folder: str, max_errors: int = 20) -> dict:
        """What ingest has read under one article folder: how many files, when
        it last read one, and the files that failed (up to max_errors)."""
        # A range on the primary key: every path that starts with "folder/"
        # ("0" is the character right after "/").
        low, high = folder.rstrip("/") + "/", folder.rstrip("/") + "0"
        files, last_read = self.db.execute(
            "SELECT count(*), max(seen) FROM article_files WHERE path >= ? AND path < ?", [low, high]
        ).fetchone()
        errors = self.db.execute(
            "SELECT path, error FROM article_files WHERE path >= ? AND path < ? AND error IS NOT NULL"
            " ORDER BY path LIMIT ?",
            [low, high, max_errors],
        ).fetchall()
        return {"files": files, "last_read": last_read, "errors": errors}

    def record_file(
        self, path: str, mtime_ns: int, size: int, item_id: str | None, error: str | None,
        rules: str | None = None, parse: str | None = None,
    ) -> None:
        with self.transaction():
            self._upsert(
                "article_files",
                {"path": path, "mtime_ns": mtime_ns, "size": size, "item_id": item_id,
                 "error": error, "seen": iso(utcnow()), "rules": rules, "parse": parse},
                pk="path",
            )

    def article_file(self, item_id: str) -> dict | None:
        """The record of the file an item was read from."""
        rows = list(self.db.query("SELECT * FROM article_files WHERE item_id = ? LIMIT 1", [item_id]))
        return rows[0] if rows else None

    def forget_rules(self, folder: str) -> int:
        """Make every file under the folder be read again on the next pass."""
        low, high = folder.rstrip("/") + "/", folder.rstrip("/") + "0"
        with self.transaction() as db:
            return db.execute(
                "UPDATE article_files SET rules = NULL WHERE path >= ? AND path < ?", [low, high]
            ).rowcount

    # -- house style of article folders ----------------------------------------

    def count_house_lines(self, folder: str, files: list[tuple[str, dict[str, str]]]) -> None:
        """Count each file's short lines ({key: text}) in its folder, taking
        back what an earlier version of a file was counted under; a batch of
        files in a few statements, not a few per file."""
        with self.transaction() as db:
            paths = [path for path, _ in files]
            counted: dict[str, set[str]] = {}
            for start in range(0, len(paths), 500):
                chunk = paths[start:start + 500]
                marks = ",".join("?" * len(chunk))
                for path, keys in db.execute(f"SELECT path, keys FROM house_files WHERE path IN ({marks})", chunk):
                    counted[path] = set(keys.split())
            row = db.execute("SELECT files FROM house_folders WHERE folder = ?", [folder]).fetchone()
            total = row[0] if row else 0
            delta: dict[str, int] = {}
            first: dict[str, tuple[str, int]] = {}  # key: (text, files counted before it first appeared)
            for path, lines in files:
                before = counted.get(path)
                if before is None:
                    total, before = total + 1, set()
                for key in before - lines.keys():
                    delta[key] = delta.get(key, 0) - 1
                for key in lines.keys() - before:
                    delta[key] = delta.get(key, 0) + 1
                    first.setdefault(key, (lines[key], total - 1))
            db.execute("INSERT INTO house_folders (folder, files) VALUES (?, ?)"
                       " ON CONFLICT(folder) DO UPDATE SET files = excluded.files", [folder, total])
            rows = []
            for key, change in delta.items():
                if change:
                    # A key taken back is always stored already: only its count changes.
                    text, since = first.get(key, ("", 0))
                    rows.append((folder, key, text, change, since))
            db.conn.executemany(
                "INSERT INTO house_lines (folder, key, text, files, since) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT(folder, key) DO UPDATE SET files = files + excluded.files",
                rows,
            )
            db.conn.executemany(
                "INSERT INTO house_files (path, folder, keys) VALUES (?, ?, ?)"
                " ON CONFLICT(path) DO UPDATE SET keys = excluded.keys",
                [(path, folder, " ".join(sorted(lines))) for path, lines in files],
            )

    def house_lines(self, folder: str, min_files: int = 2) -> tuple[int, dict[str, "HouseLine"]]:
        """(files counted in the folder, {key: HouseLine}) for the lines in at
        least min_files of them."""
        from .boilerplate import HouseLine

        row = self.db.execute("SELECT files FROM house_folders WHERE folder = ?", [folder]).fetchone()
        lines = {
            key: HouseLine(text, files, since, bool(learned))
            for key, text, files, since, learned in self.db.execute(
                "SELECT key, text, files, since, learned FROM house_lines WHERE folder = ? AND files >= ?",
                [folder, min_files])
        }
        return (row[0] if row else 0), lines

    def mark_learned(self, folder: str, keys: Iterable[str]) -> None:
        """Remember which of the folder's lines are its house style now."""
        keys = list(keys)
        with self.transaction() as db:
            db.execute("UPDATE house_lines SET learned = 0 WHERE folder = ? AND learned = 1", [folder])
            db.conn.executemany("UPDATE house_lines SET learned = 1 WHERE folder = ? AND key = ?",
                                [(folder, key) for key in keys])
