"""Fetch safety: what a hostile feed URL, redirect or body can and cannot do."""

from __future__ import annotations

import gzip
import ipaddress
import time
from http.server import BaseHTTPRequestHandler

import pytest
from helpers import write_config
from loopback import FeedServer

from feedhub.config import ConfigError, Source, load_config
from feedhub.ingest.cycle import run_cycle
from feedhub.model import SourceState
from feedhub.remote.fetch import FetchError, fetch
from feedhub.remote.fetchguard import Policy, refusal
from feedhub.store import Store

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>http://x.test/</link>'
        b"<description>d</description><item><title>One</title><link>http://x.test/1</link></item></channel></rss>")
LOCAL = Policy(allow_networks=(ipaddress.ip_network("127.0.0.1/32"),))
NEVER_FETCHED = SourceState("test")  # no validators, no move


def endless(answer: BaseHTTPRequestHandler) -> None:
    """Chunked, no Content-Length, never ends."""
    answer.send_response(200)
    answer.send_header("Transfer-Encoding", "chunked")
    answer.end_headers()
    chunk = b"<item><title>x</title></item>" * 1000
    while True:
        answer.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))


def slow(answer: BaseHTTPRequestHandler) -> None:
    """A byte every 0.2s."""
    answer.send_response(200)
    answer.send_header("Transfer-Encoding", "chunked")
    answer.end_headers()
    for _ in range(200):
        answer.wfile.write(b"1\r\n \r\n")
        answer.wfile.flush()
        time.sleep(0.2)


@pytest.fixture(scope="module")
def hostile():
    """Bodies no feed server should send: endless, slow, compressed bombs."""
    with FeedServer() as server:
        server.raw["/endless"] = endless
        server.raw["/slow"] = slow
        # 50 kB on the wire, 100 MB unpacked
        server.overrides["/gzip-bomb"] = (200, {"Content-Encoding": "gzip"}, gzip.compress(b"\0" * 100 * 1024**2, compresslevel=9))
        server.overrides["/huge"] = (200, {}, b" " * (3 * 1024**2))  # declares 3 MB
        server.overrides["/feed"] = (200, {"Content-Type": "application/rss+xml"}, FEED)
        yield server


def source(url: str) -> Source:
    return Source(name="s", url=url, category="business")


@pytest.mark.parametrize(
    "address, kind",
    [
        ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("172.16.0.1", "private"),
        ("192.168.1.1", "private"), ("fd00::1", "private"), ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"), ("0.0.0.0", "unspecified"), ("100.64.0.1", "not a public"),
    ],
)
def test_non_public_addresses_are_refused_by_default(address, kind):
    assert kind in refusal(ipaddress.ip_address(address), Policy())


@pytest.mark.parametrize(
    "address, form, inner",
    [
        ("2002:7f00:1::", "6to4", "127.0.0.1"), ("2002:5db8:d822::1", "6to4", "93.184.216.34"),
        ("64:ff9b::7f00:1", "NAT64", "127.0.0.1"), ("64:ff9b::a9fe:a9fe", "NAT64", "169.254.169.254"),
        ("64:ff9b:1:7f00:0:100::", "NAT64", "127.0.0.1"), ("::7f00:1", "IPv4-compatible", "127.0.0.1"),
        ("::ffff:0:7f00:1", "IPv4-translated", "127.0.0.1"),
        # Teredo: the client 127.0.0.1 behind the server 65.54.227.120, both stored inverted or plain.
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "Teredo", "127.0.0.1"),
    ],
)
def test_every_ipv6_form_that_carries_an_ipv4_address_is_refused(address, form, inner):
    reason = refusal(ipaddress.ip_address(address), Policy())
    assert reason == f"{ipaddress.ip_address(address)} is a {form} address (it carries {inner})"
    # Allowing the IPv4 network it carries does not open the IPv6 form of it.
    assert refusal(ipaddress.ip_address(address), Policy(allow_networks=(ipaddress.ip_network(f"{inner}/32"),)))
    # Allowing the IPv6 form opens it only where the address it carries is allowed too.
    v6_allowed = (ipaddress.ip_network(address),)
    assert refusal(ipaddress.ip_address(address), Policy(allow_networks=v6_allowed)) == (
        None if inner == "93.184.216.34" else f"{ipaddress.ip_address(address)} is a {form} address of "
        f"{refusal(ipaddress.ip_address(inner), Policy())}")


def test_a_6to4_address_of_this_machine_is_refused_before_connecting(feed_server):
    port = feed_server.url.rsplit(":", 1)[1]
    with pytest.raises(FetchError) as refused:
        fetch(source(f"http://[2002:7f00:1::]:{port}/world-wire.rss"), NEVER_FETCHED, policy=LOCAL)
    assert str(refused.value) == (
        "refused to connect to [2002:7f00:1::]: 2002:7f00:1:: is a 6to4 address (it carries 127.0.0.1) "
        "(add its network to fetch_allow_networks in feeds.yaml to allow it)")


LEGACY = ["0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "2130706433", "017700000001", "127.1", "127.0.0.01",
          "0177.0.0.1.", "0x7F.0.1"]


@pytest.mark.parametrize("host", LEGACY)
def test_legacy_spellings_of_an_ipv4_address_are_refused_before_connecting(feed_server, host):
    # Even with 127.0.0.1 allowed: only four decimal numbers are read as an address.
    port = feed_server.url.rsplit(":", 1)[1]
    with pytest.raises(FetchError) as refused:
        fetch(source(f"http://{host}:{port}/world-wire.rss"), NEVER_FETCHED, policy=LOCAL)
    host = host.lower()  # as URLs read it
    assert str(refused.value) == (f"refused to connect to {host}: {host} is 127.0.0.1 written the legacy way "
                                  "(write an IPv4 address as four decimal numbers)")
    assert feed_server.requests == []


def test_a_numeric_host_that_is_no_address_is_refused_too(feed_server):
    for host in ("999.1.1.1", "08.0.0.1", "1.2.3.4.5"):
        with pytest.raises(FetchError, match=rf"^refused to connect to {host}: {host} is not an IPv4 address"):
            fetch(source(f"http://{host}/feed"), NEVER_FETCHED, policy=LOCAL)


def test_a_redirect_to_a_legacy_spelling_is_refused_like_any_other(make_config, feed_server):
    port = feed_server.url.rsplit(":", 1)[1]
    feed_server.overrides["/to-octal"] = (302, {"Location": f"http://0177.0.0.1:{port}/world-wire.rss"}, b"")
    feed_server.overrides["/to-hex"] = (301, {"Location": f"http://0x7f.1:{port}/world-wire.rss"}, b"")
    config = make_config(sources=[feed_server.source("octal", "to-octal", "international"),
                                  feed_server.source("hex", "to-hex", "international"),
                                  {"name": "given", "url": f"http://0177.0.0.1:{port}/world-wire.rss",
                                   "category": "international"}])
    with Store(config.database) as store:
        run_cycle(config, store)
        errors = {row.name: row.last_error for row in store.sources()}
    assert errors == {
        "octal": "refused to connect to 0177.0.0.1: 0177.0.0.1 is 127.0.0.1 written the legacy way "
                 "(write an IPv4 address as four decimal numbers)",
        "hex": "refused to connect to 0x7f.1: 0x7f.1 is 127.0.0.1 written the legacy way "
               "(write an IPv4 address as four decimal numbers)",
        "given": "refused to connect to 0177.0.0.1: 0177.0.0.1 is 127.0.0.1 written the legacy way "
                 "(write an IPv4 address as four decimal numbers)",
    }
    assert sorted(path for path, _ in feed_server.requests) == ["/to-hex", "/to-octal"]


def test_public_and_allowed_addresses_pass():
    assert refusal(ipaddress.ip_address("93.184.216.34"), Policy()) is None
    assert refusal(ipaddress.ip_address("2606:4700::1111"), Policy()) is None
    allow = Policy(allow_networks=(ipaddress.ip_network("10.0.0.0/8"),))
    assert refusal(ipaddress.ip_address("10.200.0.1"), allow) is None
    assert refusal(ipaddress.ip_address("192.168.0.1"), allow)


def test_loopback_feed_is_refused_without_the_allow_list(make_config, feed_server):
    config = make_config(
        fetch_allow_networks=[],
        sources=[feed_server.source("local", "world-wire.rss", "international")],
    )
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        state = store.source_state("local")
    assert summary.total("failed") == 1 and summary.total("new") == 0
    assert state.last_error.startswith("refused to connect to 127.0.0.1: 127.0.0.1 is a loopback address")
    assert "fetch_allow_networks" in state.last_error
    assert feed_server.requests == [], "no connection was made"


def test_a_host_name_is_checked_after_dns_resolution(feed_server):
    port = feed_server.url.rsplit(":", 1)[1]
    with pytest.raises(FetchError, match=r"refused to connect to localhost: .*loopback"):
        fetch(source(f"http://localhost:{port}/world-wire.rss"), NEVER_FETCHED, policy=Policy())
    assert feed_server.requests == []


@pytest.mark.parametrize(
    "location, message",
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://10.0.0.7/admin", "10.0.0.7 is a private address"),
        ("http://127.0.0.2:{port}/world-wire.rss", "127.0.0.2 is a loopback address"),
        ("http://[::1]:{port}/world-wire.rss", "::1 is a loopback address"),
        ("file:///etc/passwd", "only http and https"),
        ("ftp://127.0.0.1/feed.rss", "only http and https"),
    ],
)
def test_every_redirect_hop_is_checked(feed_server, location, message):
    port = feed_server.url.rsplit(":", 1)[1]
    feed_server.overrides["/hop1"] = (302, {"Location": f"{feed_server.url}/hop2"}, b"")
    feed_server.overrides["/hop2"] = (301, {"Location": location.format(port=port)}, b"")
    with pytest.raises(FetchError, match=message):
        fetch(source(f"{feed_server.url}/hop1"), NEVER_FETCHED, policy=LOCAL)
    assert [path for path, _ in feed_server.requests] == ["/hop1", "/hop2"]


def test_an_allowed_redirect_is_followed(feed_server):
    feed_server.overrides["/moved"] = (301, {"Location": "/world-wire.rss"}, b"")
    fetched = fetch(source(f"{feed_server.url}/moved"), NEVER_FETCHED, policy=LOCAL)
    assert fetched.status == 200 and len(fetched.entries) == 5
    assert fetched.url == f"{feed_server.url}/world-wire.rss"


def test_a_declared_oversize_body_is_refused_before_reading(hostile):
    policy = Policy(allow_networks=LOCAL.allow_networks, max_bytes=1024**2)
    with pytest.raises(FetchError, match=r"body of 3,145,728 bytes is over fetch_max_bytes \(1,048,576\)"):
        fetch(source(f"{hostile.url}/huge"), NEVER_FETCHED, policy=policy)


@pytest.mark.parametrize("path", ["/endless", "/gzip-bomb"])
def test_endless_and_compressed_bombs_stop_at_the_size_cap(hostile, path):
    policy = Policy(allow_networks=LOCAL.allow_networks, max_bytes=2 * 1024**2)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"over fetch_max_bytes \(2,097,152 bytes\); stopped reading"):
        fetch(source(hostile.url + path), NEVER_FETCHED, policy=policy)
    assert time.monotonic() - started < 10


def test_a_slow_body_stops_at_the_time_cap(hostile):
    policy = Policy(allow_networks=LOCAL.allow_networks, max_seconds=0.8)
    started = time.monotonic()
    with pytest.raises(FetchError, match=r"over fetch_max_time \(0.8s\)"):
        fetch(source(hostile.url + "/slow"), NEVER_FETCHED, timeout=5, policy=policy)
    assert time.monotonic() - started < 3


def test_the_limits_are_feeds_yaml_keys(tmp_path, database, hostile):
    path = write_config(tmp_path, database, fetch_max_bytes="1MB", fetch_max_time="30s", fetch_allow_networks=["127.0.0.0/8", "::1"],
                        sources=[{"name": "s", "url": hostile.url + "/feed", "category": "business"}])
    config = load_config(path)
    assert config.fetch_max_bytes == 1024**2 and config.fetch_max_time == 30
    assert [str(n) for n in config.fetch_allow_networks] == ["127.0.0.0/8", "::1/128"]
    with Store(config.database) as store:
        assert run_cycle(config, store).total("new") == 1
    assert load_config(write_config(tmp_path, database)).fetch_allow_networks  # the test default allows 127.0.0.1
    bad = write_config(tmp_path, database, fetch_allow_networks=["10.0.0.1/8"], fetch_max_bytes="lots")
    with pytest.raises(ConfigError) as caught:
        load_config(bad)
    assert "fetch_allow_networks[0]" in str(caught.value) and "fetch_max_bytes: expected a size like" in str(caught.value)


def test_an_oversize_local_feed_file_is_refused(make_config, tmp_path):
    path = tmp_path / "big.rss"
    path.write_bytes(FEED + b" " * (2 * 1024**2))
    config = make_config(fetch_max_bytes="1MB", sources=[{"name": "big", "path": str(path), "category": "business"}])
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    assert "over fetch_max_bytes (1,048,576)" in summary.errors[0]


def test_refused_and_allowed_sources_share_one_cycle(make_config, feed_server):
    # A cycle fetches its sources concurrently on one shared client: a refusal
    # on one connection must not spoil the pool for the others.
    port = feed_server.url.rsplit(":", 1)[1]
    feed_server.overrides["/to-metadata"] = (302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
    config = make_config(sources=[
        feed_server.source("wire", "world-wire.rss", "international"),
        {"name": "other-loopback", "url": f"http://127.0.0.2:{port}/world-wire.rss", "category": "international"},
        feed_server.source("metadata", "to-metadata", "international"),
        feed_server.source("tech", "tech-daily.atom", "technology"),
    ])
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        errors = {row.name: row.last_error for row in store.sources()}
    assert summary.counts["feed:wire"]["new"] >= 3 and summary.counts["feed:tech"]["new"] >= 3
    assert "127.0.0.2 is a loopback address" in errors["other-loopback"]
    assert "169.254.169.254 is a link-local address" in errors["metadata"]
    assert errors["wire"] is None and errors["tech"] is None
