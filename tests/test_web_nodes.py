"""Several web nodes on one database: two web processes, each with its own
copy of feeds.yaml (as on two hosts), serve the same bytes and the same ETag
for the same data, show a new item at once on both, and serve the newsroom's
article pages with the article files gone from their machine (on PostgreSQL,
which the suite's PostgreSQL run chooses, they share nothing else)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import httpx
import pytest
from helpers import gunicorn, rows, story, wait_until, write_config

from feedhub.config import load_config
from feedhub.ingest import filing
from feedhub.ingest.cycle import run_cycle
from feedhub.store import Store

pytestmark = pytest.mark.slow

PATHS = ["/feeds/business.rss", "/feeds/business.atom", "/feeds/business.json", "/feeds/international.rss"]


def node(tmp_path: Path, name: str, database: str) -> Path:
    """A web node's own folder and feeds.yaml, written at its own moment."""
    folder = tmp_path / name
    folder.mkdir()
    time.sleep(1.1)  # another second on the file's clock, as another host's deploy would have
    return write_config(folder, database)


def answers(base: str, paths: list[str]) -> dict[str, tuple[int, str | None, bytes]]:
    with httpx.Client(base_url=base) as client:
        return {path: (r.status_code, r.headers.get("ETag"), r.content) for path in paths for r in [client.get(path)]}


def test_two_web_nodes_serve_the_same_bytes_and_etags_and_new_items_at_once(tmp_path: Path, database: str):
    worker_config = load_config(write_config(tmp_path, database, articles=[{"path": str(tmp_path / "articles")}]))
    shutil.copytree(Path(__file__).parent.parent / "examples" / "articles", tmp_path / "articles")
    with Store(database) as store:
        summary = run_cycle(worker_config, store)
        for n in range(1, 6):
            filing.add(store, story(n))
        articles = [row["link"] for row in rows(store, "SELECT link FROM items WHERE source LIKE 'articles:%'")]
    assert not summary.errors and articles
    # The web nodes are on other machines: the article files are not there.
    shutil.rmtree(tmp_path / "articles")
    pages = ["/c/business", *(link.removeprefix("http://feeds.test") for link in articles[:3])]
    with gunicorn(node(tmp_path, "a", database), workers=1) as a, gunicorn(node(tmp_path, "b", database), workers=1) as b:
        first = answers(a, PATHS + pages)
        assert all(status == 200 for status, _, _ in first.values()), {p: s for p, (s, _, _) in first.items()}
        assert answers(b, PATHS + pages) == first
        assert all(etag for path, (_, etag, _) in first.items() if path in PATHS)

        with Store(database) as store:  # a worker files a new story
            filing.add(store, story(6, title="Harbour reopens after the storm"))
        # On PostgreSQL a node learns of it from the server's notice, which
        # takes milliseconds to arrive (store/watch.py); on SQLite at once.
        assert wait_until(lambda: all(b"Harbour reopens" in httpx.get(f"{node}/feeds/business.rss").content
                                      for node in (a, b)), seconds=5, every=0)
        after_a, after_b = answers(a, PATHS), answers(b, PATHS)
        assert after_a == after_b, "both nodes serve the new version"
        assert b"Harbour reopens after the storm" in after_a["/feeds/business.rss"][2]
        assert after_a["/feeds/business.rss"][1] != first["/feeds/business.rss"][1]
        # A category nothing was filed in keeps its bytes and its ETag.
        assert after_a["/feeds/international.rss"] == first["/feeds/international.rss"]

        # A reader holding node A's ETag asks node B: 304, nothing resent.
        etag = after_a["/feeds/business.rss"][1]
        again = httpx.get(f"{b}/feeds/business.rss", headers={"If-None-Match": etag or ""})
        assert again.status_code == 304 and again.content == b""
