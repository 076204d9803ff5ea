"""`feedhub migrate-db --to postgresql://...`: the bundled demo database,
copied, serves the same feeds (bodies and ETags); after the move copies of
stored stories are still caught, new rows get fresh numbers, and sources are
fetched conditionally (no re-fetching); a source that is not SQLite, a target
that is not empty and counts that differ are refused, naming what is wrong."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml
from helpers import REPO, rows, story, write_config

from feedhub.cli import main
from feedhub.config import load_config
from feedhub.ingest import filing
from feedhub.ingest.feeds import ingest_source
from feedhub.model import DUPLICATE, NEW
from feedhub.store import Store
from feedhub.web import create_app

FORMATS = ("rss", "atom", "json")
# SQLite's own tables and its full-text index, which PostgreSQL builds itself:
# every other table must come across (listed here, not taken from the code
# under test, so that code leaving a table out fails this test).
NOT_COPIED = ("sqlite_", "items_search", "search_rows", "search_queue")


def run(capsys, config: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *args])
    out, err = capsys.readouterr()
    return code, out, err


def on_postgres(config_path: Path, url: str) -> Path:
    """A copy of the feeds.yaml at config_path whose database is `url`."""
    data = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    data["database"] = url
    path = config_path.with_name("postgres.yaml")
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def sqlite_counts(database: Path) -> dict[str, int]:
    with sqlite3.connect(database) as conn:
        names = [row[0] for row in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'")
                 if not row[0].startswith(NOT_COPIED)]
        return {name: conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] for name in names}


def served(config_path: Path) -> dict[str, tuple[int, str | None, bytes]]:
    """Status, ETag and body of every feed and page a reader of the demo sees."""
    config = load_config(config_path)
    with Store(config.database) as store:
        tags = [row["slug"] for row in rows(store, "SELECT DISTINCT slug FROM item_tags ORDER BY slug")]
    paths = ["/", "/opml", *(f"/c/{key}" for key in config.categories), *(f"/t/{slug}" for slug in tags)]
    for fmt in FORMATS:
        paths += [f"/feeds/{key}.{fmt}" for key in config.categories]
        paths += [f"/feeds/tag/{slug}.{fmt}" for slug in tags]
        paths += [f"/feeds/search/{key}.{fmt}" for key in config.searches]
    client = create_app(config).test_client()
    answers = {}
    for path in paths:
        response = client.get(path)
        answers[path] = (response.status_code, response.headers.get("ETag"), response.data)
    # The request counters, written now rather than by the app's thread a
    # second later, into a database the test may have copied or dropped by then.
    counts = client.application.extensions["feedhub_request_counts"]
    counts.flush()
    if counts.thread:
        counts.thread.join(timeout=10)
    return answers


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """The bundled feeds.yaml (its examples, its categories and searches),
    with its database in tmp_path, ingested once."""
    text = (REPO / "feeds.yaml").read_text(encoding="utf-8").replace("path: examples/", f"path: {REPO}/examples/")
    text = text.replace("database: data/feedhub.db", f"database: {tmp_path / 'demo.db'}")
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    assert main(["--config", str(path), "ingest"]) == 0
    return path


def test_the_migrated_demo_database_serves_the_same_feeds_and_pages(demo: Path, postgres_url: str, capsys):
    before = served(demo)
    assert all(status == 200 for status, _, _ in before.values()), before.keys()
    capsys.readouterr()
    kept = rows(load_config(demo), "SELECT item_id FROM duplicates")[0]["item_id"]
    commands = [["stats"], ["blocked"], ["boilerplate"], ["duplicates", kept]]
    printed = [run(capsys, demo, *command) for command in commands]
    assert all(code == 0 for code, _, _ in printed), printed

    code, out, err = run(capsys, demo, "migrate-db", "--to", postgres_url)
    assert code == 0, err
    assert "every count matches" in out and f"database: {postgres_url}" in out
    counts = sqlite_counts(load_config(demo).database)
    for table in ("items", "item_keys", "duplicates", "near_signatures", "near_bands", "sources", "article_files",
                  "counters", "house_lines"):
        assert counts[table] > 0, f"the demo fills {table}, so its copy is checked"
    with Store(postgres_url) as store:
        assert {table: store.count(table) for table in counts} == counts

    moved = on_postgres(demo, postgres_url)
    after = served(moved)
    assert after.keys() == before.keys()
    for path in before:
        assert after[path] == before[path], f"{path} differs after the move"
    # What the operator commands print is the same too.
    assert [run(capsys, moved, *command) for command in commands] == printed
    code, out, _ = run(capsys, moved, "prune")
    assert code == 0 and "autovacuum" in out and "file system" not in out


def test_after_the_move_copies_are_caught_and_new_rows_are_numbered_past_the_copied_ones(tmp_path: Path, make_config, postgres_url: str, capsys):
    def long(n: int) -> str:
        return " ".join(f"word{n}x{k} harbour{(n * k) % 17}" for k in range(60))

    config = make_config(database=str(tmp_path / "hub.db"))
    with Store(config.database) as store:
        for n in range(1, 6):
            assert filing.add(store, story(n, text=long(n))).status == NEW
        assert filing.add(store, story(1, source="feed:other", guid="urn:other:1", text=long(1))).status == DUPLICATE
        copied = {row["id"] for row in rows(store, "SELECT id FROM duplicates")}
        numbers = {row["num"] for row in rows(store, "SELECT num FROM near_signatures")}
    assert main(["--config", str(config.database.parent / "feeds.yaml"), "migrate-db", "--to", postgres_url]) == 0

    with Store(postgres_url) as store:
        # The same link (its dedup key came across)...
        by_link = filing.add(store, story(2, source="feed:other", guid="urn:other:2", text=long(2)))
        # ...and a rewrite under another link and title (its LSH signature came across).
        near = filing.add(store, story(3, source="feed:third", guid="urn:third:3", link="http://elsewhere.test/x",
                               title="A different headline", text=long(3) + " one more sentence"))
        fresh = filing.add(store, story(9, text=long(9)))
        duplicates = rows(store, "SELECT id, guid, reason FROM duplicates")
        signatures = {row["num"] for row in rows(store, "SELECT num FROM near_signatures")}
    assert by_link.status == DUPLICATE and near.status == DUPLICATE, (by_link, near)
    assert {row["guid"]: row["reason"] for row in duplicates if row["id"] not in copied} == {
        "urn:other:2": by_link.reason, "urn:third:3": "near"}
    assert min(row["id"] for row in duplicates if row["id"] not in copied) > max(copied)
    assert fresh.status == NEW and min(signatures - numbers) > max(numbers)


def test_an_unchanged_source_is_fetched_conditionally_after_the_move(tmp_path: Path, make_config, feed_server, postgres_url: str):
    config = make_config(database=str(tmp_path / "hub.db"), sources=[feed_server.source("wire", "world-wire.rss", "international")])
    with Store(config.database) as store:
        assert ingest_source(config, store, config.sources[0]).total(NEW) == 5
    assert main(["--config", str(config.database.parent / "feeds.yaml"), "migrate-db", "--to", postgres_url]) == 0
    feed_server.requests.clear()
    feed_server.statuses.clear()

    moved = load_config(on_postgres(config.database.parent / "feeds.yaml", postgres_url))
    with Store(moved.database) as store:
        summary = ingest_source(moved, store, moved.sources[0])
        assert store.count("items") == 5
    (path, headers), = feed_server.requests
    assert path == "/world-wire.rss" and headers.get("If-None-Match")
    assert feed_server.statuses == {304: 1} and summary.total(NEW) == 0


def test_a_source_that_is_not_an_sqlite_feedhub_database_is_refused(tmp_path: Path, capsys):
    config = write_config(tmp_path, "hub.db")
    target = "postgresql://postgres@127.0.0.1:5432/never_used"
    code, _, err = run(capsys, config, "migrate-db", "--to", target)
    assert code == 1 and "no such SQLite database" in err
    (tmp_path / "hub.db").write_text("these are notes, not a database\n" * 200)
    code, _, err = run(capsys, config, "migrate-db", "--to", target)
    assert code == 1 and "not an SQLite database" in err
    code, _, err = run(capsys, on_postgres(config, target), "migrate-db", "--to", target)
    assert code == 1 and "already PostgreSQL" in err

    (tmp_path / "hub.db").unlink()
    with Store(tmp_path / "hub.db") as store:
        filing.add(store, story(1))
    with sqlite3.connect(tmp_path / "hub.db") as conn:
        conn.execute("PRAGMA user_version = 3")
    code, _, err = run(capsys, config, "migrate-db", "--to", target)
    assert code == 1 and "schema version 3" in err and "run this feedhub on it once first" in err


def test_a_target_that_holds_rows_is_refused_unless_replace_is_given(tmp_path: Path, make_config, postgres_url: str, capsys):
    config = make_config(database=str(tmp_path / "hub.db"))
    path = config.database.parent / "feeds.yaml"
    with Store(config.database) as store:
        filing.add(store, story(1))
    with Store(postgres_url) as store:
        filing.add(store, story(7))
        filing.add(store, story(8))

    code, _, err = run(capsys, path, "migrate-db", "--to", postgres_url)
    assert code == 1 and "already holds rows (" in err and "items" in err and "--replace" in err
    with Store(postgres_url) as store:
        assert [row["guid"] for row in rows(store, "SELECT guid FROM items ORDER BY guid")] == ["urn:t:7", "urn:t:8"]

    code, out, _ = run(capsys, path, "migrate-db", "--to", postgres_url, "--replace")
    assert code == 0 and "every count matches" in out
    with Store(postgres_url) as store:
        assert [row["guid"] for row in rows(store, "SELECT guid FROM items")] == ["urn:t:1"]


def test_counts_that_differ_fail_the_migration_and_leave_the_target_empty(tmp_path: Path, make_config, postgres_url: str, capsys):
    config = make_config(database=str(tmp_path / "hub.db"))
    with Store(config.database) as store:
        filing.add(store, story(1, tags=["Harbours"]))
        filing.add(store, story(2, tags=["Harbours", "Rail"]))
    with Store(postgres_url) as store:  # the schema, and a trigger that silently loses tag rows (COPY fires it)
        store.db.execute("CREATE FUNCTION lose_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$")
        store.db.execute("CREATE TRIGGER lose_tags BEFORE INSERT ON item_tags FOR EACH ROW EXECUTE FUNCTION lose_row()")

    code, out, err = run(capsys, config.database.parent / "feeds.yaml", "migrate-db", "--to", postgres_url)
    assert code == 1 and "every count matches" not in out
    assert "row counts differ" in err and "item_tags: 3 in SQLite, 0 in PostgreSQL" in err
    with Store(postgres_url) as store:
        assert store.count("items") == 0 and store.count("item_keys") == 0, "nothing is kept"


def test_the_printed_next_step_hides_the_password():
    from feedhub.store.engine import redacted

    assert redacted("postgresql://feedhub:s3cret@db.example.org:5432/feeds") == "postgresql://feedhub:***@db.example.org:5432/feeds"
    assert redacted("postgresql://feedhub@db.example.org/feeds") == "postgresql://feedhub@db.example.org/feeds"


def test_a_target_of_another_schema_version_or_not_postgresql_is_refused(tmp_path: Path, make_config, postgres_url: str, capsys):
    config = make_config(database=str(tmp_path / "hub.db"))
    path = config.database.parent / "feeds.yaml"
    with Store(config.database) as store:
        filing.add(store, story(1))
    code, _, err = run(capsys, path, "migrate-db", "--to", str(config.database.parent / "other.db"))
    assert code == 1 and "expected a postgresql:// URL" in err
    with Store(postgres_url) as store:
        store.db.execute("UPDATE schema_version SET version = version + 1")
    code, _, err = run(capsys, path, "migrate-db", "--to", postgres_url)
    assert code == 1 and "the target is at schema version" in err
    with Store(postgres_url) as store:
        assert store.count("items") == 0
