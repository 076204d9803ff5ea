"""Static publishing: every public category's feeds written as files, for
nginx or a CDN to serve (feeds.yaml's ``static_dir``; off when unset).

For each public category, ``<key>.rss``, ``<key>.atom`` and ``<key>.json``
(the first page, the same bytes the web app serves), each with its ``.gz``
and ``.br`` forms beside it.  A file is written to a temporary name in the
same folder and renamed over the old one, so a reader sees the old file or
the new one, never half of one.  A private category is never written, and
the files of one that became private or was removed are deleted.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from pathlib import Path

from ..config import Config
from ..remote.websub import changed_categories
from ..store import Store

# The renderers (feeds: feedgen and lxml; cache: brotli) are imported by the
# functions that write, only when static_dir is set: every ingest imports
# this module to call write_changed(), and importing them costs every
# `feedhub` command 35 ms, 7% more (CPU time after `import feedhub.cli`,
# 478 ms; median of 9 runs).

log = logging.getLogger(__name__)

SUFFIXES: dict[str | None, str] = {"gzip": ".gz", "br": ".br"}
# One writer at a time in a process: each renders from the store's state
# when it starts, so the last to finish wrote the newest items.
_writing = threading.Lock()


def files_for(key: str) -> list[str]:
    """The names a category's feeds have in the folder."""
    from . import feeds
    from .cache import CODINGS

    return [f"{key}.{fmt}{SUFFIXES.get(coding, '')}" for fmt in feeds.FORMATS for coding in (None, *CODINGS)]


def write_changed(config: Config, store: Store, before: dict[str, int]) -> list[str]:
    """Write the feeds of every category whose version moved since `before`
    (a Store.category_versions()); the categories written."""
    if config.static_dir is None:
        return []
    return write(config, store, changed_categories(store, before))


def write_all(config: Config, store: Store) -> list[str]:
    """Every public category's feeds, and no file of any other (at the
    worker's start and when feeds.yaml changes: titles, sizes, privacy)."""
    if config.static_dir is None:
        return []
    assert config.static_dir is not None  # only called for a site with static publishing on
    folder = Path(config.static_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        log.error("static feeds: cannot make %s: %s", folder, exc)
        return []
    public = {key for key, category in config.categories.items() if not category.private}
    for path in folder.iterdir():  # a private or removed category's files go
        key = path.name.partition(".")[0]
        if key not in public and path.name in files_for(key):
            path.unlink(missing_ok=True)
    return write(config, store, sorted(public))


def write(config: Config, store: Store, categories: list[str]) -> list[str]:
    """The categories written; a folder that cannot be written is logged, and
    the ingest that called goes on (the web app still serves every feed)."""
    with _writing:
        try:
            return _write(config, store, categories)
        except OSError as exc:
            log.error("static feeds: cannot write to %s: %s", config.static_dir, exc)
            return []


def _write(config: Config, store: Store, categories: list[str]) -> list[str]:
    from . import feeds
    from .cache import CODINGS, FeedCache

    assert config.static_dir is not None  # only called for a site with static publishing on
    folder = Path(config.static_dir)
    folder.mkdir(parents=True, exist_ok=True)
    cache = FeedCache(config)
    written = []
    for key in categories:
        category = config.categories.get(key)
        if category is None or category.private:
            continue
        for fmt in feeds.FORMATS:
            rendered = cache.get(store, key, fmt)
            if rendered is None:
                continue
            for coding in (None, *CODINGS):
                _replace(folder / f"{key}.{fmt}{SUFFIXES.get(coding, '')}", rendered.encoded(coding))
        written.append(key)
    if written:
        log.info("static feeds written", extra={"categories": len(written), "folder": str(folder)})
    return written


def _replace(path: Path, data: bytes) -> None:
    """Write `data` to `path` by atomic rename; readable by the web server."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o644)  # mkstemp makes it 0600; nginx's workers run as another user
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Writer:
    """The static feeds one process keeps current: every category's at once,
    or those whose version moved since it last wrote them (a lock keeps the
    process's threads from writing over each other)."""

    def __init__(self) -> None:
        self.written: dict[str, int] = {}
        self.lock = threading.Lock()

    def write_all(self, config: Config, store: Store) -> None:
        with self.lock:
            versions = store.category_versions()
            write_all(config, store)
            self.written = versions

    def write_changed(self, config: Config, store: Store) -> None:
        with self.lock:
            versions = store.category_versions()  # read first: a change while writing is caught next time
            write_changed(config, store, self.written)
            self.written = versions
