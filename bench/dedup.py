"""Near-duplicate detection: quality on the labelled set, and cost as the store grows.

    .venv/bin/python bench/dedup.py            # full run (about two minutes)
    .venv/bin/python bench/dedup.py --quick    # 1k and 10k only
    .venv/bin/python bench/dedup.py --postgres postgresql://user@host/any   # the scale part on PostgreSQL

1. Quality.  Every pair of bench/near_dups.py goes through the real filing step (ingest.filing.add):
   the stored copy first, then the arriving one, each pair in a category of its
   own (categories never meet, so pairs cannot disturb each other).  Printed:
   precision and recall at the default threshold, recall per kind of rewrite,
   the misses and false alarms, and a threshold sweep.
2. Scale.  Synthetic stories (Zipf-distributed words from a made-up
   vocabulary, all in ONE category: the worst case) are bulk-loaded to 1k,
   10k and 100k items; at each size, probes (half new stories, half rewrites of
   stored ones) are timed through filing.add, which does the whole check (exact
   keys, LSH band lookup, exact scoring of candidates) and files the result.
   Each size has its own database; probe rounds go round the sizes in turn,
   so load from other processes on the machine hits every size alike.  Other
   work makes absolute times noisy: the figure to read is the 100k/1k ratio.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import drop_database, fresh_database, sized  # noqa: E402
from near_dups import Copy, Pair, pairs  # noqa: E402

from feedhub.config import Category  # noqa: E402
from feedhub.dedup.decide import Thresholds, similarity  # noqa: E402
from feedhub.dedup.fingerprint import story_shingles  # noqa: E402
from feedhub.ingest import filing  # noqa: E402
from feedhub.model import DUPLICATE  # noqa: E402
from feedhub.model import Item  # noqa: E402
from feedhub.store import Store  # noqa: E402

DEFAULT = Category.model_fields["near_duplicate_threshold"].default
WHEN = datetime(2026, 11, 25, tzinfo=timezone.utc)


def item(category: str, source: str, n: int, copy: Copy, priority: int = 100) -> Item:
    return Item(
        category=category, source=source, guid=f"{source}-{n}", title=copy.title,
        link=f"http://{source.replace(':', '-')}.test/{n}", summary=copy.paragraphs[0], content="", text=copy.text,
        published=WHEN, priority=priority,
    )


# -- 1. quality ----------------------------------------------------------------


def scores(evaluation: list[Pair], threshold: float) -> list[float]:
    """Per pair: the score the arriving copy was recorded with (exact keys
    count 1.0), or 0.0 if it was stored as a new story."""
    found = []
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "eval.db") as store:
        for n, pair in enumerate(evaluation):
            category = f"pair-{n}"
            filing.add(store, item(category, "stored", n, pair.stored), Thresholds(threshold))
            outcome = filing.add(store, item(category, "arriving", n, pair.arriving), Thresholds(threshold))
            if outcome.status != DUPLICATE:
                found.append(0.0)
                continue
            row = store.db.execute("SELECT score FROM duplicates WHERE category = ?", [category]).fetchone()
            found.append(row[0])
    return found


def precision_recall(evaluation: list[Pair], found: list[float], threshold: float) -> tuple[float, float]:
    hits = [score >= threshold and score > 0 for score in found]
    tp = sum(h and p.same for h, p in zip(hits, evaluation))
    fp = sum(h and not p.same for h, p in zip(hits, evaluation))
    positives = sum(p.same for p in evaluation)
    return (tp / (tp + fp) if tp + fp else 1.0), tp / positives


def quality() -> tuple[float, float]:
    evaluation = pairs()
    found = scores(evaluation, DEFAULT)
    same = sum(p.same for p in evaluation)
    print(f"evaluation set: {len(evaluation)} pairs ({same} same story, {len(evaluation) - same} "
          f"different stories on the same topic), threshold {DEFAULT}")
    by_kind: dict[str, list[bool]] = {}
    for pair, score in zip(evaluation, found):
        by_kind.setdefault(pair.kind, []).append(score > 0)
    for kind, hits in by_kind.items():
        print(f"  {kind:32} {sum(hits):3}/{len(hits):<3} judged the same story")
    for pair, score in zip(evaluation, found):
        if (score > 0) != pair.same:
            label = "missed rewrite" if pair.same else "false alarm"
            print(f"  {label}: {pair.kind}: {pair.stored.title!r} / {pair.arriving.title!r} (score {score:.2f})")
    # What the threshold alone does: every pair scored exactly, no LSH.
    exact = [similarity(story_shingles(p.stored.title, p.stored.text), story_shingles(p.arriving.title, p.arriving.text))
             for p in evaluation]
    print("threshold sweep (every pair scored exactly, without LSH):")
    for threshold in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        p, r = precision_recall(evaluation, exact, threshold)
        print(f"  {threshold:.1f}: precision {p:.3f}  recall {r:.3f}")
    negatives = sorted(s for s, p in zip(exact, evaluation) if not p.same)
    positives = sorted(s for s, p in zip(exact, evaluation) if p.same)
    print(f"  rewrites score {positives[0]:.2f}..{positives[-1]:.2f}; the five highest scores of "
          f"different stories: {' '.join(f'{x:.2f}' for x in negatives[-5:])}")
    # With a near-zero threshold every LSH candidate counts: what LSH misses.
    candidates = scores(evaluation, 0.01)
    lsh = sum(score > 0 for score, p in zip(candidates, evaluation) if p.same)
    print(f"  LSH finds {lsh}/{len(positives)} rewrites as candidates")
    return precision_recall(evaluation, found, DEFAULT)


# -- 2. scale ------------------------------------------------------------------


class Synthetic:
    """Made-up stories: Zipf-distributed words, so common words and phrases
    repeat across stories the way they do in news text."""

    def __init__(self, seed: int = 3, vocabulary: int = 30000):
        syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
        self.words = np.array([
            syllables[i % 70] + syllables[(i // 70) % 70] + (syllables[i // 4900] if i >= 4900 else "")
            for i in range(vocabulary)
        ])
        weights = 1.0 / (np.arange(vocabulary) + 20.0)
        self.p = weights / weights.sum()
        self.rng = np.random.default_rng(seed)
        self.n = 0

    def stories(self, count: int, words: int = 130) -> list[Copy]:
        drawn = self.words[self.rng.choice(len(self.words), size=(count, words), p=self.p)]
        return [Copy(" ".join(row[:8]).capitalize(), [" ".join(row[8:])]) for row in drawn]

    def rewrite(self, copy: Copy) -> Copy:
        """A new headline and a tenth of the body's words changed."""
        body = copy.paragraphs[0].split()
        for i in self.rng.choice(len(body), size=len(body) // 10, replace=False):
            body[i] = self.words[self.rng.integers(len(self.words))]
        return Copy(self.stories(1)[0].title, [" ".join(body)])

    def items(self, copies: list[Copy], source: str = "feed:synthetic") -> list[Item]:
        made = []
        for copy in copies:
            made.append(item("world", source, self.n, copy))
            self.n += 1
        return made


def probe(store: Store, synthetic: Synthetic, stored: list[Copy], size: int = 100) -> tuple[float, int, int]:
    """Median seconds per filing.add over `size` probes, how many of the
    rewrites were caught and how many new stories were taken for duplicates."""
    originals = [stored[i] for i in synthetic.rng.choice(len(stored), size=size // 2, replace=False)]
    rewrites = synthetic.items([synthetic.rewrite(c) for c in originals], "feed:rewrites")
    fresh = synthetic.items(synthetic.stories(size // 2), "feed:fresh")
    times, caught, wrong = [], 0, 0
    for probe_item in [x for pair in zip(rewrites, fresh) for x in pair]:
        start = time.perf_counter()
        outcome = filing.add(store, probe_item, Thresholds(DEFAULT))
        times.append(time.perf_counter() - start)
        duplicate = outcome.status == DUPLICATE
        caught += duplicate and probe_item.source == "feed:rewrites"
        wrong += duplicate and probe_item.source == "feed:fresh"
    return statistics.median(times), caught, wrong


def scale(sizes: list[int], rounds: int = sized(6, 1), server: str | None = None) -> dict[int, float]:
    """One store per size, then probe rounds taken in turn across the stores,
    so a burst of load from other processes hits every size alike; each size
    keeps its best round.  `server`: a PostgreSQL URL to make the stores on
    (one database per size) instead of SQLite files."""
    synthetic = Synthetic()
    with tempfile.TemporaryDirectory() as tmp:
        stores, corpora = {}, {}
        for size in sizes:
            start = time.perf_counter()
            location = fresh_database(server, f"feedhub_bench_dedup_{size}") if server else Path(tmp) / f"{size}.db"
            stores[size], corpora[size] = Store(location), []
            while len(corpora[size]) < size:
                batch = synthetic.stories(min(10000, size - len(corpora[size])))
                stores[size].insert_many(synthetic.items(batch))
                corpora[size] += batch
            print(f"{size:>7} stored items: bulk load {time.perf_counter() - start:5.1f}s, "
                  f"{stores[size].count('near_bands')} band rows")
        medians = {size: [] for size in sizes}
        found = {size: Counter() for size in sizes}
        for _ in range(rounds):
            for size in sizes:
                seconds, caught, wrong = probe(stores[size], synthetic, corpora[size])
                medians[size].append(seconds)
                found[size].update(caught=caught, wrong=wrong)
        for size in sizes:
            stores[size].close()
            if server:
                drop_database(server, f"feedhub_bench_dedup_{size}")
            print(f"{size:>7} stored items: check {min(medians[size]) * 1e3:.2f} ms per item "
                  f"(round medians {' '.join(f'{m * 1e3:.2f}' for m in medians[size])}); "
                  f"rewrites caught {found[size]['caught']}/{rounds * 50}, "
                  f"new stories taken for duplicates {found[size]['wrong']}/{rounds * 50}")
    return {size: min(medians[size]) for size in sizes}


def thousands(n: int) -> str:
    return f"{n // 1000}k" if n >= 1000 else str(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="stop at 10k stored items")
    parser.add_argument("--postgres", metavar="URL", help="time the check on this PostgreSQL server (a database per size)")
    args = parser.parse_args()
    precision, recall = quality()
    sizes = sized([1000, 10000] if args.quick else [1000, 10000, 100000], [200, 400])
    timings = scale(sizes, server=args.postgres)
    print(f"precision {precision:.3f} (target >= 0.95)")
    print(f"recall {recall:.3f} (target >= 0.90)")
    for size in sizes:
        print(f"check time at {thousands(size)} items: {timings[size] * 1e3:.2f} ms")
    print(f"time ratio {thousands(sizes[-1])}/{thousands(sizes[0])}: {timings[sizes[-1]] / timings[sizes[0]]:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
