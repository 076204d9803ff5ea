"""One ingest pass: article folders and source feeds into the store.

Every input is handled on its own: a broken article file or a failing feed is
reported and counted, and the others go on.  Each item is stored in its own
transaction, and a source's validators are saved only after its entries are,
so a crash part-way through is repaired by simply running again.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from . import metrics, websub
from .articles import Article, ArticleError, boilerplate_matcher, parse_article
from .config import ArticleDir, Config, Source
from .items import Item, utcnow
from .politeness import next_attempt
from .sources import FetchError, Gone, fetch, fetch_policy, to_item
from .store import UNCHANGED, Store, iso

log = logging.getLogger(__name__)
FAILED = "failed"
RETIRED = "retired"  # a source skipped because it answered 410 Gone


@dataclass
class Summary:
    """What one pass did, per input (an article folder or a source)."""

    counts: dict[str, Counter] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

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


def run_cycle(config: Config, store: Store, progress=None) -> Summary:
    """Every input once; `progress(name)` is called after each one."""
    summary = Summary()
    before = store.category_versions()
    for folder in config.articles:
        summary.merge(ingest_folder(config, store, folder))
        if progress:
            progress(folder.path.name)
    for source in config.sources:
        summary.merge(ingest_source(config, store, source))
        if progress:
            progress(source.name)
    websub.announce(config, store, before)
    return summary


# -- articles ----------------------------------------------------------------


def ingest_folder(config: Config, store: Store, folder: ArticleDir) -> Summary:
    summary = Summary()
    name = f"articles:{folder.path.name}"
    summary.counts[name] = Counter()
    if not folder.path.is_dir():
        summary.fail(name, f"{folder.path}: article folder does not exist")
        return summary
    matcher = boilerplate_matcher(folder.boilerplate)
    for path in sorted(folder.path.rglob("*.txt")):
        try:
            _ingest_file(config, store, folder, name, path, matcher, summary)
        except Exception as exc:  # a bug must not stop the other files
            log.exception("unexpected error ingesting %s", path)
            summary.fail(name, f"{path}: unexpected error: {exc!r}")
    store.add_counts(metrics.ingest_counts(name, summary.counts[name]))
    return summary


def _ingest_file(config, store, folder, name, path: Path, matcher, summary: Summary) -> None:
    stat = path.stat()
    seen = store.file_state(str(path))
    if seen.get("mtime_ns") == stat.st_mtime_ns and seen.get("size") == stat.st_size:
        # Untouched since the last pass: a known failure is reported again,
        # a stored article is not read again.
        if seen.get("error"):
            summary.fail(name, seen["error"])
        else:
            summary.count(name, UNCHANGED)
        return
    try:
        article = parse_article(path, matcher)
        category = config.category_for_section(article.section)
        if category is None:
            raise ArticleError(
                f"{path}:1: section {article.section!r} is not a category in feeds.yaml "
                f"(categories: {', '.join(sorted(config.categories))}; add it or an alias)"
            )
    except ArticleError as exc:
        store.record_file(str(path), stat.st_mtime_ns, stat.st_size, None, str(exc))
        summary.fail(name, str(exc))
        return
    item = article_item(article, category, config.site.link, name, folder.path, stat.st_mtime)
    outcome = store.add(item, config.categories[category].near_duplicate_threshold)
    store.record_file(str(path), stat.st_mtime_ns, stat.st_size, outcome.item_id, None)
    summary.count(name, outcome.status)


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
        published=article.published or datetime.fromtimestamp(mtime, tz=timezone.utc),
    )


# -- source feeds --------------------------------------------------------------


def ingest_source(
    config: Config, store: Store, source: Source, now: datetime | None = None, rng: random.Random | None = None
) -> Summary:
    """Fetch one source and store its entries; `now` and `rng` are for tests."""
    summary = Summary()
    name = f"feed:{source.name}"
    summary.counts[name] = Counter()
    now = now or utcnow()
    state = _current_state(store, source)
    if state.get("retired"):
        summary.count(name, RETIRED)
        return summary
    fields = {"location": source.location, "category": source.category}
    started = time.monotonic()
    try:
        fetched = fetch(source, state, timeout=config.fetch_timeout, policy=fetch_policy(config))
    except Exception as exc:
        if not isinstance(exc, FetchError):  # a bug must not stop the other sources
            log.exception("unexpected error fetching %s", source.name)
            exc = FetchError(f"unexpected error: {exc!r}")
        _record_failure(config, store, source, state, exc, now, rng, fields)
        summary.fail(name, f"{source.name} ({state.get('url') or source.location}): {exc}")
        store.add_counts(metrics.fetch_counts(name, time.monotonic() - started, failed=True))
        return summary
    seconds = time.monotonic() - started
    threshold = config.categories[source.category].near_duplicate_threshold
    for index, entry in enumerate(fetched.entries, start=1):
        try:
            summary.count(name, store.add(to_item(entry, source, now), threshold).status)
        except Exception as exc:
            log.exception("entry %d of %s", index, source.name)
            summary.fail(name, f"{source.name}: entry {index} ({entry.get('link') or entry.get('id')}): {exc!r}")
    if fetched.moved_to:
        log.info("source moved permanently", extra={"source": source.name, "url": fetched.moved_to})
    store.record_fetch(
        source.name,
        ok=True,
        now=now,
        last_status=fetched.status,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        items_seen=len(fetched.entries) or state.get("items_seen", 0),
        url=fetched.moved_to or state.get("url"),
        **fields,
    )
    store.add_counts(metrics.fetch_counts(name, seconds, failed=False) + metrics.ingest_counts(name, summary.counts[name]))
    return summary


def _current_state(store: Store, source: Source) -> dict:
    """The source's fetch state; a fresh start when the operator changed its
    address in feeds.yaml (a new URL undoes a move, a retirement, a backoff)."""
    state = store.source_state(source.name)
    if state and state.get("location") != source.location:
        log.info("source address changed in the configuration; starting afresh", extra={"source": source.name})
        store.reset_source(source.name)
        state = store.source_state(source.name)
    return state


def _record_failure(config, store, source, state, exc: FetchError, now, rng, fields) -> None:
    if isinstance(exc, Gone):
        # No next attempt: the source stays retired until its config changes.
        log.warning("source retired: %s", exc, extra={"source": source.name})
        store.record_fetch(source.name, ok=False, now=now, last_status=exc.status, last_error=str(exc), retired=1, **fields)
        return
    failures = (state.get("failures") or 0) + 1
    due = next_attempt(now, failures, source.interval, config.max_backoff, exc.retry_after, rng)
    store.record_fetch(
        source.name, ok=False, now=now, last_status=exc.status, last_error=str(exc), next_attempt=iso(due), **fields
    )
