"""PostgreSQL connections of one process: a pool per database that fails fast
while the server cannot be reached, and serves again as soon as it can.

psycopg_pool alone lends a connection the server has dropped (the first
statement after a restart fails), makes every caller wait out its timeout
while the server is down (30 s a request), and backs its reconnection
attempts off to minutes apart (a node served again long after the server
was back).  Here:

- A connection unused for IDLE_CHECK seconds is checked (an empty query,
  one round trip) before it is lent: the server may have restarted since.
  Under load connections come back within milliseconds and cost nothing.
- A connection that breaks (in that check, or in a statement) ends the pool
  it came from: it tells nothing about the others, so none of them is lent
  again.  One connection attempt then says what happened: the server
  answers (a restart, a connection killed), and a fresh pool serves (the
  check retried on it: a restart costs no failed statement); or it does
  not, and the database is *down*.
- While it is down, asking for a connection raises DatabaseUnavailable at
  once (a web node answers 503 in milliseconds), and a thread tries to
  connect every RETRY_EVERY seconds; its first success opens a fresh pool.
- A caller that waits FIRST_WAIT seconds for a free connection tries one
  connection of its own: none (the server is gone): down, at once; else the
  pool is only busy, and it waits on, up to POOL_TIMEOUT.

Each process has its own pools (a forked web worker makes its own), kept
here by database URL, with the per-process facts that go with them: that
this process has brought the schema up to date (so opening a Store costs
no round trip after the first), and its category version watch (watch.py).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import weakref
from typing import Any, Callable, Iterable, Iterator, Sequence, Tuple, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from .engine import Cursor, DatabaseUnavailable, Dialect, redacted, translate
from .watch import VersionWatch

log = logging.getLogger(__name__)
# Connections each process may hold to one PostgreSQL database: a worker's
# job threads and housekeeping, or a web process's server threads.
POOL_MAX = int(os.environ.get("FEEDHUB_POOL_MAX", "20"))
POOL_TIMEOUT = 30.0  # seconds a caller waits for a free connection of a busy pool
FIRST_WAIT = 0.5  # seconds a caller waits before asking whether the server is there at all
RETRY_EVERY = 0.25  # seconds between connection attempts while the database is down
IDLE_CHECK = 0.5  # seconds unused after which a connection is checked (one round trip) before it is lent
CONNECT_TIMEOUT = 5  # seconds one connection attempt may take (a server that never answers)

Pool = ConnectionPool["psycopg.Connection[Any]"]
Borrowed = Tuple[Pool, "psycopg.Connection[Any]"]  # a connection and the pool it goes back to
T = TypeVar("T")


def unreachable(url: str, timeout: int = 10) -> str:
    """Why a connection to `url` fails, in the server's words; "" if it does not."""
    try:
        psycopg.connect(url, connect_timeout=timeout).close()
    except psycopg.Error as exc:
        return str(exc).strip() or type(exc).__name__
    return ""


class Connections:
    """One database's connections in this process (see the module's docstring)."""

    def __init__(self, url: str):
        # One connection first: a wrong password or database name is said at
        # once, in the server's words, not after the pool's wait.
        reason = unreachable(url)
        if reason:
            raise DatabaseUnavailable(f"cannot connect to {redacted(url)}: {reason}")
        self.url = url
        self.migrated = 0  # the schema version this process brought the database to
        self.lock = threading.Lock()
        # When each connection last worked: one unused for IDLE_CHECK is checked before it is lent.
        self.returned: weakref.WeakKeyDictionary[psycopg.Connection[Any], float] = weakref.WeakKeyDictionary()
        self.pool: Pool | None = self._open()
        self.down_since = 0.0  # monotonic time the database went down (while pool is None)
        self.reason = ""  # why it is down
        self.closed = False
        self._watch: VersionWatch | None = None

    def _open(self) -> Pool:
        # autocommit: the store opens its transactions itself, as on SQLite.
        return ConnectionPool(self.url, min_size=1, max_size=POOL_MAX, timeout=POOL_TIMEOUT, open=True,
                              kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
                              configure=self._used, name=f"feedhub-{os.getpid()}")

    def borrow(self, again: bool = True) -> Borrowed:
        """A connection (give it back with give_back), or DatabaseUnavailable."""
        pool = self._current()
        try:
            borrowed = pool, self._wait_for(pool)
        except PoolClosed:  # replaced meanwhile (an error in another thread)
            return self.borrow(again)
        with self.lock:
            idle = time.monotonic() - self.returned.get(borrowed[1], 0.0)
        if idle > IDLE_CHECK:
            # Unused for a while: the server may have restarted meanwhile.
            try:
                borrowed[1].execute("")
            except psycopg.Error as exc:
                unavailable = self.failure(borrowed, exc)
                self.give_back(borrowed)
                if unavailable is None:
                    raise
                if self.pool is None or not again:
                    raise unavailable from exc
                return self.borrow(again=False)  # from the fresh pool
        return borrowed

    def _wait_for(self, pool: Pool) -> psycopg.Connection[Any]:
        try:
            return pool.getconn(timeout=FIRST_WAIT)
        except PoolTimeout:
            pass
        reason = unreachable(self.url, CONNECT_TIMEOUT)
        if reason:
            self._down(pool, reason)
            raise DatabaseUnavailable(f"cannot connect to {redacted(self.url)}: {reason}")
        try:
            return pool.getconn(timeout=POOL_TIMEOUT - FIRST_WAIT)
        except PoolTimeout:
            raise DatabaseUnavailable(f"no free connection to {redacted(self.url)} within {POOL_TIMEOUT:.0f} s "
                                      f"(all {POOL_MAX} in use; FEEDHUB_POOL_MAX allows more)") from None

    def give_back(self, borrowed: Borrowed) -> None:
        pool, conn = borrowed
        self._used(conn)
        pool.putconn(conn)  # a closed pool closes it; a broken one is discarded

    def _used(self, conn: psycopg.Connection[Any]) -> None:
        """Known to work now (made, or given back after use)."""
        with self.lock:
            self.returned[conn] = time.monotonic()

    def failure(self, borrowed: Borrowed, exc: psycopg.Error) -> DatabaseUnavailable | None:
        """What to raise for `exc`, met on a borrowed connection: None (the
        error itself) for an error of the statement, DatabaseUnavailable if
        the connection broke (then its pool is replaced, or the database is down)."""
        pool, conn = borrowed
        if not (conn.broken or conn.closed):
            return None
        reason = unreachable(self.url, CONNECT_TIMEOUT)
        if reason:
            self._down(pool, reason)
        else:
            self._replace(pool)
        return DatabaseUnavailable(f"lost the connection to {redacted(self.url)}: {str(exc).strip().splitlines()[0]}")

    def _current(self) -> Pool:
        pool = self.pool
        if pool is None:
            if self.closed:
                raise DatabaseUnavailable(f"the connections to {redacted(self.url)} are closed")
            raise DatabaseUnavailable(f"{redacted(self.url)} cannot be reached (for "
                                      f"{time.monotonic() - self.down_since:.0f} s): {self.reason}")
        return pool

    def _replace(self, broken: Pool) -> None:
        """The server answers, but `broken`'s connections may be gone with the
        one that failed: a fresh pool from now on (once, whichever thread asks)."""
        with self.lock:
            if self.pool is not broken or self.closed:
                return
            self.pool = self._open()
        log.warning("a database connection broke; the pool was opened afresh", extra={"database": redacted(self.url)})
        _close_soon(broken)

    def _down(self, broken: Pool, reason: str) -> None:
        with self.lock:
            if self.pool is not broken or self.closed:
                return
            self.pool, self.down_since, self.reason = None, time.monotonic(), reason.splitlines()[0]
        log.error("database unreachable; answering without it until it is back",
                  extra={"database": redacted(self.url), "reason": self.reason})
        _close_soon(broken)
        threading.Thread(target=self._reconnect, name="feedhub-reconnect", daemon=True).start()

    def _reconnect(self) -> None:
        """Try to connect every RETRY_EVERY seconds; open a fresh pool on the first success."""
        while True:
            time.sleep(RETRY_EVERY)
            if not self.closed and unreachable(self.url, CONNECT_TIMEOUT):
                continue
            with self.lock:
                if self.closed:
                    return
                self.pool = self._open()
            down = round(time.monotonic() - self.down_since, 1)
            log.warning("database reachable again", extra={"database": redacted(self.url), "seconds_down": down})
            return

    def watch(self, start: bool = True) -> VersionWatch | None:
        """This process's category versions of the database, kept current by
        NOTIFY: started on first use (None if not started and not `start`)."""
        with self.lock:
            if self._watch is None and start and not self.closed:
                self._watch = VersionWatch(self.url, RETRY_EVERY, CONNECT_TIMEOUT)
            return self._watch

    def close(self) -> None:
        with self.lock:
            self.closed = True
            pool, self.pool = self.pool, None
            watch = self._watch
        if watch is not None:
            watch.close()
        if pool is not None:
            pool.close()


def _close_soon(pool: Pool) -> None:
    """Close a pool without waiting for its threads (one may be in a connection attempt)."""
    threading.Thread(target=pool.close, name="feedhub-pool-close", daemon=True).start()


_links: dict[tuple[int, str], Connections] = {}
_links_lock = threading.Lock()


def connections(url: str) -> Connections:
    """This process's connections to `url`."""
    key = (os.getpid(), url)
    with _links_lock:
        found = _links.get(key)
    if found is not None:
        return found
    # Made outside the lock: a server that is slow to answer for one
    # database must not hold up the threads using another.
    made = Connections(url)
    with _links_lock:
        found = _links.setdefault(key, made)
    if found is not made:  # another thread made one meanwhile
        made.close()
    return found


def close_pools(url: str | None = None) -> None:
    """Close this process's connections, or only those to `url` (tests
    dropping their databases, shutdown)."""
    with _links_lock:
        mine = [key for key in _links if key[0] == os.getpid() and url in (None, key[1])]
        closing = [_links.pop(key) for key in mine]
    for link in closing:
        link.close()


class PostgresDatabase:
    """The store's Database on PostgreSQL: a transaction (or a snapshot)
    holds one connection from BEGIN to COMMIT, and a single statement
    outside them borrows one for as long as it runs, so a web process with
    many threads needs only as many connections as it has statements
    running at once.

    BEGIN, SAVEPOINT and RELEASE, which answer nothing worth waiting for, are
    sent with the next statement, in its round trip (one pipeline), and
    COMMIT with them; a transaction that sent nothing sends nothing at all."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str):
        self.link = connections(url)
        self.held: Borrowed | None = None  # the connection of the open transaction
        self.deferred: list[str] = []  # to send with the next statement
        self.piping = False  # inside pipeline()

    @property
    def migrated(self) -> int:
        return self.link.migrated

    @migrated.setter
    def migrated(self, value: int) -> None:
        self.link.migrated = value

    def execute(self, sql: str, params: Sequence[object] = ()) -> Cursor:
        # Outside a transaction the connection goes back to the pool as soon
        # as the statement ran; its rows are already on this side.
        return self._on_connection(lambda conn: conn.execute(translate(sql), params))

    def executemany(self, sql: str, rows: Iterable[Sequence[object]]) -> None:
        rows = list(rows)
        if rows:
            self._on_connection(lambda conn: conn.cursor().executemany(translate(sql), rows))

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
        def copy(conn: psycopg.Connection[Any]) -> None:
            with conn.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as stream:
                for row in rows:
                    stream.write_row(row)

        if self.deferred:  # COPY cannot share a pipeline
            self._on_connection(lambda conn: None)
        self._on_connection(copy)

    def defer(self, sql: str) -> None:
        """Run `sql` (it returns no rows) in the round trip of the next statement."""
        self.deferred.append(sql)

    @contextlib.contextmanager
    def pipeline(self) -> Iterator[None]:
        if self.held is None or self.piping:  # outside a transaction each statement borrows its own connection
            yield
            return
        held = self.held
        try:
            with held[1].pipeline():  # the answers still due arrive as it ends
                self.piping = True
                try:
                    yield
                finally:
                    self.piping = False
        except psycopg.Error as exc:
            unavailable = self.link.failure(held, exc)
            if unavailable is None:
                raise
            raise unavailable from exc

    def _on_connection(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        if self.held is not None:
            return self._run(self.held, lambda conn: self._after_deferred(conn, work))
        borrowed = self.link.borrow()
        try:
            return self._run(borrowed, work)
        finally:
            self.link.give_back(borrowed)

    def _after_deferred(self, conn: psycopg.Connection[Any], work: Callable[[psycopg.Connection[Any]], T]) -> T:
        if not self.deferred:
            return work(conn)
        deferred, self.deferred = self.deferred, []
        if self.piping:
            for sql in deferred:
                conn.execute(sql)
            return work(conn)
        with conn.pipeline():
            for sql in deferred:
                conn.execute(sql)
            return work(conn)

    def _run(self, borrowed: Borrowed, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        try:
            return work(borrowed[1])
        except psycopg.Error as exc:
            unavailable = self.link.failure(borrowed, exc)
            if unavailable is None:
                raise
            raise unavailable from exc

    @property
    def in_transaction(self) -> bool:
        return self.held is not None

    def begin(self, mode: str = "") -> None:
        self.held = self.link.borrow()
        # A snapshot reads one state of the whole database, as SQLite's read
        # transaction does; writers see each other's commits and are
        # serialized where it matters by row and advisory locks.
        self.deferred = ["BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" if mode == "read" else "BEGIN"]

    def end(self, commit: bool) -> None:
        borrowed, self.held = self.held, None
        deferred, self.deferred = self.deferred, []
        if borrowed is None:
            return
        try:
            if deferred and deferred[0].startswith("BEGIN"):
                return  # nothing was sent: there is nothing to end
            if commit:
                self._run(borrowed, lambda conn: self._finish(conn, [*deferred, "COMMIT"]))
            elif not (borrowed[1].broken or borrowed[1].closed):  # a broken one's is over: the server rolled it back
                self._run(borrowed, lambda conn: conn.execute("ROLLBACK"))
        finally:
            self.link.give_back(borrowed)

    @staticmethod
    def _finish(conn: psycopg.Connection[Any], statements: list[str]) -> None:
        with conn.pipeline():
            for sql in statements:
                conn.execute(sql)

    def close(self) -> None:
        if self.held is not None:
            self.end(commit=False)

    def watch(self, start: bool = True) -> VersionWatch | None:
        return self.link.watch(start)
