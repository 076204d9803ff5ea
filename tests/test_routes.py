"""Every route of the app declares its audience where it is defined, and
keeps to it: the test walks the whole URL map and opens each route over real
HTTP from other machines' addresses (127.0.0.2 and 127.0.0.3), without and
with partner keys and operator tokens."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from helpers import gunicorn, rows, story, write_config
from test_access import client

from feedhub.config import load_config
from feedhub.ingest import filing
from feedhub.ingest.folders import ingest_folder
from feedhub.publish.access import hash_key
from feedhub.store import Store
from feedhub.web import create_app
from feedhub.web.gate import FEEDS, OPERATOR, PAGES, PARTNER, PUBLIC, audience_of, limit_of

OPS_TOKEN = "operator-token-for-tests-0123456789"
ACME_KEY = "acme-key-for-the-route-walk-2026"
# What only the partner's key may show: the private category's title and its stories' titles.
PRIVATE = ("Partner Wire", "Wire exclusive")
# Where to open each route: the private category's address (for a route
# partners' keys open), and for those also one everybody may open.
EXAMPLES = {
    "/static/<path:filename>": "/static/style.css",
    "/healthz": "/healthz",
    "/metrics": "/metrics",
    "/sources": "/sources",
    "/partners": "/partners",
    "/feeds/<name>.<any(rss, atom, json):fmt>": ("/feeds/wire.atom", "/feeds/international.rss"),
    "/feeds/tag/<name>.<any(rss, atom, json):fmt>": "/feeds/tag/harbour.rss",
    "/feeds/search/<key>.<any(rss, atom, json):fmt>": "/feeds/search/harbour.atom",
    "/opml": ("/opml", "/opml"),
    "/": ("/", "/"),
    "/c/<name>": ("/c/wire", "/c/international"),
    "/t/<name>": ("/t/harbour", "/t/harbour"),
    "/search": ("/search?q=harbour", "/search?q=harbour"),
    "/articles/<slug>": ("{wire_article}", "{public_article}"),
    "/articles/<slug>/source": "{wire_article}/source",
}


def shows_private(answer: httpx.Response) -> bool:
    return any(marker in answer.text for marker in PRIVATE)


@pytest.fixture
def route_site(tmp_path: Path, database: str) -> tuple[Path, dict[str, str]]:
    return make_route_site(tmp_path, database)


def make_route_site(tmp_path: Path, database: str, **overrides) -> tuple[Path, dict[str, str]]:
    """A public and a private category, a newsroom article in each, tagged
    stories, a saved search, a partner and an operator token; and where
    the two articles are."""
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "world.txt").write_text(
        "INTERNATIONAL\n\nHarbour talks resume in the north\n\nDelegations met at the harbour again.\n", encoding="utf-8")
    (articles / "wire.txt").write_text(
        "WIRE\n\nWire exclusive: harbour sale agreed\n\nThe harbour is sold, partners hear first.\n", encoding="utf-8")
    path = write_config(
        tmp_path, database,
        categories={"international": {"title": "International"}, "wire": {"title": "Partner Wire", "private": True}},
        articles=[{"path": str(articles)}],
        searches={"harbour": {"query": "harbour"}},
        partners={"acme": {"key_hash": hash_key(ACME_KEY), "categories": ["wire"]}},
        operators={"allow_networks": ["127.0.0.2/32"], "token": OPS_TOKEN},
        **overrides,
    )
    config = load_config(path)
    with Store(config.database) as store:
        ingest_folder(config, store, config.articles[0])
        filing.add(store, story(1, category="international", title="Harbour cranes replaced", tags=("harbour",)))
        filing.add(store, story(2, category="wire", title="Wire exclusive: harbour buyer named", tags=("harbour",),
                        text="the harbour buyer is named for partners"))
        store.beat("scheduler", 1)  # /healthz: as if a worker were running
    links = {row["category"]: row["link"] for row in rows(config, "SELECT category, link FROM items WHERE source LIKE 'articles:%'")}
    site = config.site.link
    return path, {"wire_article": links["wire"].removeprefix(site), "public_article": links["international"].removeprefix(site)}


def test_every_route_declares_its_audience_and_answers_only_it_over_http(route_site):
    path, articles = route_site
    app = create_app(path)
    routes = {rule.rule: audience_of(app.view_functions[rule.endpoint]) for rule in app.url_map.iter_rules()}
    assert [rule for rule, audience in routes.items() if audience is None] == [], "routes without an audience"
    assert sorted(set(routes) - set(EXAMPLES)) == [], "routes this test does not know how to open: add them to EXAMPLES"
    assert set(routes.values()) == {PUBLIC, PARTNER, OPERATOR}

    wrong_key = {"X-Feedhub-Key": "a-wrong-key-of-good-length"}
    with gunicorn(path, workers=1) as base, client("127.0.0.2") as ops, client("127.0.0.3") as outsider:
        for rule, audience in routes.items():
            example = EXAMPLES[rule]
            if audience == PUBLIC:
                for asking in ({}, {"X-Feedhub-Key": ACME_KEY}, {"Authorization": f"Bearer {OPS_TOKEN}"}):
                    answer = outsider.get(base + example, headers=asking)
                    assert answer.status_code == 200 and not shows_private(answer), (rule, asking)
            elif audience == PARTNER:
                private, public = (address.format(**articles) for address in example)
                assert outsider.get(base + public).status_code == 200, rule
                for asking in ({}, wrong_key, {"X-Feedhub-Key": hash_key(ACME_KEY)}):
                    assert not shows_private(outsider.get(base + private, headers=asking)), (rule, asking)
                for asking in ({"X-Feedhub-Key": ACME_KEY}, {"Authorization": f"Bearer {ACME_KEY}"}):
                    answer = outsider.get(base + private, headers=asking)
                    assert answer.status_code == 200 and shows_private(answer), (rule, asking)
            else:
                address = base + example.format(**articles)
                for who, asking in ((outsider, {"Authorization": f"Bearer {OPS_TOKEN}"}),  # from elsewhere
                                    (ops, {}), (ops, {"Authorization": "Bearer wrong-token-0123456789"}),
                                    (ops, {"X-Feedhub-Key": ACME_KEY}), (outsider, {"X-Feedhub-Key": ACME_KEY})):
                    # What the same client gets for an address where there is nothing (its
                    # key, if any, shows its categories in the menu).
                    unknown = who.get(f"{base}/no-such-page", headers=asking)
                    assert unknown.status_code == 404
                    for method in ("GET", "HEAD", "POST", "OPTIONS", "DELETE"):  # no method tells the page exists
                        answer = who.request(method, address, headers=asking)
                        assert (answer.status_code, answer.text) == (404, unknown.text if method != "HEAD" else ""), \
                            (rule, method, asking)
                answer = ops.get(address, headers={"Authorization": f"Bearer {OPS_TOKEN}"})
                assert answer.status_code == 200, rule


def test_an_article_source_page_is_for_operators_only(route_site):
    path, articles = route_site
    app = create_app(path)
    for article in articles.values():
        outsider = app.test_client().get(f"{article}/source", environ_base={"REMOTE_ADDR": "127.0.0.3"},
                                          headers={"X-Feedhub-Key": ACME_KEY})
        assert outsider.status_code == 404
        assert "world.txt" not in outsider.text and "wire.txt" not in outsider.text
        operator = app.test_client().get(f"{article}/source", environ_base={"REMOTE_ADDR": "127.0.0.2"},
                                         headers={"Authorization": f"Bearer {OPS_TOKEN}"})
        assert operator.status_code == 200 and ".txt" in operator.text


def test_every_feed_route_counts_against_the_feed_limits(tmp_path: Path, database: str):
    path, articles = make_route_site(tmp_path, database, rate_limits={"address": {"requests": 3, "per": "1h"},
                                                                      "key": {"requests": 2, "per": "1h"}})
    app = create_app(path)
    limits = {rule.rule: limit_of(app.view_functions[rule.endpoint]) for rule in app.url_map.iter_rules()}
    assert {rule for rule, limit in limits.items() if limit == FEEDS} == {
        "/feeds/<name>.<any(rss, atom, json):fmt>", "/feeds/tag/<name>.<any(rss, atom, json):fmt>",
        "/feeds/search/<key>.<any(rss, atom, json):fmt>", "/opml"}
    feeds = [(EXAMPLES[rule] if isinstance(EXAMPLES[rule], str) else EXAMPLES[rule][1]) for rule, limit in limits.items()
             if limit == FEEDS] + ["/feeds/international.rss?page=2", "/feeds/tag/Harbour.json"]  # paged; redirected
    with gunicorn(path, workers=1) as base:  # one worker: one set of buckets
        for n, address in enumerate(feeds):
            with client(f"127.0.1.{n + 1}") as reader:  # an address of its own for each
                assert [reader.get(base + address).status_code for _ in range(4)][-1] == 429, address
                refused = reader.get(base + address)
                assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
                assert "at most 3 feed requests per 3600 s per address" in refused.text
        with client("127.0.2.1") as partner:  # the key's bucket is its own, on every route and from any address
            keyed = [partner.get(base + address, headers={"X-Feedhub-Key": ACME_KEY}).status_code
                     for address in [feeds[0]] * 2 + feeds]
            assert keyed == [200, 200] + [429] * len(feeds)
        with client("127.0.3.1") as reader:  # unlimited: the stylesheet pages load, and load balancers
            for address in ("/static/style.css", "/healthz"):
                assert {reader.get(base + address).status_code for _ in range(6)} == {200}


def test_the_html_pages_count_against_their_own_limit(tmp_path: Path, database: str):
    path, articles = make_route_site(tmp_path, database, rate_limits={"address": {"requests": 5, "per": "1h"},
                                                                      "pages": {"requests": 2, "per": "1h"}})
    app = create_app(path)
    pages = [rule for rule in app.url_map.iter_rules() if limit_of(app.view_functions[rule.endpoint]) == PAGES]
    assert {rule.rule for rule in pages} == {"/", "/c/<name>", "/t/<name>", "/search", "/articles/<slug>"}
    with gunicorn(path, workers=1) as base:
        for n, rule in enumerate(pages):
            address = EXAMPLES[rule.rule][1].format(**articles)
            with client(f"127.0.4.{n + 1}") as visitor:
                answers = [visitor.get(base + address) for _ in range(3)]
                assert [answer.status_code for answer in answers] == [200, 200, 429], rule.rule
                assert "at most 2 page requests per 3600 s per address" in answers[-1].text
                assert answers[-1].headers["Retry-After"].isdigit()
                # The feeds' buckets are others: reading pages used up none of them.
                assert visitor.get(f"{base}/feeds/international.rss").status_code == 200
        with client("127.0.4.100") as partner:  # a key's pages count against the key, from any address
            keyed = [partner.get(base + "/c/wire", headers={"X-Feedhub-Key": ACME_KEY}).status_code for _ in range(3)]
            assert keyed == [200, 200, 429]
            assert partner.get(f"{base}/c/international").status_code == 200, "the address's own bucket is full"
        with client("127.0.0.2") as operator:
            scrape = operator.get(f"{base}/metrics", headers={"Authorization": f"Bearer {OPS_TOKEN}"}).text
    assert f'feedhub_rate_limited_total{{partner="",scope="pages"}} {len(pages)}.0' in scrape
    assert 'feedhub_rate_limited_total{partner="acme",scope="pages"} 1.0' in scrape
