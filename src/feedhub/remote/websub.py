"""WebSub publishing: tell the configured hubs which feeds changed.

After an ingest pass, every category whose version moved has new or edited
items; each of its feeds (the subscribable first page, in every format) is
announced to every hub with ``hub.mode=publish``, once per change however
many workers saw it (the database records the version announced).  Hubs
then fetch the feed and push it to their subscribers.  A hub that is down
costs a logged warning, never the ingest: readers still get the items by
polling.
"""

from __future__ import annotations

import logging

from ..config import Config
from ..store import Store

log = logging.getLogger(__name__)


def changed_categories(store: Store, before: dict[str, int]) -> list[str]:
    """Categories whose version differs from `before` (a Store.category_versions())."""
    return sorted(key for key, version in store.category_versions().items() if before.get(key) != version)


def announce(config: Config, store: Store, before: dict[str, int]) -> list[str]:
    """Ping the hubs about every category changed since `before`; the topics pinged."""
    if not config.hubs:
        return []
    # Imported here: every ingest pass calls announce(), few configure a hub.
    from ..publish import feeds

    # A private category is never announced: hubs could not fetch it.
    categories = [key for key in changed_categories(store, before) if key in config.categories and feeds.hubs(config, key)]
    # Several workers see one change (each compares its own `before`): the
    # one that claims the category's new version pings, the others do not.
    categories = store.claim_announcements(categories)
    topics = [feeds.feed_url(config, key, fmt) for key in categories for fmt in feeds.FORMATS]
    ping(config.hubs, topics, timeout=config.fetch_timeout)
    return topics


def ping(hubs: list[str], topics: list[str], timeout: float = 20) -> int:
    """POST one publish notification per (hub, topic); returns how many failed."""
    import httpx

    from .fetch import USER_AGENT

    failures = 0
    if not topics:
        return failures
    with httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}) as client:
        for hub in hubs:
            for done, topic in enumerate(topics):
                try:
                    response = client.post(hub, data={"hub.mode": "publish", "hub.url": topic})
                except httpx.HTTPError as exc:
                    # An unreachable hub would cost a timeout per topic: skip the rest.
                    failures += len(topics) - done
                    log.warning("WebSub hub %s: publish %s failed: %s: %s (%d more topics skipped)",
                                hub, topic, type(exc).__name__, exc, len(topics) - done - 1)
                    break
                if response.is_success:
                    log.info("WebSub hub %s: published %s", hub, topic)
                else:
                    failures += 1
                    log.warning("WebSub hub %s: publish %s answered HTTP %d", hub, topic, response.status_code)
    return failures
