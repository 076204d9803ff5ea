"""Access control through real HTTP: a gunicorn on 127.0.0.1, clients whose
sockets are bound to other loopback addresses (127.0.0.2, ...) so the server
sees them as other machines."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from ipaddress import ip_network
from pathlib import Path

import feedparser
import httpx
import pytest
from helpers import gunicorn, story, write_config
from lxml import etree

from feedhub.config import ConfigError, load_config
from feedhub.ingest import filing
from feedhub.publish.access import client_address, hash_key
from feedhub.store import Store

CATEGORIES = {
    "international": {"title": "International"},
    "wire": {"title": "Partner Wire", "private": True},
    "markets": {"title": "Market Desk", "private": True},
}
OPS_TOKEN = "operator-token-for-tests-0123456789"


def client(source: str = "127.0.0.1", **options) -> httpx.Client:
    """An HTTP client whose connections come from `source`."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=10, **options)


def site(folder: Path, database: str, **overrides) -> Path:
    """feeds.yaml with a public and two private categories, a story in each."""
    path = write_config(folder, database, categories=CATEGORIES, **overrides)
    with Store(load_config(path).database) as store:
        for n, category in enumerate(CATEGORIES, 1):
            filing.add(store, story(n, category=category, title=f"{category} story {n}"))
    return path


def made_key() -> tuple[str, str]:
    """A key and its hash, as `feedhub hash-key` prints them."""
    out = subprocess.run([sys.executable, "-m", "feedhub.cli", "hash-key"], capture_output=True, text=True,
                         check=True).stdout
    return re.search(r"^key:\s+(\S+)", out, re.M).group(1), re.search(r"^key_hash:\s+(\S+)", out, re.M).group(1)


# -- operator pages ---------------------------------------------------------------------


def test_operator_pages_answer_loopback_only_and_404_elsewhere(tmp_path: Path, database: str):
    log = tmp_path / "server.log"
    with gunicorn(site(tmp_path, database), log=log) as base:
        with client("127.0.0.1") as local:
            assert local.get(f"{base}/sources").status_code == 200
            assert local.get(f"{base}/metrics").text.startswith("# HELP")
            assert 'href="/sources"' in local.get(f"{base}/").text
        with client("127.0.0.2") as remote:
            unknown = remote.get(f"{base}/no-such-page")
            for path in ("/sources", "/metrics"):
                refused = remote.get(f"{base}{path}")
                # The same answer as an address that does not exist.
                assert (refused.status_code, refused.text) == (404, unknown.text)
            assert 'href="/sources"' not in remote.get(f"{base}/").text
            health = remote.get(f"{base}/healthz")
            assert health.status_code == 503 and health.json()["status"] == "unhealthy"
            # Neither the folder nor the database's name (its file's, or PostgreSQL's).
            assert str(tmp_path) not in health.text and database.rsplit("/", 1)[-1] not in health.text
    lines = [line for line in log.read_text().splitlines() if "operator page refused" in line]
    assert len(lines) == 2 and all("client=127.0.0.2" in line for line in lines)
    assert 'path=/metrics' in lines[1] and "not in operators.allow_networks" in lines[1]


def test_operator_token_by_basic_or_bearer(tmp_path: Path, database: str):
    path = site(tmp_path, database, operators={"allow_networks": ["127.0.0.0/24"], "token": OPS_TOKEN})
    with gunicorn(path) as base:
        with client("127.0.0.2") as ops:
            assert ops.get(f"{base}/metrics").status_code == 404
            assert ops.get(f"{base}/metrics", headers={"Authorization": "Bearer wrong-token"}).status_code == 404
            assert ops.get(f"{base}/metrics", auth=("ops", "wrong")).status_code == 404
            assert ops.get(f"{base}/metrics", headers={"Authorization": f"Bearer {OPS_TOKEN}"}).status_code == 200
            sources = ops.get(f"{base}/sources", auth=("ops", OPS_TOKEN))
            assert sources.status_code == 200 and "<h1>Sources</h1>" in sources.text
        with client("127.0.1.1") as outsider:  # the right token from outside the allowed networks
            assert outsider.get(f"{base}/sources", auth=("ops", OPS_TOKEN)).status_code == 404


# -- behind a proxy ---------------------------------------------------------------------------


def test_forwarded_for_is_believed_only_from_trusted_proxies(tmp_path: Path, database: str):
    path = site(tmp_path, database, operators={"allow_networks": ["127.0.0.1/32"]}, trusted_proxies=["127.0.0.2/32"])
    log = tmp_path / "server.log"
    with gunicorn(path, log=log) as base:
        with client("127.0.0.3") as untrusted:  # forges the one allowed address
            assert untrusted.get(f"{base}/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 404
        with client("127.0.0.2") as proxy:
            assert proxy.get(f"{base}/metrics", headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 200
            # A client's own header comes first; the proxy appends what it saw.
            forged = proxy.get(f"{base}/metrics", headers={"X-Forwarded-For": "127.0.0.1, 198.51.100.7"})
            assert forged.status_code == 404
            assert proxy.get(f"{base}/metrics", headers={"X-Forwarded-For": "not-an-address"}).status_code == 404
            # Links are the public address, whatever host and scheme the proxy used.
            feed = proxy.get(f"{base}/feeds/international.atom",
                             headers={"Host": "backend:9000", "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7"})
            links = {link.rel: link.href for link in feedparser.parse(feed.content).feed.links}
            assert links["self"] == "http://feeds.test/feeds/international.atom"
    text = log.read_text()
    assert "client=127.0.0.3 peer=127.0.0.3" in text
    assert "client=198.51.100.7 peer=127.0.0.2" in text
    assert "client=unknown peer=127.0.0.2" in text


@pytest.mark.parametrize("peer, forwarded, client", [
    ("192.0.2.5", "127.0.0.1", "192.0.2.5"),  # not a proxy: its header is ignored
    ("127.0.0.1", "203.0.113.9", "203.0.113.9"),
    ("127.0.0.1", "127.0.0.1, 203.0.113.9", "203.0.113.9"),  # forged first hop
    ("127.0.0.1", "203.0.113.9, 10.1.2.3", "203.0.113.9"),  # through two trusted proxies
    ("127.0.0.1", "", "127.0.0.1"),
    ("::ffff:127.0.0.1", "[2001:db8::7]:4711", "2001:db8::7"),
    ("127.0.0.1", "<script>", "unknown"),
])
def test_client_address_walks_back_through_trusted_proxies(peer, forwarded, client):
    assert client_address(peer, forwarded, [ip_network("127.0.0.1/32"), ip_network("10.0.0.0/8")]) == client


# -- private categories --------------------------------------------------------------------


@pytest.fixture
def partner_site(tmp_path: Path, database: str):
    acme_key, acme_hash = made_key()
    globex_key = "globex-chose-this-key-2026"
    path = site(tmp_path, database, partners={
        "acme": {"key_hash": acme_hash, "categories": ["wire"]},
        "globex": {"key_hash": hash_key(globex_key), "categories": ["markets"]},
    })
    log = tmp_path / "server.log"
    with gunicorn(path, log=log) as base:
        yield base, acme_key, globex_key, log


def test_private_feed_needs_its_partners_key(partner_site):
    base, acme, globex, log = partner_site
    with client("127.0.0.2") as reader:
        public = reader.get(f"{base}/feeds/international.rss")
        assert public.status_code == 200 and public.headers["Cache-Control"].startswith("public")
        unknown = reader.get(f"{base}/feeds/nowhere.rss")
        missing = reader.get(f"{base}/feeds/wire.rss")
        # Not there, as far as a visitor without the key can tell.
        assert missing.status_code == 404
        assert missing.text == unknown.text.replace("'nowhere'", "'wire'")
        assert "wire" not in unknown.text and "markets" not in unknown.text
        for attempt in ({"params": {"key": "a-wrong-key-of-good-length"}},  # wrong key
                        {"params": {"key": globex}},  # another category's key
                        {"headers": {"X-Feedhub-Key": globex}}):
            assert reader.get(f"{base}/feeds/wire.rss", **attempt).status_code == 404
        for attempt in ({"params": {"key": acme}}, {"headers": {"X-Feedhub-Key": acme}}, {"auth": ("acme", acme)}):
            answer = reader.get(f"{base}/feeds/wire.atom", **attempt)
            assert answer.status_code == 200 and answer.headers["Cache-Control"].startswith("private")
            parsed = feedparser.parse(answer.content)
            assert [e.title for e in parsed.entries] == ["wire story 2"]
            assert acme not in answer.text  # links in the feed carry no key
        assert reader.get(f"{base}/feeds/markets.json", params={"key": globex}).json()["items"][0]["title"] == \
            "markets story 3"
        assert reader.get(f"{base}/c/wire").status_code == 404
        page = reader.get(f"{base}/c/wire", params={"key": acme})
        assert page.status_code == 200 and "wire story 2" in page.text and page.headers["Cache-Control"] == "private"
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert acme not in page.text
    text = log.read_text()
    for secret in (acme, globex, "a-wrong-key-of-good-length"):
        assert secret not in text
    assert "GET /feeds/wire.atom?key=HIDDEN HTTP/1.1" in text  # gunicorn's access log line, key hidden
    with client() as operator:
        assert acme not in operator.get(f"{base}/metrics").text


def test_private_categories_are_left_out_of_lists_without_a_key(partner_site):
    base, acme, globex, _ = partner_site
    with client("127.0.0.2") as reader:
        index = reader.get(f"{base}/").text
        assert "/feeds/international.rss" in index
        assert "wire" not in index and "Partner Wire" not in index and "markets" not in index
        outlines = etree.fromstring(reader.get(f"{base}/opml").content).findall(".//outline")
        assert [o.get("xmlUrl") for o in outlines] == ["http://feeds.test/feeds/international.rss"]
        assert "Partner Wire" not in reader.get(f"{base}/c/nowhere").text

        keyed = reader.get(f"{base}/opml", params={"key": acme})
        assert keyed.headers["Cache-Control"].startswith("private")
        urls = [o.get("xmlUrl") for o in etree.fromstring(keyed.content).findall(".//outline")]
        # What this key can read; its private feed with the key, for readers that can only send ?key=.
        assert urls == ["http://feeds.test/feeds/international.rss", f"http://feeds.test/feeds/wire.rss?key={acme}"]
        with_key = reader.get(f"{base}/", headers={"X-Feedhub-Key": acme}).text
        assert 'href="http://feeds.test/feeds/wire.atom"' in with_key and "markets" not in with_key


def test_partner_keys_are_checked_when_feeds_yaml_loads(tmp_path: Path, database: str):
    with pytest.raises(ConfigError, match=r"feeds.yaml:\d+: partners.acme.key_hash: expected 'sha256:'"):
        load_config(write_config(tmp_path, database, partners={"acme": {"key_hash": "plain-text-key", "categories": ["business"]}}))
    with pytest.raises(ConfigError, match="partner 'acme': category 'wire' is not one of"):
        load_config(write_config(tmp_path, database, partners={"acme": {"key_hash": hash_key("k" * 20), "categories": ["wire"]}}))
    with pytest.raises(ConfigError, match=r"operators.token: String should have at least 16 characters"):
        load_config(write_config(tmp_path, database, operators={"token": "short"}))


def test_hash_key_refuses_a_short_key_and_hashes_one_from_stdin():
    short = subprocess.run([sys.executable, "-m", "feedhub.cli", "hash-key", "secret"], capture_output=True, text=True)
    assert short.returncode == 2 and "at least 20 characters" in short.stderr
    given = subprocess.run([sys.executable, "-m", "feedhub.cli", "hash-key", "-"], input="globex-chose-this-key-2026\n",
                           capture_output=True, text=True, check=True)
    assert given.stdout == f"key_hash: {hash_key('globex-chose-this-key-2026')}\n"


# -- rate limits ---------------------------------------------------------------------------


@pytest.mark.slow
def test_rate_limits_refuse_with_retry_after_and_recover(tmp_path: Path, database: str):
    key, digest = made_key()
    path = site(tmp_path, database, partners
={"acme": {"key_hash": digest, "categories": ["wire"]}},
                rate_limits={"key": {"requests": 3, "per": "30s"}, "address": {"requests": 4, "per": "30s"}})
    # One worker: the buckets live in each worker's memory (see ratelimit.py).
    with gunicorn(path, workers=1) as base:
        with client("127.0.0.2") as partner, client("127.0.0.3") as visitor, client("127.0.0.4") as neighbour:
            statuses = [partner.get(f"{base}/feeds/wire.rss", params={"key": key}).status_code for _ in range(4)]
            assert statuses == [200, 200, 200, 429]
            refused = partner.get(f"{base}/feeds/wire.rss", params={"key": key})
            wait = int(refused.headers["Retry-After"])
            assert refused.status_code == 429 and 1 <= wait <= 10  # a token every 10 s
            assert "at most 3 feed requests per 30 s per key" in refused.text and key not in refused.text
            # The key's limit is its own: the same address without the key is not held back.
            assert partner.get(f"{base}/feeds/international.rss").status_code == 200

            statuses = [visitor.get(f"{base}/feeds/international.atom").status_code for _ in range(5)]
            assert statuses == [200, 200, 200, 200, 429]
            assert neighbour.get(f"{base}/feeds/international.atom").status_code == 200

            time.sleep(wait)
            assert partner.get(f"{base}/feeds/wire.rss", params={"key": key}).status_code == 200
        with client() as operator:
            scrape = operator.get(f"{base}/metrics").text
    assert 'feedhub_rate_limited_total{partner="acme",scope="key"} 2.0' in scrape
    assert 'feedhub_rate_limited_total{partner="",scope="address"} 1.0' in scrape


def test_a_bucket_refills_steadily_and_says_how_long_to_wait():
    from feedhub.config import RateLimit
    from feedhub.web.ratelimit import Buckets

    now = [1000.0]
    buckets = Buckets(RateLimit(requests=3, per=30), clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(10.0) and buckets.take("b") == 0
    now[0] += 4
    assert buckets.take("a") == pytest.approx(6.0), "a refused request costs nothing"
    now[0] += 6
    assert buckets.take("a") == 0 and buckets.take("a") == pytest.approx(10.0)
    now[0] += 3600
    assert [buckets.take("a") for _ in range(4)][-1] > 0, "a quiet hour refills only up to the burst size"


def test_the_gate_hides_a_key_however_it_is_spelt(make_config):
    from feedhub.web.gate import Gate

    seen = {}
    gate = Gate(lambda environ, start: seen.update(environ) or [], lambda: make_config())
    gate({"REMOTE_ADDR": "127.0.0.1", "QUERY_STRING": "page=2&%6Bey=s3cret-value", "RAW_URI": "/feeds/w.rss?page=2&%6Bey=s3cret-value",
          "HTTP_REFERER": "http://feeds.test/c/wire?KEY=s3cret-value", "HTTP_X_FORWARDED_FOR": "127.0.0.1"}, None)
    assert seen["feedhub.key"] == "s3cret-value" and seen["QUERY_STRING"] == "page=2"
    assert "s3cret-value" not in repr({k: v for k, v in seen.items() if k != "feedhub.key"})
    assert seen["RAW_URI"] == "/feeds/w.rss?page=2&key=HIDDEN"
    assert "HTTP_X_FORWARDED_FOR" not in seen, "an untrusted peer's forwarding header is dropped"
