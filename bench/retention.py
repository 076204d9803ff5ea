"""A simulated year of steady ingest, with and without retention.

A fake clock moves a day at a time.  Each day a wire source brings
`--per-day` new stories (a tenth of them also carried by a second source,
filed as duplicates), and re-offers a few of its stories from 35-40 days ago,
as a feed that keeps a long window does.  Two databases take the same stream,
day by day in alternating order: one with `retention: {days: 30,
tombstone_days: 90}` pruned
daily by feedhub's pruning pass, one keeping everything (the baseline).

Printed per simulated month: database size (after a WAL checkpoint) and
ingest cost per item (filing.add, the whole dedup path, a day's entries per
transaction as ingest files a feed), in CPU time of this process (SQLite
works in it, on /dev/shm): on a VM shared with other work, wall time swung
3x from month to month with the machine's load.  The last lines are, for each database,
the ratio of late (the last two months) to early (months 2-3) cost per item,
of late size to the size in the first month after the whole window (30 days
of items, then 90 of their tombstones), with the spread of the monthly
figures, and how many re-offered stories were published again (must be 0).

    python bench/retention.py                 # a year, 60 stories a day (about 15 minutes on a busy 2-core VM)
    python bench/retention.py --days 180 --per-day 30
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import sized, write_config  # noqa: E402

from feedhub.ingest import filing  # noqa: E402
import feedhub.store  # noqa: E402
from feedhub.config import load_config  # noqa: E402
from feedhub.model import NEW  # noqa: E402
from feedhub.model import Item  # noqa: E402
from feedhub.store import Store  # noqa: E402
from feedhub.worker import retention  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
MONTH = 30  # days
REOFFERED = 5  # old stories the wire offers again each day
TOMBSTONE_DAYS = 3 * MONTH


def vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    syllables = ["ka", "lo", "mer", "tan", "vi", "sor", "pel", "dun", "ra", "ich", "bo", "fen", "gu", "wal", "zo"]
    return sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(size)})


def stories(day: int, per_day: int, words: list[str]) -> list[Item]:
    """The wire's stories of one day (the same every time it is asked)."""
    rng = random.Random(day)
    found = []
    for n in range(per_day):
        text = " ".join(rng.choice(words) for _ in range(90))
        found.append(Item(category="business", source="feed:wire", guid=f"urn:wire:{day}:{n}",
                          title=" ".join(rng.choice(words) for _ in range(7)), link=f"https://wire.test/{day}/{n}",
                          summary=text[:200], content=f"<p>{text}</p>", text=text,
                          published=T0 + timedelta(days=day, minutes=n * 1440 // per_day)))
    return found


def copy_of(item: Item) -> Item:
    return Item(category=item.category, source="feed:partner", guid=f"partner-{item.guid}", title=item.title,
                link=item.link + "?utm_source=partner", summary=item.summary, content=item.content, text=item.text,
                published=item.published + timedelta(minutes=5))


def size(store: Store, path: Path) -> int:
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
    wal = Path(f"{path}-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=sized(365, 7 * MONTH))
    parser.add_argument("--per-day", type=int, default=sized(60, 2))
    args = parser.parse_args()
    words = vocabulary(random.Random(0))
    clock = [T0]
    feedhub.store.utcnow = lambda: clock[0]  # the fake clock: first seen, category changed

    # In memory when there is /dev/shm: the figures are feedhub's work, not
    # this shared VM's disk.
    with tempfile.TemporaryDirectory(dir="/dev/shm" if Path("/dev/shm").is_dir() else None) as folder:
        setups = {}
        for name, keep in (("retention", {"days": MONTH, "tombstone_days": TOMBSTONE_DAYS}), ("keep-all", {})):
            (Path(folder) / name).mkdir()
            config = load_config(write_config(Path(folder) / name, feed_size=50, retention=keep))
            setups[name] = (config, Store(config.database))
        cost = {name: [[] for _ in range(args.days // MONTH + 1)] for name in setups}  # seconds per item, per day
        sizes = {name: [] for name in setups}
        republished = 0
        for day in range(args.days):
            clock[0] = T0 + timedelta(days=day, hours=23)
            todays = stories(day, args.per_day, words)
            copies = [copy_of(item) for item in todays[:: 10]]
            old = [item for back in range(35, 41) if day >= back for item in stories(day - back, args.per_day, words)]
            reoffer = random.Random(day).sample(old, min(REOFFERED, len(old)))
            order = list(setups) if day % 2 == 0 else list(reversed(setups))  # interleaved
            for name in order:
                config, store = setups[name]
                started = time.process_time()
                with store.transaction():  # as ingest files a feed's entries: one commit per fetch
                    for item in todays + copies:
                        filing.add(store, item)
                cost[name][day // MONTH].append((time.process_time() - started) / (len(todays) + len(copies)))
                outcomes = [filing.add(store, item).status for item in reoffer]
                if name == "retention":
                    republished += outcomes.count(NEW)
                retention.prune(config, store, clock[0])
                if day % MONTH == MONTH - 1:
                    sizes[name].append(size(store, config.database))
            if day % MONTH == MONTH - 1:
                month = day // MONTH
                print(f"month {month + 1:2}: " + "   ".join(
                    f"{name} {sizes[name][-1] / 1024**2:6.1f} MB {statistics.median(cost[name][month]) * 1e3:.2f} ms CPU/item"
                    for name in setups), flush=True)
        for name, (config, store) in setups.items():
            tables = store.db.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 6")
            print(f"{name} largest: " + ", ".join(f"{table} {size / 1024**2:.1f} MB" for table, size in tables))
            store.close()

    months = len(sizes["retention"])
    # Cost: months 2-3 against the last two.  Size: the first month after the
    # whole window (items kept 30 days, then their tombstones 90) against the last two.
    early, late = [1, 2], [months - 2, months - 1]
    settled = (MONTH + TOMBSTONE_DAYS) // MONTH
    if settled >= months - 2:
        sys.exit(f"need more than {settled + 2} simulated months for the size figures")
    for name in setups:
        monthly = [statistics.median(days) for days in cost[name][:months]]
        base = statistics.mean(monthly[m] for m in early)
        spread = [monthly[m] / base for m in early + late]
        grown = [sizes[name][m] / sizes[name][settled] for m in range(settled, months)]
        print(f"{name}: cost per item late/early {statistics.mean(monthly[m] for m in late) / base:.2f} "
              f"(monthly {min(spread):.2f}-{max(spread):.2f}); size late/after-window "
              f"{statistics.mean(sizes[name][m] for m in late) / sizes[name][settled]:.2f} "
              f"(monthly {min(grown):.2f}-{max(grown):.2f}; "
              f"{sizes[name][settled] / 1024**2:.1f} MB in month {settled + 1} -> {sizes[name][-1] / 1024**2:.1f} MB)")
    print(f"re-offered stories published again after pruning: {republished}")


if __name__ == "__main__":
    main()
