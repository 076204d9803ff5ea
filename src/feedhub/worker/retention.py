"""Retention: which stored items go, and one pruning pass over the categories.

What goes is decided here, from the items' places in their feed and their
dates; the store deletes them (with their keys, signatures, bands and
duplicates) and keeps their tombstones.  An item on a served feed's first
page is never chosen, whatever its age: a subscriber must never see a story
vanish from the feed it polls.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ..config import Config, Retention
from ..model import from_iso, utcnow
from ..store import Store

log = logging.getLogger(__name__)
PRUNE_EVERY = 3600  # seconds between the worker's pruning passes


Row = tuple[str, str, str]  # an item's id, published time (ISO 8601) and title


def doomed(ranked: list[Row], first_page: int, retention: Retention, now: datetime) -> list[Row]:
    """The items to prune, of a category's items in feed order after its first
    page (`ranked[0]` is the item at place `first_page`, counting from 0):
    those older than `retention.days`, and those not among the newest
    `retention.items`."""
    cutoff = now - timedelta(days=retention.days) if retention.days else None
    return [
        row
        for place, row in enumerate(ranked, start=first_page)
        if (retention.items is not None and place >= retention.items)
        or (cutoff is not None and from_iso(row[1]) < cutoff)
    ]


def tombstone_cutoff(retention: Retention, now: datetime) -> datetime:
    """Tombstones made before this are forgotten."""
    return now - timedelta(days=retention.tombstone_days)


@dataclass
class Report:
    """What a pass removed (or, dry, would remove), per category."""

    items: dict[str, list[Row]] = field(default_factory=dict)  # category -> the items chosen
    removed: dict[str, int] = field(default_factory=dict)
    tombstones: dict[str, int] = field(default_factory=dict)  # expired
    freed: int = 0  # bytes given back to the file system

    @property
    def total(self) -> int:
        return sum(len(chosen) for chosen in self.items.values())


def prune(config: Config, store: Store, now: datetime | None = None, dry_run: bool = False) -> Report:
    """One pass over every configured category: prune what its retention
    says, expire old tombstones, then give the freed space back."""
    now = now or utcnow()
    report = Report()
    for category in config.categories:
        retention = config.retention_for(category)
        if retention.days or retention.items:
            chosen = doomed(store.ranked(category, config.feed_size), config.feed_size, retention, now)
            report.items[category] = chosen
            if chosen and not dry_run:
                report.removed[category] = store.prune(category, chosen, now)
        cutoff = tombstone_cutoff(retention, now)
        report.tombstones[category] = store.expire_tombstones(category, cutoff, dry_run=dry_run)
    if not dry_run:
        report.freed = store.reclaim()
    return report


def run(config: Config, store: Store) -> Report:
    """The worker's pruning job."""
    report = prune(config, store)
    for category, count in report.removed.items():
        log.info("pruned %s items", count, extra={"category": category, "items": count,
                                                   "tombstones_expired": report.tombstones.get(category, 0)})
    if report.freed:
        log.info("gave %s bytes back to the file system", report.freed, extra={"bytes": report.freed})
    return report
