"""Fixtures only (what they share is in helpers.py, loopback.py and
databases.py): each test's database (SQLite, or PostgreSQL with
FEEDHUB_TEST_DATABASE_URL set), a temp feeds.yaml over the bundled examples,
a real HTTP feed server on 127.0.0.1, and a whole site for the HTML page
tests."""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
from databases import ENV, NO_SERVER, Databases, Unreachable, in_ci, reachable
from helpers import EXAMPLES, HOSTILE_SUMMARY, HOSTILE_TITLE, write_config
from loopback import FeedServer

from feedhub.config import load_config
from feedhub.ingest import filing
from feedhub.ingest.feeds import ingest_source
from feedhub.ingest.folders import ingest_folder
from feedhub.model import Item
from feedhub.store import Store
from feedhub.store.engine import is_postgres

# -- the database every test stores in ------------------------------------------

def pytest_addoption(parser):
    parser.addoption("--database-url", default=None, metavar="URL",
                     help=f"run the suite on the PostgreSQL server at URL (default: ${ENV}; unset: SQLite)")


def suite_url(config) -> str | None:
    """The PostgreSQL server the suite runs on, or None for SQLite."""
    return config.getoption("--database-url") or os.environ.get(ENV) or None


def pytest_configure(config):
    url = suite_url(config)
    if url is not None:
        if not is_postgres(url):
            raise pytest.UsageError(f"{ENV} / --database-url: expected a postgresql:// URL, got {url!r}")
        why = reachable(url)
        if why is not None:
            raise pytest.UsageError(f"cannot run the suite on PostgreSQL: {why}")
    # Each test names its database in its feeds.yaml; an operator's
    # DATABASE_URL (which overrides feeds.yaml) would send every test, and
    # every worker and web server the tests start, to that one database.
    os.environ.pop("DATABASE_URL", None)


def pytest_collection_modifyitems(config, items):
    if suite_url(config) is None:
        return
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {marker.args[0]}"))
        marker = item.get_closest_marker("postgresql_xfail")
        if marker is not None:
            item.add_marker(pytest.mark.xfail(reason=f"PostgreSQL engine: {marker.args[0]}", strict=True))


def pytest_report_header(config):
    url = suite_url(config)
    return f"database: {'PostgreSQL at ' + url if url else 'SQLite'}"


@pytest.fixture(scope="session")
def databases(pytestconfig):
    made = Databases(suite_url(pytestconfig))
    with pytest.MonkeyPatch.context() as patch:
        made.watch_request_counts(patch)
        yield made
    made.close()


@pytest.fixture
def make_database(databases, tmp_path: Path):
    """Makes a new empty database per call (a test with two deployments),
    dropped when the test ends."""
    made: list[str] = []

    def make() -> str:
        location = databases.create(tmp_path / f"feedhub{'-' + str(len(made) + 1) if made else ''}.db")
        made.append(location)
        return location

    yield make
    for location in made:
        databases.drop(location)


@pytest.fixture
def database(make_database) -> str:
    """The test's database location: an SQLite file in tmp_path, or a fresh
    PostgreSQL database's URL when the suite runs on PostgreSQL."""
    return make_database()


@pytest.fixture
def postgres_url(databases):
    """A fresh PostgreSQL database's URL, for the tests that need PostgreSQL
    whichever engine the suite runs on: skipped when no server answers,
    except in CI, where that fails."""
    try:
        url = databases.server().create()
    except Unreachable as exc:
        if in_ci():
            pytest.fail(f"{NO_SERVER} ({exc})")
        pytest.skip(f"{NO_SERVER} ({exc})")
    yield url
    databases.drop(url)


@pytest.fixture
def articles_dir(tmp_path: Path) -> Path:
    """A copy of the bundled example articles that a test may change."""
    target = tmp_path / "articles"
    shutil.copytree(EXAMPLES / "articles", target)
    return target


@pytest.fixture
def make_config(tmp_path: Path, database: str):
    def make(**overrides):
        return load_config(write_config(tmp_path, overrides.pop("database", database), **overrides))

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
def demo_site(tmp_path_factory, databases):
    """The bundled articles and feeds ingested once per test module, plus a
    source that fails, one that was never fetched, and a hostile newest item
    (script title, HTML in its plain-text summary, a javascript: link)."""
    folder = tmp_path_factory.mktemp("site")
    shutil.copytree(EXAMPLES / "articles", folder / "articles")
    (folder / "articles" / "zz-weather.txt").write_text("WEATHER\n\nRain all week\n\nIt will rain.\n", encoding="utf-8")
    feeds = EXAMPLES / "feeds"
    database = databases.create(folder / "feedhub.db")
    config = load_config(write_config(
        folder, database,
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
        filing.add(store, Item(
            category="international", source="feed:world-wire", guid="urn:test:hostile",
            title=HOSTILE_TITLE, link="javascript:alert(3)", summary=HOSTILE_SUMMARY,
            content="<p>x</p>", text="a hostile entry from a compromised feed",
            published=datetime.now(timezone.utc),
        ))
    yield config
    databases.drop(database)
