"""Rate limits: token buckets per partner key and per client address, for
feed requests, and in buckets of their own for HTML pages.

A bucket holds up to `requests` tokens and refills at `requests` per `per`
seconds; each request takes one, and a request finding less than one
token is refused with the seconds until one is back (429, Retry-After).
So a reader polling at the limit's pace is never refused, and a burst of
`requests` is allowed after a quiet spell.

Where the state lives: in each web process's memory, not in SQLite.
Serving a feed must not wait on a database write (metrics.py keeps request
counts off that path for the same reason), and a limit meant to stop a
client polling every second does not need exact shared accounting.  The web server
hands each connection to whichever worker accepts it first, so with W web
workers a client can get up to W times the limit before all its buckets are
empty; set the limits with that in mind (docs/access.md).  Buckets
are forgotten on restart, and at most MAX_BUCKETS are kept: full ones (idle
clients) are dropped first.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable

from ..config import RateLimit, RateLimits

MAX_BUCKETS = 100_000


class Buckets:
    """Token buckets for one limit, keyed by who is asking; thread-safe."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic):
        self.capacity = float(limit.requests)
        self.rate = limit.requests / limit.per  # tokens per second
        self.clock = clock
        self.lock = threading.Lock()
        self.buckets: dict[str, tuple[float, float]] = {}  # who -> (tokens, when counted)

    def take(self, who: str) -> float:
        """Take a token for `who`: 0 if there was one, else the seconds until there is."""
        now = self.clock()
        with self.lock:
            tokens, then = self.buckets.get(who, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - then) * self.rate)
            if tokens >= 1:
                self.buckets[who] = (tokens - 1, now)
                if len(self.buckets) > MAX_BUCKETS:
                    self._forget_idle(now)
                return 0.0
            self.buckets[who] = (tokens, now)
            return (1 - tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        full = [who for who, (tokens, then) in self.buckets.items()
                if tokens + (now - then) * self.rate >= self.capacity]
        for who in full:
            del self.buckets[who]
        if len(self.buckets) > MAX_BUCKETS:  # that many clients busy at once: start afresh
            self.buckets.clear()


class Limiter:
    """The configured limits.  A feed request with a partner key counts
    against that key's bucket, any other against its address's; an HTML page
    request against the pages limit's bucket of its key, or of its address."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self.by_key = Buckets(limits.key, clock) if limits.key else None
        self.by_address = Buckets(limits.address, clock) if limits.address else None
        self.pages = Buckets(limits.pages, clock) if limits.pages else None

    def check(self, partner: str | None, address: str, limit: str = "feeds") -> tuple[str, int] | None:
        """None if the request may go on, else (which limit, whole seconds to
        wait); `limit` is "feeds" or "pages"."""
        if limit == "pages":
            scope, buckets, who = "pages", self.pages, f"key {partner}" if partner else address
        elif partner:
            scope, buckets, who = "key", self.by_key, partner
        else:
            scope, buckets, who = "address", self.by_address, address
        if buckets is None:
            return None
        wait = buckets.take(who)
        return (scope, max(1, math.ceil(wait))) if wait else None

    def describe(self, scope: str, keyed: bool) -> str:
        """The limit a refusal met, in words; `keyed`: the request had a valid key."""
        limit = {"key": self.limits.key, "address": self.limits.address, "pages": self.limits.pages}[scope]
        assert limit is not None  # only a scope check() named, so one that is set
        what = "page" if scope == "pages" else "feed"
        return f"at most {limit.requests} {what} requests per {limit.per} s per {'key' if keyed else 'address'}"
