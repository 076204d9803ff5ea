"""Benchmark: feedhub against a peer, the Python library `reader` (lemon24/reader 3.x),
on the same 200 loopback RSS feeds of 50 items each.

    python -m pip install -e '.[bench]'      # reader and its sgmllib3k
    python bench/peer.py [--rounds 3]

The tests' loopback server (tests/loopback.py), as bench/fetch.py runs it,
serves the feeds with ETag and Last-Modified and answers conditional requests
with 304.  Each round gives each tool a fresh database and runs three cycles,
each a whole child process (interpreter start-up and imports count):

1. all new: every feed fetched and every entry stored;
2. unchanged: 200 answers of 304;
3. 10% of the feeds changed (5 new items each).

feedhub runs `feedhub ingest` (deduplication and sanitizing on, as always);
reader runs `update_feeds(workers=8, scheduled=False)` (feedhub's fetch_concurrency is 8 too).
The tools take turns, cycle by cycle, and which goes first alternates by
round, so load from other processes hits both alike.  Each ratio is the
median of the per-round ratios feedhub / reader (below 1: feedhub is faster),
with its spread.  The last lines printed are the figures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Run, bundled_categories, run_command, run_feedhub, sized, write_config  # noqa: E402
from fetch import ITEMS, NEW_ITEMS_WHEN_CHANGED, SOURCES, Feeds, take, totals  # noqa: E402
from loopback import FeedServer  # noqa: E402

CYCLES = ("all new", "unchanged", "10% changed")
CHANGED = range(0, SOURCES, 10)

# The reader side, run as `python -c READER_CYCLE DB URL...`: one whole process per cycle.
READER_CYCLE = """
import sys
from reader import make_reader
reader = make_reader(sys.argv[1])
for url in sys.argv[2:]:
    reader.add_feed(url, exist_ok=True)
reader.update_feeds(workers=8, scheduled=False)  # every feed, as `feedhub ingest` does
print(reader.get_entry_counts().total)
"""


def reader_cycle(database: Path, urls: list[str]) -> Run:
    return run_command([sys.executable, "-c", READER_CYCLE, str(database), *urls])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=sized(3, 1))
    args = parser.parse_args()
    try:
        import reader  # noqa: F401
    except ImportError:
        raise SystemExit("reader is needed: python -m pip install -e '.[bench]'") from None

    results: list[dict[tuple[str, int], Run]] = []
    for number in range(1, args.rounds + 1):
        category = next(iter(bundled_categories()))
        runs: dict[tuple[str, int], Run] = {}
        with tempfile.TemporaryDirectory(prefix="feedhub-bench-peer-") as tmp, FeedServer(Path(tmp) / "served") as server:
            folder = Path(tmp)
            feeds = Feeds(server.root)
            urls = [f"{server.url}/feed-{n}.rss" for n in range(SOURCES)]
            config = write_config(
                folder, fetch_allow_networks=["127.0.0.1/32"],
                sources=[{"name": f"source-{n:03d}", "url": url, "category": category} for n, url in enumerate(urls)],
            )
            tools = ["feedhub", "reader"] if number % 2 else ["reader", "feedhub"]
            for cycle in range(len(CYCLES)):
                if cycle == 2:
                    for feed in CHANGED:
                        feeds.change(feed)
                for tool in tools:
                    take(server)
                    run = run_feedhub(config, "ingest") if tool == "feedhub" else reader_cycle(folder / "reader.db", urls)
                    statuses, _ = take(server)
                    if run.returncode != 0:
                        sys.exit(f"round {number}, cycle {cycle + 1}: {tool} failed:\n{run.stdout[-3000:]}")
                    check(tool, cycle, run, statuses)
                    runs[(tool, cycle)] = run
                print(f"round {number}, cycle {cycle + 1} ({CYCLES[cycle]}): "
                      + ", ".join(f"{tool} {runs[(tool, cycle)].seconds:.2f} s, {runs[(tool, cycle)].peak_rss_mb:.0f} MB"
                                  for tool in ("feedhub", "reader")), flush=True)
        results.append(runs)

    print(f"\n{SOURCES} loopback RSS feeds x {ITEMS} items; {args.rounds} rounds, whole processes; "
          "ratio = feedhub / reader (median of the rounds, spread min-max)")
    for cycle, label in enumerate(CYCLES):
        def figures(attribute: str) -> str:
            ratios = [getattr(r[("feedhub", cycle)], attribute) / getattr(r[("reader", cycle)], attribute) for r in results]
            mine = statistics.median(getattr(r[("feedhub", cycle)], attribute) for r in results)
            theirs = statistics.median(getattr(r[("reader", cycle)], attribute) for r in results)
            unit = "s" if attribute == "seconds" else "MB"
            return (f"feedhub {mine:.2f} {unit}, reader {theirs:.2f} {unit}: ratio {statistics.median(ratios):.2f} "
                    f"({min(ratios):.2f}-{max(ratios):.2f})")

        print(f"cycle {cycle + 1} ({label}) wall time: {figures('seconds')}")
        print(f"cycle {cycle + 1} ({label}) peak memory: {figures('peak_rss_mb')}")


def check(tool: str, cycle: int, run: Run, statuses) -> None:
    """Both tools did the same work: every feed fetched, every item stored, 304s when unchanged."""
    expected = [{200: SOURCES}, {304: SOURCES}, {200: len(CHANGED), 304: SOURCES - len(CHANGED)}][cycle]
    assert dict(statuses) == expected, (tool, cycle + 1, dict(statuses))
    stored = ITEMS * SOURCES + (NEW_ITEMS_WHEN_CHANGED * len(CHANGED) if cycle == 2 else 0)
    if tool == "reader":
        assert int(run.stdout.split()[-1]) == stored, (tool, cycle + 1, run.stdout[-500:])
    elif cycle == 0:
        assert totals(run.stdout)["new"] == stored, (tool, run.stdout[-500:])


if __name__ == "__main__":
    main()
