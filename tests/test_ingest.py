"""Ingest end to end: articles and source feeds into SQLite, deduplicated."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import feedparser
from helpers import rows, write_config

from feedhub.articles.parse import parse_article
from feedhub.cli import main
from feedhub.dedup.fingerprint import canonical_url
from feedhub.ingest.cycle import run_cycle
from feedhub.store import Store
from feedhub.web import create_app


def test_bundled_articles_land_in_their_categories(make_config, articles_dir: Path):
    config = make_config(articles=[{"path": str(articles_dir)}])
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    files = list(articles_dir.glob("*.txt"))
    assert summary.total("new") == len(files) and summary.total("failed") == 0
    stored = rows(config, "SELECT category, title, link, published, content FROM items")
    assert {r["category"] for r in stored} >= {"international", "technology", "business"}
    for r in stored:
        assert r["link"].startswith("http://feeds.test/articles/")
        assert r["published"].endswith("+00:00")
        assert "Join Now" not in r["content"] and "Back to top" not in r["content"]


def test_a_second_pass_over_unchanged_files_stores_nothing_new(make_config, articles_dir: Path):
    config = make_config(articles=[{"path": str(articles_dir)}])
    with Store(config.database) as store:
        run_cycle(config, store)
        again = run_cycle(config, store)
    assert again.total("new") == again.total("duplicate") == 0
    assert again.total("unchanged") == len(list(articles_dir.glob("*.txt")))


def test_the_same_article_twice_is_one_item_and_one_recorded_duplicate(make_config, articles_dir: Path):
    original = sorted(articles_dir.glob("*.txt"))[0]
    shutil.copy(original, articles_dir / "zz-resent-copy.txt")
    config = make_config(articles=[{"path": str(articles_dir)}])
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    assert summary.total("duplicate") == 1
    headline = parse_article(original).headline
    assert len(rows(config, "SELECT id FROM items WHERE title = ?", [headline])) == 1
    duplicates = rows(config, "SELECT d.*, i.guid AS kept FROM duplicates d JOIN items i ON i.id = d.item_id")
    assert len(duplicates) == 1
    assert duplicates[0]["guid"] == "zz-resent-copy" and duplicates[0]["kept"] == original.stem
    assert duplicates[0]["reason"] == "text"


def test_an_edited_article_updates_its_item(make_config, articles_dir: Path):
    path = sorted(articles_dir.glob("*.txt"))[0]
    config = make_config(articles=[{"path": str(articles_dir)}])
    with Store(config.database) as store:
        run_cycle(config, store)
        path.write_text(path.read_text(encoding="utf-8") + "\n\nA correction was appended.\n", encoding="utf-8")
        summary = run_cycle(config, store)
    assert summary.total("updated") == 1 and summary.total("duplicate") == 0
    [item] = rows(config, "SELECT content FROM items WHERE guid = ?", [path.stem])
    assert "A correction was appended." in item["content"]


def test_same_story_from_two_sources_with_tracking_parameters(make_config, feed_server):
    config = make_config(
        sources=[
            feed_server.source("wire", "world-wire.rss", "international"),
            feed_server.source("partner", "syndicated.rss", "international"),
        ]
    )
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    assert summary.total("failed") == 0
    [dup] = rows(config, "SELECT d.link AS dup_link, d.source, d.reason, i.link AS kept_link, i.source AS kept_source "
                         "FROM duplicates d JOIN items i ON i.id = d.item_id")
    assert dup["reason"] == "url" and dup["source"] == "feed:partner" and dup["kept_source"] == "feed:wire"
    assert "utm_" in dup["dup_link"]
    assert canonical_url(dup["dup_link"]) == canonical_url(dup["kept_link"])
    links = [canonical_url(r["link"]) for r in rows(config, "SELECT link FROM items")]
    assert len(links) == len(set(links)), "each story stored once"


def test_second_fetch_sends_validators_and_gets_304(make_config, feed_server):
    config = make_config(sources=[feed_server.source("tech", "tech-daily.atom", "technology")])
    with Store(config.database) as store:
        first = run_cycle(config, store)
        second = run_cycle(config, store)
        state = store.source_state("tech")
    assert first.total("new") >= 3
    assert second.total("new") == 0 and second.total("failed") == 0
    (_, headers_1), (_, headers_2) = feed_server.requests
    assert "If-None-Match" not in headers_1
    assert headers_2["If-None-Match"] == state.etag and headers_2["If-Modified-Since"]
    assert headers_1["User-Agent"].startswith("feedhub/")
    assert state.last_status == 304 and state.failures == 0


def test_every_feed_dialect_is_read(make_config, feed_server):
    names = ["world-wire.rss", "tech-daily.atom", "legacy-091.rss", "rdf-10.rdf", "atom-03.atom"]
    config = make_config(
        sources=[{"name": f"s{i}", "url": f"{feed_server.url}/{name}", "category": "international"}
                 for i, name in enumerate(names)]
    )
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    assert summary.total("failed") == 0, summary.errors
    for i in range(len(names)):
        assert summary.counts[f"feed:s{i}"]["new"] >= 3, names[i]
    for r in rows(config, "SELECT title, link, published FROM items"):
        assert r["title"] and r["link"].startswith("http")
        assert r["published"].endswith("+00:00")


def test_broken_inputs_are_reported_and_the_rest_ingested(make_config, articles_dir: Path, feed_server):
    (articles_dir / "garbage.txt").write_bytes(b"\xff\xfe\x00g\x00a\x00r\x00b")
    (articles_dir / "weather.txt").write_text("WEATHER\n\nStorm Warning\n\nRain all week.\n")
    config = make_config(
        articles=[{"path": str(articles_dir)}],
        sources=[
            feed_server.source("broken", "malformed.rss", "international"),
            feed_server.source("missing", "gone.rss", "international"),
            feed_server.source("wire", "world-wire.rss", "international"),
        ],
    )
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        broken = store.source_state("broken")
        missing = store.source_state("missing")
    errors = "\n".join(summary.errors)
    assert f"{articles_dir / 'garbage.txt'}" in errors
    assert f"{articles_dir / 'weather.txt'}:1: section 'WEATHER' is not a category" in errors
    assert "malformed feed" in broken.last_error and broken.failures == 1
    assert missing.last_error == "HTTP 404 Not Found"
    assert summary.counts["feed:wire"]["new"] >= 3
    assert summary.total("new") == len(list(articles_dir.glob("*.txt"))) - 2 + summary.counts["feed:wire"]["new"]
    # Failures count up until the source works again.
    with Store(config.database) as store:
        run_cycle(config, store)
        assert store.source_state("broken").failures == 2


def test_ingest_command_prints_a_summary(tmp_path: Path, database: str, articles_dir: Path, capsys):
    path = write_config(tmp_path, database, articles
=[{"path": str(articles_dir)}])
    assert main(["--config", str(path), "ingest"]) == 0
    out = capsys.readouterr().out
    count = len(list(articles_dir.glob("*.txt")))
    assert f"articles:{articles_dir.name}" in out
    assert out.splitlines()[-1].split() == ["total", str(count), "0", "0", "0", "0"]
    (articles_dir / "bad.txt").write_text("")
    assert main(["--config", str(path), "ingest"]) == 1
    assert "bad.txt: empty file" in capsys.readouterr().out


def test_canonical_url_drops_only_what_does_not_identify_the_page():
    assert canonical_url("HTTPS://News.Example.com:443/a/b?utm_source=x&id=7&fbclid=1#top") == "https://news.example.com/a/b?id=7"
    assert canonical_url("http://example.org/a?b=2&a=1") == canonical_url("http://example.org/a?a=1&b=2")
    assert canonical_url("http://example.org/a?id=1") != canonical_url("http://example.org/a?id=2")


def test_an_entry_edited_at_the_source_is_updated_once(make_config, feed_server):
    config = make_config(sources=[feed_server.source("local", "legacy-091.rss", "business")])
    feed = feed_server.root / "legacy-091.rss"
    with Store(config.database) as store:
        run_cycle(config, store)
        first_title = rows(config, "SELECT title FROM items ORDER BY title")[0]["title"]
        feed.write_text(feed.read_text(encoding="utf-8").replace(first_title, first_title + " (corrected)"), encoding="utf-8")
        edited = run_cycle(config, store)
        feed.write_text(feed.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # new ETag, same entries
        again = run_cycle(config, store)
    assert edited.total("updated") == 1 and edited.total("new") == 0
    assert again.total("updated") == 0 and again.total("unchanged") == 4
    titles = [r["title"] for r in rows(config, "SELECT title FROM items")]
    assert first_title + " (corrected)" in titles and first_title not in titles


def test_summaries_read_as_plain_sentences(make_config, feed_server):
    # "<a>spring floods</a>." must not become "spring floods ." in readers'
    # summaries, and words in separate paragraphs must not run together.
    config = make_config(sources=[feed_server.source("wire", "world-wire.rss", "international")])
    with Store(config.database) as store:
        run_cycle(config, store)
    client = create_app(config).test_client()
    entries = feedparser.parse(client.get("/feeds/international.rss").data).entries
    # RSS's description is HTML (the summary escaped, in a paragraph): its text as a reader shows it.
    shown = {e.title: html.unescape(re.sub(r"<[^>]+>", "", e.summary)) for e in entries}
    danube = next(text for title, text in shown.items() if "Danube" in title)
    assert danube.endswith("Read our explainer on the spring floods.")
    assert "2028. Engineers" in danube
    assert not any(" ." in text or " ," in text for text in shown.values())
