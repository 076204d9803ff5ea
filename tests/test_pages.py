"""The HTML pages, as the Flask test client gets them: what is listed, counted,
escaped and linked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest
from helpers import HOSTILE_SUMMARY, HOSTILE_TITLE, config_holding, rows, story

from feedhub.ingest import filing
from feedhub.ingest.cycle import run_cycle
from feedhub.model import Item
from feedhub.store import Store
from feedhub.web import create_app
from feedhub.web.pages import human_time


class Page(HTMLParser):
    """The parts of a page the tests look at: tags with their attributes, and
    the text of each heading and of the whole body."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.headings: list[tuple[str, str]] = []
        self.text = ""
        self._heading: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag in ("h1", "h2", "h3"):
            self._heading, self._heading_text = tag, ""

    def handle_endtag(self, tag):
        if tag == self._heading:
            self.headings.append((tag, " ".join(self._heading_text.split())))
            self._heading = None

    def handle_data(self, data):
        self.text += data
        if self._heading:
            self._heading_text += data

    def find(self, tag: str, **attrs) -> list[dict]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]

    def h2s(self) -> list[str]:
        return [text for tag, text in self.headings if tag == "h2"]


@pytest.fixture(scope="module")
def client(demo_site):
    return create_app(demo_site).test_client()


def get(client, url: str, status: int = 200) -> Page:
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == "text/html"
    return Page(response.get_data(as_text=True))


# -- / ---------------------------------------------------------------------------


def test_index_lists_every_category_with_its_count_and_newest_time(client, demo_site):
    page = get(client, "/")
    assert page.h2s()[:4] == ["International", "Technology", "Business", "Sports"]
    counts = {r["category"]: r for r in rows(
        demo_site, "SELECT category, count(*) AS n, max(published) AS newest FROM items GROUP BY category")}
    for key in demo_site.categories:
        assert page.find("a", href=f"/c/{key}")
    for key in ("international", "technology", "business"):
        n = counts[key]["n"]
        assert f"{n} item{'s' if n != 1 else ''}" in page.text
        newest = datetime.fromisoformat(counts[key]["newest"]).isoformat().replace("+00:00", "Z")
        assert page.find("time", datetime=newest)
        assert human_time(counts[key]["newest"]) in page.text
    assert "0 items" in page.text  # culture has none yet


def test_index_has_subscribe_links_and_autodiscovery_for_every_format(client, demo_site):
    page = get(client, "/")
    types = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json"}
    for key in demo_site.categories:
        for fmt, mime in types.items():
            url = f"http://feeds.test/feeds/{key}.{fmt}"
            assert page.find("link", rel="alternate", type=mime, href=url), (key, fmt)
            assert page.find("a", href=f"/feeds/{key}.{fmt}")
            assert url in page.text, "the address is shown, selectable without JavaScript"
            assert page.find("button", **{"data-copy": url})
    assert page.find("link", rel="alternate", type="text/x-opml", href="http://feeds.test/opml")
    assert page.find("a", href="/opml")


def test_every_page_has_landmarks_one_h1_and_labelled_nav(client):
    for url in ("/", "/c/international", "/sources", "/c/nowhere"):
        response = client.get(url)
        page = Page(response.get_data(as_text=True))
        tags = [t for t, _ in page.tags]
        for landmark in ("header", "main", "footer"):
            assert tags.count(landmark) == 1, (url, landmark)
        assert [t for t, _ in page.headings].count("h1") == 1, url
        assert page.headings[0][0] == "h1", "the first heading is the page's title"
        assert page.find("nav", **{"aria-label": "Site"})
        assert all(nav.get("aria-label") for nav in page.find("nav")), "every nav is named"
        assert page.find("html")[0]["lang"] == "en"
        assert page.find("meta", name="viewport")


# -- /c/<category> ------------------------------------------------------------------


def test_category_preview_shows_the_feed_items_newest_first(client, demo_site):
    page = get(client, "/c/international")
    newest_first = rows(demo_site, "SELECT title, published FROM items WHERE category = 'international' ORDER BY published DESC, id")
    assert page.h2s() == [r["title"] for r in newest_first]
    for row in newest_first:
        moment = datetime.fromisoformat(row["published"]).isoformat().replace("+00:00", "Z")
        assert page.find("time", datetime=moment)
    assert "world-wire" in page.text and "newsroom" in page.text


def test_category_names_in_page_urls_are_case_insensitive(client):
    assert get(client, "/c/INTERNATIONAL").h2s() == get(client, "/c/international").h2s()
    assert get(client, "/c/world").h2s() == get(client, "/c/international").h2s()  # an alias


def test_headlines_link_to_the_item(client, demo_site):
    page = get(client, "/c/business")
    for row in rows(demo_site, "SELECT title, link FROM items WHERE category = 'business'"):
        path = row["link"].removeprefix("http://feeds.test")
        assert path.startswith("/articles/") and page.find("a", href=path), "own articles link to this site"
        assert client.get(path).status_code == 200
    tech = get(client, "/c/technology")
    for row in rows(demo_site, "SELECT link FROM items WHERE source = 'feed:tech-daily'"):
        assert tech.find("a", href=row["link"]), "feed items link to their publisher"


def test_untrusted_title_summary_and_link_are_shown_as_text(client):
    response = client.get("/c/international")
    body = response.get_data(as_text=True)
    assert "<script>alert" not in body and "<img src=x" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    page = Page(body)
    assert HOSTILE_TITLE in page.h2s()
    assert " ".join(HOSTILE_SUMMARY.split()) in " ".join(page.text.split())
    assert not [a for a in page.find("a") if "javascript" in a.get("href", "")], "no javascript: links"
    assert len(page.find("script")) == 1 and page.find("script")[0]["src"] == "/static/copy.js"


def test_duplicate_count_names_the_other_sources(client):
    page = get(client, "/c/international")
    assert "Also reported by 1 source: syndicated" in page.text


def test_also_reported_by_counts_distinct_other_sources(make_config):
    config = make_config()
    moment = datetime(2026, 11, 20, 8, 0, tzinfo=timezone.utc)

    def story(source: str, guid: str) -> Item:
        return Item(category="business", source=source, guid=guid, title="Port strike ends",
                    link=f"https://{source[5:]}.test/{guid}", summary="The strike is over.", content="",
                    text="dockworkers return after the port strike ends with a deal", published=moment)

    with Store(config.database) as store:
        kept = filing.add(store, story("feed:alpha", "urn:a:1")).item_id
        for source, guid in [("feed:beta", "urn:b:1"), ("feed:gamma", "urn:c:1"), ("feed:delta", "urn:d:1"),
                             ("feed:beta", "urn:b:2"), ("feed:alpha", "urn:a:2")]:
            assert filing.add(store, story(source, guid)).status == "duplicate"
        assert len(store.duplicates_of(kept)) == 5
    page = get(create_app(config).test_client(), "/c/business")
    # beta twice counts once; alpha's own second copy is not another source.
    assert "Also reported by 3 sources: beta, delta, gamma" in page.text


def test_preview_pages_like_the_feed(make_config):
    config = config_holding(make_config, [story(n) for n in range(7)], feed_size=3)
    client = create_app(config).test_client()
    first = get(client, "/c/business")
    assert first.h2s() == ["Story 6", "Story 5", "Story 4"]
    assert "page 1 of 3" in first.text
    assert first.find("a", rel="next", href="/c/business?page=2") and not first.find("a", rel="prev")
    second = get(client, "/c/business?page=2")
    assert second.h2s() == ["Story 3", "Story 2", "Story 1"]
    assert second.find("a", rel="prev", href="/c/business") and second.find("a", rel="next", href="/c/business?page=3")
    last = get(client, "/c/business?page=3")
    assert last.h2s() == ["Story 0"] and not last.find("a", rel="next")
    for bad in ("4", "0", "x"):
        assert "page 3 the oldest" in get(client, f"/c/business?page={bad}", status=404).text
    assert "7 items" in get(client, "/").text


def test_empty_category_says_so(client):
    page = get(client, "/c/culture")
    assert page.h2s() == [] and "No stories in Culture yet." in page.text


def test_unknown_category_is_an_html_404_listing_the_real_ones(client):
    page = get(client, "/c/weather", status=404)
    assert "There is no category called “weather”." in page.text
    for key in ("international", "technology", "business", "sports", "culture"):
        assert page.find("a", href=f"/c/{key}")
    assert "Not found" in get(client, "/no/such/page", status=404).text
    odd = client.get("/c/%3Cb%3Ebold")
    assert odd.status_code == 404 and b"<b>bold" not in odd.data and b"&lt;b&gt;bold" in odd.data
    feed = client.get("/feeds/weather.rss")
    assert feed.status_code == 404 and feed.mimetype == "text/plain", "feed 404s stay plain text"


# -- /sources ------------------------------------------------------------------------


def source_sections(page: Page) -> dict[str, str]:
    """Heading text of each source card, keyed by the source name."""
    return {text.split()[0]: text for tag, text in page.headings if tag == "h3"}


def test_sources_page_shows_every_configured_source_and_its_status(client, demo_site):
    page = get(client, "/sources")
    cards = source_sections(page)
    assert page.h2s() == ["Feeds", "Article folders", "Waiting for their embargo", "Withdrawn stories", "Blocked entries"]
    assert list(cards) == [s.name for s in demo_site.sources] + ["articles"]
    assert cards["world-wire"].endswith("OK") and cards["tech-daily"].endswith("OK")
    assert cards["broken-wire"].endswith("Failing")
    assert cards["night-desk"].endswith("Not fetched yet")
    assert "cannot read" in page.text and "missing.rss" in page.text, "the last error is shown"
    assert "when the scheduler starts" in page.text
    assert ("5 feeds and 1 article folder in feeds.yaml; feeds: 3 ok, 1 failing, 1 not fetched yet."
            in " ".join(page.text.split()))
    assert "every 30 min" in page.text and "every 15 min" in page.text


def test_sources_page_shows_article_folders_and_their_bad_files(client, demo_site):
    page = get(client, "/sources")
    assert source_sections(page)["articles"] == "articles Failing"
    text = " ".join(page.text.split())
    files = len(list(demo_site.articles[0].path.glob("*.txt")))
    assert f"Files read {files}, the last" in text and "every 1 min" in text
    assert "zz-weather.txt: " in text and "section 'WEATHER' is not a category" in text


def test_a_missing_or_untouched_article_folder(make_config, tmp_path):
    (tmp_path / "empty").mkdir()
    config = make_config(articles=[{"path": str(tmp_path / "gone")}, {"path": str(tmp_path / "empty"), "interval": "2h"}])
    page = get(create_app(config).test_client(), "/sources")
    assert source_sections(page) == {"gone": "gone Missing", "empty": "empty Not fetched yet"}
    assert "the folder does not exist" in page.text and "every 2 h" in page.text
    assert "feeds.yaml lists no feeds." in page.text


def test_next_run_is_one_interval_after_the_last_attempt(client, demo_site):
    page = get(client, "/sources")
    state = rows(demo_site, "SELECT last_attempt FROM sources WHERE name = 'tech-daily'")[0]
    due = datetime.fromisoformat(state["last_attempt"]) + timedelta(minutes=30)
    assert page.find("time", datetime=due.isoformat().replace("+00:00", "Z"))


def test_sources_page_shows_backoff_retirement_and_moves(make_config, feed_server):
    # Real answers from a real server: 503 with Retry-After, 410 Gone, 301 Moved.
    feed_server.overrides["/busy.rss"] = (503, {"Retry-After": "7200"}, b"busy")
    feed_server.overrides["/gone.rss"] = (410, {}, b"gone")
    feed_server.overrides["/old.rss"] = (301, {"Location": feed_server.url + "/world-wire.rss"}, b"")
    config = make_config(sources=[
        {"name": "busy", "url": feed_server.url + "/busy.rss", "category": "business"},
        {"name": "gone", "url": feed_server.url + "/gone.rss", "category": "business"},
        {"name": "moved", "url": feed_server.url + "/old.rss", "category": "international"},
    ])
    with Store(config.database) as store:
        run_cycle(config, store)
        planned = store.source_state("busy").next_attempt
    page = get(create_app(config).test_client(), "/sources")
    cards = source_sections(page)
    assert cards == {"busy": "busy Failing", "gone": "gone Retired", "moved": "moved OK"}
    due = datetime.fromisoformat(planned)
    assert due >= datetime.now(timezone.utc) + timedelta(minutes=100), "the publisher asked for two hours"
    assert page.find("time", datetime=due.isoformat().replace("+00:00", "Z")), "next run is the scheduler's plan"
    text = " ".join(page.text.split())
    assert "HTTP 503 Service Unavailable" in text and "Failures in a row 1" in text
    assert "HTTP 410 Gone" in text and "none (retired)" in text
    assert f"Moved to {feed_server.url}/world-wire.rss" in text


def test_article_pages_keep_working(client, demo_site):
    row = rows(demo_site, "SELECT title, link FROM items WHERE source LIKE 'articles:%' LIMIT 1")[0]
    page = get(client, row["link"].removeprefix("http://feeds.test"))
    assert page.headings[0] == ("h1", row["title"])
    assert get(client, "/articles/no-such-story", status=404)


def test_a_feed_entry_cannot_pose_as_an_article_page(make_config, articles_dir):
    config = make_config(articles=[{"path": str(articles_dir)}])
    with Store(config.database) as store:
        run_cycle(config, store)
        real = rows(store, "SELECT title, link FROM items WHERE category = 'business' LIMIT 1")[0]
        # A partner feed in another category links to our article, and one
        # claims an /articles/ address we never published.
        filing.add(store, story(1, category="sports", link=real["link"], title="Imposter"))
        filing.add(store, story(2, category="sports", link="http://feeds.test/articles/fake", title="Fake"))
    client = create_app(config).test_client()
    assert get(client, real["link"].removeprefix("http://feeds.test")).headings[0] == ("h1", real["title"])
    get(client, "/articles/fake", status=404)


def test_a_fetch_that_is_late_says_so(make_config, tmp_path):
    feed = tmp_path / "f.rss"
    config = make_config(sources=[{"name": "stale", "path": str(feed), "category": "business", "interval": "1h"}])
    with Store(config.database) as store:
        store.record_fetch("stale", ok=True, now=datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc))
    page = get(create_app(config).test_client(), "/sources")
    assert page.find("time", datetime="2026-01-05T11:00:00Z")
    assert "overdue: is the worker running?" in page.text


def test_index_counts_follow_new_items(make_config):
    config = config_holding(make_config, [story(n) for n in range(3)])
    client = create_app(config).test_client()
    assert "3 items" in get(client, "/").text
    assert "3 items" in get(client, "/").text  # counted once, served again
    with Store(config.database) as store:
        filing.add(store, story(3))
    page = get(client, "/")
    assert "4 items" in page.text and human_time(story(3).published) in page.text


def test_passwords_in_source_addresses_are_masked(make_config):
    config = make_config(sources=[
        {"name": "private", "url": "https://reader:s3cret@partner.test/feed.rss?x=1", "category": "business"},
    ])
    page = get(create_app(config).test_client(), "/sources")
    assert "s3cret" not in page.text
    assert "https://reader:***@partner.test/feed.rss?x=1" in page.text
