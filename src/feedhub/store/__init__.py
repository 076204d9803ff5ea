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
import time
from array import array
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Iterable, Iterator

import sqlite_utils

from .. import dedup, media
from ..items import Item, from_iso, utcnow
from . import search

# Outcomes of Store.add, as counted in ingest summaries.
NEW, UPDATED, UNCHANGED, DUPLICATE = "new", "updated", "unchanged", "duplicate"
BLOCKED = "blocked"  # held back by a keep/block rule (see rules.py)


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


def _blocked(db: sqlite_utils.Database) -> None:
    """Keep/block rules: an item a rule holds back stays in `items`, marked
    with the rule and when (NULL: served), so unblocking brings it back.  An
    entry blocked as it arrived is stored without dedup keys or signature,
    so it never hides another source's copy of the story.  `settings` keeps
    the fingerprint of the rules the stored items were last checked against."""
    db.execute("ALTER TABLE items ADD COLUMN blocked TEXT")
    db.execute("ALTER TABLE items ADD COLUMN blocked_at TEXT")
    db.execute("CREATE INDEX items_blocked ON items (blocked_at) WHERE blocked IS NOT NULL")
    db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT)")


def _full_text_pages(db: sqlite_utils.Database) -> None:
    """Full text: each entry page fetched for a `full_text` source, with its
    validators, the entry it was fetched for (stamp), and its article or
    the reason there is none."""
    db.execute(
        "CREATE TABLE pages (item_id TEXT PRIMARY KEY, source TEXT NOT NULL, url TEXT, stamp TEXT,"
        " content TEXT, text TEXT, error TEXT, status INTEGER, etag TEXT, last_modified TEXT,"
        " attempts INTEGER NOT NULL DEFAULT 1, fetched_at TEXT)"
    )
    db.execute("CREATE INDEX pages_source ON pages (source, fetched_at)")


def _retention(db: sqlite_utils.Database) -> None:
    """Tombstones of pruned stories, and each signature's band keys.

    A tombstone is a dedup key (guid, url, text, or "entry": source and guid)
    of a pruned item, kept so the story is not published again when a source
    still carries it.  near_band_lists holds the band keys a signature filed,
    so pruning deletes its near_bands rows by primary key: that table has no
    index on num, and finding them otherwise means reading all of it.  Older
    signatures have no list; those are found with one scan per prune."""
    db.execute(
        "CREATE TABLE tombstones (category TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,"
        " pruned TEXT NOT NULL, PRIMARY KEY (category, kind, value)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX tombstones_pruned ON tombstones (category, pruned)")
    db.execute("CREATE TABLE near_band_lists (num INTEGER PRIMARY KEY, bands BLOB NOT NULL)")
    # Deleting an item makes SQLite look for article files still pointing at
    # it (a foreign key): without this index, a scan of them per item.
    db.execute("CREATE INDEX IF NOT EXISTS article_files_item ON article_files (item_id)")


def _media(db: sqlite_utils.Database) -> None:
    """What an item carries beside its text (JSON lists, see media.to_json),
    and its tags by slug, for the tag views."""
    for column in ("authors", "tags", "image", "enclosures", "comments"):
        db.execute(f"ALTER TABLE items ADD COLUMN {column} TEXT")
    # Keyed by (slug, published): a tag's newest items are read in index order.
    db.execute(
        "CREATE TABLE item_tags (slug TEXT NOT NULL, published TEXT NOT NULL,"
        " item_id TEXT NOT NULL REFERENCES items(id), name TEXT NOT NULL,"
        " PRIMARY KEY (slug, published, item_id)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX item_tags_item ON item_tags (item_id)")


def _search(db: sqlite_utils.Database) -> None:
    """Full-text search (see search.py): an FTS5 index of each item's title,
    body text and tags, kept in step by triggers, so every way an item is
    written, replaced or edited reaches it in the same transaction.

    The triggers do not write the index itself but a queue that the store
    empties into it just before the outer transaction commits: FTS5 writes
    its pending rows to disk at every savepoint, and each item filed in a
    batch is one, which made indexing ~10x the cost of the rest of filing.

    The index is contentless (the text is in items already); its rows are
    numbered through search_rows, because items' own rowids may change in a
    VACUUM.  Removing a row from a contentless index takes the text it was
    indexed with, which the triggers queue from old.*."""
    db.execute("CREATE TABLE search_rows (num INTEGER PRIMARY KEY, item_id TEXT NOT NULL UNIQUE)")
    db.execute(
        f"CREATE VIRTUAL TABLE items_search USING fts5({', '.join(search.COLUMNS)},"
        f" content='', tokenize='{search.TOKENIZE}')"
    )
    db.execute("INSERT INTO items_search (items_search, rank) VALUES ('rank', ?)", [search.RANK])
    # command: 'delete' to take a row out of the index, NULL to add one.
    db.execute(
        "CREATE TABLE search_queue (seq INTEGER PRIMARY KEY, command TEXT, num INTEGER NOT NULL,"
        " title TEXT, body TEXT, tags TEXT)"
    )

    def queue(command: str, row: str) -> str:
        return (
            f"INSERT INTO search_queue (command, num, title, body, tags) VALUES ({command},"
            f" (SELECT num FROM search_rows WHERE item_id = {row}.id), {row}.title, {row}.text,"
            f" (SELECT group_concat(value, ' ') FROM json_each({row}.tags)));"
        )

    remove = "'delete'"
    db.execute("CREATE TRIGGER items_search_insert AFTER INSERT ON items BEGIN"
               f" INSERT INTO search_rows (item_id) VALUES (new.id); {queue('NULL', 'new')} END")
    db.execute("CREATE TRIGGER items_search_update AFTER UPDATE OF title, text, tags ON items BEGIN"
               f" {queue(remove, 'old')} {queue('NULL', 'new')} END")
    db.execute("CREATE TRIGGER items_search_delete AFTER DELETE ON items BEGIN"
               f" {queue(remove, 'old')} DELETE FROM search_rows WHERE item_id = old.id; END")
    # The items stored before.
    db.execute("INSERT INTO search_rows (item_id) SELECT id FROM items")
    db.execute(
        "INSERT INTO search_queue (num, title, body, tags) SELECT r.num, items.title, items.text,"
        " (SELECT group_concat(value, ' ') FROM json_each(items.tags)) FROM items JOIN search_rows r ON r.item_id = items.id"
    )
    index_queued(db)


def index_queued(db: sqlite_utils.Database) -> None:
    """Apply the queued changes to the search index, in order, and empty the queue."""
    # One statement, so FTS5 writes its pending rows once.  A NULL command
    # column is an ordinary insert.
    db.execute(
        "INSERT INTO items_search (items_search, rowid, title, body, tags)"
        " SELECT command, num, title, body, tags FROM search_queue ORDER BY seq"
    )
    db.execute("DELETE FROM search_queue")


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


MIGRATIONS = [_v1, _v2, _v3, _blocked, _full_text_pages, _retention, _media, _search, _article_metadata]


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


MEDIA_COLUMNS = ("authors", "tags", "image", "enclosures", "comments")


def _media_columns(item: Item) -> dict:
    """The item's authors, tags, picture, media files and comments link as stored."""
    return {
        # Every input's tags go through media.tags: one spelling per slug.
        "authors": media.to_json(item.authors), "tags": media.to_json(media.tags(item.tags)), "image": item.image or None,
        "enclosures": media.to_json(item.enclosures), "comments": item.comments or None,
    }


def item_from_row(row: dict) -> Item:
    """A stored item as the Item it was filed from."""
    return Item(
        category=row["category"], source=row["source"], guid=row["guid"], title=row["title"],
        link=row["link"] or "", summary=row["summary"] or "", content=row["content"] or "",
        text=row["text"] or "", published=from_iso(row["published"]), updated=from_iso(row["updated"]),
        author=row["author"] or "", priority=row["priority"] if row["priority"] is not None else 100,
        authors=media.stored_people(row["authors"]), tags=media.stored_tags(row["tags"]), image=row["image"] or "",
        enclosures=media.stored_enclosures(row["enclosures"]), comments=row["comments"] or "",
    )


@dataclass
class Outcome:
    status: str  # NEW, UPDATED, UNCHANGED or DUPLICATE
    item_id: str | None  # the stored item (for a duplicate: the one it duplicates); None: pruned
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
# How often a connection tries to switch a new database to WAL (see
# Store._enable_wal), 50 ms apart.
WAL_SWITCH_TRIES = 100


class Store:
    def __init__(self, path: str | Path):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we open transactions ourselves (BEGIN IMMEDIATE),
        # so sqlite3 never commits half of an item behind our back.
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        # Takes effect only on a new database (before its first table, and
        # before WAL mode writes its header): freed pages can then be given
        # back to the file system without a full VACUUM (see reclaim()).
        self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        self._enable_wal()
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _enable_wal(self) -> None:
        """Switch a new database to WAL.  Several processes or threads opening
        a database that does not exist yet (a worker's jobs starting at once)
        race for this switch: of two connections switching at once, SQLite
        answers one "database is locked" without waiting out the busy timeout
        (both hold a shared lock, so waiting would deadlock).  It tries again."""
        for attempt in range(WAL_SWITCH_TRIES):
            try:
                self.db.enable_wal()
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == WAL_SWITCH_TRIES - 1:
                    raise
                time.sleep(0.05)

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
            if self.db.conn.in_transaction:
                index_queued(self.db)  # the search index, in this same transaction
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
            existing = self._existing(item.id)
            if existing and existing[-1] is not None:  # blocked before, passing the rules now
                self._unblock(item.id, near_threshold)
                existing = self._existing(item.id)
            if existing:
                return self._refresh(item, existing[:-1])
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
            if self._buried(item, item_keys):
                return Outcome(UNCHANGED, None)  # pruned before: not published again
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

    def _existing(self, item_id: str) -> tuple | None:
        return self.db.execute(
            f"SELECT title, link, content, updated, text, {', '.join(MEDIA_COLUMNS)}, blocked FROM items WHERE id = ?",
            [item_id],
        ).fetchone()

    # -- keep/block rules ------------------------------------------------------

    def block(self, item: Item, reason: str) -> Outcome:
        """Hold back an entry a rule blocks: a stored item is marked (and
        leaves the served feeds); a new one is stored marked, outside dedup."""
        with self.transaction() as db:
            row = db.execute("SELECT blocked FROM items WHERE id = ?", [item.id]).fetchone()
            if row and row[0] is not None:
                return Outcome(UNCHANGED, item.id)
            if row:
                self.mark_blocked(item.id, reason)
                return Outcome(BLOCKED, item.id)
            self._insert(item, [], None)  # no keys, no signature: outside dedup
            db.execute("UPDATE items SET blocked = ?, blocked_at = ? WHERE id = ?", [reason, iso(utcnow()), item.id])
            return Outcome(BLOCKED, item.id)

    def mark_blocked(self, item_id: str, reason: str) -> None:
        """A stored item newly blocked (a rule changed): marked, not deleted."""
        with self.transaction() as db:
            db.execute("UPDATE items SET blocked = ?, blocked_at = ? WHERE id = ?", [reason, iso(utcnow()), item_id])
            self._touch_category(db.execute("SELECT category FROM items WHERE id = ?", [item_id]).fetchone()[0])

    def unblock(self, item_id: str, near_threshold: float = dedup.DEFAULT_THRESHOLD) -> None:
        """Serve a blocked item again (the rule that blocked it is gone)."""
        with self.transaction():
            self._unblock(item_id, near_threshold)

    def _unblock(self, item_id: str, near_threshold: float) -> None:
        row = self.item(item_id)
        filed = self.db.execute("SELECT 1 FROM item_keys WHERE item_id = ? LIMIT 1", [item_id]).fetchone()
        if filed:
            self.db.execute("UPDATE items SET blocked = NULL, blocked_at = NULL WHERE id = ?", [item_id])
            self._touch_category(row["category"])
            return
        # Blocked as it arrived, so never compared with other stories: it
        # goes through deduplication now, as a new entry would.
        self.db.execute("DELETE FROM item_tags WHERE item_id = ?", [item_id])
        self.db.execute("DELETE FROM items WHERE id = ?", [item_id])
        self.add(item_from_row(row), near_threshold)

    def blocked_items(self, limit: int = 1000) -> list[dict]:
        """Items held back by a rule, most recently blocked first."""
        return list(self.db.query(
            "SELECT id, category, source, title, link, blocked, blocked_at FROM items"
            " WHERE blocked IS NOT NULL ORDER BY blocked_at DESC, id LIMIT ?", [limit]))

    def blocked_count(self) -> int:
        return self.db.execute("SELECT count(*) FROM items WHERE blocked IS NOT NULL").fetchone()[0]

    def rule_subjects(self, blocked_only: bool = False) -> Iterator[dict]:
        """Every stored item (or every blocked one), with what keep/block rules look at."""
        yield from self.db.query(
            "SELECT id, category, source, title, summary, text, link, author, authors, tags, blocked FROM items"
            + (" WHERE blocked IS NOT NULL" if blocked_only else ""))

    def setting(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction():
            self._upsert("settings", {"key": key, "value": value}, pk="key")

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
            "INSERT OR IGNORE INTO item_tags (slug, published, item_id, name) VALUES (?, ?, ?, ?)",
            [(media.tag_slug(name), iso(item.published), item.id, name) for name in media.tags(item.tags)],
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
        self.db.execute("INSERT INTO near_band_lists (num, bands) VALUES (?, ?)",
                        [num, array("q", fingerprint.bands).tobytes()])
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
                " AS duplicate_count FROM items WHERE category = ? AND blocked IS NULL"
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
        with self.snapshot():
            state = self.category_state(category)
            rows = self.items(category, limit, offset)
            total = self.db.execute(
                "SELECT count(*) FROM items WHERE category = ? AND blocked IS NULL", [category]).fetchone()[0]
        return state, rows, total

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads inside see one state of the database (a read transaction)."""
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

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

    # -- search -----------------------------------------------------------------

    def search(
        self, query: str, categories: Iterable[str] | None = None, limit: int = 50, newest_first: bool = False
    ) -> list[dict]:
        """Items matching a full-text query (search.py), in `categories`
        (None: in every one): the best `limit` of the newest search.RANK_WINDOW
        matches, best first, or with `newest_first` the `limit` matches filed
        last, newest first.  SearchError if the query cannot be parsed."""
        query = search.check(query)
        categories = None if categories is None else list(categories)
        where = " AND items.blocked IS NULL"
        if categories is not None:
            where += f" AND items.category IN ({', '.join('?' * len(categories))})"
        window = []
        if not newest_first:
            # The index's row numbers follow filing: the newest matches are
            # those from the window's last row number up.
            oldest = self.db.execute(
                "SELECT rowid FROM items_search WHERE items_search MATCH ? ORDER BY rowid DESC LIMIT 1 OFFSET ?",
                [query, search.RANK_WINDOW - 1],
            ).fetchone()
            if oldest:
                where, window = f" AND items_search.rowid >= ?{where}", [oldest[0]]
        # In the index's own order (rank, or its row numbers, which follow
        # filing) SQLite joins only as many matches as it needs for `limit`.
        order = "items_search.rowid DESC" if newest_first else "items_search.rank"
        hits = (
            "SELECT items.* FROM items_search JOIN search_rows r ON r.num = items_search.rowid"
            f" JOIN items ON items.id = r.item_id WHERE items_search MATCH ?{where} ORDER BY {order} LIMIT ?"
        )
        if newest_first:
            hits = f"SELECT * FROM ({hits}) ORDER BY published DESC, id"
        return list(self.db.query(hits, [query, *window, *(categories or []), limit]))

    def search_feed(self, query: str, categories: Iterable[str], limit: int) -> tuple[dict, list[dict]]:
        """(data state, the newest items matching), from one snapshot."""
        with self.snapshot():
            return self.data_state(), self.search(query, categories, limit, newest_first=True)

    # -- tags -------------------------------------------------------------------

    # A tag's views span categories: each query names the categories its
    # reader may see (private ones only for a partner's key), and leaves out
    # items a keep/block rule holds back.

    @staticmethod
    def _tag_where(slug: str, categories: Iterable[str]) -> tuple[str, list]:
        categories = list(categories)
        return (
            "FROM item_tags t JOIN items ON items.id = t.item_id WHERE t.slug = ? AND items.blocked IS NULL"
            f" AND items.category IN ({', '.join('?' * len(categories))})",
            [slug, *categories],
        )

    def tag_name(self, slug: str, categories: Iterable[str]) -> str | None:
        """How the newest item tagged `slug` spells it; None when no item is."""
        where, params = self._tag_where(slug, categories)
        row = self.db.conn.execute(f"SELECT t.name {where} ORDER BY t.published DESC LIMIT 1", params).fetchone()
        return row[0] if row else None

    def tag_count(self, slug: str, categories: Iterable[str]) -> int:
        where, params = self._tag_where(slug, categories)
        return self.db.conn.execute(f"SELECT count(*) {where}", params).fetchone()[0]

    def tagged(self, slug: str, categories: Iterable[str], limit: int, offset: int = 0) -> list[dict]:
        """Items tagged `slug` in `categories`, newest first (in index order)."""
        where, params = self._tag_where(slug, categories)
        return list(self.db.query(
            f"SELECT items.* {where} ORDER BY t.published DESC, t.item_id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        ))

    def tag_feed(self, slug: str, categories: Iterable[str], limit: int) -> tuple[dict, str | None, list[dict]]:
        """(data state, the tag's name, its newest items), from one snapshot."""
        categories = list(categories)
        with self.snapshot():
            return self.data_state(), self.tag_name(slug, categories), self.tagged(slug, categories, limit)

    # -- retention -------------------------------------------------------------

    def _buried(self, item: Item, item_keys: list[tuple[str, str]]) -> bool:
        """True if the item, or a story it shares a key with, was pruned."""
        keys = [("entry", f"{item.source}\n{item.guid}"), *item_keys]
        terms = " OR ".join(["(category = ? AND kind = ? AND value = ?)"] * len(keys))
        return self.db.execute(
            f"SELECT 1 FROM tombstones WHERE {terms} LIMIT 1",
            [part for kind, value in keys for part in (item.category, kind, value)],
        ).fetchone() is not None

    def ranked(self, category: str, skip: int) -> list[tuple[str, str, str]]:
        """(id, published, title) of a category's items in feed order (newest
        first), after the first `skip`.  Items a keep/block rule holds back
        come last: they are on no served page, so the first `skip` are the
        feed's first page."""
        return self.db.execute(
            "SELECT id, published, title FROM items WHERE category = ?"
            " ORDER BY blocked IS NOT NULL, published DESC, id LIMIT -1 OFFSET ?",
            [category, skip],
        ).fetchall()

    def prune(self, category: str, doomed: list[tuple[str, str, str]], now: datetime, batch: int = 200) -> int:
        """Delete the (id, published, title) items of a category with their keys,
        signatures, bands and duplicates, leaving tombstones of their keys;
        `batch` items per transaction, so the ingest can write in between.  An
        item whose published time changed since it was chosen is kept.
        Returns how many were deleted."""
        removed, unlisted = 0, []
        for start in range(0, len(doomed), batch):
            with self.transaction():
                count, nums = self._prune_batch(category, doomed[start : start + batch], iso(now))
            removed, unlisted = removed + count, unlisted + nums
        if unlisted:
            # Signatures older than near_band_lists: their bands are found by
            # one scan of the table for the whole run.  Until then they point
            # at no signature, and a lookup (a join) never returns them.
            with self.transaction() as db:
                db.execute(f"DELETE FROM near_bands WHERE num IN ({','.join('?' * len(unlisted))})", unlisted)
        return removed

    def _prune_batch(self, category: str, chosen: list[tuple[str, str, str]], stamp: str) -> tuple[int, list[int]]:
        marks = ",".join("?" * len(chosen))
        now_published = dict(self.db.execute(
            f"SELECT id, published FROM items WHERE id IN ({marks})", [item_id for item_id, *_ in chosen]))
        ids = [item_id for item_id, published, _ in chosen if now_published.get(item_id) == published]
        if not ids:
            return 0, []
        self.db.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (id TEXT PRIMARY KEY)")
        self.db.execute("DELETE FROM temp.doomed")
        self.db.conn.executemany("INSERT INTO temp.doomed (id) VALUES (?)", [(item_id,) for item_id in ids])
        doomed = "IN (SELECT id FROM temp.doomed)"
        bury = "INSERT OR REPLACE INTO tombstones (category, kind, value, pruned) "
        self.db.execute(bury + f"SELECT category, kind, value, ? FROM item_keys WHERE item_id {doomed}", [stamp])
        # The item's own entry and each recorded copy's: the same entry from
        # the same source is buried even if it shares no key (a near match).
        entry = "SELECT category, 'entry', source || char(10) || guid, ? FROM"
        self.db.execute(bury + f"{entry} items WHERE id {doomed}", [stamp])
        self.db.execute(bury + f"{entry} duplicates WHERE item_id {doomed}", [stamp])
        unlisted = self._drop_signatures(doomed)
        for table in ("item_keys", "duplicates", "pages", "item_tags"):
            self.db.execute(f"DELETE FROM {table} WHERE item_id {doomed}")
        # The file's record stays (it is not read again until it changes).
        self.db.execute(f"UPDATE article_files SET item_id = NULL WHERE item_id {doomed}")
        self.db.execute(f"DELETE FROM items WHERE id {doomed}")
        self._touch_category(category)
        return len(ids), unlisted

    def _drop_signatures(self, doomed: str) -> list[int]:
        """Delete the signatures of the doomed items and their listed bands;
        returns the signatures whose bands were not listed."""
        nums = [num for (num,) in self.db.execute(f"SELECT num FROM near_signatures WHERE item_id {doomed}")]
        if not nums:
            return []
        marks = ",".join("?" * len(nums))
        listed = dict(self.db.execute(f"SELECT num, bands FROM near_band_lists WHERE num IN ({marks})", nums))
        rows = sorted((band, num) for num, blob in listed.items() for band in array("q", blob))
        self.db.conn.executemany("DELETE FROM near_bands WHERE band = ? AND num = ?", rows)
        self.db.execute(f"DELETE FROM near_band_lists WHERE num IN ({marks})", nums)
        self.db.execute(f"DELETE FROM near_signatures WHERE item_id {doomed}")
        return [num for num in nums if num not in listed]

    def expire_tombstones(self, category: str, before: datetime, dry_run: bool = False) -> int:
        """Forget the category's tombstones made before `before`; returns how
        many (dry: how many would be)."""
        verb = "SELECT count(*)" if dry_run else "DELETE"
        with self.transaction() as db:
            cursor = db.execute(f"{verb} FROM tombstones WHERE category = ? AND pruned < ?", [category, iso(before)])
            return cursor.fetchone()[0] if dry_run else cursor.rowcount

    def reclaim(self) -> int:
        """Give the database's free pages back to the file system (incremental
        vacuum: short, and readers go on); returns the bytes freed.  Does
        nothing on a database made before auto_vacuum was set (see vacuum())."""
        if not self.incremental():
            return 0
        free = self.db.execute("PRAGMA freelist_count").fetchone()[0]
        # executescript: it steps the pragma to its end; execute() would free
        # one page per call.
        self.db.conn.executescript("PRAGMA incremental_vacuum")
        # The file is cut only when the WAL is copied back into it.
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        return free * self.db.execute("PRAGMA page_size").fetchone()[0]

    def vacuum(self) -> None:
        """Rebuild the file once with incremental auto_vacuum (a database made
        before feedhub set it): a full VACUUM, which holds the write lock for
        its whole run."""
        self.db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        self.db.execute("VACUUM")

    def incremental(self) -> bool:
        """Whether freed pages can be given back without a full VACUUM."""
        return self.db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2

    # -- what the HTML pages show ------------------------------------------

    def article_by_link(self, link: str) -> dict | None:
        """The newsroom article at one of this site's /articles/ addresses;
        a feed entry claiming the same link is never shown in its place."""
        rows = list(self.db.query(
            "SELECT * FROM items WHERE link = ? AND source LIKE 'articles:%' AND blocked IS NULL LIMIT 1", [link]
        ))
        return rows[0] if rows else None

    def preview(self, category: str, limit: int, offset: int = 0) -> list[dict]:
        """The newest items of a category as a reader sees them, each with the
        other sources that carried the same story (from the duplicates table)."""
        return self._with_other_sources(
            "SELECT id FROM items WHERE category = ? AND blocked IS NULL ORDER BY published DESC, id LIMIT ? OFFSET ?",
            [category, limit, offset],
        )

    def tag_preview(self, slug: str, categories: Iterable[str], limit: int, offset: int = 0) -> list[dict]:
        """Like preview, for the items tagged `slug` in `categories`."""
        where, params = self._tag_where(slug, categories)
        return self._with_other_sources(
            f"SELECT t.item_id AS id {where} ORDER BY t.published DESC, t.item_id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )

    def _with_other_sources(self, page_ids: str, params: list) -> list[dict]:
        """The items `page_ids` selects (in its order), each with the other
        sources that carried the same story."""
        # The page of items is chosen first, so the duplicate lookups (indexed
        # by item_id) run only for the rows shown.
        return list(
            self.db.query(
                f"WITH ids AS ({page_ids}), page AS (SELECT items.id, source, title, link,"
                "  summary, content, author, authors, tags, image, published, updated"
                "  FROM ids JOIN items ON items.id = ids.id)"
                " SELECT page.*, count(DISTINCT d.source) AS other_sources,"
                "  group_concat(DISTINCT d.source) AS other_source_names"
                " FROM page LEFT JOIN duplicates d ON d.item_id = page.id AND d.source != page.source"
                " GROUP BY page.id ORDER BY page.published DESC, page.id",
                params,
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

    # -- entry pages of full-text sources ----------------------------------

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
        from ..boilerplate import HouseLine

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
