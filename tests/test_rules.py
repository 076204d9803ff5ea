"""Keep and block rules: validated on load, applied at ingest before dedup,
recorded, re-applied when they change, and never slow."""

from __future__ import annotations

import time
from pathlib import Path

import feedparser
import pytest
import yaml
from helpers import rows, story, write_config

from feedhub.cli import main
from feedhub.config import ConfigError, load_config
from feedhub.ingest import rules
from feedhub.ingest.cycle import run_cycle
from feedhub.model import Person
from feedhub.store import Store
from feedhub.web import create_app
from feedhub.worker.scheduler import Worker

ENTRIES = [
    ("Harbour cranes return after the strike", "The port reopened on Monday as crane drivers went back to work.", "dock"),
    ("Sponsored: the best savings account of the year", "A partner wants you to open an account with them today.", "ads"),
    ("Casino group buys a football club", "The owners of a casino chain now hold the city's football club.", "sport"),
    ("Grain prices fall as harvest beats forecasts", "Farmers brought in more wheat than expected this summer.", "farm"),
]


def rss(entries, prefix: str = "wire") -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>http://news.test/{prefix}/{n}</link><guid>urn:{prefix}:{n}</guid>"
        f"<description>{body}</description><category>{tag}</category>"
        f"<author>desk@news.test (Desk {n})</author></item>"
        for n, (title, body, tag) in enumerate(entries)
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><link>http://news.test/</link>'
            f"<description>d</description>{items}</channel></rss>").encode()


@pytest.fixture
def site(tmp_path: Path, database: str, feed_server):
    (feed_server.root / "wire.rss").write_bytes(rss(ENTRIES))

    def configure(**overrides) -> Path:
        sources = overrides.pop("sources", [feed_server.source("wire", "wire.rss", "business")])
        return write_config(tmp_path, database, sources=sources, **overrides)

    return configure


def served_titles(config, category: str = "business") -> list[str]:
    feed = feedparser.parse(create_app(config).test_client().get(f"/feeds/{category}.rss").data)
    return sorted(entry.title for entry in feed.entries)


def ingest(path: Path):
    config = load_config(path)
    with Store(config.database) as store:
        return config, run_cycle(config, store)


def test_a_bad_regex_is_refused_with_file_line_and_key_path(tmp_path: Path, database: str):
    path = write_config(tmp_path, database, categories={"business": {"title": "Business", "block": [
        "casino", {"field": "title", "regex": "(?i)sponsored"}, {"field": "title", "regex": "(unclosed"}]}})
    with pytest.raises(ConfigError) as error:
        load_config(path)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "(unclosed" in text)
    assert str(error.value).startswith(f"{path}:{line}: categories.business.block[2].regex: invalid regular expression")
    assert "missing )" in str(error.value)


@pytest.mark.parametrize("spec, message", [
    ({"field": "titel", "regex": "x"}, "block[0].field: expected one of title, content, author, tags, link"),
    ({"field": "title", "regex": r"(\w+) \1"}, "block[0].regex: invalid regular expression"),
    ({"field": "link", "regex": "(?<!www)example"}, "no backreferences or lookaround"),
    ({"words": "x", "regex": "y"}, "block[0]: expected a plain string of words, or a mapping"),
    ({"field": "title"}, "block[0]: expected a plain string of words, or a mapping"),
])
def test_rule_mistakes_are_named(tmp_path: Path, database: str, spec, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_config(write_config(tmp_path, database, block=[spec]))


def test_block_rules_hold_entries_back_and_record_them(site, capsys):
    path = site(block=["sponsored"], categories={
        "business": {"title": "Business", "block": [{"field": "tags", "regex": "^sport$"}]}})
    assert main(["--config", str(path), "ingest"]) == 0
    header, wire = capsys.readouterr().out.splitlines()[:2]
    assert header.split() == ["input", "new", "updated", "unchanged", "duplicate", "failed", "blocked"]
    assert wire.split() == ["feed:wire", "2", "0", "0", "0", "0", "2"]
    config = load_config(path)
    assert served_titles(config) == ["Grain prices fall as harvest beats forecasts", "Harbour cranes return after the strike"]

    assert main(["--config", str(path), "blocked"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 blocked entries")
    assert "Sponsored: the best savings account of the year" in out and "link: http://news.test/wire/1" in out
    assert 'rule: block "sponsored" (site)' in out
    assert "rule: block tags ~ /^sport$/ (category business)" in out

    client = create_app(config).test_client()
    page = client.get("/sources").get_data(as_text=True)
    assert "Blocked entries" in page and "Casino group buys a football club" in page and "(category business)" in page
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'feedhub_items_blocked_total{input="feed:wire"} 2.0' in metrics
    assert 'feedhub_blocked_items{category="business"} 2.0' in metrics
    assert 'feedhub_items{category="business"} 2.0' in metrics


def test_a_keep_list_lets_only_matching_entries_through(site):
    path = site(sources=[{**yaml.safe_load(site().read_text())["sources"][0],
                          "keep": ["harbour", {"field": "content", "regex": "(?i)wheat|barley"}]}])
    config, summary = ingest(path)
    assert served_titles(config) == ["Grain prices fall as harvest beats forecasts", "Harbour cranes return after the strike"]
    with Store(config.database) as store:
        reasons = {row.title: row.blocked for row in store.blocked_items()}
    assert reasons["Casino group buys a football club"].startswith("keep (source wire): matched none of")


def test_plain_words_match_whole_words_in_title_and_content_only():
    subject = rules.item_subject(story(1, title="Advice for buyers", text="no adverts here", link="http://ad.test/x"))
    rule_set = rules.RuleSet(block=(rules.Rule("block", "site", ("title", "content"), rules.words_pattern("ad"), '"ad"'),))
    assert not rules.decide(subject, rule_set).blocked
    assert rules.decide(rules.item_subject(story(2, title="An AD   break")), rule_set).blocked
    # The new Item fields count too: author names and tags.
    by_author = rules.RuleSet(block=(rules.Rule("block", "site", ("author",), "(?i)^jo doe$", "author"),))
    assert rules.decide(rules.item_subject(story(3, authors=(Person("Jo Doe"),))), by_author).blocked
    assert rules.decide(rules.item_subject(story(4, author="jo doe")), by_author).blocked
    by_tag = rules.RuleSet(block=(rules.Rule("block", "site", ("tags",), "^promo$", "tags"),))
    assert rules.decide(rules.item_subject(story(5, tags=("news", "promo"))), by_tag).blocked
    assert not rules.decide(rules.item_subject(story(6, tags=("promotion",))), by_tag).blocked


def test_a_catastrophic_pattern_does_not_stall_ingest(site, feed_server):
    # (a+)+$ against "aaaa…!" takes a backtracking engine 2^n steps: with
    # Python's re, 30 letters already take minutes.  RE2 is linear.
    evil = {"field": "title", "regex": "^(a+)+$"}
    entries = [("a" * 20_000 + "!", "x " * 5000, "t"), ("a" * 50, "plain", "t")]
    path = site(block=[evil])
    (feed_server.root / "wire.rss").write_bytes(rss(entries))
    started = time.monotonic()
    config, summary = ingest(path)
    assert time.monotonic() - started < 5
    assert summary.counts["feed:wire"]["blocked"] == 1 and summary.counts["feed:wire"]["new"] == 1
    subject = rules.Subject("a" * 100_000 + "!", "", (), (), "")
    started = time.monotonic()
    assert not rules.decide(subject, rules.rules_for(config, "business", "wire")).blocked
    assert time.monotonic() - started < 0.5


def test_blocked_entry_does_not_hide_another_sources_copy(site, feed_server):
    (feed_server.root / "partner.rss").write_bytes(rss(ENTRIES, prefix="partner"))
    path = site(sources=[
        {**feed_server.source("wire", "wire.rss", "business"), "block": ["casino"]},
        feed_server.source("partner", "partner.rss", "business"),
    ])
    config, summary = ingest(path)
    assert summary.counts["feed:wire"]["blocked"] == 1
    with Store(config.database) as store:
        casino = rows(store, "SELECT source, blocked FROM items WHERE title LIKE 'Casino%'")
    assert sorted((row["source"], row["blocked"] is None) for row in casino) == [("feed:partner", True), ("feed:wire", False)]
    assert "Casino group buys a football club" in served_titles(config)


def test_changed_rules_are_applied_to_stored_items_and_undone(site, capsys):
    path = site()
    config, _ = ingest(path)
    assert len(served_titles(config)) == 4

    path = site(block=[{"field": "link", "regex": r"/wire/[23]$"}])
    config, summary = ingest(path)  # the next pass notices the new rules
    assert served_titles(config) == ["Harbour cranes return after the strike", "Sponsored: the best savings account of the year"]
    with Store(config.database) as store:
        assert store.count("items") == 4 and store.blocked_count() == 2  # marked, not deleted

    path = site()
    assert main(["--config", str(path), "recheck"]) == 0
    assert "0 newly blocked, 2 served again" in capsys.readouterr().out
    assert len(served_titles(load_config(path))) == 4


def test_a_new_tag_or_author_rule_reaches_stored_items(site, capsys):
    config, _ = ingest(site())
    assert len(served_titles(config)) == 4
    path = site(block=[{"field": "tags", "regex": "^(?i)ads$"}, {"field": "author", "regex": "Desk 3"}])
    assert main(["--config", str(path), "recheck"]) == 0
    assert "2 newly blocked" in capsys.readouterr().out
    assert served_titles(load_config(path)) == ["Casino group buys a football club", "Harbour cranes return after the strike"]


def test_unblocked_entry_goes_through_dedup_then(site, feed_server):
    """Blocked as it arrived, an entry was never compared with other stories;
    when its rule goes it is, and a copy of a served story stays a duplicate."""
    (feed_server.root / "partner.rss").write_bytes(rss(ENTRIES[:1], prefix="partner"))
    sources = [{**feed_server.source("wire", "wire.rss", "business"), "block": ["harbour"]},
               feed_server.source("partner", "partner.rss", "business")]
    config, _ = ingest(site(sources=sources))
    config, _ = ingest(site(sources=[feed_server.source("wire", "wire.rss", "business"), sources[1]]))
    with Store(config.database) as store:
        harbour = rows(store, "SELECT source FROM items WHERE title LIKE 'Harbour%'")
        copies = rows(store, "SELECT source, reason FROM duplicates")
    assert harbour == [{"source": "feed:partner"}]
    assert copies == [{"source": "feed:wire", "reason": "text"}]


def test_the_worker_applies_edited_rules_without_a_restart(site):
    path = site()
    config, _ = ingest(path)
    worker = Worker(config, path)
    try:
        time.sleep(0.01)
        site(categories={"business": {"title": "Business", "keep": ["grain"]}})
        worker.watch()
        assert served_titles(worker.config) == ["Grain prices fall as harvest beats forecasts"]
    finally:
        worker.scheduler.shutdown(wait=False) if worker.scheduler.running else None
