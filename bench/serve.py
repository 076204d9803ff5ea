"""Benchmark: how cheaply gunicorn serves a warm 50-item feed.

    .venv/bin/python bench/serve.py [--seconds 5] [--rounds 3]

A database holds one category of 50 items.  gunicorn (2 workers x 4 threads,
as in the Procfile) serves feedhub's app on 127.0.0.1 with one extra route,
`/static/feed.xml`, that sends the very same bytes from a file with Flask's
send_file, and a bare WSGI route, `/raw/feed.xml`, that reads and sends that
file without Flask.  wrk (Debian package `wrk`) then measures requests per
second of:

- feed:   GET /feeds/bench.rss, rendered once and served from the cache;
- 304:    the same GET with the feed's ETag in If-None-Match;
- static: GET /static/feed.xml, the same bytes as a static file (send_file);
- raw:    GET /raw/feed.xml, the same bytes from the bare WSGI route.

The four are measured in turns, `--rounds` times, and each ratio is the
median of the per-round ratios, so load from other processes on the machine
hits all alike.  Targets: feed >= 50% of static, 304 >= 80% of static;
both baselines are printed.
The last lines printed are the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parent.parent
ITEMS = 50
WORDS = (
    "harbour authority quay spring storms steel dredging council budget ferry tide crane union strike "
    "minister port cargo fishing fleet coast weather bridge road rail tunnel school hospital market "
    "price grain export import river flood summit treaty court judge vote election mayor festival"
).split()


def app():
    """gunicorn's entry point: feedhub's app plus the static-file baseline."""
    from flask import send_file

    from feedhub.web import create_app

    application = create_app(os.environ["FEEDHUB_CONFIG"])
    static = os.environ["BENCH_STATIC_FILE"]

    @application.get("/static/feed.xml")
    def static_feed():
        return send_file(static, mimetype="application/rss+xml")

    flask_wsgi = application.wsgi_app

    def wsgi(environ, start_response):
        # The leanest static route: the file read and sent by plain WSGI, no Flask.
        if environ["PATH_INFO"] != "/raw/feed.xml":
            return flask_wsgi(environ, start_response)
        with open(static, "rb") as file:
            body = file.read()
        start_response("200 OK", [("Content-Type", "application/rss+xml"), ("Content-Length", str(len(body)))])
        return [body]

    application.wsgi_app = wsgi
    return application


def make_database(folder: Path) -> Path:
    """feeds.yaml and a database holding one category of ITEMS articles."""
    from feedhub.items import Item
    from feedhub.store import Store

    config = {
        "site": {"title": "Bench Hub", "link": "http://127.0.0.1", "language": "en"},
        "database": "hub.db",
        "feed_size": ITEMS,
        "categories": {"bench": {"title": "Bench", "description": "Fifty stories"}},
    }
    path = folder / "feeds.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    words = random.Random(4)  # different words per story, or dedup would keep only one
    stored = 0
    with Store(folder / "hub.db") as store:
        for n in range(ITEMS):
            paragraphs = [" ".join(words.choices(WORDS, k=60)).capitalize() + "." for _ in range(6)]
            outcome = store.add(Item(
                category="bench", source="feed:bench", guid=f"urn:bench:{n}", title=f"Story {n}: {paragraphs[0][:60]}",
                link=f"https://news.example.com/{n}", summary=paragraphs[0],
                content="".join(f"<p>{p}</p>" for p in paragraphs), text=" ".join(paragraphs),
                published=start + timedelta(minutes=n), author="Port Desk",
            ))
            stored += outcome.status == "new"
    if stored != ITEMS:
        raise SystemExit(f"only {stored} of {ITEMS} bench items were stored")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(config: Path, static: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "FEEDHUB_CONFIG": str(config), "BENCH_STATIC_FILE": str(static),
           "PYTHONPATH": str(Path(__file__).parent)}
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "4",
         "--log-level", "warning", "serve:app()"],
        env=env,
    )


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)


def wrk(url: str, seconds: int, headers: dict[str, str]) -> float:
    """Requests per second wrk measured; it fails loudly on non-2xx/3xx answers."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency"]
    for key, value in headers.items():
        command += ["-H", f"{key}: {value}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx or 3xx responses" in out:
        raise SystemExit(f"wrk saw error responses from {url}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=5, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")

    with tempfile.TemporaryDirectory(prefix="feedhub-bench-serve-") as tmp:
        folder = Path(tmp)
        config = make_database(folder)
        static = folder / "feed.xml"
        static.write_bytes(b"")
        port = free_port()
        server = start_gunicorn(config, static, port)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{base}/feeds/bench.rss")
            feed = httpx.get(f"{base}/feeds/bench.rss")
            static.write_bytes(feed.content)  # the very bytes the feed route sends
            assert httpx.get(f"{base}/static/feed.xml").content == feed.content
            assert httpx.get(f"{base}/raw/feed.xml").content == feed.content
            etag = feed.headers["etag"]
            assert httpx.get(f"{base}/feeds/bench.rss", headers={"If-None-Match": etag}).status_code == 304
            cases = {
                "feed": (f"{base}/feeds/bench.rss", {}),
                "304": (f"{base}/feeds/bench.rss", {"If-None-Match": etag}),
                "static": (f"{base}/static/feed.xml", {}),
                "raw": (f"{base}/raw/feed.xml", {}),
            }
            for url, headers in cases.values():  # warm every worker and thread
                wrk(url, 1, headers)
            rounds = []
            for number in range(1, args.rounds + 1):
                rate = {name: wrk(url, args.seconds, headers) for name, (url, headers) in cases.items()}
                rounds.append(rate)
                print(f"round {number}: " + ", ".join(f"{name} {r:,.0f} req/s" for name, r in rate.items()))
        finally:
            server.terminate()
            server.wait(timeout=20)

    def median(name: str) -> float:
        return statistics.median(r[name] for r in rounds)

    def ratio(name: str, baseline: str = "static") -> float:
        return statistics.median(r[name] / r[baseline] for r in rounds)

    print(f"feed body: {len(feed.content):,} bytes, {ITEMS} items; wrk -t2 -c16, {args.rounds} rounds of {args.seconds}s; "
          f"gunicorn 2 workers x 4 threads on {os.cpu_count()} CPUs shared with wrk")
    print(f"static file (Flask send_file): {median('static'):,.0f} req/s; (bare WSGI): {median('raw'):,.0f} req/s")
    for name, label, target in (("feed", "warm feed", "50%"), ("304", "304 path ", "80%")):
        print(f"{label}: {median(name):,.0f} req/s = {ratio(name):.0%} of static send_file, "
              f"{ratio(name, 'raw'):.0%} of bare-WSGI static (target >= {target})")


if __name__ == "__main__":
    main()
