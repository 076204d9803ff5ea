"""Rendered feeds, kept in each server process and rebuilt only when their
category changes.

The category's version lives in the database and is bumped by the store on every
change, so each request costs one indexed lookup of that number, and a new
item invalidates the cached feed in every web worker at once.  Rendering
depends only on the stored rows, so all workers serve identical bytes, and
the ETag (a hash of those bytes) is the same whichever worker answers.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Callable

import brotli

from ..config import Config
from ..model import from_iso
from ..store import CategoryState, DatabaseUnavailable, DeletedEntry, Store, StoredItem
from . import access, feeds

log = logging.getLogger(__name__)
CODINGS = ("br", "gzip")
MAX_PAGE = 10**9


def http_date(moment: datetime) -> str:
    """An HTTP date (RFC 9110 5.6.7); a naive time is taken as UTC."""
    utc = moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
    return format_datetime(utc, usegmt=True)


@dataclass
class Rendered:
    """One representation's bytes and validators, and its compressed forms."""

    body: bytes
    content_type: str
    modified: datetime | None  # None: no meaningful date (then no Last-Modified)
    version: int = 0  # the category version the bytes were rendered from
    link_header: str = ""  # WebSub discovery (hub and self) as an HTTP Link header
    stale: bool = False  # served from the cache while the database cannot be read
    etag: str = field(init=False)  # the hash, unquoted
    last_modified: str | None = field(init=False)  # as an HTTP date
    _encoded: dict[str, bytes] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.etag = hashlib.sha256(self.body).hexdigest()[:32]
        self.last_modified = http_date(self.modified) if self.modified else None

    def as_stale(self) -> Rendered:
        """The same document, marked as possibly out of date (its compressed forms shared)."""
        return dataclasses.replace(self, stale=True)

    def encoded(self, coding: str | None) -> bytes:
        """The body in a content coding, compressed once and then reused."""
        if coding is None:
            return self.body
        if coding not in self._encoded:
            if coding == "br":
                self._encoded[coding] = brotli.compress(self.body, quality=9)
            else:
                # mtime=0: the same feed gzips to the same bytes in every worker.
                self._encoded[coding] = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._encoded[coding]


class FeedCache:
    """Per-process cache of rendered feed pages, keyed by (category, format,
    page), or ("tag/<slug>" or "search/<key>", format, 1)."""

    def __init__(self, config: Config, max_entries: int = 256, config_modified: datetime | None = None):
        self.config = config
        self.config_modified = config_modified  # when feeds.yaml was written, if known
        self.max_entries = max_entries
        self.renders = 0  # how many documents this process has built
        self._entries: OrderedDict[tuple[str, str, int], Rendered] = OrderedDict()
        # One render at a time per process: feedgen switches the process-wide
        # locale while it writes dates, and a burst of requests for a changed
        # feed should build it once, not once per thread.
        self._render_lock = threading.Lock()
        self._stale = False  # serving stale documents: the database cannot be read

    def get(self, store: Store, category: str, fmt: str, page: int = 1) -> Rendered | None:
        """The current document, or None when the category has no such page."""
        return self._cached(
            (category, fmt, page), lambda: store.category_version(category),
            lambda: self._render(store, category, fmt, page),
        )

    def get_tag(self, store: Store, slug: str, fmt: str) -> Rendered | None:
        """The newest items tagged `slug`, in every category; None when none is.
        Rebuilt when any category changes (the store's data version)."""

        def render() -> Rendered | None:
            state, name, items, deleted = store.tag_feed(
                slug, list(access.readable(self.config, None)), self.config.feed_size)
            if name is None:
                return None
            return self._render_view(state, feeds.tag_channel(self.config, slug, name), items, fmt, deleted=deleted)

        return self._cached((f"tag/{slug}", fmt, 1), store.data_version, render)

    def get_search(self, store: Store, key: str, fmt: str) -> Rendered:
        """The newest items matching saved search `key` (a key of config.searches).
        Rebuilt when any category changes (the store's data version)."""
        saved = self.config.searches[key]

        def render() -> Rendered:
            public = list(access.readable(self.config, None))
            categories = [key for key in saved.categories if key in public] if saved.categories else public
            state, items, deleted = store.search_feed(saved.query, categories, self.config.feed_size)
            return self._render_view(state, feeds.search_channel(self.config, key), items, fmt, deleted=deleted)

        rendered = self._cached((f"search/{key}", fmt, 1), store.data_version, render)
        assert rendered is not None  # render() always makes a saved search's feed
        return rendered

    def _cached(
        self, key: tuple[str, str, int], version: Callable[[], int], render: Callable[[], Rendered | None]
    ) -> Rendered | None:
        try:
            current = version()
        except DatabaseUnavailable as exc:
            return self._stale_copy(key, exc)
        if self._stale:
            self._stale = False
            log.warning("database readable again: cached feeds are checked against it as before")
        cached = self._lookup(key, current)
        if cached is not None:
            return cached
        with self._render_lock:
            cached = self._lookup(key, version())
            if cached is not None:
                return cached
            rendered = render()
            if rendered is not None:
                self._entries[key] = rendered
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return rendered

    def _stale_copy(self, key: tuple[str, str, int], exc: DatabaseUnavailable) -> Rendered:
        """While the database cannot be read, a document rendered before is
        served as it was, said to be possibly stale; without one, the error."""
        cached = self._entries.get(key)
        if cached is None:
            raise exc
        if not self._stale:
            self._stale = True  # said once per outage, not once a request
            log.warning("database unreachable: serving the feeds cached in this process, marked stale "
                        "(Cache-Status), until it can be read again", extra={"error": str(exc)})
        return cached.as_stale()

    def _lookup(self, key: tuple[str, str, int], version: int) -> Rendered | None:
        cached = self._entries.get(key)
        if cached is None or cached.version != version:
            return None
        try:
            # Most recently used last, so a crawler walking old pages evicts
            # those pages, not the first pages every reader polls.
            self._entries.move_to_end(key)
        except KeyError:  # evicted by another thread just now
            pass
        return cached

    def _render(self, store: Store, category: str, fmt: str, page: int) -> Rendered | None:
        size = self.config.feed_size
        if page > MAX_PAGE:  # no category is that long, and SQLite offsets are 64-bit
            return None
        state, items, total, deleted = store.feed_page(category, limit=size, offset=(page - 1) * size)
        last = feeds.page_count(total, size)
        if page > last:
            return None
        channel = feeds.category_channel(self.config, category)
        return self._render_view(state, channel, items, fmt, feeds.Page(page, last), deleted)

    def _render_view(
        self, state: CategoryState, channel: feeds.Channel, items: list[StoredItem], fmt: str,
        page: feeds.Page = feeds.Page(), deleted: list[DeletedEntry] | None = None,
    ) -> Rendered:
        """A page of a feed from `items` (and the `deleted` entries it names),
        read at `state` (version, changed)."""
        # The document changes with its items and with feeds.yaml (titles,
        # links): it was last modified at the later of the two (unknown for
        # a category never filed in, of a configuration not read from a file).
        known = [moment for moment in (from_iso(state.changed), self.config_modified) if moment]
        changed = max(known) if known else None
        body = feeds.build(self.config, channel, items, fmt, page, changed, deleted or [])
        self.renders += 1
        link_header = self._link_header(channel.path, fmt, page.number)
        return Rendered(body, feeds.FORMATS[fmt], changed, state.version, link_header)

    def _link_header(self, category: str, fmt: str, page: int) -> str:
        # WebSub subscribers look for the hub in HTTP Link headers first.
        hubs = feeds.hubs(self.config, category)
        if not hubs:
            return ""
        links = [f'<{hub}>; rel="hub"' for hub in hubs]
        return ", ".join(links + [f'<{feeds.feed_url(self.config, category, fmt, page)}>; rel="self"'])
