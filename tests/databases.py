"""Where a test's database lives.  By default an SQLite file in the test's
own folder; when FEEDHUB_TEST_DATABASE_URL (or pytest's --database-url) names
a PostgreSQL server, a fresh database on that server for every test, copied
from a template database that the session makes, and migrates, once.

Every test that stores anything takes its location from conftest.py's
``database`` fixture (or ``make_database`` for a second one), so the same
suite runs once per engine; tests that can only run on PostgreSQL take
``postgres_url``."""

from __future__ import annotations

import itertools
import os
import secrets
import weakref
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from feedhub import metrics
from feedhub.store import engine
from feedhub.store.engine import is_postgres

ENV = "FEEDHUB_TEST_DATABASE_URL"
# Where tests that need PostgreSQL look for a server when the suite runs on
# SQLite: the loopback server .ci/run starts (and a developer's usual one).
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
NO_SERVER = f"no PostgreSQL: set {ENV}=postgresql://..."
# Every database a test session makes starts with this, then the session's
# own token, so sessions running at once on one server never meet.
PREFIX = "feedhub_test"


def in_ci() -> bool:
    """CI sets CI=true: there, a test that needs PostgreSQL fails rather than
    being skipped, so a broken server never passes for a green run."""
    return os.environ.get("CI", "").lower() not in ("", "0", "false", "no")


def with_database(url: str, name: str) -> str:
    """`url` (a server's URL) pointing at the database `name` instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


class Server:
    """A PostgreSQL server the session makes (and drops) databases on,
    through an admin connection to the database `url` names."""

    def __init__(self, url: str):
        import psycopg  # only a PostgreSQL run needs it

        self.url = url
        self.admin = psycopg.connect(url, autocommit=True, connect_timeout=10)
        self.token = f"{PREFIX}_{os.getpid()}_{secrets.token_hex(3)}"
        self.numbers = itertools.count(1)
        self.template: str | None = None
        self.made: set[str] = set()

    def _sql(self, statement: str, *names: str) -> None:
        from psycopg import sql

        self.admin.execute(sql.SQL(statement).format(*(sql.Identifier(name) for name in names)))

    def create(self, blank: bool = False) -> str:
        """The URL of a new database with feedhub's schema and no rows (with
        `blank`, without the schema either: no table at all)."""
        if self.template is None and not blank:
            self.template = self._make_template()
        name = f"{self.token}_{next(self.numbers)}"
        if blank:
            self._sql("CREATE DATABASE {}", name)
        else:
            self._sql("CREATE DATABASE {} TEMPLATE {}", name, self.template)
        self.made.add(name)
        return with_database(self.url, name)

    def _make_template(self) -> str:
        name = f"{self.token}_template"
        self._sql("CREATE DATABASE {}", name)
        self.made.add(name)
        migrate(with_database(self.url, name))
        return name

    def drop(self, url: str) -> None:
        """Drop a database create() made, whoever is still connected to it
        (a worker a test started, this process's connection pool)."""
        from feedhub.store.pgpool import close_pools

        name = urlsplit(url).path.lstrip("/")
        close_pools(url)  # only its own: a module's database, and its web app, live on
        self._sql("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
        self.made.discard(name)

    def close(self) -> None:
        from feedhub.store.pgpool import close_pools

        close_pools()
        for name in sorted(self.made):
            self._sql("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)
        self.made.clear()
        self.admin.close()


def migrate(url: str) -> None:
    """Give the (template) database at `url` feedhub's schema, as opening a
    Store does, so that each test's copy starts migrated instead of paying
    for every migration again."""
    from feedhub.store import Store

    from feedhub.store.pgpool import close_pools

    Store(url).close()
    close_pools(url)  # a template must have no connection left when it is copied


def reachable(url: str) -> str | None:
    """None if a PostgreSQL server answers at `url`, else why not."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    from feedhub.store.pgpool import unreachable

    why = unreachable(url)  # the store's own check, in the server's words
    return f"{engine.redacted(url)}: {why.splitlines()[0]}" if why else None


class Unreachable(Exception):
    """No PostgreSQL server to make a database on; str() says why."""


class Databases:
    """The session's maker of databases: SQLite files, or databases on the
    PostgreSQL server at `suite_url` when the suite runs on PostgreSQL."""

    def __init__(self, suite_url: str | None):
        self.suite_url = suite_url
        self._server: Server | None = None
        self._unreachable: str | None = None
        self.request_counts: weakref.WeakSet[metrics.RequestCounts] = weakref.WeakSet()

    def watch_request_counts(self, patch) -> None:
        """Know every web app's request counter (metrics.RequestCounts): its
        thread writes what a test's requests counted about a second later,
        and would retry for ever once that test's database is dropped."""
        made, init = self.request_counts, metrics.RequestCounts.__init__

        def tracked(counts: metrics.RequestCounts, *args, **kwargs) -> None:
            init(counts, *args, **kwargs)
            made.add(counts)

        patch.setattr(metrics.RequestCounts, "__init__", tracked)

    def server(self) -> Server:
        """The suite's server, else (tests that need PostgreSQL on an SQLite
        run) the one at DEFAULT_SERVER; connected once per session."""
        if self._server is None:
            if self._unreachable is not None:
                raise Unreachable(self._unreachable)
            url = self.suite_url or DEFAULT_SERVER
            why = reachable(url)
            if why is not None:
                self._unreachable = why
                raise Unreachable(why)
            self._server = Server(url)
        return self._server

    def create(self, path: Path, blank: bool = False) -> str:
        """A new database with no rows: the SQLite file at `path` (made on
        first use), or a copy of the migrated template on the suite's
        PostgreSQL server (with `blank`, an empty one: no schema yet)."""
        if self.suite_url is None:
            return str(path)
        return self.server().create(blank)

    def drop(self, location: str) -> None:
        if is_postgres(location):
            for counts in list(self.request_counts):
                counts.flush()  # what is pending lands in the database it belongs to, still there
            self.server().drop(location)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
