"""Benchmark: parsing and item-making of fetched feeds, with feedparser's own
HTML sanitizing and relative-URI rewriting on (as before issue 18) and off
(parse.PARSE_ONCE: nh3 in to_item does that work once).

    python bench/parse.py [--rounds 5]

60 of bench/fetch.py's feed documents of 50 items each are parsed by
parse.parse and made into Items by to_item.to_item, in this process, in
turns: "twice" (feedparser sanitizes and resolves, then nh3 again) and
"once" (PARSE_ONCE), `--rounds` times.  The last lines printed are the
figures: CPU seconds per pass (this process's, so other load on the machine
counts less) and the ratio once / twice (median, spread).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import sized  # noqa: E402
from fetch import ITEMS, Feeds  # noqa: E402

from feedhub.config import Source  # noqa: E402
from feedhub.remote import parse  # noqa: E402
from feedhub.remote import to_item  # noqa: E402

DOCUMENTS = sized(60, 5)  # of bench/fetch.py's 200: a round in seconds


def one_pass(documents: list[bytes], options: dict) -> tuple[float, int]:
    source = Source(name="bench", url="https://source.example/feed.rss", category="international")
    now = datetime.now(timezone.utc)
    started = time.process_time()
    made = 0
    with mock.patch.dict(parse.PARSE_ONCE, options):
        for body in documents:
            for entry in parse.parse(body, "https://source.example/feed.rss", "application/rss+xml"):
                to_item.to_item(entry, source, now)
                made += 1
    return time.process_time() - started, made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=sized(5, 1))
    args = parser.parse_args()
    documents = Feeds().documents[:DOCUMENTS]
    twice = {"sanitize_html": True, "resolve_relative_uris": True}
    once = dict(parse.PARSE_ONCE)
    rounds = []
    for number in range(args.rounds):
        order = [("twice", twice), ("once", once)][:: 1 if number % 2 else -1]
        timing = {}
        for name, options in order:
            timing[name], made = one_pass(documents, options)
            assert made == DOCUMENTS * ITEMS, made
        rounds.append(timing)
        print(f"round {number + 1}: twice {timing['twice']:.2f} s, once {timing['once']:.2f} s CPU", flush=True)
    ratios = [r["once"] / r["twice"] for r in rounds]
    print(f"{DOCUMENTS} feeds x {ITEMS} items parsed and made into items, {args.rounds} rounds interleaved")
    print(f"sanitize twice (feedparser + nh3): {statistics.median(r['twice'] for r in rounds):.2f} s")
    print(f"parse once (PARSE_ONCE, nh3 only): {statistics.median(r['once'] for r in rounds):.2f} s = "
          f"{statistics.median(ratios):.2f}x the time (spread {min(ratios):.2f}-{max(ratios):.2f})")


if __name__ == "__main__":
    main()
