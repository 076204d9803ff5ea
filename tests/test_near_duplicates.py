"""Near duplicates: rewrites of a stored story are recorded as its duplicates,
different stories on the same topic are kept, categories stay apart."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from helpers import rows, values, write_config

from feedhub.articles.parse import parse_article
from feedhub.ingest import filing
from feedhub.ingest.cycle import run_cycle
from feedhub.model import DUPLICATE, NEW, Item
from feedhub.store import Store

LEVY = "international-ocean-summit-shipping-levy.txt"
PROTEST = "international-ocean-summit-harbour-protest.txt"
NEW_LEAD = (
    "Coastal states meeting in Lisbon have signed up to a charge on the heavy fuel oil that ships "
    "buy in their harbours, with the proceeds earmarked for sea walls, replanted mangroves and "
    "storm warnings in the most exposed countries. Diplomats said it was the summit series' first "
    "binding agreement on money."
)


def rewrites(original: Path) -> dict[str, str]:
    """The shipping-levy story as other desks republish it, by kind of rewrite."""
    article = parse_article(original)
    body = article.paragraphs
    return {
        "new-headline": "\n\n".join(["Ports to Charge Ships for Dirty Fuel Under Lisbon Deal", *body]),
        "reworded-lead": "\n\n".join([article.headline, NEW_LEAD, *body[1:]]),
        "boilerplate": "\n\n".join(
            [article.headline, "By our staff reporter | Updated 12 minutes ago", *body,
             "Sign up to The Harbour Briefing, our free morning newsletter.",
             "Copyright 2026 Coastal Post Media. All rights reserved."]
        ),
        "summary": "\n\n".join(["Summit Agrees Fuel Levy for Sea Defences", body[0]]),
    }


def write(folder: Path, name: str, section: str, text: str) -> None:
    (folder / name).write_text(f"{section}\n\n{text}\n", encoding="utf-8")


def test_rewrites_are_recorded_as_duplicates_of_the_first_copy(make_config, articles_dir: Path):
    # Other desks' folders: from the story's own folder they would be its versions (tests/test_story_life.py).
    desk = articles_dir.parent / "desk"
    desk.mkdir()
    for kind, text in rewrites(articles_dir / LEVY).items():
        write(desk, f"zz-{kind}.txt", "WORLD", text)
    config = make_config(articles=[{"path": str(articles_dir)}, {"path": str(desk)}])
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        [kept] = rows(config, "SELECT id, title FROM items WHERE guid = ?", [Path(LEVY).stem])
        duplicates = rows(config, "SELECT * FROM duplicates WHERE item_id = ?", [kept["id"]])
    assert summary.total("duplicate") == 4 and summary.total("failed") == 0
    assert {d["guid"] for d in duplicates} == {f"zz-{kind}" for kind in rewrites(articles_dir / LEVY)}
    for duplicate in duplicates:
        assert duplicate["reason"] == "near", duplicate
        assert 0.5 <= duplicate["score"] < 1
        assert "word triples" in duplicate["detail"] and "LSH bands shared" in duplicate["detail"]


def test_different_stories_on_the_same_topic_are_both_kept(make_config, articles_dir: Path):
    config = make_config(articles=[{"path": str(articles_dir)}])
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        guids = {r["guid"] for r in rows(config, "SELECT guid FROM items WHERE category = 'international'")}
        duplicates = store.count("duplicates")
    assert summary.total("duplicate") == 0 and duplicates == 0
    assert {Path(LEVY).stem, Path(PROTEST).stem} <= guids


def test_the_same_story_in_another_category_is_not_a_duplicate(make_config, articles_dir: Path):
    text = rewrites(articles_dir / LEVY)["new-headline"]
    write(articles_dir, "zz-in-business.txt", "BUSINESS", text)
    config = make_config(articles=[{"path": str(articles_dir)}])
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        [copy] = rows(config, "SELECT category FROM items WHERE guid = 'zz-in-business'")
    assert summary.total("duplicate") == 0
    assert copy["category"] == "business"


def test_threshold_is_set_per_category(make_config, articles_dir: Path):
    write(articles_dir, "zz-reworded.txt", "WORLD", rewrites(articles_dir / LEVY)["reworded-lead"])
    strict = {"title": "International", "aliases": ["WORLD"], "near_duplicate_threshold": 0.99}
    categories = {"international": strict, "technology": {"title": "T"}, "business": {"title": "B"}, "sports": {"title": "S"}}
    config = make_config(articles=[{"path": str(articles_dir)}], categories=categories)
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    assert summary.total("duplicate") == 0
    assert summary.total("new") == len(list(articles_dir.glob("*.txt")))


def feed_item(guid: str, title: str, text: str, category: str = "international", source: str = "feed:wire",
              priority: int = 100) -> Item:
    return Item(category=category, source=source, guid=guid, title=title, link=f"http://{source[5:]}.test/{guid}",
                summary=text[:80], content=f"<p>{text}</p>", text=text,
                published=datetime(2026, 11, 20, tzinfo=timezone.utc), priority=priority)


def test_signatures_survive_a_restart_without_a_rebuild(database: str, articles_dir: Path):
    article = parse_article(articles_dir / LEVY)
    with Store(database) as store:
        assert filing.add(store, feed_item("levy", article.headline, article.text)).status == NEW
        bands = store.count("near_bands")
    assert bands == 18  # 12 bands of the whole story, 6 of its opening
    with Store(database) as store:
        # The reopened store still finds the story; nothing was re-signed.
        assert store.count("near_bands") == bands and store.count("near_signatures") == 1
        summary = rewrites(articles_dir / LEVY)["summary"].split("\n\n")
        outcome = filing.add(store, feed_item("levy-short", summary[0], summary[1], source="feed:partner"))
        assert store.count("near_signatures") == 1
    assert outcome.status == DUPLICATE and outcome.reason == "near"


def test_a_better_priority_source_takes_the_stored_copys_place(make_config, articles_dir: Path):
    import feedparser

    from feedhub.publish.feeds import render

    config = make_config()
    article = parse_article(articles_dir / LEVY)
    first = feed_item("levy", article.headline, article.text, source="feed:partner")
    echo = feed_item("levy-echo", article.headline, article.text + " Reporting by our Lisbon desk.", source="feed:blog")
    better = feed_item("levy-wire", "Ports to Charge Ships for Dirty Fuel", article.text, source="feed:wire", priority=10)
    with Store(config.database) as store:
        filing.add(store, first)
        assert filing.add(store, echo).status == DUPLICATE
        version = store.category_state("international").version
        outcome = filing.add(store, better)
        assert outcome.status == NEW and outcome.replaced == first.id
        assert [r["id"] for r in rows(config, "SELECT id FROM items")] == [better.id]
        moved = {d["guid"]: d for d in rows(config, "SELECT * FROM duplicates WHERE item_id = ?", [better.id])}
        assert set(moved) == {"levy", "levy-echo"}
        assert moved["levy"]["source"] == "feed:partner" and moved["levy"]["reason"] == "text"
        assert store.category_state("international").version > version
        # The replaced copy seen again, or a copy of its link, lands on the kept one.
        assert filing.add(store, first).item_id == better.id
        relinked = feed_item("levy-2", "Other", "unrelated words " * 20, source="feed:partner")
        relinked.link = first.link
        again = filing.add(store, relinked)
        assert (again.reason, again.item_id) == ("url", better.id)
        # A worse-priority copy arriving later stays a duplicate.
        late = feed_item("levy-late", article.headline, article.text, source="feed:late", priority=200)
        assert filing.add(store, late).item_id == better.id
        feed = feedparser.parse(render(config, store, "international", "atom"))
    assert [e.id for e in feed.entries] == [f"urn:uuid:{better.id}"]


def test_duplicates_command_lists_copies_and_why(tmp_path: Path, database: str, articles_dir: Path, capsys):
    from feedhub.cli import main

    desk = articles_dir.parent / "desk"  # another desk's folder: copies, not versions
    desk.mkdir()
    for kind, text in rewrites(articles_dir / LEVY).items():
        write(desk, f"zz-{kind}.txt", "WORLD", text)
    config = write_config(tmp_path, database, articles=[{"path": str(articles_dir)}, {"path": str(desk)}])
    assert main(["--config", str(config), "ingest"]) == 0
    capsys.readouterr()
    kept = "http://feeds.test/articles/international-ocean-summit-shipping-levy"
    assert main(["--config", str(config), "duplicates", kept]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == parse_article(articles_dir / LEVY).headline
    assert lines[1].startswith(f"  kept: articles:{articles_dir.name} in international, first seen 20")
    assert "4 duplicates:" in lines
    for kind in rewrites(articles_dir / LEVY):
        assert f"  link: http://feeds.test/articles/zz-{kind}" in lines
    why = [line for line in lines if line.startswith("  matched by")]
    assert len(why) == 4 and all("matched by near, score 0." in line and "word triples" in line for line in why)
    # The same listing by the kept item's id, or by the link of one of its copies.
    item_id = lines[2].split()[-1]
    assert main(["--config", str(config), "duplicates", item_id]) == 0
    assert capsys.readouterr().out == out
    assert main(["--config", str(config), "duplicates", f"urn:uuid:{item_id}"]) == 0
    assert capsys.readouterr().out == out
    assert main(["--config", str(config), "duplicates", "http://feeds.test/articles/zz-summary"]) == 0
    assert capsys.readouterr().out == out
    assert main(["--config", str(config), "duplicates", "http://feeds.test/articles/nothing"]) == 1
    assert "no stored item or copy" in capsys.readouterr().err


def test_a_link_python_cannot_parse_is_still_filed(database: str):
    from feedhub.dedup.fingerprint import canonical_url

    assert canonical_url(" http://example.org:port/a ") == "http://example.org:port/a"
    with Store(database) as store:
        odd = feed_item("odd", "A story with an odd link", "words of a story " * 10)
        odd.link = "http://example.org:port/a"
        assert filing.add(store, odd).status == NEW


def test_source_priority_from_feeds_yaml_decides_the_kept_copy(make_config, feed_server):
    import feedparser

    from feedhub.publish.feeds import render

    config = make_config(
        sources=[
            feed_server.source("wire", "world-wire.rss", "international"),
            {"name": "partner", "url": f"{feed_server.url}/syndicated.rss", "category": "international", "priority": 10},
        ]
    )
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        [dup] = rows(config, "SELECT d.source, d.reason, i.source AS kept FROM duplicates d JOIN items i ON i.id = d.item_id")
        feed = feedparser.parse(render(config, store, "international", "rss"))
    assert summary.total("failed") == 0 and summary.total("duplicate") == 0
    assert dup == {"source": "feed:wire", "reason": "url", "kept": "feed:partner"}
    danube = [e for e in feed.entries if "danube" in e.link]
    assert [e.title for e in danube] == ["Danube states agree on shared flood barrier plan"]


def test_a_huge_body_is_compared_on_its_first_words_only():
    from feedhub.dedup.fingerprint import MAX_WORDS, fingerprint

    body = " ".join(f"word{n}" for n in range(60000))
    found = fingerprint(feed_item("huge", "A very long story", body))
    assert len(found.shingles) <= MAX_WORDS + 4
    assert len(found.bands) == 18


def test_an_edited_story_is_compared_as_it_now_reads(database: str, articles_dir: Path):
    levy, protest = parse_article(articles_dir / LEVY), parse_article(articles_dir / PROTEST)
    with Store(database) as store:
        filing.add(store, feed_item("story", levy.headline, levy.text))
        # The source replaces the entry's whole text (the wrong story was posted).
        assert filing.add(store, feed_item("story", protest.headline, protest.text)).status == "updated"
        copy = filing.add(store, feed_item("protest-copy", "Boats Block the Tagus", protest.text + " More soon.", source="feed:partner"))
        # A copy of the withdrawn text is no longer this story.
        old = filing.add(store, feed_item("levy-copy", "Levy Agreed", levy.text + " Updated.", source="feed:other"))
    assert (copy.status, copy.reason) == (DUPLICATE, "near")
    assert old.status == NEW


def test_a_newsroom_article_replaced_by_a_preferred_feed_stays_replaced(make_config, articles_dir: Path, tmp_path: Path):
    from xml.sax.saxutils import escape

    article = parse_article(articles_dir / LEVY)
    feed = tmp_path / "agency.rss"
    feed.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Agency</title>'
        "<link>http://agency.test/</link><description>d</description><item>"
        f"<title>Ports to Charge Ships for Dirty Fuel</title><link>http://agency.test/levy</link>"
        f"<guid>http://agency.test/levy</guid><description>{escape(article.text)}</description>"
        "</item></channel></rss>",
        encoding="utf-8",
    )
    config = make_config(
        articles=[{"path": str(articles_dir)}],
        sources=[{"name": "agency", "path": str(feed), "category": "international", "priority": 5}],
    )
    with Store(config.database) as store:
        run_cycle(config, store)
        [kept] = rows(config, "SELECT id, source FROM items WHERE link = 'http://agency.test/levy'")
        [replaced] = rows(config, "SELECT * FROM duplicates WHERE item_id = ?", [kept["id"]])
        file = store.file_state(str(articles_dir / LEVY))
        (articles_dir / LEVY).touch()  # read again: still recognised as the replaced copy
        again = run_cycle(config, store)
        count = store.count("items", category="international")
    assert replaced["source"] == f"articles:{articles_dir.name}" and replaced["reason"] == "text"
    assert file.item_id == kept["id"]
    assert again.total("new") == again.total("duplicate") == 0
    assert count == 3  # the other two international articles and the agency's copy


def test_shingle_hashes_stay_those_stored_in_existing_databases():
    # Band keys in a database are built on these exact values: a faster
    # shingles() must still hash every run of three words the same way.
    from zlib import crc32

    from feedhub.dedup.fingerprint import shingles

    prime = (1 << 31) - 1
    assert shingles(["harbour", "council", "votes", "today"]) == {
        crc32(b"harbour council votes") % prime, crc32(b"council votes today") % prime}
    assert shingles(["two", "words"]) == {crc32(b"two words") % prime}
    assert shingles([]) == set()


def test_items_signed_under_the_old_band_parameters_are_signed_again(databases, tmp_path: Path, monkeypatch,
                                                                     articles_dir: Path):
    from array import array

    from feedhub.dedup import fingerprint as fingerprints
    from feedhub.store import connection, schema

    levy, protest = parse_article(articles_dir / LEVY), parse_article(articles_dir / PROTEST)
    kept = feed_item("levy", levy.headline, levy.text)
    draft = feed_item("protest", "Early Report", " ".join(f"draft{n} words" for n in range(40)))
    edited = feed_item("protest", protest.headline, protest.text)  # the same entry, its text replaced
    brief = feed_item("brief", "Storm Warning", "Gales tonight.")  # filed, too short to sign
    blocked = feed_item("blocked", "Blocked on Arrival", protest.text + " Blocked copy.", source="feed:blocked")
    location = databases.create(tmp_path / "old.db", blank=True)
    # The migrations since stand before _fewer_bands here (every column today's
    # filing writes is there), so that it is the one the second store applies.
    monkeypatch.setattr(connection, "MIGRATIONS", [m for m in schema.MIGRATIONS if m is not schema._fewer_bands]
                        + [schema._fewer_bands])
    try:
        # The feedhub before: its schema, and its bands of 3 values, 20 + 10 of them.
        with monkeypatch.context() as before:
            before.setattr(connection, "MIGRATIONS", connection.MIGRATIONS[:-1])
            before.setattr(fingerprints, "ROWS", 3)
            before.setattr(fingerprints, "SIGNATURES", {"full": 20, "lead": 10})
            before.setattr(fingerprints, "_A", fingerprints._coefficients(60)[0])
            before.setattr(fingerprints, "_B", fingerprints._coefficients(60)[1])
            with Store(location) as store:
                for item in (kept, draft, edited, brief):
                    filing.add(store, item)
                store.block(blocked, "a rule")
                old_bands = {band for (band,) in values(store, "SELECT band FROM near_bands")}
                # levy, and protest twice (its draft's signature stays when it is edited).
                assert store.count("near_signatures") == 3 and len(old_bands) == 90
        monkeypatch.setattr(schema, "SIGN_BATCH", 1)  # a batch per item
        with Store(location) as store:
            signed = {item_id: array("q", bands).tolist() for item_id, bands in values(
                store, "SELECT s.item_id, l.bands FROM near_signatures s JOIN near_band_lists l ON l.num = s.num")}
            filed = {item_id: sorted(band for (band,) in values(
                store, "SELECT b.band FROM near_bands b JOIN near_signatures s ON s.num = b.num WHERE s.item_id = ?",
                [item_id])) for item_id in signed}
            assert store.count("near_signatures") == 2 and store.count("near_bands") == 36
            assert sorted(signed) == sorted([kept.id, edited.id])  # neither the brief one nor the blocked one
            for item in (kept, edited):
                assert signed[item.id] == fingerprints.fingerprint(item).bands and len(signed[item.id]) == 18
                assert filed[item.id] == sorted(signed[item.id])
            assert not old_bands & {band for bands in signed.values() for band in bands}, "every key changed"
            # Copies of the story stored before are still found, by the whole
            # story's bands and by its opening's.
            boilerplate = feed_item("levy-echo", "Ports to Charge Ships for Dirty Fuel",
                                    levy.text + " Reporting by our Lisbon desk.", source="feed:partner")
            summary = rewrites(articles_dir / LEVY)["summary"].split("\n\n")
            cut = feed_item("levy-short", summary[0], summary[1], source="feed:digest")
            outcomes = [filing.add(store, copy) for copy in (boilerplate, cut)]
            assert [(o.status, o.reason, o.item_id) for o in outcomes] == [(DUPLICATE, "near", kept.id)] * 2
    finally:
        databases.drop(location)


def test_a_near_copy_filed_in_the_same_transaction_is_caught_and_undone_work_leaves_no_bands(
        database: str, articles_dir: Path):
    """Band rows reach the index as the transaction commits, sorted: until
    then a copy still finds the story filed moments before it, and a savepoint
    undone takes its band rows with it (the signature number it used is
    handed out again, and must not inherit them)."""
    article = parse_article(articles_dir / LEVY)
    protest = parse_article(articles_dir / PROTEST)

    def story(n: int, title: str, paragraphs: list[str]) -> Item:
        return Item(category="international", source=f"feed:desk-{n}", guid=f"urn:desk:{n}", title=title,
                    link=f"https://desk{n}.test/story", summary="", content="", text=" ".join(paragraphs),
                    published=datetime(2026, 11, 20, tzinfo=timezone.utc))

    with Store(database) as store:
        with store.transaction():
            first = filing.add(store, story(1, article.headline, article.paragraphs))
            try:
                with store.transaction():
                    filing.add(store, story(2, "Undone", [" ".join(f"ledger{n} entry{n % 7}" for n in range(80))]))
                    raise RuntimeError("undone")
            except RuntimeError:
                pass
            copy = filing.add(store, story(3, "Ports to Charge Ships for Dirty Fuel Under Lisbon Deal",
                                   [NEW_LEAD, *article.paragraphs[1:]]))
            other = filing.add(store, story(4, protest.headline, protest.paragraphs))
        bands, signatures = store.count("near_bands"), store.count("near_signatures")
        stray = values(store, "SELECT count(*) FROM near_bands WHERE num NOT IN (SELECT num FROM near_signatures)")
        per_item = values(store, "SELECT count(*) FROM near_bands b JOIN near_signatures s ON s.num = b.num"
                                 " GROUP BY s.item_id ORDER BY s.item_id")
    assert (first.status, copy.status, other.status) == (NEW, DUPLICATE, NEW)
    assert copy.item_id == first.item_id and copy.reason == "near"
    assert signatures == 2 and stray == [(0,)] and bands == 36 and per_item == [(18,), (18,)]
