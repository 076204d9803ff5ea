"""One ingest pass: article folders and source feeds into the store.

Every input is handled on its own: a broken article file or a failing feed is
reported and counted, and the others go on.  Article files are stored in
batches of ``FILE_BATCH`` per transaction, each file with its own record of
having been read; a feed's entries are stored in one transaction with its new
validators (several feeds in one, when they are fetched already).  So a crash
part-way through leaves every item whole or absent, and whatever was lost is
simply read again on the next run.

When a folder has many new files, they are read, parsed and fingerprinted in
worker processes on the other cores (``pool``), while this process files the
results in order; with few, all is done here.

In a cycle, sources are fetched ``fetch_concurrency`` at a time on worker
threads, which only do HTTP and parsing; everything is written to the store
by the calling thread, so one connection does all the writing.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import random
import re
import threading
import time
import traceback
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TypeVar

from .. import dedup, metrics
from ..config import ArticleDir, Config, Source
from ..model import UNCHANGED, Item, Outcome, Page, PageState, Person, SourceState, utcnow
from ..publish import static
from ..remote import decoding, websub
from ..remote.politeness import next_attempt
from ..store import CountedFile, Store, iso
from . import pool, rules

# The feed side (remote/: httpx, feedparser, nh3, ...) is imported by the functions that
# fetch: an ingest of article folders alone never loads it, and a run of
# `feedhub ingest` starts that much sooner.
# Likewise the article side (articles, boilerplate: their regexes compile on
# import) is imported by the functions that read files, so a pass over
# sources alone never loads it.
if TYPE_CHECKING:
    from ..articles.boilerplate import Rules
    from ..articles.parse import Article
    from ..remote.fetch import Client, Document, Fetched, FetchError
    from ..remote.parse import Entry

log = logging.getLogger(__name__)
FAILED = "failed"
RETIRED = "retired"  # a source skipped because it answered 410 Gone
# Files per transaction: large enough that commits stop mattering, small
# enough that the write lock is never held for long and a crash loses little.
FILE_BATCH = 200
# Fetched feeds waiting to be stored, in pool-fulls (see ingest_sources).
AHEAD = 4
# Feeds stored in one transaction when they are fetched already (SQLite):
# each commit writes every index page its items touched, and random LSH band
# keys touch pages all over the index, so committing feed by feed wrote the
# same pages again and again.  Never while waiting for the network, and never
# holding the write lock much longer than this.
GROUP_SECONDS = 0.5


@dataclass
class Summary:
    """What one pass did, per input (an article folder or a source)."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # read, but not all of it

    def count(self, name: str, outcome: str, n: int = 1) -> None:
        self.counts.setdefault(name, Counter())[outcome] += n

    def fail(self, name: str, message: str) -> None:
        self.count(name, FAILED)
        self.errors.append(message)
        log.warning("%s", message)

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())

    def merge(self, other: "Summary") -> None:
        for name, counts in other.counts.items():
            self.counts.setdefault(name, Counter()).update(counts)
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)


def run_cycle(config: Config, store: Store, progress: Callable[[str], None] | None = None) -> Summary:
    """Every input once; `progress(name)` is called after each one."""
    summary = Summary()
    before = store.category_versions()
    recheck_if_rules_changed(config, store)
    for folder in config.articles:
        summary.merge(ingest_folder(config, store, folder))
        if progress:
            progress(folder.path.name)
    summary.merge(ingest_sources(config, store, config.sources, progress))
    websub.announce(config, store, before)
    static.write_changed(config, store, before)
    return summary


# -- articles ----------------------------------------------------------------


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
            for read in batch:
                try:
                    # A savepoint: the file's item and its record, or neither.
                    with store.transaction():
                        _file_article(config, store, name, read, summary, version)
                except Exception as exc:  # a bug must not stop the other files
                    log.exception("unexpected error ingesting %s", read.path)
                    summary.fail(name, f"{read.path}: unexpected error: {exc!r}")
    store.add_counts(metrics.ingest_counts(name, summary.counts[name]))
    return summary


def folder_rules(store: Store, folder: ArticleDir) -> Rules:
    """The folder's boilerplate rules for this pass: feeds.yaml's lists and the
    house style learned from its files, counted first for the new and changed
    ones, so the files of this pass are read with their own house lines too."""
    from ..articles import stories
    from ..articles.boilerplate import Rules, learned
    from ..articles.parse import MAX_ARTICLE_BYTES, house_keys

    key = str(folder.path)
    for batch in _batches(_files_to_count(store, folder.path), FILE_BATCH):
        counted = []
        for path in batch:
            try:
                with path.open("rb") as file:
                    raw = file.read(MAX_ARTICLE_BYTES + 1)
                # Decoded as read_text does, without its checks (the file's reading does them).
                text = decoding.decode(raw)[0] if len(raw) <= MAX_ARTICLE_BYTES else None
            except (OSError, decoding.Undecodable):
                text = None  # reported when the file itself is read
            if text is not None:
                counted.append((str(path), house_keys(text), stories.story_print(text, key)))
        # One vote per story: the batch's files are matched with the stories counted before, and each other.
        known = store.story_candidates(band for _, _, found in counted if found for band in found.bands)
        story = stories.assign([(path, found) for path, _, found in counted], known)
        store.count_house_lines(key, [
            CountedFile(path, lines, story[path], *((found.values, found.bands) if found else ()))
            for path, lines, found in counted
        ])
    total, lines = store.house_lines(key)
    house = learned(lines, total)
    if house.keys() != {k for k, line in lines.items() if line.learned}:
        store.mark_learned(key, house)
    return Rules(folder.boilerplate, folder.keep_lines, house)


def _files_to_count(store: Store, root: Path) -> Iterator[Path]:
    """The files whose lines may not be counted in the folder's house style
    as they are now: new, changed, or to be read again (read before house
    styles were learned, or by `feedhub rerender`).  Counting one again is
    harmless: a file's lines count once however often it is counted."""
    for path in article_files(root):
        try:
            stat = path.stat()
        except OSError:
            continue
        seen = store.file_state(str(path))
        if not seen or (seen.mtime_ns, seen.size) != (stat.st_mtime_ns, stat.st_size) or not seen.rules:
            yield path


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
    prepared: dedup.Prepared | None = None
    parse: str | None = None  # what the file was read into, JSON (parse_record)
    error: str | None = None  # what is wrong with the file (kept with its record)
    crash: str | None = None  # a bug met reading it: a traceback, and no record


def _files_to_read(store: Store, root: Path, name: str, summary: Summary, rules: str | None) -> Iterator[Read]:
    """The files new or changed since the last pass, or last read under other
    boilerplate rules than `rules` (as Reads still to be done; None: only new
    or changed); the untouched ones are counted here, a known failure
    reported again."""
    for path in article_files(root):
        try:
            stat = path.stat()
        except OSError as exc:  # gone since the folder was listed
            summary.fail(name, f"{path}: cannot read: {exc.strerror}")
            continue
        seen = store.file_state(str(path))
        if seen and seen.mtime_ns == stat.st_mtime_ns and seen.size == stat.st_size and (
            rules is None or seen.rules == rules
        ):
            if seen.error:
                summary.fail(name, seen.error)
            else:
                summary.count(name, UNCHANGED)
            continue
        yield Read(path, stat.st_mtime_ns, stat.st_size)


# A process pool takes ~0.3 s to start: below this many files to read, one
# core does it all sooner.
PARALLEL_FROM = 400
# A reader does an article in ~0.3 ms and the one writer files it in ~0.5 ms,
# so one reader already keeps up and a second is headroom for slow files;
# more would only wait (each costs ~60 MB), however many cores there are.
MAX_READERS = 2


def _read_all(config: Config, folder: ArticleDir, name: str, rules: Rules, files: Iterable[Read]) -> Iterator[Read]:
    """The files read, in order: on the other cores when there are many."""
    files = iter(files)
    head = list(itertools.islice(files, PARALLEL_FROM))
    files = itertools.chain(head, files)
    workers = min(pool.spare_cores(), MAX_READERS)
    if len(head) < PARALLEL_FROM or workers < 1:
        return map(ArticleReader(config, folder, name, rules), files)
    # The rules go to the workers with their job: learned once, before the batch.
    return pool.ordered_map(ArticleReader, (config, folder, name, rules), files, workers)


class ArticleReader:
    """Reads a file into an item with its dedup keys and fingerprint: the
    part of ingest that needs no database, so it can run in another process."""

    def __init__(self, config: Config, folder: ArticleDir, name: str, rules: Rules | None = None):
        from ..articles.boilerplate import Rules

        self.config, self.folder, self.name = config, folder, name
        self.rules = rules or Rules(folder.boilerplate, folder.keep_lines)
        self.zone = folder.zone

    def __call__(self, read: Read) -> Read:
        from ..articles.parse import ArticleError, parse_text, read_text

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
            read.prepared = dedup.prepare(read.item)
        except ArticleError as exc:
            read.error = str(exc)
        except Exception:  # a bug must not stop the other files
            read.crash = traceback.format_exc()
        return read


def _file_article(config: Config, store: Store, name: str, read: Read, summary: Summary, rules: str) -> None:
    if read.crash:
        # Not recorded as the file's error: the next pass tries it again.
        log.error("unexpected error ingesting %s\n%s", read.path, read.crash)
        summary.fail(name, f"{read.path}: unexpected error: {read.crash.strip().splitlines()[-1]}")
        return
    if read.error:
        store.record_file(str(read.path), read.mtime_ns, read.size, None, read.error, rules, read.parse)
        summary.fail(name, read.error)
        return
    assert read.item is not None and read.parse is not None  # a file read without an error has both
    outcome = file_item(config, store, read.item, None, read.prepared)
    store.record_file(str(read.path), read.mtime_ns, read.size, outcome.item_id, None, rules, read.parse)
    summary.count(name, outcome.status)
    for warning in json.loads(read.parse)["warnings"]:
        summary.warnings.append(warning)
        log.warning("%s", warning)


def article_item(article: Article, category: str, site_link: str, source: str, root: Path, mtime: float) -> Item:
    relative = article.path.relative_to(root).with_suffix("")
    slug = re.sub(r"[^a-z0-9]+", "-", relative.as_posix().lower()).strip("-")
    return Item(
        category=category,
        source=source,
        guid=relative.as_posix(),
        title=article.headline,
        link=f"{site_link}/articles/{slug}",
        summary=article.summary,
        content=article.html(),
        text=article.text,
        published=article.published or article.updated or datetime.fromtimestamp(mtime, tz=timezone.utc),
        updated=article.updated,
        author=", ".join(article.authors),
        authors=tuple(Person(name) for name in article.authors),
        tags=tuple(article.tags),
        image=article.image,
    )


def parse_record(article: Article) -> str:
    """What a file was read into, for the operator (`feedhub dropped`, the
    article's operator page): its metadata, every line left out of the body
    and why, and what could not be read."""
    return json.dumps({
        "authors": article.authors, "published": iso(article.published), "updated": iso(article.updated),
        "tags": article.tags, "image": article.image, "caption": article.caption, "credit": article.credit,
        "dropped": article.dropped, "warnings": article.warnings,
    }, ensure_ascii=False)


# -- source feeds --------------------------------------------------------------


@dataclass
class Attempt:
    """One fetch of a source: the feed, or why there is none, and how long it took."""

    fetched: Fetched | None
    error: FetchError | None
    seconds: float
    pages: list[Page] = field(default_factory=list)  # fetched this time (full_text sources)
    known: dict[str, PageState] = field(default_factory=dict)  # the pages fetched before, by item id
    entered: list[Entered] | None = None  # the entries as items, when made in a worker process (FeedReader)


@dataclass
class Entered:
    """A feed entry made into an item ready to be filed, or why it could not be."""

    label: str | None  # its link or id, for messages
    item: Item | None = None
    prepared: dedup.Prepared | None = None
    error: str | None = None  # repr() of what went wrong
    trace: str | None = None  # and its traceback, for the log


def enter(entries: list[Entry], source: Source, now: datetime, prepare: bool = False) -> list[Entered]:
    """Each entry as an item (and its dedup keys and fingerprint, if `prepare`):
    a bad entry fails alone."""
    from ..remote.to_item import to_item

    entered = []
    for entry in entries:
        label = entry.get("link") or entry.get("id")
        try:
            item = to_item(entry, source, now)
            entered.append(Entered(label, item, dedup.prepare(item) if prepare else None))
        except Exception as exc:
            entered.append(Entered(label, error=repr(exc), trace=traceback.format_exc()))
    return entered


class FeedReader:
    """Parses a fetched feed into items with their dedup keys and fingerprints:
    the part of a feed's ingest that needs no database, so it can run in
    another process (pool.Workers).  A document that is no usable feed comes
    back as the FetchError's message."""

    def __call__(self, task: tuple[Source, Document]) -> list[Entered] | str:
        from ..remote.fetch import FetchError, read

        source, document = task
        try:
            entries = read(document)
        except FetchError as exc:
            return str(exc)
        return enter(entries, source, utcnow(), prepare=True)


# Parsing, mapping and fingerprinting a feed's entries take ~0.6 ms each,
# three times what filing one takes: in a pass with many new entries, the
# other core does them.  A worker process takes ~1 s to start (imports), so
# the first READ_APART_FROM bytes of new documents are read by the fetch
# threads, and a pass with fewer (a few feeds changed) never starts one.
READ_APART_FROM = 1_000_000


class FeedReaders:
    """Where a pass's new feed documents are read: in worker processes
    (FeedReader) once they add up to READ_APART_FROM bytes, on the fetch
    threads before that."""

    def __init__(self, workers: int):
        self.workers = pool.Workers(FeedReader, (), workers)
        self.seen = 0  # bytes of new documents so far
        self.lock = threading.Lock()

    def read(self, source: Source, fetched: Fetched) -> list[Entered] | None:
        """The entries of a newly fetched document as items, made in a worker;
        None when read here instead (into fetched.entries), or not new."""
        from ..remote.fetch import FetchError, parsed

        document = fetched.document
        if document is None:  # not modified
            return None
        with self.lock:
            self.seen += len(document.body)
            apart = self.seen > READ_APART_FROM
        if not apart:
            parsed(fetched)
            return None
        fetched.document = None
        entered = self.workers((source, document))
        if isinstance(entered, str):
            raise FetchError(entered)
        return entered

    def close(self) -> None:
        self.workers.close()


def ingest_sources(
    config: Config, store: Store, sources: list[Source], progress: Callable[[str], None] | None = None
) -> Summary:
    """Fetch the sources on a pool of ``fetch_concurrency`` threads sharing one
    HTTP client (and its kept-alive connections); store them from this thread.

    Feeds are stored in the order of feeds.yaml whatever order they arrive
    in, so when two sources carry the same story at the same priority the
    one listed first keeps it, as in a one-by-one pass.  Fetching runs at
    most ``AHEAD`` pool-fulls in front of storing: memory stays bounded however
    many sources there are, and a source that hangs holds the others up for
    at most its timeout."""
    summary = Summary()
    if not sources:
        return summary
    from ..remote.fetch import fetch_client

    workers = min(config.fetch_concurrency, len(sources))
    store.use_writer_cache()
    # On PostgreSQL each feed commits on its own: a transaction of several
    # feeds would take their categories' locks in no set order, and two
    # workers could deadlock (Store.lock_categories).
    grouped = store.db.dialect == "sqlite"
    queue = iter(sources)
    pending: deque[tuple[Source, SourceState, "Future[Attempt] | None"]] = deque()
    spare = min(pool.spare_cores(), MAX_READERS)
    readers = FeedReaders(spare) if spare > 0 else None
    try:
        with fetch_client(config, workers) as client, ThreadPoolExecutor(workers, "fetch") as threads:

            def submit_next() -> None:
                source = next(queue, None)
                if source is not None:
                    state = _current_state(store, source)
                    known = store.pages(source.name) if source.full_text else {}
                    future = None if state.retired else threads.submit(_fetch, config, source, state, client, known, readers)
                    pending.append((source, state, future))

            def store_next() -> None:
                source, state, future = pending.popleft()
                summary.merge(_store_attempt(config, store, source, state, future.result() if future else None))
                if progress:
                    progress(source.name)
                submit_next()

            for _ in range(AHEAD * workers):
                submit_next()
            while pending:
                _wait(pending[0][2])  # outside a transaction: the write lock is not held waiting
                if not grouped:
                    store_next()
                    continue
                with store.transaction():
                    started = time.monotonic()
                    store_next()
                    while pending and _wait(pending[0][2], 0) and time.monotonic() - started < GROUP_SECONDS:
                        store_next()
    finally:
        if readers:  # its workers stop at once, whatever stopped the pass
            readers.close()
    return summary


def _wait(future: "Future[Attempt] | None", timeout: float | None = None) -> bool:
    """Whether the fetch is done (None: there is none), after waiting at most `timeout`."""
    return future is None or not wait([future], timeout).not_done


def ingest_source(
    config: Config, store: Store, source: Source, now: datetime | None = None, rng: random.Random | None = None
) -> Summary:
    """Fetch one source and store its entries; `now` and `rng` are for tests."""
    state = _current_state(store, source)
    known = store.pages(source.name) if source.full_text else {}
    attempt = None if state.retired else _fetch(config, source, state, known=known)
    return _store_attempt(config, store, source, state, attempt, now, rng)


def _fetch(
    config: Config, source: Source, state: SourceState, client: Client | None = None,
    known: dict[str, PageState] | None = None, readers: FeedReaders | None = None,
) -> Attempt:
    """Never raises: a broken source is one more result, not a stop.  For a
    full_text source, the pages its teaser entries need are fetched too (from
    its entries read here: `readers` only read the others)."""
    from ..remote.fetch import FetchError, fetch, fetch_policy

    started = time.monotonic()
    apart = readers is not None and not source.full_text
    try:
        fetched = fetch(source, state, timeout=config.fetch_timeout, policy=fetch_policy(config), client=client,
                        parse=not apart)
        entered = readers.read(source, fetched) if readers and apart else None
    except Exception as exc:
        if not isinstance(exc, FetchError):  # a bug must not stop the other sources
            log.exception("unexpected error fetching %s", source.name)
            exc = FetchError(f"unexpected error: {exc!r}")
        return Attempt(None, exc, time.monotonic() - started)
    pages = _fetch_pages(config, source, fetched, known or {}, client) if source.full_text else []
    return Attempt(fetched, None, time.monotonic() - started, pages, known or {}, entered)


def _fetch_pages(
    config: Config, source: Source, fetched: Fetched, known: dict[str, PageState], client: Client | None
) -> list[Page]:
    """The entry pages this pass fetches for a full_text source (fulltext.py)."""
    from ..remote import fetchguard, fulltext
    from ..remote.fetch import USER_AGENT, fetch_client, fetch_policy
    from ..remote.to_item import to_item

    policy = fetch_policy(config)
    # One client for all the pages (a new one per page would load the CA
    # bundle each time, ~90 ms): the pass's shared one, or one of our own.
    http = client or fetch_client(config, 1)

    def get(url: str, headers: dict[str, str]) -> fetchguard.Response:
        return fetchguard.get(url, headers, policy, config.fetch_timeout, http)

    try:
        items = [to_item(entry, source, utcnow()) for entry in fetched.entries]
        # A teaser a block rule already matches is not worth its page.
        block = rules.RuleSet(block=rules.rules_for(config, source.category, source.name).block)
        items = [item for item in items if not rules.decide(rules.item_subject(item), block).blocked]
        robots = None if source.full_text_ignore_robots else fulltext.ROBOTS
        return fulltext.complete(items, known, get, USER_AGENT, robots)
    except Exception:  # a bug must not cost the feed itself
        log.exception("unexpected error fetching the pages of %s", source.name)
        return []
    finally:
        if client is None:
            http.close()


def _store_attempt(
    config: Config, store: Store, source: Source, state: SourceState, attempt: Attempt | None,
    now: datetime | None = None, rng: random.Random | None = None,
) -> Summary:
    """Record a fetch (None: the source is retired and was not fetched)."""
    from ..remote.fulltext import with_page

    summary = Summary()
    name = f"feed:{source.name}"
    summary.counts[name] = Counter()
    if attempt is None:
        summary.count(name, RETIRED)
        return summary
    now = now or utcnow()
    fields = {"location": source.location, "category": source.category}
    if attempt.error:
        _record_failure(config, store, source, state, attempt.error, now, rng, fields)
        summary.fail(name, f"{source.name} ({state.url or source.location}): {attempt.error}")
        store.add_counts(metrics.fetch_counts(name, attempt.seconds, failed=True))
        return summary
    fetched = attempt.fetched
    assert fetched is not None  # an attempt without an error has its feed
    pages: dict[str, PageState | Page] = {**attempt.known, **{page.item_id: page for page in attempt.pages}}
    entered = attempt.entered if attempt.entered is not None else enter(fetched.entries, source, now)
    # One transaction for the feed (a savepoint in a group of feeds, see
    # GROUP_SECONDS): its entries (each a savepoint that can fail alone),
    # then its validators, never saved without them.
    with store.transaction():
        store.record_pages(source.name, attempt.pages)
        for index, entry in enumerate(entered, start=1):
            error = entry.error
            if error is not None:
                log.error("entry %d of %s\n%s", index, source.name, entry.trace)
            else:
                assert entry.item is not None  # an entry without an error has its item
                try:
                    item = with_page(entry.item, pages.get(entry.item.id)) if source.full_text else entry.item
                    summary.count(name, file_item(config, store, item, source.name, entry.prepared).status)
                except Exception as exc:
                    log.exception("entry %d of %s", index, source.name)
                    error = repr(exc)
            if error is not None:
                summary.fail(name, f"{source.name}: entry {index} ({entry.label}): {error}")
        if fetched.moved_to:
            log.info("source moved permanently", extra={"source": source.name, "url": fetched.moved_to})
        store.record_fetch(
            source.name,
            ok=True,
            now=now,
            last_status=fetched.status,
            etag=fetched.etag,
            last_modified=fetched.last_modified,
            items_seen=len(entered) or state.items_seen,
            url=fetched.moved_to or state.url,
            **fields,
        )
        store.add_counts(
            metrics.fetch_counts(name, attempt.seconds, failed=False) + metrics.ingest_counts(name, summary.counts[name])
            + metrics.page_counts(name, attempt.pages)
        )
    return summary


def file_item(
    config: Config, store: Store, item: Item, source: str | None, prepared: dedup.Prepared | None = None
) -> Outcome:
    """Store an item, unless the keep/block rules for its source (a feeds.yaml
    source name, None for articles) hold it back: checked before dedup, so a
    blocked entry never stands in for another source's copy of the story."""
    rule_set = rules.rules_for(config, item.category, source)
    verdict = rules.decide(rules.item_subject(item), rule_set) if rule_set else rules.SERVED
    if verdict.blocked:
        log.info("entry blocked", extra={"input": item.source, "title": item.title, "rule": verdict.reason})
        return store.block(item, verdict.reason)
    return store.add(item, _threshold(config, item.category), prepared)


def _threshold(config: Config, category: str) -> float:
    known = config.categories.get(category)
    return known.near_duplicate_threshold if known else dedup.DEFAULT_THRESHOLD


RULES_SETTING = "rules_fingerprint"


def recheck_if_rules_changed(config: Config, store: Store) -> tuple[int, int] | None:
    """recheck(), when the rules changed since stored items were last checked."""
    if store.setting(RULES_SETTING) == rules.fingerprint(config):
        return None
    return recheck(config, store)


def recheck(config: Config, store: Store) -> tuple[int, int]:
    """Check every stored item against the rules in force: newly blocked
    ones are marked (and leave the feeds), no longer blocked ones come back.
    Returns (blocked, unblocked)."""
    sources = {f"feed:{s.name}": s.name for s in config.sources}
    sets: dict[tuple[str, str], rules.RuleSet] = {}
    blocked = unblocked = 0
    with store.transaction():
        for row in list(store.rule_subjects(blocked_only=not rules.any_rules(config))):
            key = (row.category, row.source)
            if key not in sets:
                sets[key] = rules.rules_for(config, row.category, sources.get(row.source))
            verdict = rules.decide(rules.row_subject(row), sets[key])
            if verdict.blocked and row.blocked is None:
                store.mark_blocked(row.id, verdict.reason)
                blocked += 1
            elif verdict.blocked and row.blocked != verdict.reason:
                store.mark_blocked(row.id, verdict.reason)  # still blocked, now by another rule
            elif not verdict.blocked and row.blocked is not None:
                store.unblock(row.id, _threshold(config, row.category))
                unblocked += 1
        store.set_setting(RULES_SETTING, rules.fingerprint(config))
    if blocked or unblocked:
        log.info("rules changed: stored items checked again", extra={"blocked": blocked, "unblocked": unblocked})
        store.add_counts(metrics.recheck_counts(blocked))
    return blocked, unblocked


def _current_state(store: Store, source: Source) -> SourceState:
    """The source's fetch state (the defaults if it was never fetched); a
    fresh start when the operator changed its address in feeds.yaml (a new
    URL undoes a move, a retirement, a backoff)."""
    state = store.source_state(source.name)
    if state and state.location != source.location:
        log.info("source address changed in the configuration; starting afresh", extra={"source": source.name})
        store.reset_source(source.name)
        state = store.source_state(source.name)
    return state or SourceState(source.name)


def _record_failure(
    config: Config, store: Store, source: Source, state: SourceState, exc: FetchError, now: datetime,
    rng: random.Random | None, fields: dict[str, str],
) -> None:
    from ..remote.fetch import Gone

    if isinstance(exc, Gone):
        # No next attempt: the source stays retired until its config changes.
        log.warning("source retired: %s", exc, extra={"source": source.name})
        store.record_fetch(source.name, ok=False, now=now, last_status=exc.status, last_error=str(exc), retired=1, **fields)
        return
    failures = (state.failures or 0) + 1
    due = next_attempt(now, failures, source.interval, config.max_backoff, exc.retry_after, rng)
    store.record_fetch(
        source.name, ok=False, now=now, last_status=exc.status, last_error=str(exc), next_attempt=iso(due), **fields
    )
