"""A newer version of a story that is out, under an embargo of its own (a
wire's embargoed UPDATE 1, issue 26): the story keeps its text until then,
and the worker's release job shows the version in its place at that time,
once, if it is still the newest.  Filed through ingest/filing.py, released
through worker/lifecycle.py, read back from the served feeds; the clock is
set, never waited for.  tests/test_story_life.py runs it end to end."""

from __future__ import annotations

from dataclasses import MISSING, fields
from datetime import datetime, timedelta, timezone

import pytest
from helpers import rows

from feedhub.ingest import filing
from feedhub.model import DUPLICATE, NEW, UNCHANGED, UPDATED, Enclosure, Episode, Item, Person, Takedown
from feedhub.model import item_from_json, item_json
from feedhub.store import Store
from feedhub.web import create_app
from feedhub.worker import lifecycle

T0 = datetime(2026, 12, 5, 7, 40, tzinfo=timezone.utc)
EMBARGO = T0 + timedelta(hours=2)
SECOND = timedelta(seconds=1)
WORDS = ("Members of the harbour board voted eleven to four shortly after midnight to approve a levy on every"
         " container landed at the north quay, ending weeks of argument over who pays for new sea walls.")


def version(guid: str, title: str, embargo: datetime | None = None, updated: datetime | None = None,
            more: str = "") -> Item:
    """A version of the levy story from the newsroom folder (the same link: the same story), dated at
    its embargo as an article file under one is."""
    return Item(category="business", source="articles:newsroom", guid=guid, title=title,
                link="http://feeds.test/articles/levy", summary=title, content=f"<p>{WORDS}</p><p>{more}</p>",
                text=f"{WORDS} {more}", published=embargo or T0, updated=updated, tags=("Harbour",), embargo=embargo)


ORIGINAL = version("levy", "Harbour Levy Approved")


def update(n: int, embargo: datetime | None = EMBARGO, updated: datetime | None = None) -> Item:
    return version(f"levy-update-{n}", f"UPDATE {n}-Harbour Levy Approved", embargo,
                   more=f"Update {n}: shipping agents said they would take the levy to court.", updated=updated)


@pytest.fixture
def site(make_config):
    config = make_config()
    with Store(config.database) as store:
        assert filing.add(store, ORIGINAL).status == NEW
        yield config, store, create_app(config).test_client()


def shown(client) -> list[tuple[str, str, str | None]]:
    """The business feed as JSON Feed: (id, title, date_modified) of each item."""
    return [(item["id"], item["title"], item.get("date_modified"))
            for item in client.get("/feeds/business.json").json["items"]]


def held(store) -> list[tuple[str, str | None]]:
    """The levy story's version records: (guid, what each keeps until)."""
    return [(row.guid, row.held_until) for row in store.duplicates_of(ORIGINAL.id)]


def release(config, store, at: datetime) -> list[str]:
    return lifecycle.run(config, store, at)


def test_an_item_round_trips_through_json_with_every_field():
    item = Item(
        category="business", source="feed:wire", guid="urn:wire:1", title="Levy «approved»", link="https://w.test/1",
        summary="s", content="<p>c</p>", text="t", published=datetime(2026, 12, 5, 7, 40, 1, 250, tzinfo=timezone.utc),
        updated=datetime(2026, 12, 5, 9, 0, tzinfo=timezone(timedelta(hours=1))), author="Ana <ana@w.test>",
        priority=5, authors=(Person("Ana", "ana@w.test"), Person("Bo", uri="https://w.test/bo")), tags=("Harbour", "Levy"),
        image="https://w.test/p.jpg", enclosures=(Enclosure("https://w.test/a.mp3", "audio/mpeg", 12, "audio", 61, "A",
                                                            "the vote", ("Ana", "Bo")),),
        comments="https://w.test/c", image_caption="the quay", image_credit="Bo", episode=Episode(3, 1, "full", False),
        related="https://elsewhere.test/x", embargo=EMBARGO, takedown=Takedown("file a.txt:3", "legal"),
    )
    unset = [f.name for f in fields(Item) if f.init and f.default is not MISSING and getattr(item, f.name) == f.default]
    assert unset == [], "every field set, so a field the JSON loses fails the test"
    again = item_from_json(item_json(item))
    assert again == item and again.id == item.id
    assert again.published.microsecond == 250 and again.updated == datetime(2026, 12, 5, 8, tzinfo=timezone.utc)
    assert isinstance(again.enclosures[0].credits, tuple) and isinstance(again.authors, tuple)


def test_an_embargoed_update_waits_in_its_record_then_is_shown_in_place_at_its_time(site):
    config, store, client = site
    before = shown(client)
    outcome = filing.add(store, update(1))
    assert (outcome.status, outcome.item_id) == (DUPLICATE, ORIGINAL.id)
    assert shown(client) == before == [(f"urn:uuid:{ORIGINAL.id}", "Harbour Levy Approved", T0.isoformat())]
    assert store.category_version("business") == 1, "nothing served changed"
    [record] = store.duplicates_of(ORIGINAL.id)
    assert record.held_until == EMBARGO.isoformat() and "from its embargo, 2026-12-05T09:40:00+00:00" in record.detail
    assert "Update 1" not in client.get("/search?q=court").get_data(as_text=True)

    assert release(config, store, EMBARGO - SECOND) == [] and shown(client) == before
    assert release(config, store, EMBARGO + SECOND) == ["business"]
    assert shown(client) == [(f"urn:uuid:{ORIGINAL.id}", "UPDATE 1-Harbour Levy Approved", EMBARGO.isoformat())]
    [item] = client.get("/feeds/business.json").json["items"]
    assert item["url"] == ORIGINAL.link and item["date_published"] == T0.isoformat() and "Update 1:" in item["content_html"]
    assert "UPDATE 1-Harbour" in client.get("/search?q=court").get_data(as_text=True)
    assert held(store) == [("levy-update-1", None)], "shown once: the record keeps the version, no longer held"
    assert release(config, store, EMBARGO + 2 * SECOND) == []
    # Read again once out (its embargo past): the version shown, nothing changes.
    assert filing.add(store, update(1, embargo=None, updated=EMBARGO)).status == UNCHANGED


def test_each_worker_looks_but_one_shows_a_held_version(site):
    config, store, client = site
    filing.add(store, update(1))
    with Store(config.database) as other:
        assert other.due_versions(EMBARGO) == [(ORIGINAL.id, "business")]
        assert release(config, store, EMBARGO) == ["business"]
        assert release(config, other, EMBARGO) == [] and other.due_versions(EMBARGO) == []
        with other.transaction():
            assert other.take_due_versions(ORIGINAL.id, EMBARGO) == []
    assert store.category_version("business") == 2


def test_the_same_held_file_read_again_is_held_once_and_an_edit_replaces_what_waits(site):
    config, store, client = site
    filing.add(store, update(1))
    assert filing.add(store, update(1)).status == UNCHANGED
    edited = update(1, embargo=EMBARGO + timedelta(hours=1))
    edited.title = "UPDATE 1-Harbour Levy Approved, Agents to Sue"
    assert filing.add(store, edited).status == UNCHANGED
    assert held(store) == [("levy-update-1", (EMBARGO + timedelta(hours=1)).isoformat())], "one record, moved"
    assert release(config, store, EMBARGO + SECOND) == [], "its first embargo is no longer its own"
    assert release(config, store, EMBARGO + timedelta(hours=1)) == ["business"]
    assert [title for _, title, _ in shown(client)] == ["UPDATE 1-Harbour Levy Approved, Agents to Sue"]


def test_the_file_dropping_its_embargo_is_an_update_at_once_and_nothing_waits_after(site):
    config, store, client = site
    filing.add(store, update(1))
    outcome = filing.add(store, update(1, embargo=None, updated=T0 + timedelta(hours=1)))
    assert (outcome.status, outcome.item_id) == (UPDATED, ORIGINAL.id)
    assert shown(client) == [(f"urn:uuid:{ORIGINAL.id}", "UPDATE 1-Harbour Levy Approved",
                              (T0 + timedelta(hours=1)).isoformat())]
    assert held(store) == [("levy-update-1", None)]
    assert release(config, store, EMBARGO + SECOND) == []


def test_a_later_version_out_before_the_embargo_is_not_overwritten_by_the_held_one(site):
    config, store, client = site
    filing.add(store, update(1))
    # UPDATE 2, out at once, written after UPDATE 1's embargo: the newest.
    assert filing.add(store, update(2, embargo=None, updated=EMBARGO + timedelta(minutes=5))).status == UPDATED
    assert [title for _, title, _ in shown(client)] == ["UPDATE 2-Harbour Levy Approved"]
    assert release(config, store, EMBARGO + SECOND) == []
    assert [title for _, title, _ in shown(client)] == ["UPDATE 2-Harbour Levy Approved"]
    assert held(store) == [("levy-update-1", None), ("levy-update-2", None)], "every version kept, none waits"


def test_an_update_written_before_the_held_one_is_shown_at_once_and_the_held_one_still_at_its_time(site):
    config, store, client = site
    filing.add(store, update(1))
    assert filing.add(store, update(2, embargo=None, updated=T0 + timedelta(hours=1))).status == UPDATED
    assert [title for _, title, _ in shown(client)] == ["UPDATE 2-Harbour Levy Approved"]
    assert release(config, store, EMBARGO + SECOND) == ["business"], "the newest by the time it was written"
    assert shown(client) == [(f"urn:uuid:{ORIGINAL.id}", "UPDATE 1-Harbour Levy Approved", EMBARGO.isoformat())]


def test_of_two_held_versions_each_goes_out_at_its_time_and_of_two_due_at_once_only_the_newer(site):
    config, store, client = site
    filing.add(store, update(1))
    filing.add(store, update(2))  # the same embargo, come later: it takes UPDATE 1's turn
    filing.add(store, update(3, embargo=EMBARGO + timedelta(hours=1)))
    assert [until for _, until in held(store)] == [EMBARGO.isoformat(), EMBARGO.isoformat(),
                                                  (EMBARGO + timedelta(hours=1)).isoformat()]
    assert release(config, store, EMBARGO) == ["business"]
    assert [title for _, title, _ in shown(client)] == ["UPDATE 2-Harbour Levy Approved"]
    assert store.category_version("business") == 2, "shown once: UPDATE 1 never went out"
    assert release(config, store, EMBARGO + timedelta(hours=1)) == ["business"]
    assert shown(client) == [(f"urn:uuid:{ORIGINAL.id}", "UPDATE 3-Harbour Levy Approved",
                              (EMBARGO + timedelta(hours=1)).isoformat())]


def test_a_story_withdrawn_before_the_embargo_stays_down_and_undone_shows_the_newest_version(site):
    config, store, client = site
    filing.add(store, update(1))
    assert store.withdraw(ORIGINAL.id, "command (desk)", "legal advice", T0 + timedelta(hours=1))
    assert release(config, store, EMBARGO + SECOND) == [], "nothing served changed"
    assert shown(client) == [] and held(store) == [("levy-update-1", None)]
    assert client.get("/articles/levy").status_code == 410
    assert store.restore(ORIGINAL.id, "command (desk)", "cleared", EMBARGO + timedelta(hours=1))
    assert [title for _, title, _ in shown(client)] == ["UPDATE 1-Harbour Levy Approved"], "the newest version"


def test_undone_after_a_newer_version_came_the_held_one_is_not_resurrected(site):
    config, store, client = site
    filing.add(store, update(1))
    store.withdraw(ORIGINAL.id, "command (desk)", "legal advice", T0 + timedelta(hours=1))
    filing.add(store, update(2, embargo=None, updated=EMBARGO + timedelta(minutes=5)))
    assert release(config, store, EMBARGO + SECOND) == [] and shown(client) == []
    store.restore(ORIGINAL.id, "command (desk)", "cleared", EMBARGO + timedelta(hours=1))
    assert [title for _, title, _ in shown(client)] == ["UPDATE 2-Harbour Levy Approved"]


def test_undone_before_the_embargo_the_held_version_still_waits_for_it(site):
    config, store, client = site
    filing.add(store, update(1))
    store.withdraw(ORIGINAL.id, "command (desk)", "legal advice", T0 + timedelta(hours=1))
    store.restore(ORIGINAL.id, "command (desk)", "cleared", T0 + timedelta(hours=1, minutes=5))
    assert [title for _, title, _ in shown(client)] == ["Harbour Levy Approved"]
    assert release(config, store, EMBARGO) == ["business"]
    assert [title for _, title, _ in shown(client)] == ["UPDATE 1-Harbour Levy Approved"]


def test_a_batch_files_a_held_version_alone_and_holds_it(site):
    config, store, client = site
    other = version("ferry", "Ferry Timetable Changes")
    other.link, other.text = "http://feeds.test/articles/ferry", "the island ferry leaves forty minutes earlier"
    other.published = T0 + timedelta(minutes=1)
    outcomes = filing.file_batch(config, store, [(update(1), None, None), (other, None, None)])
    assert [(o.status, o.item_id) for o in outcomes] == [(DUPLICATE, ORIGINAL.id), (NEW, other.id)]
    assert held(store) == [("levy-update-1", EMBARGO.isoformat())]
    assert [title for _, title, _ in shown(client)] == ["Ferry Timetable Changes", "Harbour Levy Approved"]
    assert release(config, store, EMBARGO) == ["business"]
    assert "UPDATE 1-Harbour Levy Approved" in [title for _, title, _ in shown(client)]
    assert rows(store, "SELECT count(*) AS n FROM duplicates WHERE held_version IS NOT NULL")[0]["n"] == 0
