"""Partners: keys that rotate and expire, and what operators see of each
partner's feed requests over the last day (/partners, /metrics, `feedhub
partners`), through a real gunicorn and clients on other loopback addresses."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from helpers import gunicorn, rows, wait_until, write_config
from lxml import html
from test_access import CATEGORIES, client, site

from feedhub.config import ConfigError, load_config
from feedhub.publish.access import hash_key
from feedhub.publish.partners import since
from feedhub.store import Store

ACME_KEY = "acme-key-for-the-statistics-2026"


def metric(scrape: str, name: str, partner: str) -> float | None:
    found = re.search(rf'^{name}{{partner="{partner}"}} (\S+)$', scrape, re.M)
    return float(found.group(1)) if found else None


def test_a_partner_key_rotates_and_an_expired_one_is_refused_like_a_wrong_one(tmp_path: Path, database: str):
    old, new = "acme-old-key-handed-out-2025", "acme-new-key-handed-out-2026"
    expires = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=5)
    path = site(tmp_path, database, partners={"acme": {"categories": ["wire"], "keys": [
        {"hash": hash_key(new)}, {"hash": hash_key(old), "expires": expires.isoformat()}]}})
    log = tmp_path / "server.log"
    addresses = ["/feeds/wire.rss", "/feeds/wire.atom?page=1", "/c/wire", "/opml", "/", "/feeds/international.rss"]

    def answers(reader: httpx.Client, key: str) -> dict[str, tuple[int, bytes]]:
        return {address: (got.status_code, got.content) for address in addresses
                for got in [reader.get(base + address, headers={"X-Feedhub-Key": key})]}

    with gunicorn(path, workers=1, log=log) as base, client("127.0.0.2") as partner:
        # Both keys open the partner's category while the old one lasts: no moment cuts the partner off.
        for key in (old, new):
            assert "wire story 2" in partner.get(f"{base}/feeds/wire.rss", headers={"X-Feedhub-Key": key}).text
        assert wait_until(lambda: datetime.now(timezone.utc) > expires, 10)
        wrong = answers(partner, "a-wrong-key-of-good-length")
        assert answers(partner, old) == wrong, "an expired key opens what a wrong one does, and says nothing more"
        assert wrong["/feeds/wire.rss"][0] == 404 and b"Partner Wire" not in wrong["/opml"][1]
        assert wrong["/feeds/international.rss"][0] == 200, "the public feeds answer as to anyone"
        still = partner.get(f"{base}/feeds/wire.rss", params={"key": new})
        assert still.status_code == 200 and "wire story 2" in still.text
        with client("127.0.0.1") as operator:
            keys = html.fromstring(operator.get(f"{base}/partners").content).xpath("//ul[@class='keys']/li")
            assert [key.text_content().split(": ", 1)[1] for key in keys] == [
                "never expires", f"expired {expires.day} {expires:%b %Y, %H:%M} UTC"]
            assert keys[1].get("class") == "error"
    refused = [line for line in log.read_text().splitlines() if "expired partner key refused" in line]
    assert len(refused) == 1 and "partner=acme" in refused[0] and "client=127.0.0.2" in refused[0], refused
    assert old not in log.read_text() and new not in log.read_text()


def test_partner_keys_are_checked_when_feeds_yaml_loads(tmp_path: Path, database: str):
    def loaded(**partner):
        return load_config(write_config(tmp_path, database, categories=CATEGORIES,
                                        partners={"acme": {"categories": ["wire"], **partner}}))

    keys = loaded(keys=[{"hash": hash_key("k" * 20), "expires": "2027-02-01"},
                        {"hash": hash_key("l" * 20), "expires": "2027-02-01T12:30:00+01:00"},
                        {"hash": hash_key("m" * 20), "expires": "2027-02-01 08:00:00"}]).partners["acme"].keys
    assert [key.expires for key in keys] == [datetime(2027, 2, 1, tzinfo=timezone.utc),
                                             datetime(2027, 2, 1, 11, 30, tzinfo=timezone.utc),
                                             datetime(2027, 2, 1, 8, tzinfo=timezone.utc)]
    assert [key.hash for key in loaded(key_hash=hash_key("k" * 20)).partners["acme"].keys] == [hash_key("k" * 20)]
    for partner, message in [
        ({}, r"partners.acme: give its key as key_hash, or its keys as keys: \[\{hash: \.\.\.\}\]"),
        ({"keys": []}, r"partners.acme.keys: .*at least 1 item"),
        ({"key_hash": hash_key("k" * 20), "keys": [{"hash": hash_key("l" * 20)}]},
         r"partners.acme: key_hash and keys both given: put every key under keys"),
        ({"keys": [{"hash": "plain-text-key"}]}, r"feeds.yaml:\d+: partners.acme.keys\[0\].hash: expected 'sha256:'"),
        ({"keys": [{"hash": hash_key("k" * 20), "expires": "soon"}]}, r"partners.acme.keys\[0\].expires: expected a date"),
        ({"keys": [{"hash": hash_key("k" * 20)}, {"hash": hash_key("k" * 20)}]},
         r"two partner keys have the same hash: give each key its own"),
    ]:
        with pytest.raises(ConfigError, match=message):
            loaded(**partner)


def test_operators_see_each_partners_requests_of_the_last_day(tmp_path: Path, database: str):
    path = site(tmp_path, database, partners={
        "acme": {"key_hash": hash_key(ACME_KEY), "categories": ["wire"]},
        "globex": {"key_hash": hash_key("globex-key-never-used-2026"), "categories": ["markets"]},
    }, rate_limits={"key": {"requests": 6, "per": "1h"}})
    key = {"X-Feedhub-Key": ACME_KEY}
    started = datetime.now(timezone.utc).replace(microsecond=0)
    with gunicorn(path, workers=1) as base:  # one worker: one rate-limit bucket
        with client("127.0.0.2") as partner:
            first = partner.get(f"{base}/feeds/wire.rss", headers=key)
            assert first.status_code == 200
            again = {**key, "If-None-Match": first.headers["ETag"]}
            statuses = [partner.get(f"{base}/feeds/wire.rss", headers=again).status_code for _ in range(2)]
            statuses.append(partner.get(f"{base}/feeds/markets.rss", headers=key).status_code)  # not acme's
            statuses.append(partner.get(f"{base}/opml", headers=key).status_code)
            statuses.append(partner.get(f"{base}/feeds/wire.atom", params={"key": ACME_KEY}).status_code)
            statuses += [partner.get(f"{base}/feeds/wire.json", headers=key).status_code for _ in range(2)]
            assert statuses == [304, 304, 404, 200, 200, 429, 429]
            # Neither a page nor a feed without the key is a partner's pull.
            assert partner.get(f"{base}/c/wire", headers=key).status_code == 200
            assert partner.get(f"{base}/feeds/international.rss").status_code == 200
        with client("127.0.0.1") as operator:
            def scrape() -> str:
                return operator.get(f"{base}/metrics").text

            assert wait_until(lambda: metric(scrape(), "feedhub_partner_requests_last_day", "acme") == 8, 10)
            text = scrape()
            page = html.fromstring(operator.get(f"{base}/partners").content)
    assert metric(text, "feedhub_partner_not_modified_ratio_last_day", "acme") == pytest.approx(2 / 5)
    assert metric(text, "feedhub_partner_refusals_last_day", "acme") == 1
    assert metric(text, "feedhub_partner_rate_limited_last_day", "acme") == 2
    last = metric(text, "feedhub_partner_last_pull_timestamp_seconds", "acme")
    assert started.timestamp() <= last <= datetime.now(timezone.utc).timestamp()
    # A partner that never pulled is there, with nothing to show.
    assert metric(text, "feedhub_partner_requests_last_day", "globex") == 0
    assert metric(text, "feedhub_partner_last_pull_timestamp_seconds", "globex") is None
    assert metric(text, "feedhub_partner_not_modified_ratio_last_day", "globex") is None

    cards = {card.findtext("h3").strip(): dict(zip([dt.text_content().strip() for dt in card.iter("dt")],
                                                   [dd.text_content().strip() for dd in card.iter("dd")]))
             for card in page.xpath("//section[contains(@class, 'card')]")}
    assert cards["acme"]["Categories"] == "Partner Wire" and cards["acme"]["Requests"] == "8"
    assert cards["acme"]["Not modified (304)"] == "40% of the answered ones"
    assert cards["acme"]["Refused"].startswith("1 ") and cards["acme"]["Rate-limited (429)"] == "2"
    assert cards["acme"]["Last pull"].endswith("UTC")
    assert cards["globex"]["Requests"] == "0" and cards["globex"]["Last pull"] == "none in the last 31 days"
    assert cards["acme"]["Keys"] == f"{hash_key(ACME_KEY)[:15]}…: never expires"
    stored = rows(database, "SELECT partner, requests, pulls, not_modified, refused, limited FROM partner_pulls")
    assert stored == [{"partner": "acme", "requests": 8, "pulls": 5, "not_modified": 2, "refused": 1, "limited": 2}]

    printed = subprocess.run([sys.executable, "-m", "feedhub.cli", "--config", str(path), "partners"],
                             capture_output=True, text=True, check=True).stdout.splitlines()
    assert printed[0] == "feed requests over the last day (24 hours)"
    assert printed[1].split() == ["partner", "last", "pull", "requests", "304", "share", "refused", "429"]
    assert printed[2].split()[0] == "acme" and printed[2].split()[-4:] == ["8", "40%", "1", "2"]
    assert re.search(r"\(\d+s ago\)", printed[2]), printed[2]
    assert printed[3:5] == ["    categories: wire", f"    key {hash_key(ACME_KEY)[:15]}…: never expires"]
    assert printed[5].split() == ["globex", "none", "in", "31", "days", "0", "-", "0", "0"]


def test_the_last_day_is_the_hour_under_way_and_the_23_before_it(database: str):
    now = datetime(2026, 12, 7, 15, 40, tzinfo=timezone.utc)
    with Store(database) as store:
        store.add_partner_pulls({("globex", "other"): 1}, now - timedelta(days=40))  # past KEEP_DAYS: goes
        store.add_partner_pulls({("acme", "ok"): 3, ("acme", "refused"): 1}, now - timedelta(hours=24))  # 15:40 yesterday: out
        store.add_partner_pulls({("acme", "not_modified"): 4}, now - timedelta(hours=23))  # 16:40 yesterday: in
        store.add_partner_pulls({("acme", "ok"): 1, ("acme", "limited"): 2}, now - timedelta(minutes=5))
        store.add_partner_pulls({("acme", "refused"): 5}, now)  # refused only: not a pull
        pulls = store.partner_pulls(since(now))
    assert since(now) == datetime(2026, 12, 6, 16, tzinfo=timezone.utc)
    assert set(pulls) == {"acme"}
    acme = pulls["acme"]
    assert (acme.requests, acme.pulls, acme.not_modified, acme.refused, acme.limited) == (12, 5, 4, 5, 2)
    assert acme.last_pull == "2026-12-07T15:35:00+00:00", "the newest answered one, not the newest request"
