"""One ingest pass: article folders and source feeds into the store.

Every input is handled on its own: a broken article file or a failing feed is
reported and counted, and the others go on.  Each item is stored in its own
transaction, and a source's validators are saved only after its entries are,
so a crash part-way through is repaired by simply running again.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from .articles import Article, ArticleError, boilerplate_matcher, parse_article
from .config import ArticleDir, Config, Source
from .items import Item, utcnow
from .sources import FetchError, fetch, fetch_policy, to_item
from .store import UNCHANGED, Store

log = logging.getLogger(__name__)
FAILED = "failed"


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


def run_cycle(config: Config, store: Store) -> Summary:
    summary = Summary()
    for folder in config.articles:
        summary.merge(ingest_folder(config, store, folder))
    for source in config.sources:
        summary.merge(ingest_source(config, store, source))
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


def ingest_source(config: Config, store: Store, source: Source) -> Summary:
    summary = Summary()
    name = f"feed:{source.name}"
    summary.counts[name] = Counter()
    state = store.source_state(source.name)
    fields = {"location": source.location, "category": source.category}
    try:
        fetched = fetch(source, state, timeout=config.fetch_timeout, policy=fetch_policy(config))
    except FetchError as exc:
        store.record_fetch(source.name, ok=False, last_error=str(exc), **fields)
        summary.fail(name, f"{source.name} ({source.location}): {exc}")
        return summary
    except Exception as exc:  # a bug must not stop the other sources
        log.exception("unexpected error fetching %s", source.name)
        store.record_fetch(source.name, ok=False, last_error=f"unexpected error: {exc!r}", **fields)
        summary.fail(name, f"{source.name} ({source.location}): unexpected error: {exc!r}")
        return summary
    now = utcnow()
    threshold = config.categories[source.category].near_duplicate_threshold
    for index, entry in enumerate(fetched.entries, start=1):
        try:
            summary.count(name, store.add(to_item(entry, source, now), threshold).status)
        except Exception as exc:
            log.exception("entry %d of %s", index, source.name)
            summary.fail(name, f"{source.name}: entry {index} ({entry.get('link') or entry.get('id')}): {exc!r}")
    store.record_fetch(
        source.name,
        ok=True,
        last_status=fetched.status,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        items_seen=len(fetched.entries) or state.get("items_seen", 0),
        **fields,
    )
    return summary
