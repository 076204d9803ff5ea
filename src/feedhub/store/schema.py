"""The schema, as numbered migrations applied in order (SQLite's ``user_version``)."""

from __future__ import annotations

import sqlite_utils

from . import search


def _v1(db: sqlite_utils.Database) -> None:
    db.table("items").create(
        {
            "id": str, "category": str, "source": str, "guid": str, "title": str, "link": str,
            "summary": str, "content": str, "text": str, "author": str,
            "published": str, "updated": str, "first_seen": str, "priority": int,
        },
        pk="id",
        not_null={"category", "source", "guid", "title", "published", "first_seen"},
    )
    db.table("items").create_index(["category", "published"])
    db.table("items").create_index(["link"])
    db.table("item_keys").create(
        {"category": str, "kind": str, "value": str, "item_id": str},
        pk=("category", "kind", "value"),
        foreign_keys=[("item_id", "items", "id")],
    )
    db.table("item_keys").create_index(["item_id"])
    db.table("duplicates").create(
        {
            "id": int, "item_id": str, "category": str, "source": str, "guid": str,
            "title": str, "link": str, "reason": str, "score": float,
            "first_seen": str, "last_seen": str,
        },
        pk="id",
        foreign_keys=[("item_id", "items", "id")],
    )
    db.table("duplicates").create_index(["category", "source", "guid"], unique=True)
    db.table("duplicates").create_index(["item_id"])
    db.table("categories").create({"key": str, "version": int, "changed": str}, pk="key")
    db.table("sources").create(
        {
            "name": str, "location": str, "category": str, "etag": str, "last_modified": str,
            "last_attempt": str, "last_success": str, "last_status": int, "last_error": str,
            "failures": int, "items_seen": int,
        },
        pk="name",
        defaults={"failures": 0, "items_seen": 0},
    )
    db.table("article_files").create(
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
    db.table("sources").add_column("url", str)
    db.table("sources").add_column("next_attempt", str)
    db.table("sources").add_column("retired", int, not_null_default=0)
    # Counters for /metrics, written by whichever process counts them, so that
    # every web worker serves the same numbers.
    db.table("counters").create({"name": str, "labels": str, "value": float}, pk=("name", "labels"))
    # The scheduler's "I am alive" stamp, for /healthz.
    db.table("heartbeats").create({"name": str, "beat": str, "pid": int}, pk="name")


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


def _leases(db: sqlite_utils.Database) -> None:
    """Several workers on one database (see leases.py): which worker holds
    each scheduled job (a source, an article folder, prune, backup; keyed by
    the job's id), who ran it last and when.  No worker may claim a job
    before `not_before`: while it is held, the end of the lease (a worker
    that died loses it then); between runs, the time it is due again, so no
    two workers run it in one interval.  categories.announced is the version
    WebSub hubs were last told about, claimed by the one process that pings."""
    db.execute(
        "CREATE TABLE leases (name TEXT PRIMARY KEY, holder TEXT, not_before TEXT, last_holder TEXT,"
        " last_claimed TEXT)"
    )
    db.execute("ALTER TABLE categories ADD COLUMN announced INTEGER")


MIGRATIONS = [_v1, _v2, _v3, _blocked, _full_text_pages, _retention, _media, _search, _article_metadata, _leases]

