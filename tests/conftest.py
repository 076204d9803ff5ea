"""Fixtures only (what they share is in helpers.py and loopback.py): a temp
feeds.yaml over the bundled examples, a real HTTP feed server on 127.0.0.1,
and a whole site for the HTML page tests."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest

from feedhub.config import load_config
from feedhub.ingest import ingest_folder, ingest_source
from feedhub.items import Item
from feedhub.store import Store
from helpers import EXAMPLES, HOSTILE_SUMMARY, HOSTILE_TITLE, write_config
from loopback import FeedServer


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    """A copy of the bundled example articles that a test may change."""
    target = tmp_path / "articles"
    shutil.copytree(EXAMPLES / "articles", target)
    return target


@pytest.fixture
def make_config(tmp_path: Path):
    def make(**overrides):
        return load_config(write_config(tmp_path, **overrides))

    return make


@pytest.fixture
def feed_server(tmp_path: Path):
    """A real HTTP server on 127.0.0.1 serving a copy of examples/feeds."""
    root = tmp_path / "served"
    shutil.copytree(EXAMPLES / "feeds", root)
    server = FeedServer(root)
    yield server
    server.close()


# -- a whole site for the HTML page tests ---------------------------------------

@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    """The bundled articles and feeds ingested once per test module, plus a
    source that fails, one that was never fetched, and a hostile newest item
    (script title, HTML in its plain-text summary, a javascript: link)."""
    folder = tmp_path_factory.mktemp("site")
    shutil.copytree(EXAMPLES / "articles", folder / "articles")
    (folder / "articles" / "zz-weather.txt").write_text("WEATHER\n\nRain all week\n\nIt will rain.\n", encoding="utf-8")
    feeds = EXAMPLES / "feeds"
    config = load_config(write_config(
        folder,
        categories={
            "international": {"title": "International", "aliases": ["WORLD"]},
            "technology": {"title": "Technology", "aliases": ["TECH"]},
            "business": {"title": "Business"},
            "sports": {"title": "Sports", "aliases": ["SPORT"]},
            "culture": {"title": "Culture", "description": "Nothing here yet"},
        },
        articles=[{"path": str(folder / "articles")}],
        sources=[
            {"name": "world-wire", "path": str(feeds / "world-wire.rss"), "category": "international"},
            {"name": "syndicated", "path": str(feeds / "syndicated.rss"), "category": "international"},
            {"name": "tech-daily", "path": str(feeds / "tech-daily.atom"), "category": "technology", "interval": "30m"},
            {"name": "broken-wire", "path": str(folder / "missing.rss"), "category": "business"},
            {"name": "night-desk", "path": str(feeds / "rdf-10.rdf"), "category": "sports"},
        ],
    ))
    with Store(config.database) as store:
        ingest_folder(config, store, config.articles[0])
        for source in config.sources:
            if source.name != "night-desk":  # configured, not fetched yet
                ingest_source(config, store, source)
        store.add(Item(
            category="international", source="feed:world-wire", guid="urn:test:hostile",
            title=HOSTILE_TITLE, link="javascript:alert(3)", summary=HOSTILE_SUMMARY,
            content="<p>x</p>", text="a hostile entry from a compromised feed",
            published=datetime.now(timezone.utc),
        ))
    return config


@pytest.fixture
def database(tmp_path):
    return str(tmp_path / "feedhub.db")


# -- PostgreSQL (temporary: helper "testdb" adds the shared fixture) ------------

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432"


@pytest.fixture
def postgres_url():
    """A fresh, empty PostgreSQL database for one test, dropped after it;
    the test is skipped when no server answers on 127.0.0.1:5432."""
    import uuid

    psycopg = pytest.importorskip("psycopg")
    from feedhub.store.engine import close_pools

    try:
        admin = psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"no PostgreSQL server: {exc}")
    name = f"migrate_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f"CREATE DATABASE {name}")
        try:
            yield f"{POSTGRES_SERVER}/{name}"
        finally:
            close_pools()
            admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
