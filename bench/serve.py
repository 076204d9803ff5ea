"""Benchmark: how cheaply feedhub serves a warm 50-item feed, against nginx.

    python bench/serve.py [--seconds 3] [--rounds 3] [--servers granian,gunicorn]

A database holds one category of 50 items.  feedhub's app is served on
127.0.0.1 by each server named in --servers (2 workers each, as `feedhub
run` and the Procfile do; the access control Gate and rate limits in place),
and nginx (Debian package `nginx`) serves the very same bytes as a static
file from a temp folder with a config this script writes.  wrk (Debian
package `wrk`) measures requests per second of:

- feed:  GET /feeds/bench.rss, rendered once and served from the cache;
- 304:   the same GET with the feed's ETag in If-None-Match;
- nginx: GET of the static copy, and its 304 with nginx's own ETag;
- static publishing: the same feed as the worker writes it to static_dir,
  served by the same nginx with examples/nginx-static-feeds.conf.

All are measured in turns, `--rounds` times; each ratio is the median of
the per-round ratios (min-max spread shown), so load from other processes
hits all alike.  Targets (issue 18): warm feed >= 40% of nginx's 200,
304 >= 25% of nginx's 304, static publishing >= 90% of bare nginx.  The last lines printed are the figures.
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
from common import sized

REPO = Path(__file__).resolve().parent.parent
ITEMS = 50
WORDS = (
    "harbour authority quay spring storms steel dredging council budget ferry tide crane union strike "
    "minister port cargo fishing fleet coast weather bridge road rail tunnel school hospital market "
    "price grain export import river flood summit treaty court judge vote election mayor festival"
).split()


NGINX_CONF = """\
worker_processes 2;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ application/rss+xml rss; }}
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
    server {{
        listen 127.0.0.1:{static_port};
{snippet}
    }}
}}
"""


def start_nginx(root: Path, published: Path, tmp: Path, port: int, static_port: int) -> subprocess.Popen:
    """nginx on loopback serving `root` bare on `port`, and feedhub's static
    feeds in `published` with the snippet of docs/static.md (examples/nginx-static-feeds.conf) on `static_port`, from a
    config written into `tmp`."""
    snippet = (REPO / "examples" / "nginx-static-feeds.conf").read_text().replace("/srv/feedhub/static/", f"{published}/")
    conf = tmp / "nginx.conf"
    conf.write_text(NGINX_CONF.format(tmp=tmp, root=root, port=port, static_port=static_port, snippet=snippet),
                    encoding="utf-8")
    return subprocess.Popen([nginx_binary(), "-c", str(conf), "-p", str(tmp)])


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)
    if not found:
        raise SystemExit("nginx is needed as the baseline: apt-get update && apt-get install -y nginx")
    return found


def make_database(folder: Path) -> Path:
    """feeds.yaml and a database holding one category of ITEMS articles."""
    from feedhub.ingest import filing
    from feedhub.model import Item
    from feedhub.store import Store

    config = {
        "site": {"title": "Bench Hub", "link": "http://127.0.0.1", "language": "en"},
        "database": "hub.db",
        "feed_size": ITEMS,
        "static_dir": "public",
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
            outcome = filing.add(store, Item(
                category="bench", source="feed:bench", guid=f"urn:bench:{n}", title=f"Story {n}: {paragraphs[0][:60]}",
                link=f"https://news.example.com/{n}", summary=paragraphs[0],
                content="".join(f"<p>{p}</p>" for p in paragraphs), text=" ".join(paragraphs),
                published=start + timedelta(minutes=n), author="Port Desk",
            ))
            stored += outcome.status == "new"
        if stored != ITEMS:
            raise SystemExit(f"only {stored} of {ITEMS} bench items were stored")
        from feedhub.config import load_config
        from feedhub.publish import static

        static.write_all(load_config(path), store)  # static publishing, as the worker does
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVERS = {
    # As the Procfile's web line and `feedhub run` (feedhub.web.server) start them.
    "granian": lambda port: [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "2", "--blocking-threads", "4",
                             "--log-level", "warning", "--factory", "feedhub.web:create_app"],
    "gunicorn": lambda port: [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
                              "--threads", "4", "--log-level", "warning", "feedhub.web:create_app()"],
}


def start_server(name: str, config: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(SERVERS[name](port), env={**os.environ, "FEEDHUB_CONFIG": str(config)})


def wait_until_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url}: the server did not start")
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
    parser.add_argument("--seconds", type=int, default=sized(3, 1), help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=sized(3, 1))
    parser.add_argument("--servers", default=sized("granian,gunicorn", "granian"), help="comma-separated: " + ", ".join(SERVERS))
    args = parser.parse_args()
    servers = args.servers.split(",")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    nginx_binary()

    with tempfile.TemporaryDirectory(prefix="feedhub-bench-serve-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)  # nginx's workers (user nobody when started as root) read the static copy
        config = make_database(folder)
        root = folder / "static"
        root.mkdir()
        processes, cases = [], {}
        try:
            for name in servers:
                port = free_port()
                processes.append(start_server(name, config, port))
                url = f"http://127.0.0.1:{port}/feeds/bench.rss"
                wait_until_up(url)
                feed = httpx.get(url)
                etag = feed.headers["etag"]
                assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304
                cases[f"{name} feed"] = (url, {})
                cases[f"{name} 304"] = (url, {"If-None-Match": etag})
            (root / "bench.rss").write_bytes(feed.content)  # the very bytes the feed route sends
            port, static_port = free_port(), free_port()
            processes.append(start_nginx(root, folder / "public", folder, port, static_port))
            published = f"http://127.0.0.1:{static_port}/feeds/bench.rss"
            wait_until_up(published)
            assert httpx.get(published).content == feed.content
            cases["static publishing"] = (published, {})
            url = f"http://127.0.0.1:{port}/bench.rss"
            wait_until_up(url)
            static = httpx.get(url)
            assert static.content == feed.content, (static.status_code, static.content[:300])
            cases["nginx feed"] = (url, {})
            cases["nginx 304"] = (url, {"If-None-Match": static.headers["etag"]})
            assert httpx.get(url, headers={"If-None-Match": static.headers["etag"]}).status_code == 304
            for url, headers in cases.values():  # warm every worker and thread
                wrk(url, 1, headers)
            rounds = []
            for number in range(1, args.rounds + 1):
                rate = {name: wrk(url, args.seconds, headers) for name, (url, headers) in cases.items()}
                rounds.append(rate)
                print(f"round {number}: " + ", ".join(f"{name} {r:,.0f}" for name, r in rate.items()) + " req/s")
        finally:
            for process in processes:
                process.terminate()
                process.wait(timeout=20)

    def median(name: str) -> float:
        return statistics.median(r[name] for r in rounds)

    def ratio(name: str, baseline: str) -> str:
        ratios = [r[name] / r[baseline] for r in rounds]
        return f"{statistics.median(ratios):.0%} of nginx (spread {min(ratios):.0%}-{max(ratios):.0%})"

    print(f"feed body: {len(feed.content):,} bytes, {ITEMS} items; wrk -t2 -c16, {args.rounds} rounds of {args.seconds}s; "
          f"each server 2 workers, nginx 2 workers, on {os.cpu_count()} CPUs shared with wrk")
    print(f"nginx static file: {median('nginx feed'):,.0f} req/s; its 304: {median('nginx 304'):,.0f} req/s")
    print(f"static publishing (static_dir, examples/nginx-static-feeds.conf): {median('static publishing'):,.0f} req/s"
          f" = {ratio('static publishing', 'nginx feed')} (target >= 90%)")
    for name in servers:
        print(f"{name} warm feed: {median(name + ' feed'):,.0f} req/s = {ratio(name + ' feed', 'nginx feed')} (target >= 40%)")
        print(f"{name} 304:       {median(name + ' 304'):,.0f} req/s = {ratio(name + ' 304', 'nginx 304')} (target >= 25%)")


if __name__ == "__main__":
    main()
