"""The article-folder pipeline: newsroom files into the store.

Only the files new or changed since the last pass (or last read under other
boilerplate rules) are read.  They are stored in batches of ``FILE_BATCH`` per
transaction, each file with its own record of having been read, so a crash
part-way through leaves every item whole or absent, and whatever was lost is
simply read again on the next run.  A batch's items are filed together
(filing.file_batch); if that fails, each file is filed again alone, so a bad
one fails by itself and is named.

When a folder has many new files, they are read, parsed and fingerprinted in
worker processes on the other cores (``pool``), while this process files the
results in order; with few, all is done here.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import traceback
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, TypeVar

from .. import metrics
from ..articles import stories
from ..articles.boilerplate import HouseStyle, learned
from ..articles.parse import MAX_ARTICLE_BYTES, ArticleError, house_keys, parse_text, read_text
from ..articles.to_item import article_item, parse_record
from ..config import ArticleDir, Config
from ..dedup.fingerprint import Prepared, prepare
from ..model import UNCHANGED, Item
from ..remote import decoding
from ..store import CountedFile, DatabaseUnavailable, FileRecord, FileState, Store
from . import pool
from .filing import file_batch
from .summary import Summary

log = logging.getLogger(__name__)
# Files per transaction: large enough that commits stop mattering, small
# enough that the write lock is never held for long and a crash loses little.
FILE_BATCH = 200
# Files whose records are looked up at once, as a folder is walked.
STATE_BATCH = 500
# A process pool takes ~0.3 s to start: below this many files to read, one
# core does it all sooner.
PARALLEL_FROM = 400


def ingest_folder(config: Config, store: Store, folder: ArticleDir) -> Summary:
    summary = Summary()
    name = f"articles:{folder.path.name}"
    summary.counts[name] = Counter()
    if not folder.path.is_dir():
        summary.fail(name, f"{folder.path}: article folder does not exist")
        return summary
    store.use_writer_cache()
    rules = folder_rules(store, folder)
    version = rules.version()
    files = _files_to_read(store, folder.path, name, summary, version)
    for batch in _batches(_read_all(config, folder, name, rules, files), FILE_BATCH):
        with store.transaction():
            store.lock_categories(read.item.category for read in batch if read.item)
            done = Summary()
            try:
                with store.transaction():  # a savepoint: the whole batch, or none of it
                    _file_articles(config, store, name, batch, done, version)
            except DatabaseUnavailable:
                raise  # nothing to file one by one: the whole pass stops, and its files are read again next time
            except Exception:  # which file? Each is filed again alone, and fails alone
                log.warning("a batch of %d articles failed; filing them one by one", len(batch), exc_info=True)
                done = Summary()
                _file_one_by_one(config, store, name, batch, done, version)
            summary.merge(done)
    store.add_counts(metrics.ingest_counts(name, summary.counts[name]))
    return summary


def _file_one_by_one(config: Config, store: Store, name: str, batch: list[Read], summary: Summary, rules: str) -> None:
    for read in batch:
        try:
            with store.transaction():  # a savepoint: the file's item and its record, or neither
                _file_articles(config, store, name, [read], summary, rules)
        except DatabaseUnavailable:
            raise
        except Exception as exc:  # a bug must not stop the other files
            log.exception("unexpected error ingesting %s", read.path)
            summary.fail(name, f"{read.path}: unexpected error: {exc!r}")


def folder_rules(store: Store, folder: ArticleDir) -> HouseStyle:
    """The folder's boilerplate rules for this pass: feeds.yaml's lists and the
    house style learned from its files, counted first for the new and changed
    ones, so the files of this pass are read with their own house lines too."""
    key = str(folder.path)
    # Counted here, not in worker processes: a worker pool of its own for
    # this pass (~0.24 ms a file) cost more CPU than it saved wall time
    # (bench/ingest.py 3000, interleaved: wall 1.00x, CPU 0.79x, peak
    # memory of the pass 189 MB instead of 242).
    for batch in _batches(map(FileCounter(key), _files_to_count(store, folder.path)), FILE_BATCH):
        counted = [file for file in batch if file is not None]
        # One vote per story: the batch's files are matched with the stories counted before, and each other.
        bands = [band for _, _, found in counted if found for band in found.bands]
        known = store.story_candidates(bands, stories.PER_BAND)
        story = stories.assign([(path, found) for path, _, found in counted], known)
        store.count_house_lines(key, [
            CountedFile(path, lines, story[path], *((found.values, found.bands) if found else ()))
            for path, lines, found in counted
        ])
    total, lines = store.house_lines(key)
    house = learned(lines, total)
    if house.keys() != {k for k, line in lines.items() if line.learned}:
        store.mark_learned(key, house)
    return HouseStyle(folder.boilerplate, folder.keep_lines, house)


class FileCounter:
    """Reads what a file counts for in its folder's house style: its short
    lines and its story print (articles/stories.py).  None: a file that
    cannot be read (that is reported when the file itself is read)."""

    def __init__(self, folder_key: str):
        self.folder_key = folder_key

    def __call__(self, path: Path) -> tuple[str, dict[str, str], stories.StoryPrint | None] | None:
        try:
            with path.open("rb") as file:
                raw = file.read(MAX_ARTICLE_BYTES + 1)
            # Decoded as read_text does, without its checks (the file's reading does them).
            text = decoding.decode(raw)[0] if len(raw) <= MAX_ARTICLE_BYTES else None
        except (OSError, decoding.Undecodable):
            return None
        if text is None:
            return None
        return str(path), house_keys(text), stories.story_print(text, self.folder_key)


def _files_to_count(store: Store, root: Path) -> Iterator[Path]:
    """The files whose lines may not be counted in the folder's house style
    as they are now: new, changed, or to be read again (read before house
    styles were learned, or by `feedhub rerender`).  Counting one again is
    harmless: a file's lines count once however often it is counted."""
    for path, seen in _with_states(store, article_files(root)):
        try:
            stat = path.stat()
        except OSError:
            continue
        if not seen or (seen.mtime_ns, seen.size) != (stat.st_mtime_ns, stat.st_size) or not seen.rules:
            yield path


def _with_states(store: Store, paths: Iterable[Path]) -> Iterator[tuple[Path, FileState | None]]:
    """Each path with its record as last read (None: never read), looked up
    STATE_BATCH at a time."""
    for batch in _batches(paths, STATE_BATCH):
        states = store.file_states([str(path) for path in batch])
        for path in batch:
            yield path, states.get(str(path))


def article_files(root: Path) -> Iterator[Path]:
    """The *.txt files under root in name order, walked one folder at a time,
    so a large archive is never held (and sorted) as one list of paths."""
    with os.scandir(root) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir():
            yield from article_files(Path(entry.path))
        elif entry.name.endswith(".txt") and entry.is_file():
            yield Path(entry.path)


T = TypeVar("T")


def _batches(things: Iterable[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for thing in things:
        batch.append(thing)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class Read:
    """An article file as read: its item ready to be filed, or why there is none."""

    path: Path
    mtime_ns: int
    size: int
    item: Item | None = None
    prepared: Prepared | None = None
    parse: str | None = None  # what the file was read into, JSON (parse_record)
    error: str | None = None  # what is wrong with the file (kept with its record)
    crash: str | None = None  # a bug met reading it: a traceback, and no record


def _files_to_read(store: Store, root: Path, name: str, summary: Summary, rules: str | None) -> Iterator[Read]:
    """The files new or changed since the last pass, or last read under other
    boilerplate rules than `rules` (as Reads still to be done; None: only new
    or changed); the untouched ones are counted here, a known failure
    reported again."""
    for path, seen in _with_states(store, article_files(root)):
        try:
            stat = path.stat()
        except OSError as exc:  # gone since the folder was listed
            summary.fail(name, f"{path}: cannot read: {exc.strerror}")
            continue
        if seen and seen.mtime_ns == stat.st_mtime_ns and seen.size == stat.st_size and (
            rules is None or seen.rules == rules
        ):
            if seen.error:
                summary.fail(name, seen.error)
            else:
                summary.count(name, UNCHANGED)
            continue
        yield Read(path, stat.st_mtime_ns, stat.st_size)


def _read_all(
    config: Config, folder: ArticleDir, name: str, rules: HouseStyle, files: Iterable[Read]
) -> Iterator[Read]:
    """The files read, in order: on the other cores when there are many."""
    files = iter(files)
    head = list(itertools.islice(files, PARALLEL_FROM))
    files = itertools.chain(head, files)
    workers = min(pool.spare_cores(), pool.MAX_READERS)
    if len(head) < PARALLEL_FROM or workers < 1:
        return map(ArticleReader(config, folder, name, rules), files)
    # The rules go to the workers with their job: learned once, before the batch.
    return pool.ordered_map(ArticleReader, (config, folder, name, rules), files, workers)


class ArticleReader:
    """Reads a file into an item with its dedup keys and fingerprint: the
    part of ingest that needs no database, so it can run in another process."""

    def __init__(self, config: Config, folder: ArticleDir, name: str, rules: HouseStyle | None = None):
        self.config, self.folder, self.name = config, folder, name
        self.rules = rules or HouseStyle(folder.boilerplate, folder.keep_lines)
        self.zone = folder.zone

    def __call__(self, read: Read) -> Read:
        try:
            article = parse_text(read_text(read.path), read.path, self.rules, self.zone)
            read.parse = parse_record(article)
            category = self.config.category_for_section(article.section)
            if category is None:
                raise ArticleError(
                    f"{read.path}:1: section {article.section!r} is not a category in feeds.yaml "
                    f"(categories: {', '.join(sorted(self.config.categories))}; add it or an alias)"
                )
            mtime = read.mtime_ns / 1e9
            read.item = article_item(article, category, self.config.site.link, self.name, self.folder.path, mtime)
            read.prepared = prepare(read.item)
        except ArticleError as exc:
            read.error = str(exc)
        except Exception:  # a bug must not stop the other files
            read.crash = traceback.format_exc()
        return read


def _file_articles(config: Config, store: Store, name: str, batch: list[Read], summary: Summary, rules: str) -> None:
    """File the batch's items together (filing.file_batch), and record every
    file as read, with its item or its error."""
    filed = [read for read in batch if read.item is not None and not read.crash]
    outcomes = dict(zip(map(id, filed), file_batch(config, store, [(read.item, None, read.prepared)
                                                                   for read in filed if read.item])))
    records: list[FileRecord] = []
    for read in batch:
        if read.crash:
            # Not recorded as the file's error: the next pass tries it again.
            log.error("unexpected error ingesting %s\n%s", read.path, read.crash)
            summary.fail(name, f"{read.path}: unexpected error: {read.crash.strip().splitlines()[-1]}")
        elif read.error:
            records.append((str(read.path), read.mtime_ns, read.size, None, read.error, rules, read.parse))
            summary.fail(name, read.error)
        else:
            assert read.parse is not None  # a file read without an error has its item and parse
            outcome = outcomes[id(read)]
            records.append((str(read.path), read.mtime_ns, read.size, outcome.item_id, None, rules, read.parse))
            summary.count(name, outcome.status)
            for warning in json.loads(read.parse)["warnings"]:
                summary.warnings.append(warning)
                log.warning("%s", warning)
    store.record_files(records)
