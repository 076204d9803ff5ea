"""The worker's release job: embargoed stories go out at their time, and
withdrawn ones stop being named as deleted entries once that has been said
long enough.

It runs every RELEASE_EVERY seconds, so a story goes out within about that
much of its embargo, without waiting for its folder's next pass.  Any number
of workers may run it at once: each item is released once (the store only
changes rows still held), and each change is announced to the WebSub hubs
once (Store.claim_announcements); the caller writes the static files."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from ..config import Config
from ..model import utcnow
from ..remote import websub
from ..store import Store

log = logging.getLogger(__name__)
RELEASE_EVERY = 1  # seconds between the worker's looks for embargoes that are up


def run(
    config: Config, store: Store, now: datetime | None = None, then: Callable[[Store], object] = lambda store: None
) -> list[str]:
    """Release what is due, and stop naming the items withdrawn more than
    `deleted_entries_for` (feeds.yaml) ago as deleted entries; returns the
    categories whose feeds changed (their hubs have been pinged, and
    then(store) called: the worker writes its static files)."""
    now = now or utcnow()
    before = store.category_versions()
    released = store.release_due(now)
    expired = store.expire_deleted_entries(now - timedelta(seconds=config.deleted_entries_for))
    for category in released:
        log.info("embargo lifted: stories released", extra={"category": category})
    changed = sorted({*released, *expired})
    if changed:
        websub.announce(config, store, before)
        then(store)
    return changed
