"""`/metrics` (Prometheus) and `/healthz`, and feed request counting.

What is counted and how it is stored is feedhub/metrics.py; here the
counters table and the sources' fetch state become Prometheus metric
families, and the scheduler's heartbeat a health answer.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from datetime import datetime
from typing import Callable, Iterable

from flask import Flask, Response, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from ..config import Config
from ..metrics import BUCKETS, COUNTERS, FETCH_SECONDS, HEARTBEAT, HEARTBEAT_STALE, RequestCounts, labels, le
from ..model import SourceState, from_iso, utcnow
from ..publish import partners
from ..remote.politeness import source_status
from ..store import DatabaseUnavailable, ItemCounts, Store
from .gate import FEEDS, OPERATOR, PUBLIC, audience, key_use, limit_of

log = logging.getLogger(__name__)
FEED_FORMATS = {"rss", "atom", "json"}


class Collector:
    """Prometheus metric families built from the counters and sources tables."""

    def __init__(self, config: Config, store: Store):
        self.config, self.store = config, store

    def collect(self) -> Iterable[Metric]:
        rows: dict[str, list[tuple[dict[str, str], float]]] = {}
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
            [(le(bound), buckets.get(le(bound), 0)) for bound in BUCKETS],
            sum(value for _, value in rows.get(f"{FETCH_SECONDS}_sum", [])),
        )
        yield histogram
        yield from self._gauges()

    def _gauges(self) -> Iterable[Metric]:
        states = {state.name: state for state in self.store.sources()}
        by_status = Counter(source_status(states.get(s.name) or SourceState(s.name)) for s in self.config.sources)
        sources = GaugeMetricFamily("feedhub_sources", "Configured sources by status", labels=("status",))
        for status in ("new", "ok", "failing", "retired"):
            sources.add_metric([status], by_status[status])
        yield sources
        items = GaugeMetricFamily("feedhub_items", "Stored stories per category", labels=("category",))
        counts = self.store.item_counts()
        blocked = GaugeMetricFamily("feedhub_blocked_items", "Stored entries a keep/block rule holds back now",
                                    labels=("category",))
        for key in self.config.categories:
            count = counts.get(key, ItemCounts(0, 0))
            items.add_metric([key], count.served)
            blocked.add_metric([key], count.blocked)
        yield items
        yield blocked
        yield from self._partners()
        age = heartbeat_age(self.store)
        if age is not None:
            yield GaugeMetricFamily(
                "feedhub_scheduler_heartbeat_age_seconds", "Seconds since the scheduler last said it was alive", age
            )

    def _partners(self) -> Iterable[Metric]:
        """Each partner's feed requests over the last day (publish/partners.py)."""
        now = utcnow()
        reports = partners.report(self.config, self.store.partner_pulls(partners.since(now)), now)
        families = {
            "requests": GaugeMetricFamily("feedhub_partner_requests_last_day",
                                          "Feed requests with the partner's keys over the last day", labels=["partner"]),
            "not_modified_share": GaugeMetricFamily(
                "feedhub_partner_not_modified_ratio_last_day",
                "Share of the partner's answered feed requests over the last day that were 304 Not Modified",
                labels=["partner"]),
            "refused": GaugeMetricFamily(
                "feedhub_partner_refusals_last_day",
                "Feed requests refused over the last day: an expired key, or a category not the partner's",
                labels=["partner"]),
            "limited": GaugeMetricFamily("feedhub_partner_rate_limited_last_day",
                                         "Feed requests with the partner's keys answered 429 over the last day",
                                         labels=["partner"]),
            "last_pull": GaugeMetricFamily("feedhub_partner_last_pull_timestamp_seconds",
                                           "When the partner's last answered feed request was (Unix time)",
                                           labels=["partner"]),
        }
        for report in reports:
            for field, family in families.items():
                value = getattr(report, field)
                if isinstance(value, datetime):
                    value = value.timestamp()
                if value is not None:  # no answered pull: no share, no time
                    family.add_metric([report.name], value)
        yield from families.values()


def heartbeat_age(store: Store, now: datetime | None = None) -> float | None:
    last = store.heartbeat(HEARTBEAT)
    beat = from_iso(last.beat) if last else None
    if beat is None:
        return None
    return ((now or utcnow()) - beat).total_seconds()


def register(app: Flask, store: Callable[[], Store]) -> None:
    """Add /metrics, /healthz and feed request counting to the app; `store()`
    gives the calling thread's Store, app.config["FEEDHUB"] the configuration
    served now."""
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

    @app.after_request
    def count_partner_pull(response: Response) -> Response:
        # The feed routes' requests with a partner's key: /partners and the partner gauges.
        use = key_use()
        if use and request.url_rule and limit_of(app.view_functions[request.url_rule.endpoint]) == FEEDS:
            requests.pull(use.partner, partners.outcome(response.status_code, use.expired))
        return response

    @app.get("/metrics")
    @audience(OPERATOR)
    def prometheus_metrics() -> Response:
        requests.flush()  # this worker's own latest counts, not a second late
        registry = CollectorRegistry(auto_describe=False)
        registry.register(Collector(app.config["FEEDHUB"], store()))
        return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)

    @app.get("/healthz")
    @audience(PUBLIC)  # for load balancers: says only whether the database and the worker are alive
    def healthz() -> tuple[Response, int]:
        try:
            age = heartbeat_age(store())
        except DatabaseUnavailable:  # said in the log by the store, once as it went down
            return jsonify(status="unhealthy", reason="database: cannot be reached"), 503
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
