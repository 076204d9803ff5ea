"""The schema, as numbered migrations applied in order (SQLite's
``user_version``; on PostgreSQL the ``schema_version`` table).

Each migration is written once for both engines (engine.translate maps
SQLite's type names); where they differ, it asks ``db.dialect``."""

from __future__ import annotations

from ..dedup.fingerprint import fingerprint
from ..model import Item, from_iso
from . import search
from .engine import Database
from .signatures import file_bands, file_signature


def _v1(db: Database) -> None:
    db.execute(
        "CREATE TABLE items (id TEXT PRIMARY KEY, category TEXT NOT NULL, source TEXT NOT NULL,"
        " guid TEXT NOT NULL, title TEXT NOT NULL, link TEXT, summary TEXT, content TEXT, text TEXT,"
        " author TEXT, published TEXT NOT NULL, updated TEXT, first_seen TEXT NOT NULL, priority INTEGER)"
    )
    db.execute("CREATE INDEX idx_items_category_published ON items (category, published)")
    db.execute("CREATE INDEX idx_items_link ON items (link)")
    db.execute(
        "CREATE TABLE item_keys (category TEXT, kind TEXT, value TEXT, item_id TEXT REFERENCES items(id),"
        " PRIMARY KEY (category, kind, value))"
    )
    db.execute("CREATE INDEX idx_item_keys_item_id ON item_keys (item_id)")
    db.execute(
        "CREATE TABLE duplicates (id INTEGER PRIMARY KEY, item_id TEXT REFERENCES items(id), category TEXT,"
        " source TEXT, guid TEXT, title TEXT, link TEXT, reason TEXT, score FLOAT, first_seen TEXT, last_seen TEXT)"
    )
    db.execute("CREATE UNIQUE INDEX idx_duplicates_category_source_guid ON duplicates (category, source, guid)")
    db.execute("CREATE INDEX idx_duplicates_item_id ON duplicates (item_id)")
    db.execute("CREATE TABLE categories (key TEXT PRIMARY KEY, version INTEGER, changed TEXT)")
    db.execute(
        "CREATE TABLE sources (name TEXT PRIMARY KEY, location TEXT, category TEXT, etag TEXT,"
        " last_modified TEXT, last_attempt TEXT, last_success TEXT, last_status INTEGER, last_error TEXT,"
        " failures INTEGER DEFAULT 0, items_seen INTEGER DEFAULT 0)"
    )
    db.execute(
        "CREATE TABLE article_files (path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, item_id TEXT,"
        " error TEXT, seen TEXT)"
    )


def _v2(db: Database) -> None:
    """Near-duplicate signatures: one row per signed text, and its LSH band keys.

    Bands point at a small integer, not the 36-character item id, because the
    band table is by far the largest (a row per band: 18 per item, 30 before
    _fewer_bands).  A signature row's item_id moves to the kept item when a
    better copy replaces it."""
    db.execute("CREATE TABLE near_signatures (num INTEGER PRIMARY KEY, item_id TEXT NOT NULL REFERENCES items(id))")
    db.execute("CREATE INDEX near_signatures_item ON near_signatures (item_id)")
    db.execute(
        "CREATE TABLE near_bands (band INTEGER NOT NULL, num INTEGER NOT NULL, "
        "PRIMARY KEY (band, num)) WITHOUT ROWID"
    )
    # Why a copy matched, in words (shared shingles and similarity for "near").
    db.execute("ALTER TABLE duplicates ADD COLUMN detail TEXT")


def _v3(db: Database) -> None:
    # Politeness: where a moved source is fetched now, when it may be fetched
    # again after failures, and whether it is gone for good (410).
    db.execute("ALTER TABLE sources ADD COLUMN url TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN next_attempt TEXT")
    db.execute("ALTER TABLE sources ADD COLUMN retired INTEGER NOT NULL DEFAULT 0")
    # Counters for /metrics, written by whichever process counts them, so that
    # every web worker serves the same numbers.
    db.execute("CREATE TABLE counters (name TEXT, labels TEXT, value FLOAT, PRIMARY KEY (name, labels))")
    # The scheduler's "I am alive" stamp, for /healthz.
    db.execute("CREATE TABLE heartbeats (name TEXT PRIMARY KEY, beat TEXT, pid INTEGER)")


def _blocked(db: Database) -> None:
    """Keep/block rules: an item a rule holds back stays in `items`, marked
    with the rule and when (NULL: served), so unblocking brings it back.  An
    entry blocked as it arrived is stored without dedup keys or signature,
    so it never hides another source's copy of the story.  `settings` keeps
    the fingerprint of the rules the stored items were last checked against."""
    db.execute("ALTER TABLE items ADD COLUMN blocked TEXT")
    db.execute("ALTER TABLE items ADD COLUMN blocked_at TEXT")
    db.execute("CREATE INDEX items_blocked ON items (blocked_at) WHERE blocked IS NOT NULL")
    db.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT)")


def _full_text_pages(db: Database) -> None:
    """Full text: each entry page fetched for a `full_text` source, with its
    validators, the entry it was fetched for (stamp), and its article or
    the reason there is none."""
    db.execute(
        "CREATE TABLE pages (item_id TEXT PRIMARY KEY, source TEXT NOT NULL, url TEXT, stamp TEXT,"
        " content TEXT, text TEXT, error TEXT, status INTEGER, etag TEXT, last_modified TEXT,"
        " attempts INTEGER NOT NULL DEFAULT 1, fetched_at TEXT)"
    )
    db.execute("CREATE INDEX pages_source ON pages (source, fetched_at)")


def _retention(db: Database) -> None:
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


def _media(db: Database) -> None:
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


def _search(db: Database) -> None:
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
    indexed with, which the triggers queue from old.*.

    On PostgreSQL: a GIN index on search.DOCUMENT, an expression of the
    row itself (PostgreSQL keeps it in step), with accents folded by the
    unaccent extension."""
    if db.dialect == "postgresql":
        for statement in search.POSTGRES_SCHEMA:
            db.execute(statement)
        return
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


def index_queued(db: Database) -> None:
    """Apply the queued changes to the search index, in order, and empty the queue."""
    # One statement, so FTS5 writes its pending rows once.  A NULL command
    # column is an ordinary insert.
    db.execute(
        "INSERT INTO items_search (items_search, rowid, title, body, tags)"
        " SELECT command, num, title, body, tags FROM search_queue ORDER BY seq"
    )
    db.execute("DELETE FROM search_queue")


def _article_metadata(db: Database) -> None:
    """What each article file was read into (metadata, lines dropped and why,
    warnings) under which boilerplate rules; and each folder's house style:
    how many of its files each short line is in."""
    db.execute("ALTER TABLE article_files ADD COLUMN rules TEXT")  # Rules.version() it was read under
    db.execute("ALTER TABLE article_files ADD COLUMN parse TEXT")  # JSON, see articles.to_item.parse_record
    db.execute(
        "CREATE TABLE house_lines (folder TEXT NOT NULL, key TEXT NOT NULL, text TEXT NOT NULL,"
        " files INTEGER NOT NULL, since INTEGER NOT NULL, learned INTEGER NOT NULL DEFAULT 0,"
        " PRIMARY KEY (folder, key)) WITHOUT ROWID"
    )
    db.execute("CREATE TABLE house_folders (folder TEXT PRIMARY KEY, files INTEGER NOT NULL)")
    # The keys each file was counted under, taken back when the file changes.
    db.execute("CREATE TABLE house_files (path TEXT PRIMARY KEY, folder TEXT NOT NULL, keys TEXT NOT NULL)")


def _leases(db: Database) -> None:
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


def _search_order(db: Database) -> None:
    """PostgreSQL: the order items were filed in, for search's window of the
    newest matches (SQLite numbers its index rows in search_rows already).
    A trigger numbers each new item; removing an item removes its number."""
    if db.dialect != "postgresql":
        return
    db.execute(
        "CREATE TABLE search_rows (num BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
        " item_id TEXT NOT NULL UNIQUE REFERENCES items(id) ON DELETE CASCADE)"
    )
    db.execute("INSERT INTO search_rows (item_id) SELECT id FROM items ORDER BY first_seen, id")
    db.execute(
        "CREATE FUNCTION feedhub_number_item() RETURNS trigger LANGUAGE plpgsql AS"
        " $$ BEGIN INSERT INTO search_rows (item_id) VALUES (NEW.id); RETURN NEW; END $$"
    )
    db.execute("CREATE TRIGGER items_numbered AFTER INSERT ON items FOR EACH ROW EXECUTE FUNCTION feedhub_number_item()")


# Items signed again per batch in sign_again: a large database is read a
# batch at a time, not held in memory at once.
SIGN_BATCH = 2000


def _fewer_bands(db: Database) -> None:
    """Near-duplicate bands of 2 signature values instead of 3, 12 + 6 bands
    instead of 20 + 10 (ROWS, SIGNATURES in dedup/fingerprint.py): 18 band
    rows per item instead of 30, with the same recall on bench/dedup.py.
    Every band key changed, so every stored item is signed again."""
    sign_again(db)


def sign_again(db: Database) -> None:
    """Replace every near-duplicate signature with one made by the current
    dedup parameters (a migration that changes them calls this).

    Signed are the items that went through dedup: those with exact keys.  An
    item blocked as it arrived has none and stays unsigned until it is
    unblocked (see Blocked.unblock).  Each is signed from its title and text as
    stored, which are those it was filed with.  An item that took the place
    of a copy, or was edited, kept the old texts' signatures too; now it has
    one, of its own text (a copy is scored against that text anyway).

    Processes of the feedhub before must not file items meanwhile: their band
    keys would be of the old parameters."""
    for table in ("near_bands", "near_band_lists", "near_signatures"):
        db.execute(f"DELETE FROM {table}")
    last = ""
    while True:
        batch = db.execute(
            "SELECT id, category, source, guid, title, link, text, published FROM items"
            " WHERE id > ? AND EXISTS (SELECT 1 FROM item_keys k WHERE k.item_id = items.id) ORDER BY id LIMIT ?",
            [last, SIGN_BATCH],
        ).fetchall()
        if not batch:
            return
        rows = []
        for item_id, category, source, guid, title, link, text, published in batch:
            # Summary and content play no part in a signature.
            item = Item(category=category, source=source, guid=guid, title=title, link=link or "", summary="",
                        content="", text=text or "", published=from_iso(published))
            fingerprinted = fingerprint(item)
            if fingerprinted is not None:
                rows += file_signature(db, item_id, fingerprinted.bands)
        # In key order: much less to write (see signatures.PendingBands).
        file_bands(db, sorted(rows))
        last = batch[-1][0]


def _pictures_and_episodes(db: Database) -> None:
    """More of what an item carries beside its text (issue 25): its picture's
    caption and credit, a podcast episode's number, season, kind and explicit
    flag (JSON, see media.episode_json), and the page it is about elsewhere
    (JSON Feed's external_url).  Captions, credits, titles and durations of
    media files are in the enclosures JSON already."""
    for column in ("image_caption", "image_credit", "episode", "related"):
        db.execute(f"ALTER TABLE items ADD COLUMN {column} TEXT")


def _partner_pulls(db: Database) -> None:
    """Each partner's feed requests, per hour (see partners.py): all of them,
    the answered ones (200 or 304), the 304s, refusals, 429s, and the last
    answered one's time.  Rows older than partners.KEEP_DAYS go (by hour)."""
    db.execute(
        "CREATE TABLE partner_pulls (partner TEXT NOT NULL, hour TEXT NOT NULL, requests INTEGER NOT NULL,"
        " pulls INTEGER NOT NULL, not_modified INTEGER NOT NULL, refused INTEGER NOT NULL,"
        " limited INTEGER NOT NULL, last_pull TEXT, PRIMARY KEY (partner, hour))"
    )
    db.execute("CREATE INDEX partner_pulls_hour ON partner_pulls (hour)")


def _version_notices(db: Database) -> None:
    """PostgreSQL: every change of a category's version is announced to the
    processes listening (NOTIFY, sent as its transaction commits), so a web
    node knows its cached feeds are current without asking (watch.py).  The
    payload: "<version> <key>", or "- <key>" when the row is deleted."""
    if db.dialect != "postgresql":
        return
    db.execute(
        "CREATE FUNCTION feedhub_version_notice() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        f" IF TG_OP = 'DELETE' THEN PERFORM pg_notify('{VERSION_CHANNEL}', '- ' || OLD.key); RETURN OLD; END IF;"
        " IF TG_OP = 'INSERT' OR NEW.version IS DISTINCT FROM OLD.version THEN"
        f" PERFORM pg_notify('{VERSION_CHANNEL}', NEW.version || ' ' || NEW.key); END IF;"
        " RETURN NEW; END $$")
    db.execute("CREATE TRIGGER categories_version_notice AFTER INSERT OR UPDATE OR DELETE ON categories"
               " FOR EACH ROW EXECUTE FUNCTION feedhub_version_notice()")


# The NOTIFY channel of category versions (_version_notices).
VERSION_CHANNEL = "feedhub_versions"

def _house_stories(db: Database) -> None:
    """House style counted per story, not per file (articles/stories.py):
    each counted file's story and story print (signature, band keys), and
    the band keys' index.  The counts so far were per file: they are
    forgotten, and every article file is counted and read again at the next
    pass."""
    db.execute("ALTER TABLE house_files ADD COLUMN story TEXT")
    db.execute("ALTER TABLE house_files ADD COLUMN signature TEXT")  # the print's values, space-separated
    db.execute("ALTER TABLE house_files ADD COLUMN bands TEXT")  # its band keys, space-separated
    db.execute("CREATE INDEX house_files_story ON house_files (story)")
    db.execute(
        "CREATE TABLE house_bands (band INTEGER NOT NULL, path TEXT NOT NULL, PRIMARY KEY (band, path)) WITHOUT ROWID"
    )
    for table in ("house_files", "house_lines", "house_folders"):
        db.execute(f"DELETE FROM {table}")
    db.execute("UPDATE article_files SET rules = NULL")


def _story_life(db: Database) -> None:
    """A story's life after it is filed (issue 26, lifecycle.py).

    items.embargo: held back until then (UTC), NULL once served; a held
    item is filed like any other but on no route.  items.withdrawn: when it
    was killed or withdrawn (NULL: it was not); items.deleted_entry: 1 while
    its category's Atom feeds carry its RFC 6721 at:deleted-entry.
    items.shown_version: the guid (same source) of the newer version of the
    story the item shows, NULL for its own.  withdrawals: every withdrawal
    and undo, who, when and why, kept when the item is long gone."""
    db.execute("ALTER TABLE items ADD COLUMN embargo TEXT")
    db.execute("ALTER TABLE items ADD COLUMN withdrawn TEXT")
    db.execute("ALTER TABLE items ADD COLUMN deleted_entry INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE items ADD COLUMN shown_version TEXT")
    db.execute("CREATE INDEX items_held ON items (embargo) WHERE embargo IS NOT NULL")
    db.execute("CREATE INDEX items_deleted_entries ON items (category, withdrawn) WHERE deleted_entry = 1")
    db.execute(
        "CREATE TABLE withdrawals (id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, category TEXT NOT NULL,"
        " source TEXT NOT NULL, guid TEXT NOT NULL, title TEXT, link TEXT, action TEXT NOT NULL, who TEXT NOT NULL,"
        " reason TEXT, at TEXT NOT NULL)"
    )
    db.execute("CREATE INDEX withdrawals_item ON withdrawals (item_id)")
    db.execute("CREATE INDEX withdrawals_at ON withdrawals (at)")


def _held_versions(db: Database) -> None:
    """A newer version of a story that is out, under an embargo of its own
    (issue 26): its duplicate record keeps it until then, and the worker's
    release job shows it in the story's place at that time (store/held.py).
    duplicates.held_version: the version (model.item_json), NULL when none
    waits; duplicates.held_until: its embargo (UTC), indexed for the job's
    look every second."""
    db.execute("ALTER TABLE duplicates ADD COLUMN held_version TEXT")
    db.execute("ALTER TABLE duplicates ADD COLUMN held_until TEXT")
    db.execute("CREATE INDEX duplicates_held ON duplicates (held_until) WHERE held_until IS NOT NULL")


MIGRATIONS = [
    _v1, _v2, _v3, _blocked, _full_text_pages, _retention, _media, _search, _article_metadata, _leases, _search_order,
    _fewer_bands, _pictures_and_episodes, _partner_pulls, _version_notices, _house_stories, _story_life,
    _held_versions,
]

