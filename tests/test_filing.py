"""The filing step (ingest/filing.py) through the store's reads and writes:
what an entry seen again does to the rows it left the first time."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from helpers import story

from feedhub.ingest import filing
from feedhub.model import DUPLICATE, NEW, UNCHANGED
from feedhub.store import Store

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)
TEXT = "the harbour authority closed the northern pier after divers found cracks in three of its pillars"


@pytest.fixture
def clock(monkeypatch):
    """The store's clock (first seen, last seen), set by the test."""
    now = [T0]
    monkeypatch.setattr("feedhub.store.rows.utcnow", lambda: now[0])
    return now


def test_a_copy_seen_again_keeps_its_first_sighting_and_moves_its_last(database: str, clock):
    kept = story(1, text=TEXT)
    copy = story(2, source="feed:partner", guid="urn:partner:9", link=kept.link, text=TEXT + " More soon.")
    with Store(database) as store:
        assert filing.add(store, kept).status == NEW
        first = filing.add(store, copy)
        clock[0] = T0 + timedelta(hours=5)
        again = filing.add(store, copy)
        clock[0] = T0 + timedelta(hours=9)
        other = filing.add(store, story(3, source="feed:partner", guid="urn:partner:10", text="another story entirely"))
        recorded = store.duplicates_of(kept.id)
        stored_items = store.count("items")
    assert (first.status, first.item_id, first.reason) == (DUPLICATE, kept.id, "url")
    assert (again.status, again.item_id) == (UNCHANGED, kept.id)
    assert other.status == NEW  # the partner's other entry is no copy: its own story
    assert [(row.source, row.guid) for row in recorded] == [("feed:partner", "urn:partner:9")]
    assert (recorded[0].first_seen, recorded[0].last_seen) == ("2026-11-01T06:00:00+00:00", "2026-11-01T11:00:00+00:00")
    assert stored_items == 2
