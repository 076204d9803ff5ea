"""Static publishing (feeds.yaml's static_dir): the worker writes each public
feed and its gzip and brotli forms to a folder, and nginx with the snippet
docs/static.md gives (examples/nginx-static-feeds.conf) serves the same bytes,
Content-Type and Cache-Control as the web app."""

from __future__ import annotations

import gzip
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import brotli
import httpx
import pytest
from helpers import EXAMPLES, REPO, story, write_config

from feedhub.config import load_config
from feedhub.ingest import filing
from feedhub.publish import static
from feedhub.store import Store
from feedhub.web import create_app

CATEGORIES = {
    "business": {"title": "Business"},
    "sports": {"title": "Sports"},
    "wire": {"title": "Partner Wire", "private": True},
}
FORMATS = ("rss", "atom", "json")
BROTLI_MODULE = Path("/usr/lib/nginx/modules/ngx_http_brotli_static_module.so")


@pytest.fixture
def site(tmp_path: Path, database: str) -> Path:
    path = write_config(tmp_path, database, categories=CATEGORIES, static_dir="public")
    with Store(load_config(path).database) as store:
        for n, category in enumerate(CATEGORIES, 1):
            filing.add(store, story(n, category=category, title=f"{category} story {n}"))
    return path


def test_every_public_feed_is_written_with_its_compressed_forms_and_no_private_one(site):
    config = load_config(site)
    folder = site.parent / "public"
    with Store(config.database) as store:
        assert static.write_all(config, store) == ["business", "sports"]
    client = create_app(site).test_client()
    for key in ("business", "sports"):
        for fmt in FORMATS:
            served = client.get(f"/feeds/{key}.{fmt}").data
            assert (folder / f"{key}.{fmt}").read_bytes() == served
            assert gzip.decompress((folder / f"{key}.{fmt}.gz").read_bytes()) == served
            assert brotli.decompress((folder / f"{key}.{fmt}.br").read_bytes()) == served
    assert not list(folder.glob("wire*")), "a private category is never written"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        static.files_for("business") + static.files_for("sports")), "no temporary file is left"


def test_a_category_made_private_or_removed_loses_its_files(site, tmp_path, database):
    with Store(load_config(site).database) as store:
        static.write_all(load_config(site), store)
        edited = dict(CATEGORIES, sports={"title": "Sports", "private": True})
        del edited["business"]
        changed = load_config(write_config(tmp_path, database, categories=edited, static_dir="public"))
        assert static.write_all(changed, store) == []
    assert list((tmp_path / "public").iterdir()) == []


def test_an_ingest_rewrites_the_category_it_changed(site):
    config = load_config(site)
    folder = site.parent / "public"
    with Store(config.database) as store:
        static.write_all(config, store)
        sports_before = (folder / "sports.rss").stat().st_mtime_ns
        before = store.category_versions()
        filing.add(store, story(9, title="A brand new business story"))
        assert static.write_changed(config, store, before) == ["business"]
    assert b"A brand new business story" in (folder / "business.rss").read_bytes()
    assert (folder / "sports.rss").stat().st_mtime_ns == sports_before, "an unchanged category is not rewritten"


def test_feedhub_ingest_writes_the_static_feeds(tmp_path, database):
    path = write_config(tmp_path, database, static_dir="public", articles=[{"path": str(EXAMPLES / "articles")}])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-m", "feedhub.cli", "--config", str(path), "ingest"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    written = sorted(p.name for p in (tmp_path / "public").glob("*.rss"))
    assert written and "international.rss" in written


def test_an_unwritable_folder_is_logged_and_nothing_else_fails(site, caplog):
    (site.parent / "public").write_text("a file where the folder should be")
    config = load_config(site)
    with Store(config.database) as store:
        assert static.write_all(config, store) == []
    assert "static feeds: cannot make" in caplog.text


# -- served by nginx ------------------------------------------------------------------


def nginx_binary() -> str | None:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is missing in CI: .ci/run installs it with apt-get")
        pytest.skip("nginx is not installed (apt-get install nginx libnginx-mod-http-brotli-static)")
    return found


def serve_with_nginx(folder: Path, work: Path) -> tuple[subprocess.Popen, str]:
    """Debian's nginx on 127.0.0.1 with examples/nginx-static-feeds.conf
    serving `folder` (brotli too, when its module is installed)."""
    snippet = (EXAMPLES / "nginx-static-feeds.conf").read_text()
    snippet = snippet.replace("/srv/feedhub/static/", f"{folder}/")
    brotli_on = BROTLI_MODULE.exists()
    if brotli_on:
        snippet = snippet.replace("# brotli_static on;", "brotli_static on;")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = work / "nginx.conf"
    conf.write_text(
        (f"load_module {BROTLI_MODULE};\n" if brotli_on else "")
        # As root, nginx's workers would run as nobody, who cannot enter pytest's folders.
        + ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\npid {work}/nginx.pid;\nerror_log {work}/error.log warn;\nevents {{}}\n"
        + "http {\n    access_log off;\n"
        + "".join(f"    {name}_temp_path {work}/{name};\n" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        + f"    server {{\n        listen 127.0.0.1:{port};\n{snippet}\n    }}\n}}\n", encoding="utf-8")
    process = subprocess.Popen([nginx_binary(), "-c", str(conf), "-p", str(work)], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return process, f"http://127.0.0.1:{port}"
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"nginx did not start: {process.stderr.read().decode()}")
            time.sleep(0.1)


def test_the_docs_page_gives_the_snippet_this_file_tests_word_for_word():
    snippet = (EXAMPLES / "nginx-static-feeds.conf").read_text()
    page = (REPO / "docs" / "static.md").read_text(encoding="utf-8")
    assert f"```nginx\n{snippet}```\n" in page


def test_nginx_serves_the_same_bytes_type_and_cache_control_as_the_app(site, tmp_path):
    nginx_binary()
    config = load_config(site)
    folder = site.parent / "public"
    with Store(config.database) as store:
        static.write_all(config, store)
    work = tmp_path / "nginx"
    work.mkdir()
    app = create_app(site).test_client()
    process, base = serve_with_nginx(folder, work)
    try:
        codings = ["gzip"] + ["br"] * BROTLI_MODULE.exists()
        with httpx.Client(timeout=10) as client:
            for fmt in FORMATS:
                url = f"/feeds/business.{fmt}"
                dynamic = app.get(url)
                served = client.get(base + url, headers={"Accept-Encoding": "identity"})
                assert served.status_code == 200
                assert served.content == dynamic.data
                assert served.headers["Content-Type"] == dynamic.headers["Content-Type"]
                assert served.headers["Cache-Control"] == dynamic.headers["Cache-Control"]
                for coding in codings:
                    dynamic = app.get(url, headers={"Accept-Encoding": coding})
                    served = client.get(base + url, headers={"Accept-Encoding": coding})
                    assert served.headers["Content-Encoding"] == dynamic.headers["Content-Encoding"] == coding
                    assert served.content == app.get(url).data  # httpx decodes it
                    assert "Accept-Encoding" in served.headers["Vary"]
            # A private feed is not in the folder: nginx hands it to the app (down here: 502).
            assert client.get(base + "/feeds/wire.rss").status_code == 502
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_worker_writes_every_public_feed_at_its_start(site):
    from feedhub.worker.scheduler import Worker

    worker = Worker(load_config(site), site)
    assert worker.scheduler.get_job("static-feeds") is not None, "queued to run at once"
    worker.write_static()
    assert sorted(p.name for p in (site.parent / "public").glob("*.atom")) == ["business.atom", "sports.atom"]
