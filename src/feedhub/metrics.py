"""The counters behind `/metrics`, as ingest, the scheduler and web workers
record them (web/exposition.py serves them).

feedhub runs as several processes: the scheduler fetches, and the web server's
workers serve.  Counters kept in one process's memory would show each scrape
a different worker's share.  So every counter lives in the database, in the
``counters`` table, added to by whichever process counts (the scheduler once
per fetch, in one small transaction).  Web workers count feed requests in
memory and add them to the table at most once a second from a background
thread (RequestCounts), so serving a feed never waits on a database write.
``/metrics`` in any worker reads the table, so every worker reports the same
totals, and they survive restarts (Prometheus treats a counter that never
decreases as the simple case).

Nothing here imports Flask or prometheus_client: `feedhub ingest` only
counts, and should not pay for loading a web framework.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from typing import TYPE_CHECKING, Callable, Iterable

from .model import PullOutcome, utcnow
from .store.engine import DatabaseUnavailable

if TYPE_CHECKING:
    from .model import Page
    from .store import Store

log = logging.getLogger(__name__)

# A counter row: (metric name, labels as canonical JSON, amount).
Count = tuple[str, str, float]

# name -> (help, label names); counters get Prometheus's `_total` suffix.
COUNTERS = {
    "feedhub_items_ingested": ("Stories stored for the first time", ("input",)),
    "feedhub_items_updated": ("Stored stories changed by their own source", ("input",)),
    "feedhub_duplicates": ("Copies of stored stories, recorded as duplicates", ("input",)),
    "feedhub_items_blocked": ("Entries held back by a keep/block rule (input=recheck: after a rule change)", ("input",)),
    "feedhub_fetches": ("Source fetches attempted", ("source",)),
    "feedhub_full_text_pages": ("Entry pages fetched for full text, by outcome (ok or failed)", ("source", "outcome")),
    "feedhub_fetch_errors": ("Source fetches that failed", ("source",)),
    "feedhub_feed_requests": ("Feed requests answered, by HTTP status (304: not modified)", ("category", "format", "status")),
    # The partner's name, never its key; "" for a limit on an address.
    "feedhub_rate_limited": ("Feed requests refused with 429, by limit (key or address)", ("scope", "partner")),
}
FETCH_SECONDS = "feedhub_fetch_duration_seconds"
BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, float("inf"))

# The scheduler writes its heartbeat every HEARTBEAT_EVERY seconds; /healthz
# calls it stale after missing a few.
HEARTBEAT = "scheduler"
HEARTBEAT_EVERY = 15
HEARTBEAT_STALE = 60


def labels(**values: str) -> str:
    """Labels in one canonical text form, the counters table's key."""
    return json.dumps(values, sort_keys=True)


def le(bound: float) -> str:
    """A histogram bucket's upper bound as its `le` label."""
    return "+Inf" if bound == float("inf") else repr(bound)


# Each bucket's labels, made once: every fetch counts into most of the buckets.
BUCKET_LABELS = [(bound, labels(le=le(bound))) for bound in BUCKETS]


# -- what ingest counts --------------------------------------------------------


def ingest_counts(name: str, outcomes: Counter[str]) -> list[Count]:
    """Counter rows for one input's item outcomes (new, updated, duplicate)."""
    rows: list[Count] = []
    for outcome, metric in (("new", "feedhub_items_ingested"), ("updated", "feedhub_items_updated"),
                            ("duplicate", "feedhub_duplicates"), ("blocked", "feedhub_items_blocked")):
        if outcomes[outcome]:
            rows.append((metric, labels(input=name), outcomes[outcome]))
    return rows


def recheck_counts(blocked: int) -> list[Count]:
    """Counter rows for stored items a rule change blocked."""
    return [("feedhub_items_blocked", labels(input="recheck"), blocked)] if blocked else []


def page_counts(name: str, pages: Iterable[Page]) -> list[Count]:
    """Counter rows for the entry pages a full_text source fetched."""
    source = name.removeprefix("feed:")
    outcomes = Counter("failed" if page.error else "ok" for page in pages)
    return [("feedhub_full_text_pages", labels(source=source, outcome=outcome), n) for outcome, n in outcomes.items()]


def fetch_counts(name: str, seconds: float, failed: bool) -> list[Count]:
    """Counter rows for one fetch: attempts, errors, and the latency histogram."""
    source = name.removeprefix("feed:")
    rows: list[Count] = [("feedhub_fetches", labels(source=source), 1)]
    if failed:
        rows.append(("feedhub_fetch_errors", labels(source=source), 1))
    # Buckets are stored cumulative, as Prometheus reports them.
    rows += [(f"{FETCH_SECONDS}_bucket", text, 1) for bound, text in BUCKET_LABELS if seconds <= bound]
    rows += [(f"{FETCH_SECONDS}_sum", labels(), seconds), (f"{FETCH_SECONDS}_count", labels(), 1)]
    return rows


# -- what web workers count ------------------------------------------------------


class RequestCounts:
    """Counts made in this web process, added to the database within about
    a second: counters (the table /metrics reads), and partners' feed
    requests (store/partners.py).

    The flushing thread stops when there is nothing left to write and is
    started again by the next count, so idle processes hold no thread.
    """

    def __init__(self, store: Callable[[], Store]):
        self.store = store  # the calling thread's Store
        self.lock = threading.Lock()
        self.pending: Counter[tuple[str, str]] = Counter()
        self.pulls: Counter[tuple[str, PullOutcome]] = Counter()  # (partner, outcome)
        self.thread: threading.Thread | None = None

    def add(self, name: str, label_text: str) -> None:
        with self.lock:
            self.pending[(name, label_text)] += 1
            self._flush_soon()

    def pull(self, partner: str, outcome: PullOutcome) -> None:
        """A feed request made with `partner`'s key, and what became of it."""
        with self.lock:
            self.pulls[(partner, outcome)] += 1
            self._flush_soon()

    def _flush_soon(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self._run, name="feedhub-metrics", daemon=True)
            self.thread.start()

    def flush(self) -> bool:
        """Write what is pending; False when there was nothing to write."""
        with self.lock:
            pending, self.pending = self.pending, Counter()
            pulls, self.pulls = self.pulls, Counter()
        if not pending and not pulls:
            return False
        try:
            store = self.store()
            with store.transaction():
                store.add_counts([(name, text, n) for (name, text), n in pending.items()])
                store.add_partner_pulls(pulls, utcnow())
        except Exception as exc:
            if not isinstance(exc, DatabaseUnavailable):  # an outage is logged once, by the store
                log.exception("could not save request counters; will retry")
            with self.lock:
                self.pending.update(pending)
                self.pulls.update(pulls)
        return True

    def _run(self) -> None:
        while True:
            time.sleep(1)
            if not self.flush():
                with self.lock:  # a count that raced in after the flush restarts us
                    if not self.pending and not self.pulls:
                        self.thread = None
                        return
