"""A process's copy of every category's version, kept current by PostgreSQL's
NOTIFY, so a cached feed costs no round trip to serve.

A web node serves a feed from its cache as long as the category's version
has not moved (publish/cache.py).  Asking the database for that number
costs a round trip on every poll, however cached the feed.  Instead the
process listens, on a connection of its own, to the notices the categories
table sends as a change commits (schema._version_notices), and answers from
memory.  A thread reads the notices as they come; a question first reads
any that have reached this host's socket and not that thread yet (a local
poll, no round trip), so a change another node committed before the
question is seen, however busy this process is.

It answers None, meaning "ask the database", until it listens, whenever it
has lost its connection (until it listens again), and for a category this
process changed itself until that category is read again.  On each
(re)connection it listens first and reads every version second, so no
change can fall between the two; a notice never lowers a version, as
versions only grow.
"""

from __future__ import annotations

import select
import threading
import time
from typing import Any, Iterable

import psycopg

from .schema import VERSION_CHANNEL

WAKE_EVERY = 1.0  # seconds between the thread's looks at whether the watch was closed


class VersionWatch:
    """`retry`: seconds between attempts to listen again; `connect_timeout`: of each."""

    def __init__(self, url: str, retry: float, connect_timeout: int):
        self.url, self.retry, self.connect_timeout = url, retry, connect_timeout
        self.lock = threading.Lock()  # held to read or change the versions, and to read the connection
        self.versions: dict[str, int] = {}
        self.unsure: set[str] = set()  # changed by this process: ask the database
        self.conn: psycopg.Connection[Any] | None = None  # listening, with every version read since
        self.closed = False
        threading.Thread(target=self._run, name="feedhub-version-watch", daemon=True).start()

    def version(self, category: str) -> int | None:
        """The category's version (0: it has none yet); None: ask the database."""
        with self.lock:
            if not self._current() or category in self.unsure:
                return None
            return self.versions.get(category, 0)

    def total(self) -> int | None:
        """The sum of every category's version (Categories.data_version); None: ask the database."""
        with self.lock:
            if not self._current() or self.unsure:
                return None
            return sum(self.versions.values())

    def learn(self, category: str, version: int) -> None:
        """The version as just read from the database."""
        with self.lock:
            if self.conn is not None:
                self.versions[category] = max(version, self.versions.get(category, 0))
                self.unsure.discard(category)

    def forget(self, categories: Iterable[str]) -> None:
        """This process has just committed changes to these categories."""
        with self.lock:
            self.unsure.update(categories)

    def close(self) -> None:
        self.closed = True

    def _current(self) -> bool:
        """Read the notices waiting on the socket (under the lock); False if not listening."""
        conn = self.conn
        if conn is None:
            return False
        try:
            if select.select([conn.pgconn.socket], [], [], 0)[0]:
                conn.pgconn.consume_input()
                while (notice := conn.pgconn.notifies()) is not None:
                    self._apply(notice.extra.decode())
        except (psycopg.Error, OSError, ValueError):
            self.conn = None  # lost: the thread connects again
            return False
        return True

    def _run(self) -> None:
        while not self.closed:
            try:
                self._listen()
            except psycopg.Error:
                pass  # the server went away: ask the database until listening again
            with self.lock:
                self.conn = None
            if not self.closed:
                time.sleep(self.retry)

    def _listen(self) -> None:
        # libpq's TCP keepalives: a server that vanished without closing the
        # connection (its host gone) is noticed within about 10 s.
        with psycopg.connect(self.url, autocommit=True, connect_timeout=self.connect_timeout,
                             keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2) as conn:
            with self.lock:
                self.versions = {}  # nobody reads them until conn is set
            # Notices that arrive while the versions are read come through here.
            conn.add_notify_handler(lambda notice: self._locked_apply(notice.payload))
            conn.execute(f"LISTEN {VERSION_CHANNEL}")
            rows = conn.execute("SELECT key, version FROM categories").fetchall()
            with self.lock:
                for key, version in rows:
                    self.versions[key] = max(int(version), self.versions.get(key, 0))
                self.conn = conn
            while not self.closed:
                select.select([conn.pgconn.socket], [], [], WAKE_EVERY)
                with self.lock:
                    if not self._current():
                        return

    def _locked_apply(self, payload: str) -> None:
        with self.lock:
            self._apply(payload)

    def _apply(self, payload: str) -> None:
        """A notice: "<version> <key>", or "- <key>" for a category's row deleted."""
        version, _, key = payload.partition(" ")
        if version == "-":
            self.versions.pop(key, None)
        else:
            self.versions[key] = max(int(version), self.versions.get(key, 0))
