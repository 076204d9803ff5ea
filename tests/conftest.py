"""Shared fixtures: a temp feeds.yaml over the bundled examples, and a real
HTTP feed server on 127.0.0.1."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import yaml

from feedhub.config import load_config
from feedhub.items import Item
from feedhub.store import Store

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"


def write_config(folder: Path, **overrides) -> Path:
    """A feeds.yaml in `folder`, with the bundled categories, database in `folder`."""
    data = {
        "site": {"title": "Test Hub", "link": "http://feeds.test", "language": "en"},
        "database": "hub.db",
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
            store.add(item)
    return config


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


class FeedServer:
    """Serves files from a folder with ETag and Last-Modified, answering
    conditional requests with 304, and remembers every request's headers.
    HTTP/1.1 with keep-alive; it counts the connections clients opened and
    the most requests it was answering at once."""

    def __init__(self, root: Path):
        self.root = root
        self.requests: list[tuple[str, dict]] = []
        self.overrides: dict[str, tuple[int, dict, bytes]] = {}
        # path -> function called before answering it (e.g. to hold it back).
        self.before: dict[str, object] = {}
        self.connections = 0
        self.in_flight = self.max_in_flight = 0
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with lock:
                    server.connections += 1

            def do_GET(self):
                with lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    self._answer()
                finally:
                    with lock:
                        server.in_flight -= 1

            def _answer(self):
                server.requests.append((self.path, dict(self.headers)))
                if self.path in server.before:
                    server.before[self.path]()
                if self.path in server.overrides:
                    status, headers, body = server.overrides[self.path]
                    return self._send(status, headers, body)
                file = server.root / self.path.lstrip("/").split("?")[0]
                if not file.is_file():
                    return self._send(404, {}, b"not found")
                body = file.read_bytes()
                etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
                modified = formatdate(file.stat().st_mtime, usegmt=True)
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, {"ETag": etag}, b"")
                kind = {".atom": "application/atom+xml", ".json": "application/feed+json"}.get(file.suffix, "application/rss+xml")
                self._send(200, {"ETag": etag, "Last-Modified": modified, "Content-Type": kind}, body)

            def _send(self, status, headers, body):
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True  # kept-alive connections must not hold up close()
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def source(self, name: str, file: str, category: str) -> dict:
        """A feeds.yaml source entry for one of the files this server serves."""
        return {"name": name, "url": f"{self.url}/{file}", "category": category}

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server(tmp_path: Path):
    """A real HTTP server on 127.0.0.1 serving a copy of examples/feeds."""
    root = tmp_path / "served"
    shutil.copytree(EXAMPLES / "feeds", root)
    server = FeedServer(root)
    yield server
    server.close()


# -- a whole site for the HTML page tests ---------------------------------------

HOSTILE_TITLE = "<script>alert(1)</script>"
HOSTILE_SUMMARY = '<img src=x onerror="alert(2)"> Tom & Jerry'


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory):
    """The bundled articles and feeds ingested once per test module, plus a
    source that fails, one that was never fetched, and a hostile newest item
    (script title, HTML in its plain-text summary, a javascript: link)."""
    from datetime import datetime, timezone

    from feedhub.ingest import ingest_folder, ingest_source
    from feedhub.items import Item
    from feedhub.store import Store

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


@contextlib.contextmanager
def gunicorn(config_path: Path, workers: int = 2) -> Iterator[str]:
    """`feedhub.web:create_app()` under a real gunicorn on 127.0.0.1 with
    `workers` processes, serving config_path; yields its base URL once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "feedhub.web:create_app()"],
        env={**os.environ, "FEEDHUB_CONFIG": str(config_path)}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
