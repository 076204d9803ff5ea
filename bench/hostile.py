"""Benchmark: what hostile feed documents cost feedhub, next to a normal feed.

    .venv/bin/python bench/hostile.py [--rounds 3]

Each document is parsed by `parse.parse` (feedparser + feedhub's checks) in
a fresh Python process, which reports the parse's wall time and the process's
peak RSS.  The baseline is a normal 1 MB RSS feed of 400 entries; the figures
are the median of `--rounds` runs and are printed as ratios to the baseline,
so load from other processes on the machine affects both sides alike.

A second figure is the cost of sanitizing: `remote.to_item.to_item` over the
baseline's entries with nh3 on, against the same with the sanitizer replaced
by the identity (same process, alternated rounds).
The last lines printed are the figures.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))
from common import sized  # noqa: E402

CHANNEL = '<rss version="2.0"><channel><title>t</title><link>https://x.test/</link><description>d</description>'
PROBE = """
import re, sys, time
from feedhub.remote.parse import ParseError, parse
body = open(sys.argv[1], "rb").read()
started = time.perf_counter()
try:
    outcome = f"{len(parse(body, 'https://x.test/feed', None))} entries"
except ParseError as exc:
    outcome = "refused: " + str(exc)[:60]
# VmHWM, not ru_maxrss, which Linux carries over from the parent process.
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read())[1])
print(time.perf_counter() - started, peak_kb / 1024, outcome, sep="\\t")
"""


def normal_feed() -> str:
    items = "".join(
        f"<item><title>Story {n} about the harbour levy</title><link>https://x.test/{n}</link>"
        f"<guid>https://x.test/{n}</guid><pubDate>Fri, 20 Nov 2026 08:30:00 GMT</pubDate><description><![CDATA["
        + "<p>The council met on Tuesday. <a href='/more'>More</a> <img src='pic.png'> <b>bold</b>.</p>" * 25
        + "]]></description></item>"
        for n in range(400)
    )
    return f"{CHANNEL}{items}</channel></rss>"


def documents() -> dict[str, str]:
    laughs = '<!ENTITY l0 "lol">' + "".join(f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10))
    return {
        "normal 1 MB feed (baseline)": normal_feed(),
        "billion laughs": f'<?xml version="1.0"?><!DOCTYPE rss [{laughs}]>{CHANNEL}<item><title>&l9;</title></item></channel></rss>',
        "quadratic blow-up": f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "{"A" * 100_000}">]>{CHANNEL}'
                             f'<item><title>q</title><description>{"&a;" * 50_000}</description></item></channel></rss>',
        "external entity": f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>{CHANNEL}'
                           "<item><title>&x;</title></item></channel></rss>",
        "2.5 million empty elements (10 MB)": f"{CHANNEL}{'<x/>' * 2_500_000}</channel></rss>",
        "200,000 elements (0.8 MB, just under the cap)": f"{CHANNEL}{'<x/>' * 200_000}</channel></rss>",
    }


def probe(path: Path) -> tuple[float, float, str]:
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, check=True,
                         env={"PYTHONPATH": str(REPO / "src")}).stdout
    seconds, rss, outcome = out.strip().split("\t")
    return float(seconds), float(rss), outcome


def sanitize_cost(rounds: int) -> float:
    from feedhub.config import Source
    from feedhub.remote import to_item as mapping
    from feedhub.remote.parse import parse
    from feedhub.remote.to_item import to_item

    entries = parse(normal_feed().encode(), "https://x.test/feed", None)
    source = Source(name="b", url="https://x.test/feed", category="b")
    now = datetime.now(timezone.utc)
    real = mapping.clean_html
    timings = {"on": [], "off": []}
    for _ in range(rounds):
        for mode in ("on", "off"):
            mapping.clean_html = real if mode == "on" else (lambda fragment, base=None: fragment)
            started = time.perf_counter()
            for entry in entries:
                to_item(entry, source, now)
            timings[mode].append(time.perf_counter() - started)
    mapping.clean_html = real
    per_entry_ms = statistics.median(timings["on"]) / len(entries) * 1000
    return statistics.median(on / off for on, off in zip(timings["on"], timings["off"])), per_entry_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=sized(3, 1))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, text in documents().items():
            path = Path(folder) / "doc.xml"
            path.write_text(text, encoding="utf-8")
            runs = [probe(path) for _ in range(args.rounds)]
            results[name] = (len(text.encode()), statistics.median(r[0] for r in runs),
                             statistics.median(r[1] for r in runs), runs[0][2])
    base_seconds, base_rss = results["normal 1 MB feed (baseline)"][1:3]
    print(f"median of {args.rounds} runs, each in a fresh process; ratios are to the normal 1 MB feed")
    for name, (size, seconds, rss, outcome) in results.items():
        print(f"{name}: {size:,} bytes, {seconds:.2f}s ({seconds / base_seconds:.2f}x), "
              f"peak RSS {rss:.0f} MB ({rss / base_rss:.2f}x), {outcome}")
    ratio, per_entry_ms = sanitize_cost(args.rounds)
    print(f"sanitizing with nh3: to_item takes {ratio:.2f}x the time it takes without ({per_entry_ms:.2f} ms per 2.6 kB entry)")


if __name__ == "__main__":
    main()
