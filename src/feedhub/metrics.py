"""`/metrics` (Prometheus) and `/healthz`, and the counters behind them.

feedhub runs as several processes: the scheduler fetches, and gunicorn's web
workers serve.  Counters kept in one process's memory would show each scrape
a different worker's share.  So every counter lives in SQLite, in the
``counters`` table, added to by whichever process counts (the scheduler once
per fetch, in one small transaction).  Web workers count feed requests in
memory and add them to the table at most once a second from a background
thread, so serving a feed never waits on a database write.  ``/metrics`` in
any worker reads the table, so every worker reports the same totals, and
they survive restarts (Prometheus treats a counter that never decreases as
the simple case).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING, Callable, Iterable

from .config import Config
from .items import from_iso, utcnow
from .politeness import source_status
from .store import SourceState

# Flask and prometheus_client are imported where /metrics is served: the
# ingest side only counts (ingest_counts, fetch_counts), and `feedhub ingest`
# should not pay for loading a web framework.
if TYPE_CHECKING:
    from flask import Flask, Response

log = logging.getLogger(__name__)

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
FEED_FORMATS = {"rss", "atom", "json"}

# The scheduler writes its heartbeat every HEARTBEAT_EVERY seconds; /healthz
# calls it stale after missing a few.
HEARTBEAT = "scheduler"
HEARTBEAT_EVERY = 15
HEARTBEAT_STALE = 60


def labels(**values: str) -> str:
    """Labels in one canonical text form, the counters table's key."""
    return json.dumps(values, sort_keys=True)


# -- what ingest counts --------------------------------------------------------


def ingest_counts(name: str, outcomes: Counter) -> list[tuple[str, str, float]]:
    """Counter rows for one input's item outcomes (new, updated, duplicate)."""
    rows = []
    for outcome, metric in (("new", "feedhub_items_ingested"), ("updated", "feedhub_items_updated"),
                            ("duplicate", "feedhub_duplicates"), ("blocked", "feedhub_items_blocked")):
        if outcomes[outcome]:
            rows.append((metric, labels(input=name), outcomes[outcome]))
    return rows


def recheck_counts(blocked: int) -> list[tuple[str, str, float]]:
    """Counter rows for stored items a rule change blocked."""
    return [("feedhub_items_blocked", labels(input="recheck"), blocked)] if blocked else []


def page_counts(name: str, pages: list) -> list[tuple[str, str, float]]:
    """Counter rows for the entry pages a full_text source fetched (fulltext.Page)."""
    source = name.removeprefix("feed:")
    outcomes = Counter("failed" if page.error else "ok" for page in pages)
    return [("feedhub_full_text_pages", labels(source=source, outcome=outcome), n) for outcome, n in outcomes.items()]


def fetch_counts(name: str, seconds: float, failed: bool) -> list[tuple[str, str, float]]:
    """Counter rows for one fetch: attempts, errors, and the latency histogram."""
    source = name.removeprefix("feed:")
    rows = [("feedhub_fetches", labels(source=source), 1)]
    if failed:
        rows.append(("feedhub_fetch_errors", labels(source=source), 1))
    # Buckets are stored cumulative, as Prometheus reports them.
    rows += [(f"{FETCH_SECONDS}_bucket", labels(le=_le(bound)), 1) for bound in BUCKETS if seconds <= bound]
    rows += [(f"{FETCH_SECONDS}_sum", labels(), seconds), (f"{FETCH_SECONDS}_count", labels(), 1)]
    return rows


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


# -- what web workers count ------------------------------------------------------


class RequestCounts:
    """Counts made in this web process, added to SQLite within about a second.

    The flushing thread stops when there is nothing left to write and is
    started again by the next count, so idle processes hold no thread.
    """

    def __init__(self, store: Callable):
        self.store = store  # the calling thread's Store
        self.lock = threading.Lock()
        self.pending: Counter = Counter()
        self.thread: threading.Thread | None = None

    def add(self, name: str, label_text: str) -> None:
        with self.lock:
            self.pending[(name, label_text)] += 1
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="feedhub-metrics", daemon=True)
                self.thread.start()

    def flush(self) -> bool:
        """Write what is pending; False when there was nothing to write."""
        with self.lock:
            pending, self.pending = self.pending, Counter()
        if not pending:
            return False
        try:
            self.store().add_counts([(name, text, n) for (name, text), n in pending.items()])
        except Exception:
            log.exception("could not save request counters; will retry")
            with self.lock:
                self.pending.update(pending)
        return True

    def _run(self) -> None:
        while True:
            time.sleep(1)
            if not self.flush():
                with self.lock:  # a count that raced in after the flush restarts us
                    if not self.pending:
                        self.thread = None
                        return


# -- what /metrics reports ---------------------------------------------------------


class _Collector:
    """Prometheus metric families built from the counters and sources tables."""

    def __init__(self, config: Config, store):
        self.config, self.store = config, store

    def collect(self) -> Iterable:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        rows: dict[str, list[tuple[dict, float]]] = {}
        for row in self.store.counters():
            rows.setdefault(row.name, []).append((json.loads(row.labels), row.value))
        for name, (doc, names) in COUNTERS.items():
            family = CounterMetricFamily(name, doc, labels=names)
            for label_values, value in rows.get(name, []):
                family.add_metric([label_values.get(n, "") for n in names], value)
            yield family
        buckets = {values["le"]: value for values, value in rows.get(f"{FETCH_SECONDS}_bucket", [])}
        histogram = HistogramMetricFamily(FETCH_SECONDS, "Time to fetch a source (network and parsing)")
        histogram.add_metric(
            [],
            [(_le(bound), buckets.get(_le(bound), 0)) for bound in BUCKETS],
            sum(value for _, value in rows.get(f"{FETCH_SECONDS}_sum", [])),
        )
        yield histogram
        yield from self._gauges()

    def _gauges(self) -> Iterable:
        from prometheus_client.core import GaugeMetricFamily

        states = {state.name: state for state in self.store.sources()}
        by_status = Counter(source_status(states.get(s.name) or SourceState(s.name)) for s in self.config.sources)
        sources = GaugeMetricFamily("feedhub_sources", "Configured sources by status", labels=("status",))
        for status in ("new", "ok", "failing", "retired"):
            sources.add_metric([status], by_status[status])
        yield sources
        items = GaugeMetricFamily("feedhub_items", "Stored stories per category", labels=("category",))
        counts = {key: (0, 0) for key in self.config.categories}
        counts.update({category: (served, blocked) for category, served, blocked in self.store.db.execute(
            "SELECT category, count(*) - count(blocked), count(blocked) FROM items GROUP BY category")})
        blocked = GaugeMetricFamily("feedhub_blocked_items", "Stored entries a keep/block rule holds back now",
                                    labels=("category",))
        for key in self.config.categories:
            items.add_metric([key], counts[key][0])
            blocked.add_metric([key], counts[key][1])
        yield items
        yield blocked
        age = heartbeat_age(self.store)
        if age is not None:
            yield GaugeMetricFamily(
                "feedhub_scheduler_heartbeat_age_seconds", "Seconds since the scheduler last said it was alive", age
            )


def heartbeat_age(store, now: datetime | None = None) -> float | None:
    last = store.heartbeat(HEARTBEAT)
    beat = from_iso(last.beat) if last else None
    if beat is None:
        return None
    return ((now or utcnow()) - beat).total_seconds()


# -- routes ----------------------------------------------------------------------


def register(app: Flask, store: Callable) -> None:
    """Add /metrics, /healthz and feed request counting to the app; `store()`
    gives the calling thread's Store, app.config["FEEDHUB"] the configuration
    served now."""
    from flask import Response, jsonify, request
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

    from .web.gate import operator_only

    requests = RequestCounts(store)
    app.extensions["feedhub_request_counts"] = requests

    @app.after_request
    def count_feed_request(response: Response) -> Response:
        if request.path.startswith("/feeds/"):
            kind, _, file = request.path.removeprefix("/feeds/").rpartition("/")
            name, _, fmt = file.rpartition(".")
            # Only known names become label values, so odd URLs cannot
            # create unbounded series: every tag feed counts as "tag".
            config = app.config["FEEDHUB"]
            if kind == "tag":
                category = "tag"
            elif kind == "search":
                category = f"search:{name}" if name in config.searches else "unknown"
            else:
                category = (config.category_key(name) if not kind else None) or "unknown"
            fmt = fmt if fmt in FEED_FORMATS else "other"
            requests.add("feedhub_feed_requests", labels(category=category, format=fmt, status=str(response.status_code)))
        return response

    @app.get("/metrics")
    @operator_only
    def prometheus_metrics() -> Response:
        requests.flush()  # this worker's own latest counts, not a second late
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector(app.config["FEEDHUB"], store()))
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    def healthz() -> tuple[Response, int]:
        try:
            age = heartbeat_age(store())
        except Exception:  # any database failure is the answer here
            # Open to anyone: the details (paths, errors) go to the log only.
            log.exception("health check: the database cannot be read")
            return jsonify(status="unhealthy", reason="database: cannot be read (details in the server log)"), 503
        if age is None:
            return jsonify(status="unhealthy", reason="no scheduler heartbeat yet: is `feedhub worker` running?"), 503
        if age > HEARTBEAT_STALE:
            reason = f"scheduler heartbeat is {age:.0f}s old (limit {HEARTBEAT_STALE}s): is `feedhub worker` running?"
            return jsonify(status="unhealthy", reason=reason, heartbeat_age_seconds=round(age, 1)), 503
        return jsonify(status="ok", database="ok", heartbeat_age_seconds=round(age, 1)), 200
