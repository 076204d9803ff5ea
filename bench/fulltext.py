"""Benchmark: what full text (`full_text: true`) costs.

    python bench/fulltext.py          # 5 interleaved rounds
    python bench/fulltext.py 9        # 9 rounds

The tests' loopback server (tests/loopback.py, HTTP/1.1, threaded, in this
process) serves a feed of 100 teaser entries and the 100 article pages behind
them: ~600 words of article each, inside navigation, an ad, a cookie banner,
comments and a "most read" box, ~9 kB a page.

1. Extraction: trafilatura plus sanitizing (fulltext.extract) on each page,
   against the baseline of sanitizing the same page with nh3 alone (what an
   entry's HTML costs anyway).
2. Ingest: one pass (ingest.run_cycle, in this process) over the teaser feed
   into a fresh database, with full text off (the baseline: 1 request) and
   on (1 + 100 page requests + robots.txt), in alternating order.

The last lines are the figures: medians, the ratio and its spread over the
rounds.
"""

from __future__ import annotations

import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import sized, write_config  # noqa: E402
from loopback import FeedServer  # noqa: E402

from feedhub.remote import fulltext  # noqa: E402
from feedhub.config import load_config  # noqa: E402
from feedhub.ingest.cycle import run_cycle  # noqa: E402
from feedhub.sanitize import clean_html  # noqa: E402
from feedhub.store import Store  # noqa: E402

ENTRIES = sized(100, 5)
WORDS = "harbour council river bridge market school winter harvest ferry library orchard mill road valley " \
        "station museum festival storm rail grain village council budget teacher doctor farmer water town".split()


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(8, 18))
    return " ".join(words).capitalize() + "."


def article_page(n: int) -> bytes:
    rng = random.Random(n)
    paragraphs = "".join(f"<p>{' '.join(sentence(rng) for _ in range(4))}</p>" for _ in range(12))
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Story {n}</title></head><body>
<div class="cookie-banner">We use cookies. <button>Accept all</button></div>
<header><nav>{''.join(f'<a href="/s/{k}">Section {k}</a> ' for k in range(12))}</nav></header>
<aside class="advert">Advertisement: a sale on garden furniture</aside>
<main><article><h1>Story {n}</h1>{paragraphs}</article>
<section class="comments"><h2>Comments</h2>{''.join(f'<div class="comment"><p>{sentence(rng)}</p></div>' for _ in range(6))}</section>
<aside><h2>Most read</h2><ul>{''.join(f'<li><a href="/m/{k}">Headline {k}</a></li>' for k in range(8))}</ul></aside>
</main><footer>Copyright 2026 Bench Gazette.</footer></body></html>""".encode()


def serve(folder: Path) -> tuple[FeedServer, dict[str, bytes]]:
    """A loopback server over `folder`, holding the teaser feed and its pages
    (path -> page)."""
    pages = {f"/a/{n}.html": article_page(n) for n in range(ENTRIES)}
    for path, body in pages.items():
        (folder / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
        (folder / path.lstrip("/")).write_bytes(body)
    server = FeedServer(folder)
    items = "".join(
        f"<item><title>Story {n}</title><link>{server.url}/a/{n}.html</link><guid>urn:bench:{n}</guid>"
        f"<pubDate>Mon, 02 Nov 2026 {n % 24:02d}:00:00 GMT</pubDate>"
        f"<description>{sentence(random.Random(-n))}</description></item>"
        for n in range(ENTRIES)
    )
    (folder / "teasers.rss").write_bytes(
        (f'<?xml version="1.0"?><rss version="2.0"><channel><title>Teasers</title><link>{server.url}/</link>'
         f"<description>d</description>{items}</channel></rss>").encode())
    return server, pages


def ingest_seconds(site: FeedServer, full_text: bool) -> float:
    with tempfile.TemporaryDirectory() as folder:
        source = {"name": "teasers", "url": f"{site.url}/teasers.rss", "category": "international",
                  "full_text": full_text}
        config = load_config(write_config(Path(folder), sources=[source], fetch_allow_networks=["127.0.0.1/32"]))
        fulltext.ROBOTS.hosts.clear()
        with Store(config.database) as store:
            started = time.perf_counter()
            summary = run_cycle(config, store)
            seconds = time.perf_counter() - started
            if full_text:
                pages = store.page_health("teasers")
                assert pages.pages == ENTRIES and pages.failed == 0, pages
        assert summary.total("new") == ENTRIES, summary.counts
        return seconds


def main(rounds: int) -> None:
    logging.disable(logging.WARNING)
    served = tempfile.TemporaryDirectory(prefix="feedhub-bench-fulltext-")
    site, pages = serve(Path(served.name))
    bodies = [(f"{site.url}{path}", body) for path, body in pages.items()]
    extract_ms, sanitize_ms, off_ms, on_ms = [], [], [], []
    ingest_seconds(site, True)  # warm-up: imports, trafilatura's first call
    for round_number in range(rounds):
        started = time.perf_counter()
        for url, body in bodies:
            clean_html(body.decode(), url)
        sanitize_ms.append((time.perf_counter() - started) * 1000 / len(bodies))
        started = time.perf_counter()
        for url, body in bodies:
            fulltext.extract(body, url)
        extract_ms.append((time.perf_counter() - started) * 1000 / len(bodies))
        order = (False, True) if round_number % 2 == 0 else (True, False)
        for full_text in order:
            (on_ms if full_text else off_ms).append(ingest_seconds(site, full_text) * 1000)
        print(f"round {round_number + 1}: extract {extract_ms[-1]:.2f} ms/page (sanitize alone {sanitize_ms[-1]:.2f}); "
              f"ingest off {off_ms[-1]:.0f} ms, on {on_ms[-1]:.0f} ms", flush=True)
    site.close()
    served.cleanup()
    extract_ratios = [e / s for e, s in zip(extract_ms, sanitize_ms)]
    ingest_ratios = [on / off for on, off in zip(on_ms, off_ms)]
    page_kb = statistics.mean(len(body) for _, body in bodies) / 1024
    print(f"pages: {ENTRIES} of ~{page_kb:.1f} kB; {rounds} rounds, interleaved")
    print(f"extraction: median {statistics.median(extract_ms):.2f} ms/page "
          f"(range {min(extract_ms):.2f}-{max(extract_ms):.2f}); sanitizing alone {statistics.median(sanitize_ms):.2f} ms/page; "
          f"ratio {statistics.median(extract_ratios):.1f}x (range {min(extract_ratios):.1f}-{max(extract_ratios):.1f})")
    print(f"ingest of a {ENTRIES}-entry teaser feed: full text off {statistics.median(off_ms):.0f} ms, "
          f"on {statistics.median(on_ms):.0f} ms ({statistics.median(on_ms) / ENTRIES:.1f} ms/entry); "
          f"ratio {statistics.median(ingest_ratios):.1f}x (range {min(ingest_ratios):.1f}-{max(ingest_ratios):.1f})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else sized(5, 1))
