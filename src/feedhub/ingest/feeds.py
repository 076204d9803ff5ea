"""The feed pipeline: source feeds from other hosts into the store.

In a pass, sources are fetched ``fetch_concurrency`` at a time on worker
threads, which only do HTTP and parsing (and, for a full_text source, fetch
its teasers' pages); everything is written to the store by the calling
thread, so one connection does all the writing.  A feed's entries are stored
in one transaction with its new validators (several feeds in one, when they
are fetched already), so a crash part-way through leaves every item whole or
absent.  A failing source is tried again later and later (politeness.py);
one that answered 410 Gone is retired.  When many new documents come in,
they are parsed and their entries fingerprinted in worker processes
(FeedReaders).
"""

from __future__ import annotations

import logging
import random
import threading
import time
import traceback
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from .. import metrics
from ..config import Config, Source
from ..dedup.fingerprint import Prepared, prepare
from ..model import Item, Page, PageState, SourceState, iso, utcnow
from ..remote import fetchguard, fulltext, to_item
from ..remote.fetch import (
    USER_AGENT,
    Client,
    Document,
    Fetched,
    FetchError,
    Gone,
    fetch,
    fetch_client,
    fetch_policy,
    parsed,
    read,
)
from ..remote.parse import Entry
from ..remote.politeness import next_attempt
from ..store import DatabaseUnavailable, Store
from . import pool, rules
from .filing import file_batch, file_item
from .summary import RETIRED, Summary

log = logging.getLogger(__name__)
# Fetched feeds waiting to be stored, in pool-fulls (see ingest_sources).
AHEAD = 4
# Feeds stored in one transaction when they are fetched already: on SQLite
# each commit writes every index page its items touched, and random LSH band
# keys touch pages all over the index, so committing feed by feed wrote the
# same pages again and again; on PostgreSQL each commit is a round trip more.
# Never while waiting for the network, and never holding the write lock (or
# the categories' locks) much longer than this, nor more than GROUP_FEEDS.
GROUP_SECONDS = 0.5
GROUP_FEEDS = 20


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
    prepared: Prepared | None = None
    error: str | None = None  # repr() of what went wrong
    trace: str | None = None  # and its traceback, for the log


def enter(entries: list[Entry], source: Source, now: datetime, prepared: bool = False) -> list[Entered]:
    """Each entry as an item (and its dedup keys and fingerprint, if `prepared`):
    a bad entry fails alone."""
    entered = []
    for entry in entries:
        label = entry.get("link") or entry.get("id")
        try:
            item = to_item.to_item(entry, source, now)
            entered.append(Entered(label, item, prepare(item) if prepared else None))
        except Exception as exc:
            entered.append(Entered(label, error=repr(exc), trace=traceback.format_exc()))
    return entered


class FeedReader:
    """Parses a fetched feed into items with their dedup keys and fingerprints:
    the part of a feed's ingest that needs no database, so it can run in
    another process (pool.Workers).  A document that is no usable feed comes
    back as the FetchError's message."""

    def __call__(self, task: tuple[Source, Document]) -> list[Entered] | str:
        source, document = task
        try:
            entries = read(document)
        except FetchError as exc:
            return str(exc)
        return enter(entries, source, utcnow(), prepared=True)


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
    workers = min(config.fetch_concurrency, len(sources))
    store.use_writer_cache()
    queue = iter(sources)
    states = {state.name: state for state in store.sources()}  # read at once, not a query per source
    pending: deque[tuple[Source, SourceState, "Future[Attempt] | None"]] = deque()
    spare = min(pool.spare_cores(), pool.MAX_READERS)
    readers = FeedReaders(spare) if spare > 0 else None
    try:
        with fetch_client(config, workers) as client, ThreadPoolExecutor(workers, "fetch") as threads:

            def submit_next() -> None:
                source = next(queue, None)
                if source is not None:
                    state = _current_state(store, source, states)
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
                # The feeds fetched already, stored together.  Their
                # categories are locked first, all at once and in order: two
                # workers taking them feed by feed could deadlock
                # (Store.lock_categories); a source's items are filed in its
                # category.
                ready = 1
                while ready < min(len(pending), GROUP_FEEDS) and _wait(pending[ready][2], 0):
                    ready += 1
                with store.transaction():
                    store.lock_categories(pending[n][0].category for n in range(ready))
                    started = time.monotonic()
                    for _ in range(ready):
                        store_next()
                        if time.monotonic() - started >= GROUP_SECONDS:
                            break
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
    policy = fetch_policy(config)
    # One client for all the pages (a new one per page would load the CA
    # bundle each time, ~90 ms): the pass's shared one, or one of our own.
    http = client or fetch_client(config, 1)

    def get(url: str, headers: dict[str, str]) -> fetchguard.Response:
        return fetchguard.get(url, headers, policy, config.fetch_timeout, http)

    try:
        items = [to_item.to_item(entry, source, utcnow()) for entry in fetched.entries]
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
        _file_entries(config, store, source, entered, pages, summary)
        if fetched.moved_to:
            log.info("source moved permanently", extra={"source": source.name, "url": fetched.moved_to})
        with store.pipeline():  # its validators and counts, in one round trip
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
            store.add_counts(metrics.fetch_counts(name, attempt.seconds, failed=False)
                             + metrics.ingest_counts(name, summary.counts[name]) + metrics.page_counts(name, attempt.pages))
    return summary


def _file_entries(config: Config, store: Store, source: Source, entered: list[Entered],
                  pages: dict[str, PageState | Page], summary: Summary) -> None:
    """File a feed's entries together (filing.file_batch); if that fails,
    each alone, so a bad one fails by itself and is named."""
    name = f"feed:{source.name}"
    items: list[tuple[int, Item]] = []
    for index, entry in enumerate(entered, start=1):
        if entry.error is not None:
            log.error("entry %d of %s\n%s", index, source.name, entry.trace)
            summary.fail(name, f"{source.name}: entry {index} ({entry.label}): {entry.error}")
        else:
            assert entry.item is not None  # an entry without an error has its item
            try:
                items.append((index, fulltext.with_page(entry.item, pages.get(entry.item.id)) if source.full_text
                              else entry.item))
            except Exception as exc:
                log.exception("entry %d of %s", index, source.name)
                summary.fail(name, f"{source.name}: entry {index} ({entry.label}): {exc!r}")
    try:
        with store.transaction():  # a savepoint: every entry, or none
            outcomes = file_batch(config, store, [(item, source.name, entered[index - 1].prepared)
                                                  for index, item in items])
    except DatabaseUnavailable:
        raise
    except Exception:
        log.warning("the entries of %s failed together; filing them one by one", source.name, exc_info=True)
        for index, item in items:
            try:
                summary.count(name, file_item(config, store, item, source.name, entered[index - 1].prepared).status)
            except DatabaseUnavailable:
                raise
            except Exception as exc:
                log.exception("entry %d of %s", index, source.name)
                summary.fail(name, f"{source.name}: entry {index} ({entered[index - 1].label}): {exc!r}")
        return
    for outcome in outcomes:
        summary.count(name, outcome.status)


def _current_state(store: Store, source: Source, states: dict[str, SourceState] | None = None) -> SourceState:
    """The source's fetch state (the defaults if it was never fetched), from
    `states` when the caller has read them all; a fresh start when the
    operator changed its address in feeds.yaml (a new URL undoes a move, a
    retirement, a backoff)."""
    state = states.get(source.name) if states is not None else store.source_state(source.name)
    if state and state.location != source.location:
        log.info("source address changed in the configuration; starting afresh", extra={"source": source.name})
        store.reset_source(source.name)
        state = store.source_state(source.name)
    return state or SourceState(source.name)


def _record_failure(
    config: Config, store: Store, source: Source, state: SourceState, exc: FetchError, now: datetime,
    rng: random.Random | None, fields: dict[str, str],
) -> None:
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
