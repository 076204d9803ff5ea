"""WebSub: after an ingest pass, real hubs on 127.0.0.1 hear about changed feeds."""

from __future__ import annotations

import logging
import socket
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from helpers import rows
from loopback import FeedServer

from feedhub.ingest.cycle import run_cycle
from feedhub.store import Store
from feedhub.worker.scheduler import Worker


class Hub:
    """A hub that records every publish ping and answers with `status`."""

    def __init__(self, status: int = 204):
        self.server = FeedServer()
        self.server.overrides["/hub"] = (status, {}, b"")
        self.url = f"{self.server.url}/hub"

    @property
    def pings(self) -> list[dict]:
        return [{"content_type": headers["Content-Type"], **{k: v[0] for k, v in parse_qs(body.decode()).items()}}
                for _, headers, body in self.server.posted]

    def topics(self) -> set[str]:
        return {ping["hub.url"] for ping in self.pings}

    def close(self):
        self.server.close()


@pytest.fixture
def hubs():
    good, broken = Hub(204), Hub(500)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hub"
    yield good, broken, dead
    good.close()
    broken.close()


def feeds_of(*categories):
    return {f"http://feeds.test/feeds/{c}.{fmt}" for c in categories for fmt in ("rss", "atom", "json")}


def test_changed_categories_are_published_to_every_hub(make_config, articles_dir: Path, hubs, caplog):
    good, broken, dead = hubs
    config = make_config(articles=[{"path": str(articles_dir)}], hubs=[good.url, broken.url, dead])
    caplog.set_level(logging.WARNING, logger="feedhub.remote.websub")
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        changed = {row["category"] for row in rows(store, "SELECT DISTINCT category FROM items")}
    assert summary.total("failed") == 0, "a failing hub does not fail the ingest"
    assert good.topics() == broken.topics() == feeds_of(*changed)
    assert all(p["hub.mode"] == "publish" and p["content_type"] == "application/x-www-form-urlencoded" for p in good.pings)
    assert len(good.pings) == len(feeds_of(*changed)), "one ping per feed per pass"
    assert any("answered HTTP 500" in r.getMessage() and broken.url in r.getMessage() for r in caplog.records)
    dead_hub = [r.getMessage() for r in caplog.records if dead in r.getMessage()]
    assert len(dead_hub) == 1 and "ConnectError" in dead_hub[0], "an unreachable hub is tried once per pass"

    good.server.reset()
    with Store(config.database) as store:
        run_cycle(config, store)
    assert good.pings == [], "nothing changed, nobody pinged"

    business = next(p for p in articles_dir.glob("business-*.txt"))
    business.write_text(business.read_text(encoding="utf-8") + "\n\nA late correction.\n", encoding="utf-8")
    Worker(config).run(f"articles:{articles_dir}")  # the scheduler's path pings too
    assert good.topics() == feeds_of("business")


def test_no_hubs_configured_means_no_pings(make_config, articles_dir: Path, hubs):
    good, _, _ = hubs
    config = make_config(articles=[{"path": str(articles_dir)}])
    assert config.hubs == []
    with Store(config.database) as store:
        assert run_cycle(config, store).total("new") > 0
    assert good.pings == []


def test_private_categories_are_never_announced_nor_name_a_hub(make_config, articles_dir: Path, hubs):
    from feedhub.publish.access import hash_key
    from feedhub.web import create_app

    good, _, _ = hubs
    key = "partner-key-for-the-business-desk"
    categories = {"international": {"title": "International", "aliases": ["WORLD"]},
                  "technology": {"title": "Technology", "aliases": ["TECH"]},
                  "business": {"title": "Business", "private": True}}
    config = make_config(articles=[{"path": str(articles_dir)}], hubs=[good.url], categories=categories,
                         partners={"acme": {"key_hash": hash_key(key), "categories": ["business"]}})
    with Store(config.database) as store:
        run_cycle(config, store)
    assert good.topics() == feeds_of("international", "technology")
    client = create_app(config).test_client()
    public, private = client.get("/feeds/technology.atom"), client.get(f"/feeds/business.atom?key={key}")
    assert good.url in public.headers["Link"] and good.url.encode() in public.data
    assert private.status_code == 200 and "Link" not in private.headers and good.url.encode() not in private.data
    assert "hubs" not in client.get(f"/feeds/business.json?key={key}").get_json()
