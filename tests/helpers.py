"""What the tests share besides fixtures: a feeds.yaml over the bundled
examples, stories to store, reading rows back with SQL, and feedhub under a
real gunicorn.  A module of its own (not conftest.py) so the tests import it
the same way in pytest's default and importlib import modes."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import httpx
import yaml

from feedhub.ingest import filing
from feedhub.model import Item
from feedhub.store import Store
from feedhub.store.engine import is_postgres

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"

HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_SUMMARY = '<img src=x onerror="alert(2)"> Tom & Jerry'


def write_config(folder: Path, database: str, **overrides) -> Path:
    """A feeds.yaml in `folder`, with the bundled categories, storing in
    `database` (conftest.py's fixture: an SQLite path or a PostgreSQL URL)."""
    data = {
        "site": {"title": "Test Hub", "link": "http://feeds.test", "language": "en"},
        "database": database,
        "feed_size": 50,
        "categories": {
            "international": {"title": "International", "aliases": ["WORLD"]},
            "technology": {"title": "Technology", "aliases": ["TECH"]},
            "business": {"title": "Business"},
            "sports": {"title": "Sports", "aliases": ["SPORT"]},
        },
        "articles": [],
        "sources": [],
        # The test servers run on 127.0.0.1, which feedhub refuses by default.
        "fetch_allow_networks": ["127.0.0.1/32"],
    }
    data.update(overrides)
    path = folder / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def story(n: int, **fields) -> Item:
    """Business story number n, published n hours after 1 November 2026."""
    values = dict(
        category="business", source="feed:t", guid=f"urn:t:{n}", title=f"Story {n}", link=f"http://t.test/{n}",
        summary=f"Summary {n}", content=f"<p>Body {n}</p>", text=f"story number {n} with its own words",
        published=datetime(2026, 11, 1, tzinfo=timezone.utc) + timedelta(hours=n),
    )
    values.update(fields)
    return Item(**values)


def config_holding(make_config, items, **overrides):
    """A config (from make_config) whose database already holds `items`."""
    config = make_config(**overrides)
    with Store(config.database) as store:
        for item in items:
            filing.add(store, item)
    return config


@contextlib.contextmanager
def gunicorn(config_path: Path, workers: int = 2, threads: int = 1, log: Path | None = None,
             ready: str = "/healthz") -> Iterator[str]:
    """`feedhub.web:create_app()` under a real gunicorn on 127.0.0.1 with
    `workers` processes of `threads` threads, serving config_path; yields its
    base URL once `ready` answers (/healthz: the database was opened; a
    static file: it was not).  With `log`, everything gunicorn and the app
    write (the access log included, in gunicorn's default format) goes to
    that file."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    output = open(log, "ab") if log else subprocess.DEVNULL
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", str(threads), *(["--access-logfile", "-"] if log else []), "feedhub.web:create_app()"],
        env={**os.environ, "FEEDHUB_CONFIG": str(config_path)}, stdout=output, stderr=output,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}{ready}")
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)
        if log:
            output.close()


def wait_until(condition: Callable[[], object], seconds: float = 10, every: float = 0.01) -> bool:
    """Poll until condition() holds; False if it never did (the caller asserts)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


def rows(database: Any, sql: str, params: Sequence[object] = ()) -> list[dict[str, Any]]:
    """What `sql` (portable SQL, `?` placeholders) reads, each row as a dict:
    through `database` itself if it is an open Store, else through a Store
    of its own on the location `database` is (or a config's .database), so
    what any reader would see committed.  Either engine."""
    if isinstance(database, Store):
        cursor = database.db.execute(sql, list(params))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row)) for row in cursor.fetchall()]
    with Store(getattr(database, "database", database)) as store:
        return rows(store, sql, params)


def on_sqlite(database: Any) -> bool:
    """Whether `database` (a location, or a config's .database) is SQLite's:
    the few checks of SQLite's own tables and PRAGMAs in tests about
    feedhub's behaviour run only there."""
    return not is_postgres(str(getattr(database, "database", database)))


def values(database: Any, sql: str, params: Sequence[object] = ()) -> list[tuple]:
    """rows(), each row as a tuple of its values."""
    return [tuple(row.values()) for row in rows(database, sql, params)]
