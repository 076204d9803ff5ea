"""Full text for teaser-only sources: a loopback server serves a feed of
teasers and the article pages behind them, wrapped in the furniture real
pages have (navigation, ads, a cookie banner, comments)."""

from __future__ import annotations

import ipaddress
import threading
import time
from pathlib import Path

import feedparser
import pytest
from helpers import rows, write_config
from loopback import FeedServer

from feedhub.cli import main
from feedhub.config import load_config
from feedhub.ingest.cycle import run_cycle
from feedhub.model import Item
from feedhub.remote import fetchguard, fulltext
from feedhub.store import Store
from feedhub.web import create_app

ARTICLES = {
    "library": ("River town opens a floating library", [
        "The town of Millbrook opened a library on a converted grain barge this week, moored beside the old water mill.",
        "Volunteers spent two winters fitting oak shelves that hold four thousand books, with a reading room at the stern.",
        "The librarian said that children now ask to <a href=\"/millbrook/boat\">visit the boat</a> after school every day.",
        "Each summer the barge will travel to three villages downstream, staying a week in each before returning home.",
    ]),
    "orchard": ("Volunteers replant a lost apple orchard", [
        "A group of retired teachers has replanted an orchard of forty apple varieties that had vanished from the valley.",
        "They traced the old trees through seed catalogues from the last century and cuttings kept by a few farmers.",
        "The first harvest is expected in four years, and the group plans to press juice for the village school.",
    ]),
}
FURNITURE_WORDS = ["Accept all cookies", "Advertisement", "Subscribe to our newsletter", "First comment",
                   "Most read", "All rights reserved"]


def page(title: str, paragraphs: list[str]) -> bytes:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} | The Valley Post</title></head>
<body>
<div id="cookie-banner" class="cookie-consent">We use cookies to make this site work. <button>Accept all cookies</button></div>
<header><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a> <a href="/weather">Weather</a></nav></header>
<aside class="advert">Advertisement: new garden sheds, half price this week only</aside>
<main><article><h1>{title}</h1>{body}</article>
<aside class="newsletter">Subscribe to our newsletter for the morning headlines</aside>
<section class="comments"><h2>Comments</h2>
<div class="comment"><p>First comment! Lovely to read this over breakfast.</p></div>
<div class="comment"><p>Does anyone know when the ferry timetable changes?</p></div></section>
<aside class="most-read"><h2>Most read</h2><ul><li><a href="/x">Council meets</a></li><li><a href="/y">Road closed</a></li></ul></aside>
</main><footer>Copyright 2026 The Valley Post. All rights reserved.</footer></body></html>""".encode()


def teaser_feed(base: str, slugs: list[str], summary_suffix: str = "") -> bytes:
    items = "".join(
        f"<item><title>{ARTICLES.get(slug, (slug.title(), []))[0]}</title><link>{base}/a/{slug}.html</link>"
        f"<guid>urn:valley:{slug}</guid><description>A short teaser for {slug}.{summary_suffix}</description></item>"
        for slug in slugs
    )
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Valley Post</title><link>{base}/</link>'
            f"<description>teasers</description>{items}</channel></rss>").encode()


@pytest.fixture(autouse=True)
def fresh_robots_cache():
    fulltext.ROBOTS.hosts.clear()  # a port reused from another test must not bring its robots.txt
    fulltext.PAUSES.until.clear()  # nor a pause another test's server asked for


@pytest.fixture
def valley(tmp_path: Path):
    root = tmp_path / "valley"
    (root / "a").mkdir(parents=True)
    for slug, (title, paragraphs) in ARTICLES.items():
        (root / "a" / f"{slug}.html").write_bytes(page(title, paragraphs))
    server = FeedServer(root)
    yield server
    server.close()


def configure(tmp_path: Path, database: str, server: FeedServer, slugs: list[str], **source_keys) -> Path:
    (server.root / "teasers.rss").write_bytes(teaser_feed(server.url, slugs))
    source = {**server.source("valley", "teasers.rss", "international"), "full_text": True, **source_keys}
    return write_config(tmp_path, database, sources=[source], fetch_max_bytes="64kB")


def ingest(path: Path):
    config = load_config(path)
    with Store(config.database) as store:
        return config, run_cycle(config, store)


def served(config, fmt: str = "atom") -> dict[str, dict]:
    feed = feedparser.parse(create_app(config).test_client().get(f"/feeds/international.{fmt}").data)
    return {entry.title: entry for entry in feed.entries}


def page_requests(server: FeedServer, slug: str) -> list[dict]:
    return [headers for path, headers in server.requests if path == f"/a/{slug}.html"]


def test_teasers_are_served_with_the_article_extracted_from_their_page(tmp_path: Path, database: str, valley):
    config, summary = ingest(configure(tmp_path, database, valley, ["library", "orchard"]))
    assert summary.total("failed") == 0
    entries = served(config)
    library = entries["River town opens a floating library"]
    body = library.content[0].value
    for paragraph in ARTICLES["library"][1][:2] + ARTICLES["library"][1][3:]:
        assert paragraph in body
    for furniture in FURNITURE_WORDS + ["Home", "garden sheds", "ferry timetable"]:
        assert furniture not in body, furniture
    assert f'href="{valley.url}/millbrook/boat"' in body, "links made absolute against the page"
    assert library.summary == "A short teaser for library."
    rss = served(config, "rss")["Volunteers replant a lost apple orchard"]
    # RSS's description is HTML: the summary escaped, in a paragraph.
    assert ARTICLES["orchard"][1][1] in rss.content[0].value and rss.summary == "<p>A short teaser for orchard.</p>"
    (robots,) = [h for path, h in valley.requests if path == "/robots.txt"]  # asked once for the host
    assert page_requests(valley, "library")[0]["User-Agent"].startswith("feedhub/")
    assert robots["User-Agent"].startswith("feedhub/")


def test_a_page_is_fetched_once_and_again_only_when_its_entry_changes(tmp_path: Path, database: str, valley):
    path = configure(tmp_path, database, valley, ["library"])
    ingest(path)
    (valley.root / "teasers.rss").write_bytes(teaser_feed(valley.url, ["library"]) + b" ")
    config, summary = ingest(path)
    assert len(page_requests(valley, "library")) == 1 and summary.total("unchanged") == 1
    # The entry changes in the feed: its page is asked for again, conditionally.
    (valley.root / "teasers.rss").write_bytes(teaser_feed(valley.url, ["library"], " Updated."))
    config, summary = ingest(path)
    second = page_requests(valley, "library")[1]
    assert second.get("If-None-Match"), "a conditional GET"
    body = served(config)["River town opens a floating library"].content[0].value
    assert ARTICLES["library"][1][0] in body, "a 304 keeps the article"


def test_failures_fall_back_to_the_teaser_and_are_shown(tmp_path: Path, database: str, valley, capsys):
    (valley.root / "a" / "huge.html").write_bytes(page("Huge", ["word " * 40_000]))
    (valley.root / "a" / "empty.html").write_bytes(b"<html><body><nav>Home</nav></body></html>")
    valley.overrides["/a/moved.html"] = (302, {"Location": "http://10.20.30.40/a/moved.html"}, b"")
    valley.overrides["/a/forbidden.html"] = (403, {}, b"no")
    path = configure(tmp_path, database, valley, ["library", "missing", "huge", "empty", "moved", "forbidden"])
    config, summary = ingest(path)
    assert summary.total("failed") == 0 and summary.total("new") == 6, "the feed itself is fine"
    entries = served(config)
    for slug in ("missing", "huge", "empty", "moved", "forbidden"):
        entry = entries[slug.title()]
        assert entry.content[0].value == f"A short teaser for {slug}.", slug
    with Store(config.database) as store:
        errors = {row.url.rsplit("/", 1)[1]: row.error for row in store.pages("valley").values() if row.error}
    assert errors["missing.html"] == "HTTP 404 Not Found"
    assert errors["forbidden.html"] == "HTTP 403 Forbidden"
    assert "over fetch_max_bytes" in errors["huge.html"]
    assert errors["empty.html"].startswith("no article found in the page")
    assert "refused to connect to 10.20.30.40: 10.20.30.40 is a private address" in errors["moved.html"]
    assert "A short teaser for moved." in entries["Moved"].content[0].value

    assert main(["--config", str(path), "sources"]) == 0
    out = capsys.readouterr().out
    assert "full text: 6 pages fetched, 5 failing (the teaser is served instead); last failure:" in out
    client = create_app(config).test_client()
    html = client.get("/sources").get_data(as_text=True)
    assert "Full text" in html and "6 pages fetched, 5 failing" in html and "Last page failure" in html
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'feedhub_full_text_pages_total{outcome="failed",source="valley"} 5.0' in metrics
    assert 'feedhub_full_text_pages_total{outcome="ok",source="valley"} 1.0' in metrics


def test_a_host_that_answers_429_is_left_alone_until_its_retry_after(tmp_path: Path, database: str, valley):
    valley.overrides["/a/library.html"] = (429, {"Retry-After": "2"}, b"slow down")
    path = configure(tmp_path, database, valley, ["library", "orchard"])
    config, _ = ingest(path)
    # The first page's 429 pauses the host: the second is not asked for.
    assert len(page_requests(valley, "library")) == 1 and page_requests(valley, "orchard") == []
    # The feed changes (an unchanged one answers 304 and asks for no page):
    # within the Retry-After, nothing is asked of that host all the same.
    (valley.root / "teasers.rss").write_bytes(teaser_feed(valley.url, ["library", "orchard"], " More."))
    ingest(path)
    assert len(page_requests(valley, "library")) == 1 and page_requests(valley, "orchard") == []
    assert set(served(config)) == {"River town opens a floating library", "Volunteers replant a lost apple orchard"}

    del valley.overrides["/a/library.html"]
    time.sleep(2.2)
    (valley.root / "teasers.rss").write_bytes(teaser_feed(valley.url, ["library", "orchard"], " Even more."))
    config, _ = ingest(path)
    assert len(page_requests(valley, "library")) == 2 and len(page_requests(valley, "orchard")) == 1
    entries = served(config)
    assert "children now ask to" in entries["River town opens a floating library"].content[0].value
    assert "retired teachers" in entries["Volunteers replant a lost apple orchard"].content[0].value


def test_a_page_that_times_out_falls_back_to_the_teaser():
    hold = threading.Event()
    server = FeedServer(Path("/nonexistent"))
    server.overrides["/robots.txt"] = (404, {}, b"")
    server.overrides["/slow.html"] = (200, {"Content-Type": "text/html"}, page(*ARTICLES["library"]))
    server.before["/slow.html"] = lambda: hold.wait(5)
    policy = fetchguard.Policy(allow_networks=(ipaddress.ip_network("127.0.0.1/32"),), max_seconds=10)
    item = Item(category="c", source="feed:s", guid="g", title="t", link=f"{server.url}/slow.html",
                summary="teaser", content="teaser", text="teaser", published=fulltext.utcnow())
    try:
        started = time.monotonic()
        result = fulltext.fetch_page(item, None, lambda url, headers: fetchguard.get(url, headers, policy, 0.5),
                                     "feedhub/test", fulltext.RobotsCache())
        assert time.monotonic() - started < 3
    finally:
        hold.set()
        server.close()
    assert result.error == "timed out" and result.content == ""
    assert fulltext.with_page(item, result).content == "teaser"


def test_robots_txt_is_honoured_unless_the_operator_says_otherwise(tmp_path: Path, database: str, valley):
    (valley.root / "robots.txt").write_text("User-agent: *\nAllow: /\n\nUser-agent: feedhub\nDisallow: /a/orchard\n")
    config, _ = ingest(configure(tmp_path, database, valley, ["library", "orchard"]))
    entries = served(config)
    assert ARTICLES["library"][1][0] in entries["River town opens a floating library"].content[0].value
    assert entries["Volunteers replant a lost apple orchard"].content[0].value == "A short teaser for orchard."
    assert page_requests(valley, "orchard") == []
    with Store(config.database) as store:
        assert "robots.txt of http://127.0.0.1" in store.pages("valley")[next(
            i for i, row in store.pages("valley").items() if "orchard" in row.url)].error

    path = configure(tmp_path, database, valley, ["library", "orchard"], full_text_ignore_robots=True)
    (valley.root / "teasers.rss").write_bytes(teaser_feed(valley.url, ["library", "orchard"], " New."))
    config, _ = ingest(path)
    assert ARTICLES["orchard"][1][0] in served(config)["Volunteers replant a lost apple orchard"].content[0].value


def test_the_extracted_text_finds_a_full_copy_from_another_source(tmp_path: Path, database: str, valley):
    """A teaser alone shares too few words with the full story to match it;
    with the page's article, the full copy from another source is a duplicate."""
    title, paragraphs = ARTICLES["library"]
    text = " ".join(p.replace('<a href="/millbrook/boat">', "").replace("</a>", "") for p in paragraphs)
    (valley.root / "wire.rss").write_bytes(
        ('<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title><link>http://wire.test/</link>'
         "<description>d</description><item><title>Floating library opens in Millbrook</title>"
         f"<link>http://wire.test/1</link><guid>urn:wire:1</guid><description>{text}</description></item>"
         "</channel></rss>").encode())
    (valley.root / "teasers.rss").write_bytes(teaser_feed(valley.url, ["library"]))
    source = {**valley.source("valley", "teasers.rss", "international"), "full_text": True}
    path = write_config(tmp_path, database, sources=[source, valley.source("wire", "wire.rss", "international")])
    config, summary = ingest(path)
    assert summary.counts["feed:wire"]["duplicate"] == 1
    with Store(config.database) as store:
        (copy,) = rows(store, "SELECT source, reason FROM duplicates")
    assert copy["source"] == "feed:wire" and copy["reason"] in ("near", "text")


def test_a_teaser_a_block_rule_matches_costs_no_page_fetch(tmp_path: Path, database: str, valley):
    path = configure(tmp_path, database, valley, ["library", "orchard"], block=[{"field": "title", "regex": "(?i)orchard"}])
    config, summary = ingest(path)
    assert summary.counts["feed:valley"]["blocked"] == 1 and page_requests(valley, "orchard") == []
    assert list(served(config)) == ["River town opens a floating library"]


def test_the_scheduler_job_of_one_source_completes_teasers_too(tmp_path: Path, database: str, valley):
    from feedhub.ingest.feeds import ingest_source

    config = load_config(configure(tmp_path, database, valley, ["library"]))
    with Store(config.database) as store:
        summary = ingest_source(config, store, config.sources[0])
    assert summary.counts["feed:valley"]["new"] == 1
    assert ARTICLES["library"][1][0] in served(config)["River town opens a floating library"].content[0].value
