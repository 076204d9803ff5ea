"""The worker's release job: embargoed stories go out at their time, newer
versions of stories that are out, held for embargoes of their own, are
shown in their stories' places at theirs, and withdrawn stories stop being
named as deleted entries once that has been said long enough.

It runs every RELEASE_EVERY seconds, so a story goes out within about that
much of its embargo, without waiting for its folder's next pass.  Any number
of workers may run it at once: each item is released once (the store only
changes rows still held), each held version is handed to one worker
(Store.take_due_versions), and each change is announced to the WebSub hubs
once (Store.claim_announcements); the caller writes the static files."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from ..config import Config
from ..dedup.candidates import Standing
from ..dedup.decide import shows_version
from ..model import UPDATED, from_iso, utcnow
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
    updated = show_held_versions(store, now)
    expired = store.expire_deleted_entries(now - timedelta(seconds=config.deleted_entries_for))
    for category in released:
        log.info("embargo lifted: stories released", extra={"category": category})
    changed = sorted({*released, *updated, *expired})
    if changed:
        websub.announce(config, store, before)
        then(store)
    return changed


def show_held_versions(store: Store, now: datetime) -> list[str]:
    """Show each version held for an embargo that is up in its story's place,
    as an update arriving now would be, if it is still the newest (a later
    one may have been shown meanwhile); of two due at once, the newer.  A
    withdrawn story takes it too, unseen until it is served again.  Returns
    the categories whose feeds changed."""
    changed = set()
    for item_id, category in store.due_versions(now):
        with store.transaction():  # taken, compared and shown under the category's lock, or none of it
            store.lock_categories([category])
            due = store.take_due_versions(item_id, now)
            kept = store.stored_entry(item_id)
            if not due or kept is None:
                continue  # taken by another worker; or the story is gone (pruned)
            newest = max(reversed(due), key=lambda version: version.version_time)  # of equals, the last to come
            if shows_version(newest, Standing(kept.source, from_iso(kept.version))):
                shown = store.show_version(item_id, newest, kept)
                if shown.status == UPDATED and kept.served:
                    changed.add(category)
                    log.info("embargo lifted: a newer version shown", extra={"category": category, "item": item_id})
    return sorted(changed)
