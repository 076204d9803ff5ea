"""Benchmark: `feedhub ingest` of N newsroom article files against the floor of
a bare sqlite-utils `insert_all` of the same parsed rows.

    .venv/bin/python bench/ingest.py              # N = 1000, 10000, 50000
    .venv/bin/python bench/ingest.py 2000 5000    # other sizes

For each N: grow one folder to N article files (sections from the bundled
categories, headlines, paragraphs, sub-headings, boilerplate lines, about 1 in
50 a resent copy of an earlier story), run the real `feedhub ingest` in a child
process on a fresh database, then time a bare sqlite-utils `insert_all` of the
very rows feedhub stored into another fresh database: the floor for writing
them.  feedhub's own parser is timed alone on 1,000 files, to show how much of
the gap is reading the newsroom format at all.  (The folder grows from one N
to the next instead of being written anew, to keep the run under two minutes.)
The last lines are the figures: articles/s for both, the ratio, the time per
article (wall, and CPU of the ingest process with its workers) and their peak RSS.
"""

from __future__ import annotations

import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import sqlite_utils

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bundled_categories, python_startup_seconds, run_feedhub, sized, write_config  # noqa: E402

from feedhub.articles.parse import parse_article  # noqa: E402
from feedhub.articles.to_item import article_item  # noqa: E402
from feedhub.config import load_config  # noqa: E402
from feedhub.dedup.fingerprint import SIGNATURES  # noqa: E402

SIZES = sized([1000, 10_000, 50_000], [60])
BAND_ITEMS = sized(10_000, 400)  # items the band-row floor is timed on
BANDS = sum(SIGNATURES.values())  # band rows of an item with both near-duplicate signatures
FILES_PER_FOLDER = 1000  # the newsroom files a day's stories in one folder
SYLLABLES = "ka lo mi ne ru sa ti vo de an or el us ba co fi gu ha ja ke li mo nu pe qui ra so tu ve wa xi yo ze".split()
BOILERPLATE = ["WhatsApp Group Join Now", "Telegram Channel Join Now", "Back to top button",
               "Advertisement", "Share this article", "Follow us on Facebook"]


class Newsroom:
    """Deterministic invented articles; every story is different text."""

    def __init__(self, seed: int = 8):
        self.random = random.Random(seed)
        self.written: list[str] = []
        self.vocabulary = sorted({"".join(self.random.choices(SYLLABLES, k=self.random.randint(1, 4)))
                                  for _ in range(6000)})
        self.sections = [alias for key, category in bundled_categories().items()
                         for alias in [key.upper(), *category.get("aliases", [])]]

    def sentence(self) -> str:
        words = self.random.choices(self.vocabulary, k=self.random.randint(8, 18))
        return " ".join(words).capitalize() + self.random.choice(".....!?")

    def heading(self) -> str:
        return " ".join(w.capitalize() for w in self.random.choices(self.vocabulary, k=self.random.randint(2, 5)))

    def article(self, number: int) -> str:
        r = self.random
        headline = " ".join(w.capitalize() for w in r.choices(self.vocabulary, k=r.randint(5, 11))) + f" {number}"
        lines = [r.choice(self.sections), "", headline]
        if r.random() < 0.3:
            lines.append(f"Published: 2026-11-{r.randint(1, 24):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z")
        for index in range(r.randint(4, 9)):
            if index and r.random() < 0.3:
                lines += ["", self.heading()]
            if r.random() < 0.15:
                lines += ["", r.choice(BOILERPLATE)]
            lines += ["", " ".join(self.sentence() for _ in range(r.randint(2, 6)))]
        if r.random() < 0.5:
            lines += ["", "Back to top button"]
        return "\n".join(lines) + "\n"

    def write(self, root: Path, start: int, stop: int) -> None:
        for number in range(start, stop):
            folder = root / f"day-{number // FILES_PER_FOLDER:03d}"
            folder.mkdir(parents=True, exist_ok=True)
            # About 2% are a story the newsroom sent twice under another name.
            if self.written and self.random.random() < 0.02:
                text = self.random.choice(self.written)
            else:
                text = self.article(number)
                if len(self.written) < 500:
                    self.written.append(text)
            (folder / f"story-{number:06d}.txt").write_text(text, encoding="utf-8")


def bare_insert(stored: Path, database: Path) -> tuple[float, int]:
    """(seconds, rows): insert_all of feedhub's stored items into a fresh database."""
    rows = list(sqlite_utils.Database(stored).query("SELECT * FROM items"))
    started = time.perf_counter()
    db = sqlite_utils.Database(database)
    db["items"].insert_all(rows, pk="id")
    db.close()
    return time.perf_counter() - started, len(rows)


def band_seconds(database: Path, items: int = BAND_ITEMS) -> float:
    """Seconds per item for filing BANDS random LSH band keys, as feedhub's
    near_bands table holds them (same schema, WAL, 200 items a commit), in a
    database of their own: the floor of keeping the near-duplicate index in
    SQLite, before any other write."""
    rng = random.Random(30)
    db = sqlite3.connect(database, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA cache_size=-65536")
    db.execute("CREATE TABLE near_bands (band INTEGER NOT NULL, num INTEGER NOT NULL, "
               "PRIMARY KEY (band, num)) WITHOUT ROWID")
    keys = [[(rng.getrandbits(64) - 2**63, num) for _ in range(BANDS)] for num in range(items)]
    started = time.perf_counter()
    for batch in range(0, items, 200):
        db.execute("BEGIN")
        for rows in keys[batch : batch + 200]:
            db.executemany("INSERT OR IGNORE INTO near_bands (band, num) VALUES (?, ?)", rows)
        db.execute("COMMIT")
    seconds = (time.perf_counter() - started) / items
    db.close()
    return seconds


def parse_seconds(config_path: Path, root: Path, paths: list[Path]) -> float:
    """Seconds per article for feedhub's parser alone (read, parse, make the item)."""
    config = load_config(config_path)
    started = time.perf_counter()
    for path in paths:
        article = parse_article(path)
        category = config.category_for_section(article.section)
        article_item(article, category, config.site.link, "articles:bench", root, path.stat().st_mtime)
    return (time.perf_counter() - started) / len(paths)


def main(sizes: list[int]) -> None:
    startup = python_startup_seconds()
    results = []
    newsroom = Newsroom()
    # The generated article files go to a RAM-backed folder when there is one:
    # creating 50k files on this VM's disk took 0.9 ms each (0.17 ms in
    # /dev/shm), and writing them, not feedhub, had become the longest part of
    # the run.  The databases stay on disk, next to the config.
    shm = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="feedhub-bench-") as tmp, \
            tempfile.TemporaryDirectory(prefix="feedhub-bench-articles-", dir=shm) as articles:
        work, root = Path(tmp), Path(articles) / "articles"
        config = write_config(work, articles=[{"path": str(root)}])
        sizes = sorted(sizes)
        written = 0
        for size in sizes:
            for database in work.glob("*.db*"):
                database.unlink()
            # Written before feedhub runs, not beside it: feedhub uses every
            # core now (it reads the files in worker processes).
            newsroom.write(root, written, size)
            written = size
            run = run_feedhub(config, "ingest")
            if run.returncode != 0:
                sys.exit(f"feedhub ingest failed ({run.returncode}):\n{run.stdout[-3000:]}")
            total = run.stdout.strip().splitlines()[-1].split()
            new, duplicate = int(total[1]), int(total[4])
            assert total[0] == "total" and new + duplicate == size, run.stdout[-500:]
            (work / "bare.db").unlink(missing_ok=True)
            insert, rows = bare_insert(work / "hub.db", work / "bare.db")
            assert rows == new, (rows, new)
            results.append({"n": size, "feedhub": run.seconds, "cpu": run.cpu_seconds, "rss": run.peak_rss_mb,
                            "insert": insert})
            print(f"n={size}: feedhub: {new} new, {duplicate} duplicate "
                  f"in {run.seconds:.1f} s (CPU {run.cpu_seconds:.1f} s); insert_all of its {rows} rows "
                  f"{insert:.2f} s", flush=True)
        # The first day's folder holds the first 1,000 stories: no walk of
        # all 50k files to pick them.
        sample = sorted((root / "day-000").glob("*.txt"))[:1000]
        parse = parse_seconds(config, root, sample)
        bands = band_seconds(work / "bands.db")
    print()
    print(f"machine: {os.cpu_count()} cores, shared with other jobs right now (load average "
          f"{os.getloadavg()[0]:.1f}): absolute figures are noisy, the ratios less so")
    print(f"article files written to {shm or tempfile.gettempdir()}; databases in {tempfile.gettempdir()}")
    print(f"python + feedhub import start-up: {startup:.2f} s (included in every feedhub figure)")
    print("bare insert = sqlite-utils insert_all of the rows feedhub stored, into a fresh database")
    print(f"{BANDS} LSH band rows per item into a bare table like feedhub's: {1e6 * bands:.0f} µs/item at {BAND_ITEMS:,} "
          "(the floor of a near-duplicate index in SQLite)")
    print(f"feedhub's parser alone: {1000 * parse:.3f} ms/article (so parse + bare insert is the floor "
          "for reading the files at all)")
    print("ms/article: wall time, and CPU time of the feedhub process and its worker processes")
    print("peak RSS: the feedhub process's, plus each worker's own peak")
    print(f"{'N':>7} {'feedhub/s':>10} {'bare insert/s':>14} {'ratio':>6} {'parse+insert/s':>15} "
          f"{'ratio':>6} {'ms/article':>11} {'CPU ms/art':>11} {'peak RSS':>9}")
    for r in results:
        floor = parse * r["n"] + r["insert"]
        print(f"{r['n']:>7} {r['n'] / r['feedhub']:>10.0f} {r['n'] / r['insert']:>14.0f} "
              f"{r['feedhub'] / r['insert']:>5.1f}x {r['n'] / floor:>15.0f} "
              f"{r['feedhub'] / floor:>5.1f}x {1000 * r['feedhub'] / r['n']:>11.3f} "
              f"{1000 * r['cpu'] / r['n']:>11.3f} {r['rss']:>6.0f} MB")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or SIZES)
