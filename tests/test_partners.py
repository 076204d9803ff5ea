"""Partners: keys that rotate and expire, and what operators see of each
partner's feed requests over the last day (/partners, /metrics, `feedhub
partners`), through a real gunicorn and clients on other loopback addresses."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from helpers import gunicorn, rows, story, wait_until, write_config
from lxml import html

from feedhub.config import load_config
from feedhub.publish.access import hash_key
from feedhub.publish.partners import since
from feedhub.store import Store

ACME_KEY = "acme-key-for-the-statistics-2026"
CATEGORIES = {
    "international": {"title": "International"},
    "wire": {"title": "Partner Wire", "private": True},
    "markets": {"title": "Market Desk", "private": True},
}


def client(source: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=source), timeout=10)


def metric(scrape: str, name: str, partner: str) -> float | None:
    found = re.search(rf'^{name}{{partner="{partner}"}} (\S+)$', scrape, re.M)
    return float(found.group(1)) if found else None


def partner_site(tmp_path: Path, database: str, **overrides) -> Path:
    path = write_config(tmp_path, database, categories=CATEGORIES, **overrides)
    with Store(load_config(path).database) as store:
        for n, category in enumerate(CATEGORIES, 1):
            store.add(story(n, category=category, title=f"{category} story {n}"))
    return path


def test_operators_see_each_partners_requests_of_the_last_day(tmp_path: Path, database: str):
    path = partner_site(tmp_path, database, partners={
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
    stored = rows(database, "SELECT partner, requests, pulls, not_modified, refused, limited FROM partner_pulls")
    assert stored == [{"partner": "acme", "requests": 8, "pulls": 5, "not_modified": 2, "refused": 1, "limited": 2}]


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
