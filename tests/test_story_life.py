"""A story's whole life (issue 26): held for its embargo and released on
time, updated in place, corrected, killed or withdrawn and brought back;
what every route, feed and static file shows at each step.

Times are set, never waited for, except in the one end-to-end test that
waits a few seconds for a real embargo to lift."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import feedparser
import httpx
import pytest
import yaml
from helpers import REPO, config_holding, rows, story, wait_until, write_config
from loopback import FeedServer
from lxml import etree
from running import feedhub_run, free_port

from feedhub.config import load_config
from feedhub.ingest.cycle import run_cycle
from feedhub.model import from_iso
from feedhub.store import Store
from feedhub.web import create_app
from feedhub.worker import lifecycle

ATOM = "{http://www.w3.org/2005/Atom}"
AT = "{http://purl.org/atompub/tombstones/1.0}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
SEARCHES = {"harbour": {"query": "harbour", "title": "Harbour news"},
            "other": {"query": "number 0", "title": "Story zero"}}
SRC = REPO / "src"


def harbour_story(n: int, **fields):
    return story(n, title=f"Harbour story {n}", text=f"harbour story number {n} with its own words",
                 tags=("Harbour",), **fields)


def served_everywhere(client, title: str) -> dict[str, bool]:
    """Where `title` can be read: every route a reader or a partner's system polls."""
    found = {}
    for url in ("/feeds/business.rss", "/feeds/business.atom", "/feeds/business.json", "/feeds/tag/harbour.atom",
                "/feeds/search/harbour.json", "/c/business", "/t/harbour", "/search?q=harbour"):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        found[url] = title in response.get_data(as_text=True)
    return found


def deleted_entries(client, url: str) -> list[etree._Element]:
    response = client.get(url)
    assert response.status_code == 200
    return etree.fromstring(response.data).findall(f"{AT}deleted-entry")


# -- withdrawals ------------------------------------------------------------------


def test_a_withdrawn_story_leaves_every_route_at_once_and_atom_names_it_deleted(make_config):
    config = config_holding(make_config, [harbour_story(n) for n in range(3)], searches=SEARCHES)
    client = create_app(config).test_client()
    assert all(served_everywhere(client, "Harbour story 1").values()), "served everywhere before"
    assert re.search(r">3 items<", client.get("/").get_data(as_text=True))
    with Store(config.database) as store:
        victim = store.stories("http://t.test/1")[0]
        assert store.withdraw(victim.id, "command (desk@newsroom)", "legal advice")
        assert not store.withdraw(victim.id, "command (desk@newsroom)", "again"), "once"
    assert not any(served_everywhere(client, "Harbour story 1").values()), "gone from every route"
    assert all(served_everywhere(client, "Harbour story 2").values()), "the others stay"
    assert client.get("/feeds/business.json").json["items"][0]["title"] == "Harbour story 2"

    # Atom: an RFC 6721 deleted entry, its ref the entry's id, its when the withdrawal.
    document = client.get("/feeds/business.atom").data
    root = etree.fromstring(document)
    (gone,) = root.findall(f"{AT}deleted-entry")
    assert gone.get("ref") == f"urn:uuid:{victim.id}" and RFC3339.match(gone.get("when"))
    assert gone.findtext(f"{AT}comment") == "This story was withdrawn."
    assert "legal" not in document.decode(), "the reason is the operator's, never published"
    when = datetime.fromisoformat(gone.get("when").replace("Z", "+00:00"))
    assert datetime.fromisoformat(root.findtext(f"{ATOM}updated")) >= when, "the feed changed then"
    assert [ref.get("ref") for ref in deleted_entries(client, "/feeds/tag/harbour.atom")] == [gone.get("ref")]
    # A saved search's feed names it too (the story matched the search), and one it never matched does not.
    assert [ref.get("ref") for ref in deleted_entries(client, "/feeds/search/harbour.atom")] == [gone.get("ref")]
    assert deleted_entries(client, "/feeds/search/other.atom") == []
    parsed = feedparser.parse(document)
    assert not parsed.bozo and [e.title for e in parsed.entries] == ["Harbour story 2", "Harbour story 0"]
    # RSS and JSON Feed have no such element: the item is simply gone.
    assert b"deleted-entry" not in client.get("/feeds/business.rss").data
    # The index page counts what is served.
    assert re.search(r">2 items<", client.get("/").get_data(as_text=True))

    with Store(config.database) as store:
        (record,) = store.withdrawals(victim.id)
    assert (record.action, record.who, record.reason, record.title) == (
        "withdraw", "command (desk@newsroom)", "legal advice", "Harbour story 1")
    assert from_iso(record.at) == when


def test_an_undone_withdrawal_serves_the_story_again_updated_after_its_deleted_entry(make_config):
    config = config_holding(make_config, [harbour_story(n) for n in range(2)], searches=SEARCHES)
    client = create_app(config).test_client()
    with Store(config.database) as store:
        victim = store.stories("http://t.test/0")[0]
        store.withdraw(victim.id, "command (a)", "legal advice", datetime(2026, 12, 1, 9, tzinfo=timezone.utc))
        assert deleted_entries(client, "/feeds/business.atom")
        assert store.restore(victim.id, "command (b)", "cleared by counsel", datetime(2026, 12, 2, 9, tzinfo=timezone.utc))
        assert not store.restore(victim.id, "command (b)", "again")
        records = [(r.action, r.who, r.reason) for r in store.withdrawals(victim.id)]
    assert records == [("undo", "command (b)", "cleared by counsel"), ("withdraw", "command (a)", "legal advice")]
    assert all(served_everywhere(client, "Harbour story 0").values())
    assert deleted_entries(client, "/feeds/business.atom") == []
    entry = {e.id: e for e in feedparser.parse(client.get("/feeds/business.atom").data).entries}[f"urn:uuid:{victim.id}"]
    # Newer than the deleted entry's when: readers that dropped it take it back (RFC 6721, section 4).
    assert entry.updated_parsed[:4] == (2026, 12, 2, 9)


def test_deleted_entries_are_named_for_a_while_then_dropped_and_the_feed_moves(make_config):
    config = config_holding(make_config, [harbour_story(n) for n in range(2)], deleted_entries_for="7d")
    client = create_app(config).test_client()
    withdrawn = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    with Store(config.database) as store:
        store.withdraw(store.stories("http://t.test/0")[0].id, "command (a)", "", withdrawn)
        etag = client.get("/feeds/business.atom").headers["ETag"]
        assert lifecycle.run(config, store, withdrawn + timedelta(days=7, seconds=-1)) == []
        assert client.get("/feeds/business.atom", headers={"If-None-Match": etag}).status_code == 304
        assert lifecycle.run(config, store, withdrawn + timedelta(days=7, seconds=1)) == ["business"]
    response = client.get("/feeds/business.atom", headers={"If-None-Match": etag})
    assert response.status_code == 200 and etree.fromstring(response.data).find(f"{AT}deleted-entry") is None
    assert b"purl.org/atompub/tombstones" not in response.data, "the namespace only where it is used"


def test_the_page_of_a_withdrawn_article_answers_410_gone(make_config, articles_dir):
    config = make_config(articles=[{"path": str(articles_dir)}])
    with Store(config.database) as store:
        run_cycle(config, store)
        article = rows(store, "SELECT id, link FROM items WHERE source LIKE 'articles:%' ORDER BY link")[0]
        path = article["link"].removeprefix("http://feeds.test")
        client = create_app(config).test_client()
        assert client.get(path).status_code == 200
        store.withdraw(article["id"], "command (desk)", "legal advice", datetime(2026, 12, 3, 10, tzinfo=timezone.utc))
    page = client.get(path)
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert "This story was withdrawn" in text and "3 Dec 2026, 10:00 UTC" in text and "legal" not in text
    assert client.get("/articles/no-such-story").status_code == 404


# -- end to end: `feedhub run` (web and worker), over real HTTP --------------------------------

HOUSE_LINE = "Harbour Gazette: the paper of the north quay since 1894"
# Each story's own words (two stories sharing most of theirs would be one story).
BODIES = {
    "levy": ["Members of the harbour board voted eleven to four shortly after midnight to approve a levy on"
             " every container landed at the north quay, ending weeks of argument over who pays for new sea walls.",
             "The levy adds a small charge per container and is expected to raise about four million a year;"
             " shipping agents said the cost would fall on the smallest operators first."],
    "ferry": ["The island ferry will leave forty minutes earlier on weekdays from January, after commuters"
              " complained that the last crossing left them stranded when evening trains ran late.",
              "Saturday sailings stay as they are, and the operator promised a bus link from the terminal"
              " to the hospital once the winter timetable is printed."],
    "market": ["Stallholders at the covered fish market will pay lower rents next year after the council"
               " agreed to share the cost of new refrigeration with the traders' cooperative.",
               "The market's oldest trader, who has sold smoked herring there for fifty-one years, said the"
               " deal would keep young families from giving up their pitches."],
}


def story_file(folder: Path, name: str, headline: str, lines: list[str], body: str = "levy",
               section: str = "BUSINESS", before: list[str] = (), after: list[str] = (),
               written: datetime | None = None) -> Path:
    """An article file: section, headline, the metadata `lines`, paragraphs
    `before`, the story's own body, paragraphs `after`, and the house line."""
    path = folder / name
    paragraphs = [*before, *BODIES[body], *after, HOUSE_LINE]
    path.write_text("\n\n".join([section, "\n".join([headline, *lines]), *paragraphs]) + "\n", encoding="utf-8")
    if written:
        os.utime(path, (written.timestamp(), written.timestamp()))
    return path


@pytest.fixture
def newsroom(tmp_path, database):
    """A newsroom folder read every 10 s, two saved searches, static files, and a
    WebSub hub that looks at the business feed each time it is pinged."""
    folder, static_dir = tmp_path / "newsroom", tmp_path / "static"
    folder.mkdir()
    hub = FeedServer()
    hub.overrides["/hub"] = (204, {}, b"")
    config_path = write_config(
        tmp_path, database, articles=[{"path": str(folder), "interval": "10s"}], static_dir=str(static_dir),
        hubs=[f"{hub.url}/hub"], searches=SEARCHES, deleted_entries_for="2d",
    )
    site = SimpleNamespace(folder=folder, static=static_dir, hub=hub, config=config_path, seen_by_hub=[], port=free_port())
    # Each time the hub is pinged, it reads the business feed, as a hub does.
    hub.before["/hub"] = lambda: site.seen_by_hub.append(
        httpx.get(f"http://127.0.0.1:{site.port}/feeds/business.json", timeout=10).text)
    yield site
    hub.close()


ROUTES = ["/feeds/business.rss", "/feeds/business.atom", "/feeds/business.json", "/feeds/tag/harbour.json",
          "/feeds/search/harbour.atom", "/c/business", "/t/harbour", "/search?q=harbour"]


def business_count(run) -> str:
    """How many business stories the index page counts."""
    return re.search(r'href="/c/business".*?class="count">([^<]*)<', run.get("/").text, re.S).group(1)


def shown_on(run, title: str) -> list[str]:
    """The routes (and static files) that show `title`."""
    found = [route for route in ROUTES if title in run.get(route).text]
    return found


def in_static_files(newsroom, title: str) -> list[str]:
    return [path.name for path in sorted(newsroom.static.glob("business.*"))
            if path.suffix in (".rss", ".atom", ".json") and title in path.read_text(encoding="utf-8")]


def cli(config_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`feedhub` run as an operator runs it, beside the running site."""
    return subprocess.run([sys.executable, "-m", "feedhub.cli", "--config", str(config_path), *args],
                          capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(SRC)})


@pytest.mark.slow
def test_an_embargoed_story_shows_nowhere_until_its_time_then_goes_out_within_seconds(newsroom):
    now = datetime.now(timezone.utc)
    embargo = (now + timedelta(hours=2)).replace(second=0, microsecond=0)  # a wire writes the minute
    story_file(newsroom.folder, "ferry.txt", "Ferry Timetable Changes", ["Tags: Harbour"], body="ferry")
    story_file(newsroom.folder, "levy.txt", "Harbour Levy Vote Set for Friday",
               [f"EMBARGOED UNTIL {embargo:%H:%M} GMT {embargo:%A %-d %B %Y}", "Tags: Harbour"])
    with feedhub_run(newsroom.config, port=newsroom.port) as run:
        assert wait_until(lambda: in_static_files(newsroom, "Ferry Timetable Changes") == [
            "business.atom", "business.json", "business.rss"], 20), "the first pass is out"
        assert shown_on(run, "Ferry Timetable Changes") == ROUTES
        held = "Harbour Levy Vote"
        assert shown_on(run, held) == [] and in_static_files(newsroom, held) == []
        assert business_count(run) == "1 item"
        assert run.get("/articles/levy").status_code == 404
        # Operators see what waits, and when it goes out.
        sources = run.get("/sources").text
        assert held in sources and f"{embargo.day} {embargo:%b %Y, %H:%M} UTC" in sources
        listed = cli(newsroom.config, "sources")
        assert listed.returncode == 0 and "1 story waiting for their embargo:" in listed.stdout
        assert f"goes out {embargo:%Y-%m-%d %H:%M}Z" in listed.stdout

        pinged_before = len(newsroom.seen_by_hub)
        assert pinged_before and not any(held in seen for seen in newsroom.seen_by_hub), "no ping showed it early"
        run.move_clock((embargo - now).total_seconds() + 1)  # two hours on, in the worker and the web
        assert wait_until(lambda: held in run.get("/feeds/business.json").text, 5), "out within seconds"
        assert shown_on(run, held) == ROUTES and business_count(run) == "2 items"
        feed = run.get("/feeds/business.json").json()
        [item] = [item for item in feed["items"] if item["title"].startswith(held)]
        assert item["date_published"] == embargo.isoformat(), "dated at its embargo time"
        assert run.get("/articles/levy").status_code == 200
        assert wait_until(lambda: in_static_files(newsroom, held) == ["business.atom", "business.json", "business.rss"], 5)
        assert wait_until(lambda: any(held in seen for seen in newsroom.seen_by_hub[pinged_before:]), 5), "pinged"


@pytest.mark.slow
def test_a_real_embargo_lifts_on_time_while_the_site_runs(newsroom):
    """The one test that waits: a few seconds, for a real embargo."""
    story_file(newsroom.folder, "ferry.txt", "Ferry Timetable Changes", [], body="ferry")
    with feedhub_run(newsroom.config, port=newsroom.port) as run:
        assert wait_until(lambda: "Ferry" in run.get("/feeds/business.json").text, 20)
        embargo = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=8)
        story_file(newsroom.folder, "levy.txt", "Harbour Levy Vote Set for Friday", [f"Embargo: {embargo.isoformat()}"])
        assert cli(newsroom.config, "ingest").returncode == 0  # read now, not at the folder's next pass
        assert datetime.now(timezone.utc) < embargo, "read in time to check"
        assert "Harbour Levy" not in run.get("/feeds/business.json").text
        assert wait_until(lambda: "Harbour Levy" in run.get("/feeds/business.json").text, 30, every=0.2)
        seen = datetime.now(timezone.utc)
        item = item_titled(run, "Harbour Levy")
    assert embargo <= seen <= embargo + timedelta(seconds=4), (embargo, seen)
    assert item["date_published"] == embargo.isoformat()


LEDE = ("Shipping agents said on Tuesday they would take the levy to court, arguing that it breaks the terms"
        " of their quay licences, which run until the end of the decade.")
NEXT = ["What Happens Next", "The levy is collected from March, quarter by quarter."]


def item_titled(run, prefix: str) -> dict | None:
    items = [item for item in run.get("/feeds/business.json").json()["items"] if item["title"].startswith(prefix)]
    assert len(items) <= 1, items
    return items[0] if items else None


def rewrite_config(newsroom, **settings) -> None:
    """feeds.yaml again, with more (or other) settings, before the site starts."""
    data = yaml.safe_load(newsroom.config.read_text(encoding="utf-8"))
    newsroom.config.write_text(yaml.safe_dump({**data, **settings}, sort_keys=False), encoding="utf-8")


@pytest.mark.slow
def test_wire_updates_and_a_correction_update_the_story_in_place(newsroom):
    """Points 2, 3 and 5: versions from the folder update the story under its
    id and link; a copy from another desk does not; a correction is a
    marked note and moves the updated time; the versions' shared
    sub-heading is the story's, never the house's."""
    t0 = datetime(2026, 12, 5, 7, 40, tzinfo=timezone.utc)
    desk = newsroom.folder.parent / "desk"
    desk.mkdir()
    rewrite_config(newsroom, articles=[{"path": str(newsroom.folder), "interval": "10s"},
                                       {"path": str(desk), "interval": "10s"}])
    story_file(newsroom.folder, "ferry.txt", "Ferry Timetable Changes", [f"Published: {t0.isoformat()}"], body="ferry")
    story_file(newsroom.folder, "market.txt", "Fish Market Rents Cut", [f"Published: {t0.isoformat()}"], body="market")
    for name in ("levy.txt", "levy-resent.txt"):  # the original, exported twice
        story_file(newsroom.folder, name, "Harbour Levy Approved", [f"Published: {t0.isoformat()}"], after=NEXT)
    with feedhub_run(newsroom.config, port=newsroom.port) as run:
        assert wait_until(lambda: item_titled(run, "Harbour Levy"), 20)
        first = item_titled(run, "Harbour Levy")
        assert "<h2>What Happens Next</h2>" in first["content_html"], "the story keeps its sub-heading"
        assert not any(HOUSE_LINE in item["content_html"] for item in run.get("/feeds/business.json").json()["items"])

        updated = t0 + timedelta(hours=2)
        story_file(newsroom.folder, "levy-update-1.txt", "UPDATE 1-Harbour Levy Approved, Agents to Sue",
                   [f"Published: {t0.isoformat()} | Updated: {updated.isoformat()}"], before=[LEDE], after=NEXT)
        story_file(desk, "levy-desk.txt", "Levy Approved at Harbour", [f"Published: {(t0 + timedelta(hours=3)).isoformat()}"])
        assert wait_until(lambda: (item_titled(run, "UPDATE 1") or {}).get("id") == first["id"], 25), "in place"
        item = item_titled(run, "UPDATE 1")
        assert (item["url"], item["date_published"]) == (first["url"], first["date_published"])
        assert item["date_modified"] == updated.isoformat() and LEDE in item["content_html"]
        assert "<h2>What Happens Next</h2>" in item["content_html"]
        assert [i["title"] for i in run.get("/feeds/business.json").json()["items"]].count(item["title"]) == 1
        assert item_titled(run, "Levy Approved at Harbour") is None, "another desk's copy stays a duplicate"
        atom = {e.id: e for e in feedparser.parse(run.get("/feeds/business.atom").content).entries}[first["id"]]
        assert atom.title == item["title"] and atom.updated_parsed[:5] == (2026, 12, 5, 9, 40)
        page = run.get(first["url"].removeprefix("http://feeds.test")).text
        assert "UPDATE 1-Harbour Levy Approved" in page and "updated <time" in page and LEDE in page
        versions = cli(newsroom.config, "duplicates", first["url"])
        assert versions.returncode == 0, versions.stderr
        assert "3 duplicates:" in versions.stdout and "newer version from the same input" in versions.stdout, versions.stdout
        for name in ("levy-resent", "levy-update-1", "levy-desk"):
            assert f"/articles/{name}" in versions.stdout

        # A correction, written into the version shown, at 10:40.
        corrected = t0 + timedelta(hours=3)
        story_file(newsroom.folder, "levy-update-1.txt", "UPDATE 1-Harbour Levy Approved, Agents to Sue",
                   [f"Published: {t0.isoformat()} | Updated: {updated.isoformat()}"], before=[LEDE],
                   after=[*NEXT, "Correction: An earlier version of this story gave the vote as eleven to three."],
                   written=corrected)
        assert wait_until(lambda: "Correction:" in item_titled(run, "UPDATE 1")["content_html"], 25)
        item = item_titled(run, "UPDATE 1")
        assert ('<p class="note correction"><strong>Correction:</strong> An earlier version of this story gave the'
                ' vote as eleven to three.</p>') in item["content_html"]
        assert item["id"] == first["id"] and item["date_modified"] == corrected.isoformat()


@pytest.mark.slow
def test_an_embargoed_update_of_a_story_that_is_out_waits_for_its_time_then_updates_it_in_place(newsroom):
    """A wire's UPDATE 1 under an embargo of its own, from the folder of a story
    that is out: every route keeps the story's text until the embargo, then
    the worker shows the update under the story's id and link, dated then."""
    now = datetime.now(timezone.utc)
    t0 = (now - timedelta(hours=1)).replace(second=0, microsecond=0)
    embargo = (now + timedelta(hours=2)).replace(second=0, microsecond=0)  # a wire writes the minute
    story_file(newsroom.folder, "ferry.txt", "Ferry Timetable Changes", [f"Published: {t0.isoformat()}"], body="ferry")
    story_file(newsroom.folder, "levy.txt", "Harbour Levy Approved", [f"Published: {t0.isoformat()}", "Tags: Harbour"])
    with feedhub_run(newsroom.config, port=newsroom.port) as run:
        assert wait_until(lambda: len(in_static_files(newsroom, "Harbour Levy Approved")) == 3, 20)
        first = item_titled(run, "Harbour Levy")
        update = story_file(newsroom.folder, "levy-update-1.txt", "UPDATE 1-Harbour Levy Approved, Agents to Sue",
                            [f"EMBARGOED UNTIL {embargo:%H:%M} GMT {embargo:%A %-d %B %Y}", "Tags: Harbour"],
                            before=[LEDE])
        assert wait_until(lambda: file_seen(newsroom.config, update), 25), "read by the worker"
        assert cli(newsroom.config, "ingest").returncode == 0  # and read again: still held once
        pinged = len(newsroom.seen_by_hub)

        held = "UPDATE 1"
        assert shown_on(run, held) == [] and shown_on(run, "Harbour Levy Approved") == ROUTES
        assert in_static_files(newsroom, held) == [] and len(in_static_files(newsroom, "Harbour Levy Approved")) == 3
        assert item_titled(run, "Harbour Levy") == first, "the story as it was, dated as it was"
        page = run.get("/articles/levy").text
        assert "Harbour Levy Approved" in page and held not in page and LEDE not in page
        assert run.get("/articles/levy-update-1").status_code == 404
        assert "Harbour Levy" not in run.get("/search?q=licences").text, "its words are found in no search"
        assert business_count(run) == "2 items"
        record = rows(load_config(newsroom.config), "SELECT held_until FROM duplicates WHERE guid = 'levy-update-1'")
        assert record == [{"held_until": embargo.isoformat()}], "one record, holding the version until its embargo"
        # Operators see what waits, and when it goes out.
        assert f"{embargo.day} {embargo:%b %Y, %H:%M} UTC" in run.get("/sources").text.split(held)[1]
        listed = cli(newsroom.config, "sources").stdout
        assert "1 update of stories that are out waiting for their embargo" in listed
        assert f"{held}-Harbour Levy Approved, Agents to Sue" in listed and f"goes out {embargo:%Y-%m-%d %H:%M}Z" in listed

        run.move_clock((embargo - now).total_seconds() + 1)
        assert wait_until(lambda: (item_titled(run, held) or {}).get("id") == first["id"], 5), "in place within seconds"
        item = item_titled(run, held)
        assert (item["url"], item["date_published"]) == (first["url"], first["date_published"])
        assert item["date_modified"] == embargo.isoformat() and LEDE in item["content_html"]
        ids = [entry["id"] for entry in run.get("/feeds/business.json").json()["items"]]
        assert sorted(ids).count(first["id"]) == 1 and len(ids) == 2, "one story"
        assert "Harbour Levy" in run.get("/search?q=licences").text
        atom = {e.id: e for e in feedparser.parse(run.get("/feeds/business.atom").content).entries}[first["id"]]
        assert atom.title == item["title"] and atom.link == first["url"]
        assert datetime(*atom.updated_parsed[:6], tzinfo=timezone.utc) == embargo
        rss = [e for e in feedparser.parse(run.get("/feeds/business.rss").content).entries if e.title == item["title"]]
        assert [e.link for e in rss] == [first["url"]]
        assert shown_on(run, held) == ROUTES and business_count(run) == "2 items"
        page = run.get("/articles/levy").text
        assert held in page and LEDE in page and "updated <time" in page
        assert wait_until(lambda: len(in_static_files(newsroom, held)) == 3, 5), "static files written"
        assert wait_until(lambda: any(held in seen for seen in newsroom.seen_by_hub[pinged:]), 5), "hubs pinged"
        versions = cli(newsroom.config, "duplicates", first["url"])
        assert "1 duplicate:" in versions.stdout and "/articles/levy-update-1" in versions.stdout, versions.stdout
        assert "from its embargo" in versions.stdout
        assert rows(load_config(newsroom.config), "SELECT held_until FROM duplicates") == [{"held_until": None}]
        assert "update of stories" not in cli(newsroom.config, "sources").stdout and "Updates of" not in run.get("/sources").text


def file_seen(config_path: Path, path: Path) -> str | None:
    """When the worker last read an article file (its record)."""
    found = rows(load_config(config_path), "SELECT seen FROM article_files WHERE path = ?", [str(path)])
    return found[0]["seen"] if found else None


@pytest.mark.slow
def test_a_killed_story_is_gone_from_everything_at_once_and_stays_gone_until_undone(newsroom):
    """Point 4 for the newsroom's own file: Status: killed."""
    t0 = datetime(2026, 12, 5, 7, 40, tzinfo=timezone.utc)
    story_file(newsroom.folder, "ferry.txt", "Ferry Timetable Changes", ["Tags: Harbour"], body="ferry")
    levy = story_file(newsroom.folder, "levy.txt", "Harbour Levy Approved", [f"Published: {t0.isoformat()}", "Tags: Harbour"])
    title = "Harbour Levy Approved"
    with feedhub_run(newsroom.config, port=newsroom.port) as run:
        assert wait_until(lambda: len(in_static_files(newsroom, title)) == 3, 20)
        assert shown_on(run, title) == ROUTES
        item_id = item_titled(run, title)["id"]
        pinged = len(newsroom.seen_by_hub)
        story_file(newsroom.folder, "levy.txt", title, [f"Published: {t0.isoformat()}", "Tags: Harbour",
                                                        "Status: killed - legal advice"])
        assert wait_until(lambda: item_titled(run, title) is None, 25)
        assert shown_on(run, title) == [] and in_static_files(newsroom, title) == []
        assert shown_on(run, "Ferry Timetable Changes") == ROUTES
        assert run.get("/articles/levy").status_code == 410
        atom = etree.fromstring(run.get("/feeds/business.atom").content)
        assert [gone.get("ref") for gone in atom.findall(f"{AT}deleted-entry")] == [item_id]
        assert wait_until(lambda: len(newsroom.seen_by_hub) > pinged, 5), "the hub was told"
        assert title not in newsroom.seen_by_hub[-1]
        record = cli(newsroom.config, "withdrawals")
        assert f"withdrawn: {title}" in record.stdout and f"by: file {levy}:6" in record.stdout  # its line
        assert "why: legal advice" in record.stdout

        # The file edited again, its Status line gone: a later read never brings the story back.
        seen = file_seen(newsroom.config, levy)
        story_file(newsroom.folder, "levy.txt", "Harbour Levy Approved, Vote Recounted",
                   [f"Published: {t0.isoformat()}", "Tags: Harbour"])
        assert wait_until(lambda: file_seen(newsroom.config, levy) != seen, 25), "read again"
        assert shown_on(run, "Harbour Levy") == [] and run.get("/articles/levy").status_code == 410

        # Until an operator undoes it: back at once, in every route and static file.
        undone = cli(newsroom.config, "withdraw", "--undo", str(levy))
        assert undone.returncode == 0 and "served again" in undone.stdout, undone.stderr
        assert shown_on(run, "Harbour Levy Approved, Vote Recounted") == ROUTES
        assert len(in_static_files(newsroom, "Vote Recounted")) == 3, "written by the command itself"
        assert etree.fromstring(run.get("/feeds/business.atom").content).find(f"{AT}deleted-entry") is None
        assert run.get("/articles/levy").status_code == 200


@pytest.mark.slow
def test_a_source_entry_is_taken_down_by_command_at_once_and_a_later_fetch_never_brings_it_back(newsroom, feed_server):
    """Point 4 for a source feed's entry: a legal takedown with `feedhub withdraw`."""
    rewrite_config(newsroom, sources=[{**feed_server.source("world-wire", "world-wire.rss", "business"), "interval": "10s"}])
    title, link = "Rivers commission approves flood barrier plan", "https://news.example.com/world/2026/11/19/danube-flood-barriers"
    with feedhub_run(newsroom.config, port=newsroom.port) as run:
        assert wait_until(lambda: len(in_static_files(newsroom, title)) == 3, 20)
        refused = cli(newsroom.config, "withdraw", link)
        assert refused.returncode == 2 and "say why with --reason" in refused.stderr
        assert title in run.get("/feeds/business.rss").text, "nothing done without a reason"
        pinged = len(newsroom.seen_by_hub)
        done = cli(newsroom.config, "withdraw", link, "--reason", "court order 2026/114")
        assert done.returncode == 0 and "withdrawn" in done.stdout, done.stderr
        # At once: no wait for any worker.
        for url in ("/feeds/business.rss", "/feeds/business.atom", "/feeds/business.json", "/c/business"):
            assert title not in run.get(url).text, url
        assert in_static_files(newsroom, title) == [] and len(newsroom.seen_by_hub) > pinged
        again = cli(newsroom.config, "withdraw", link, "--reason", "twice")
        assert "already withdrawn" in again.stdout
        # The source still carries it, changed: the worker fetches and files it again, and it stays down.
        served = feed_server.root / "world-wire.rss"
        served.write_text(served.read_text(encoding="utf-8").replace("lower Danube", "lower Danube river"), encoding="utf-8")
        fetched = len(feed_server.requests)
        assert wait_until(lambda: feed_server.statuses[200] >= 2 and len(feed_server.requests) > fetched, 25)
        assert wait_until(lambda: rows(load_config(newsroom.config), "SELECT title FROM items WHERE link = ?",
                                       [link])[0]["title"].endswith("river"), 10), "filed again"
        assert title not in run.get("/feeds/business.rss").text and in_static_files(newsroom, title) == []
    record = cli(newsroom.config, "withdrawals").stdout
    assert "why: court order 2026/114" in record and "by: feedhub withdraw (" in record


# -- versions and holds, pass by pass (no server) ------------------------------------------


def newsroom_config(tmp_path, database, folder: Path):
    return load_config(write_config(tmp_path, database, articles=[{"path": str(folder)}]))


def served(store, config) -> dict[str, dict]:
    """The business feed as JSON, by title."""
    client = create_app(config).test_client()
    return {item["title"]: item for item in client.get("/feeds/business.json").json["items"]}


def test_reading_every_version_again_keeps_the_newest_shown_and_reaches_its_text(tmp_path, database):
    folder = tmp_path / "newsroom"
    folder.mkdir()
    t0 = datetime(2026, 12, 5, 7, 40, tzinfo=timezone.utc)
    story_file(folder, "a.txt", "Harbour Levy Approved", [f"Published: {t0.isoformat()}"])
    story_file(folder, "b-update.txt", "UPDATE 1-Harbour Levy Approved",
               [f"Updated: {(t0 + timedelta(hours=2)).isoformat()}"], before=[LEDE])
    config = newsroom_config(tmp_path, database, folder)
    with Store(config.database) as store:
        assert run_cycle(config, store).counts["articles:newsroom"] == {"new": 1, "updated": 1}
        assert list(served(store, config)) == ["UPDATE 1-Harbour Levy Approved"]
        # Every file read again (new rules): the original is older, it stays in the record only.
        store.forget_rules(str(folder))
        assert run_cycle(config, store).counts["articles:newsroom"] == {"unchanged": 2}
        assert list(served(store, config)) == ["UPDATE 1-Harbour Levy Approved"]
        # An edit of the version shown reaches the story.
        story_file(folder, "b-update.txt", "UPDATE 1-Harbour Levy Approved, Agents Object",
                   [f"Updated: {(t0 + timedelta(hours=2)).isoformat()}"], before=[LEDE],
                   written=datetime(2026, 12, 6, tzinfo=timezone.utc))
        assert run_cycle(config, store).counts["articles:newsroom"] == {"updated": 1, "unchanged": 1}
        [(title, item)] = served(store, config).items()
        assert title == "UPDATE 1-Harbour Levy Approved, Agents Object" and item["url"].endswith("/articles/a")


def test_a_held_story_goes_out_at_once_when_its_file_drops_the_embargo_and_leaves_no_deleted_entry_if_killed(
        tmp_path, database):
    folder = tmp_path / "newsroom"
    folder.mkdir()
    later = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=1)
    story_file(folder, "a.txt", "Harbour Levy Approved", [f"Embargo: {later.isoformat()}"])
    story_file(folder, "b.txt", "Ferry Timetable Changes", [f"Embargo: {later.isoformat()}"], body="ferry")
    config = newsroom_config(tmp_path, database, folder)
    with Store(config.database) as store:
        run_cycle(config, store)
        version = store.category_version("business")
        assert served(store, config) == {} and store.held_count() == 2
        assert version == 0, "filing held stories moves no feed"
        story_file(folder, "a.txt", "Harbour Levy Approved", [], written=datetime(2026, 12, 6, tzinfo=timezone.utc))
        run_cycle(config, store)
        assert list(served(store, config)) == ["Harbour Levy Approved"] and store.held_count() == 1
        # Killed while held: gone, and never named deleted (no reader ever had it).
        story_file(folder, "b.txt", "Ferry Timetable Changes", [f"Embargo: {later.isoformat()}", "Status: killed"],
                   body="ferry", written=datetime(2026, 12, 6, tzinfo=timezone.utc))
        run_cycle(config, store)
        assert store.held_count() == 0 and store.deleted_entries("business") == []
        assert [row.title for row in store.withdrawn_items()] == ["Ferry Timetable Changes"]
        assert lifecycle.run(config, store, later + timedelta(seconds=1)) == [], "nor released at its time"
