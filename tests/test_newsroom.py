"""Article files as newsroom CMS exports write them: metadata lines, the three
layers of boilerplate, lists, re-reading when the rules change, and what an
operator and a subscriber see of it all."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import pytest
import yaml
from helpers import REPO, rows, write_config

from feedhub.articles.boilerplate import FAMILIES, HouseStyle, learned
from feedhub.articles.dates import DateUnreadable, parse_date
from feedhub.articles.parse import ArticleError, parse_article, parse_text
from feedhub.cli import main
from feedhub.config import ConfigError, load_config
from feedhub.ingest import folders, pool
from feedhub.ingest.cycle import run_cycle
from feedhub.store import HouseLine, Store
from feedhub.web import create_app

CORPUS = REPO / "bench" / "data" / "articles"
BODY = "The council voted on Tuesday to rebuild the harbour wall before the winter storms arrive.\n\n"


def article(tmp_path: Path, text: str, name: str = "a.txt") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- metadata lines --------------------------------------------------------------


@pytest.mark.parametrize(
    "line, authors",
    [
        ("By Jonas Lindqvist", ["Jonas Lindqvist"]),
        ("BY JONAS LINDQVIST", ["Jonas Lindqvist"]),
        ("By Mara Okafor and Jonas Lindqvist", ["Mara Okafor", "Jonas Lindqvist"]),
        ("By Mara Okafor, Ravi Menon & Ingrid van der Berg", ["Mara Okafor", "Ravi Menon", "Ingrid van der Berg"]),
        ("By Mara Okafor, Political Editor", ["Mara Okafor"]),
        ("By Mara Okafor in Stockholm", ["Mara Okafor"]),
        ("Written by Political Staff | December 3, 2026", ["Political Staff"]),
        ("Author: Priya Nair", ["Priya Nair"]),
    ],
)
def test_a_byline_becomes_the_authors_not_a_heading(tmp_path, line, authors):
    parsed = parse_article(article(tmp_path, f"WORLD\n\nHarbour Wall Vote\n{line}\n\n{BODY}"))
    assert parsed.authors == authors
    assert parsed.blocks == [("p", BODY.strip())]


def test_a_sentence_starting_with_by_is_body(tmp_path):
    parsed = parse_article(article(tmp_path, f"WORLD\n\nHarbour Wall Vote\n\n{BODY}By Tuesday the pumps were running again.\n"))
    assert parsed.authors == [] and parsed.paragraphs[-1] == "By Tuesday the pumps were running again."


@pytest.mark.parametrize(
    "written, utc",
    [
        ("2026-12-03T10:30:00Z", "2026-12-03T10:30:00"),
        ("2026-12-03T10:30:00+05:30", "2026-12-03T05:00:00"),
        ("Thu, 03 Dec 2026 10:30:00 +0100", "2026-12-03T09:30:00"),
        ("3 Dec 2026, 11:15 AM CET", "2026-12-03T10:15:00"),
        ("December 3, 2026 10:30 GMT", "2026-12-03T10:30:00"),
        ("Dec. 3, 2026 at 9:05 a.m. EST", "2026-12-03T14:05:00"),
        ("Dec 03, 2026 11:15 AM IST", "2026-12-03T05:45:00"),
        ("Thursday, 3 December 2026 14:00 AEDT", "2026-12-03T03:00:00"),
        ("3 Jun 2026 09:00 BST", "2026-06-03T08:00:00"),
        ("3 Jun 2026 09:00 CEST", "2026-06-03T07:00:00"),
        ("3 Dec 2026 09:00 EET", "2026-12-03T07:00:00"),
        ("3 Jun 2026 09:00 EDT", "2026-06-03T13:00:00"),
        ("3 Dec 2026 09:00 CST", "2026-12-03T15:00:00"),
        ("3 Dec 2026 09:00 PST", "2026-12-03T17:00:00"),
        ("3 Dec 2026 09:00 JST", "2026-12-03T00:00:00"),
        ("3 Dec 2026 09:00 AEST", "2026-12-02T23:00:00"),
        ("3 Dec 2026 18:20 GMT+1", "2026-12-03T17:20:00"),
        ("11:15 IST, 3 Dec 2026", "2026-12-03T05:45:00"),
    ],
)
def test_dates_in_newsroom_formats_and_zones_are_read_as_utc(written, utc):
    assert parse_date(written) == datetime.fromisoformat(utc).replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("written", ["next tuesday", "31 Nov 2026 10:00", "3 Dec 2026 13:00 PM", "soon after lunch"])
def test_what_is_not_a_date_is_refused(written):
    with pytest.raises(DateUnreadable):
        parse_date(written)


def test_published_and_updated_datelines_at_head_and_tail(tmp_path):
    parsed = parse_article(article(tmp_path, (
        "WORLD\n\nHarbour Wall Vote\nPublished: 3 Dec 2026, 10:00 CET\n\n" + BODY + "Updated: 3 Dec 2026, 11:15 AM CET\n"
    )))
    assert parsed.published == datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc)
    assert parsed.updated == datetime(2026, 12, 3, 10, 15, tzinfo=timezone.utc)
    assert parsed.paragraphs == [BODY.strip()]


def test_tags_image_caption_and_credit_lines(tmp_path):
    parsed = parse_article(article(tmp_path, (
        "WORLD\n\nHarbour Wall Vote\n"
        "Image: https://cdn.example.org/wall.jpg | The wall at dusk | Photo: AFP\n\n" + BODY +
        "Photo: Reuters/Ann Lee\n\nImage courtesy of the council\n\n"
        "Keywords: Floods; Harbour\nTopics: #Council #Floods\nTags: Elections, Parliament\n"
    )))
    assert parsed.image == "https://cdn.example.org/wall.jpg" and parsed.caption == "The wall at dusk"
    assert parsed.credit == "Photo: AFP"
    assert parsed.tags == ["Floods", "Harbour", "Council", "Elections", "Parliament"]
    assert parsed.paragraphs == [BODY.strip()]
    reasons = {line: why for _, line, why in parsed.dropped}
    assert reasons["Photo: Reuters/Ann Lee"] == reasons["Image courtesy of the council"] == "metadata: credit"


def test_a_zoneless_date_is_taken_in_the_folders_timezone(tmp_path, database):
    folder = tmp_path / "nordic"
    folder.mkdir()
    article(folder, "TECH\n\nBy Jonas Lindqvist\nTram App Shows Crowding\n2026-12-03 09:30\n\n" + BODY)
    config = load_config(write_config(tmp_path, database, articles=[{"path": str(folder), "timezone": "Europe/Stockholm"}]))
    with Store(config.database) as store:
        run_cycle(config, store)
        row = store.db.execute("SELECT published, title, authors FROM items").fetchone()
    assert row[0] == "2026-12-03T08:30:00+00:00"
    assert row[1] == "Tram App Shows Crowding" and json.loads(row[2]) == [{"name": "Jonas Lindqvist"}]


def test_an_unknown_timezone_is_a_config_error(tmp_path, database):
    with pytest.raises(ConfigError, match=r"articles\[0\]\.timezone: unknown time zone 'Mars/Olympus'"):
        load_config(write_config(tmp_path, database, articles=[{"path": "x", "timezone": "Mars/Olympus"}]))


def test_an_unreadable_metadata_line_is_reported_and_the_article_published(tmp_path, database, capsys):
    folder = tmp_path / "articles"
    folder.mkdir()
    path = article(folder, "WORLD\n\nHarbour Wall Vote\nUpdated: 31 Nov 2026 10:00 CET\nTags: Floods\n\n" + BODY)
    config_path = write_config(tmp_path, database, articles=[{"path": str(folder)}])
    assert main(["--config", str(config_path), "ingest"]) == 0
    out = capsys.readouterr().out
    assert f"{path}:4: cannot read the date '31 Nov 2026 10:00 CET'" in out
    with Store(load_config(config_path).database) as store:
        assert store.count("items") == 1
        assert json.loads(store.db.execute("SELECT tags FROM items").fetchone()[0]) == ["Floods"]


# -- embargoes, kills and corrections --------------------------------------------------


@pytest.mark.parametrize(
    "line, utc",
    [
        ("Embargo: 4 Dec 2026, 06:00 CET", "2026-12-04T05:00:00"),
        ("EMBARGOED UNTIL 00:01 GMT THURSDAY 3 DECEMBER 2026", "2026-12-03T00:01:00"),
        ("EMBARGOED UNTIL 0001 GMT, 5 DEC 2026", "2026-12-05T00:01:00"),
        ("Embargoed until 06.00 BST on Friday 4 June 2027", "2027-06-04T05:00:00"),
        ("Hold for release until 2026-12-04T06:00:00+05:30", "2026-12-04T00:30:00"),
        ("Embargo: 4 Dec 2026 06:00", "2026-12-04T05:00:00"),  # no zone: the folder's (Europe/Stockholm here)
    ],
)
def test_an_embargo_line_is_read_with_the_dateline_reader_zones_included(tmp_path, line, utc):
    for text in (f"WORLD\n{line}\nHarbour Wall Vote\n\n{BODY}", f"WORLD\n\nHarbour Wall Vote\n\n{BODY}{line}\nTags: Floods\n"):
        parsed = parse_text(text, tmp_path / "a.txt", zone=ZoneInfo("Europe/Stockholm"))
        assert parsed.embargo == datetime.fromisoformat(utc).replace(tzinfo=timezone.utc)
        assert parsed.paragraphs == [BODY.strip()]
        assert (line, "metadata: embargo") in [(text, why) for _, text, why in parsed.dropped]


@pytest.mark.parametrize("line, message", [
    ("Embargo: after the minister speaks", "cannot read the embargo time 'after the minister speaks'"),
    ("EMBARGOED", "an embargo line without its time"),
    ("Status: pending", "unknown status 'pending': write Status: killed"),
])
def test_an_embargo_or_status_that_cannot_be_read_refuses_the_file_never_publishes_it(tmp_path, line, message):
    with pytest.raises(ArticleError) as refused:
        parse_text(f"WORLD\n{line}\nHarbour Wall Vote\n\n{BODY}", tmp_path / "a.txt")
    assert str(refused.value).startswith(f"{tmp_path / 'a.txt'}:2: {message}")


@pytest.mark.parametrize("line, reason", [
    ("Status: killed", ""), ("STATUS: KILLED - legal advice", "legal advice"),
    ("Status: withdrawn (published in error)", "published in error"),
    ("Status: retracted: the data was wrong", "the data was wrong"),
])
def test_a_status_line_withdraws_the_story_with_its_reason(tmp_path, line, reason):
    parsed = parse_text(f"WORLD\n\nHarbour Wall Vote\n\n{BODY}{line}\n", tmp_path / "a.txt")
    assert (parsed.withdrawn, parsed.withdrawn_reason) == (7, reason)  # its line number
    assert parsed.paragraphs == [BODY.strip()]


def test_body_lines_that_start_like_embargo_or_status_lines_stay_body(tmp_path):
    lines = ["Embargoes on grain exports were lifted last week.", "Status: the talks are stalled, both sides said.",
             "Holders of the bonds will be paid in March."]
    parsed = parse_text("WORLD\n\nHarbour Wall Vote\n\n" + BODY + "\n\n".join(lines) + "\n", tmp_path / "a.txt")
    assert parsed.paragraphs == [BODY.strip(), *lines] and parsed.embargo is None and not parsed.withdrawn
    assert parse_text(f"WORLD\n\nHarbour Wall Vote\n\n{BODY}Status: published\n", tmp_path / "a.txt").withdrawn == 0


def test_corrections_and_clarifications_are_marked_notes_where_they_stand(tmp_path):
    parsed = parse_text(
        "WORLD\n\nHarbour Wall Vote\nCorrection: An earlier version misstated the vote count.\n\n" + BODY
        + "What Happens Next\n\nCLARIFICATION (4 Dec 2026, 10:00 CET): The wall rises two metres, not three.\n\n"
        "The work starts in May.\n\nCorrection - The mayor's name was misspelt.\nTags: Floods\n",
        tmp_path / "a.txt",
    )
    assert parsed.blocks == [
        ("note", "Correction: An earlier version misstated the vote count."), ("p", BODY.strip()),
        ("h", "What Happens Next"), ("note", "Clarification: The wall rises two metres, not three."),
        ("p", "The work starts in May."), ("note", "Correction: The mayor's name was misspelt."),
    ]
    html = parsed.html()
    assert '<p class="note clarification"><strong>Clarification:</strong> The wall rises two metres, not three.</p>' in html
    assert "<p class=\"note correction\"><strong>Correction:</strong> The mayor's name was misspelt.</p>" in html
    assert parsed.summary == BODY.strip(), "a note is not the summary"
    assert "Correction: An earlier version misstated the vote count." in parsed.text
    # The clarification's own date is when the story last changed; the file's time is not asked.
    written = datetime(2026, 12, 5, tzinfo=timezone.utc)
    assert parsed.corrected == parsed.revised(written) == datetime(2026, 12, 4, 9, 0, tzinfo=timezone.utc)


def test_a_correction_without_a_date_dates_the_version_by_the_file(tmp_path):
    updated = "Updated: 3 Dec 2026, 11:15 CET\n"
    plain = parse_text(f"WORLD\n\nHarbour Wall Vote\n{updated}\n{BODY}", tmp_path / "a.txt")
    corrected = parse_text(f"WORLD\n\nHarbour Wall Vote\n{updated}\n{BODY}Correction: The vote was 212 to 180.\n",
                           tmp_path / "a.txt")
    written = datetime(2026, 12, 6, 8, 0, tzinfo=timezone.utc)
    assert plain.revised(written) == datetime(2026, 12, 3, 10, 15, tzinfo=timezone.utc)
    assert corrected.revised(written) == written
    assert corrected.revised(datetime(2026, 12, 1, tzinfo=timezone.utc)) == corrected.updated, "never earlier than Updated:"


# -- boilerplate: curated families --------------------------------------------------


FAMILY_LINES = {
    "share/follow prompt": ["Share on LinkedIn", "Share this article", "Follow us on Instagram and TikTok",
                            "Join our WhatsApp channel for breaking news", "Telegram Group Join Now",
                            "Facebook | X | Bluesky", "Share via Email", "Share via X (formerly Twitter)",
                            "Facebook / X (formerly Twitter) / LinkedIn"],
    "related link": ["Also Read: Council Approves Budget", "Read Also: Harbour Plan Approved", "Read More: Budget Talks",
                     "Related: Storm Warnings Issued", "Recommended: Five Ferries to Try", "Related Stories", "ALSO READ | Port Fees Rise",
                     "More from this section", "MORE FROM THE SERIES"],
    "app prompt": ["Download the Coastline Herald app for live alerts", "Get the Tribune app on iOS and Android",
                   "Available on the App Store and Google Play"],
    "newsletter prompt": ["Sign up for our Morning Briefing newsletter", "Subscribe to our Morning Briefing", "Newsletter"],
    "donation appeal": ["Support independent journalism from £1 a month", "Donate now", "Become a member today and read without limits"],
    "copyright line": ["© 2026 Coastline Herald Ltd.", "Copyright 2026 Meridian Wire Service. All rights reserved.", "All rights reserved."],
    "advertisement": ["Advertisement", "ADVERTISEMENT", "Story continues below advertisement", "- Advertisement -", "Sponsored"],
    "agency credit": ["(With inputs from agencies)", "(With inputs from PTI)", "With inputs from Reuters and AFP"],
    "navigation": ["Back to top", "Back to top button", "Skip to content"],
}
BODY_LOOKALIKES = [
    "Join the queue early, officials advised.", "Copyright lawyers said the case was weak.",
    "Contributors to the fund include the council.", "Share prices fell by a fifth on Monday.",
    "Related talks will resume in January, the ministry said.", "Follow-up inspections found no damage.",
    "Download speeds doubled after the upgrade, the regulator said.",
    "X (formerly Twitter) said it would appeal.", "More from the minister's speech is expected on Friday.",
]


def test_every_curated_family_has_examples():
    assert set(FAMILY_LINES) == set(FAMILIES)


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_curated_family_lines_are_dropped_with_their_family_named(tmp_path, family):
    lines = FAMILY_LINES[family]
    parsed = parse_article(article(tmp_path, "WORLD\n\nHarbour Wall Vote\n\n" + BODY + "\n".join(lines) + "\n\nThe work starts in May.\n"))
    assert parsed.paragraphs == [BODY.strip(), "The work starts in May."]
    assert [why for _, line, why in parsed.dropped if line in lines] == [f"curated: {family}"] * len(lines)


def test_body_sentences_that_resemble_boilerplate_are_kept(tmp_path):
    parsed = parse_article(article(tmp_path, "WORLD\n\nHarbour Wall Vote\n\n" + BODY + "\n\n".join(BODY_LOOKALIKES) + "\n"))
    assert parsed.paragraphs == [BODY.strip(), *BODY_LOOKALIKES] and parsed.dropped == []


# -- boilerplate: operator lists ---------------------------------------------------------


def test_operator_boilerplate_and_keep_lists(tmp_path):
    rules = HouseStyle(extra=[r"coastline herald politics desk"], keep=[r"related stories"])
    parsed = parse_article(article(tmp_path, "WORLD\n\nHarbour Wall Vote\n\n" + BODY + "Coastline Herald Politics Desk\n\nRelated Stories\n\nAlso Read: Port Fees\n"), rules)
    assert parsed.blocks == [("p", BODY.strip()), ("p", "Related Stories")]
    assert [(line, why) for _, line, why in parsed.dropped] == [
        ("Coastline Herald Politics Desk", "feeds.yaml boilerplate"), ("Also Read: Port Fees", "curated: related link")]


def test_an_allow_listed_also_read_line_is_a_paragraph_never_a_heading(tmp_path):
    parsed = parse_article(article(tmp_path, "WORLD\n\nHarbour Wall Vote\n\n" + BODY + "Also Read: Council Approves Budget\n"), HouseStyle(keep=["also read:.*"]))
    assert parsed.blocks[-1] == ("p", "Also Read: Council Approves Budget")


# -- structure ------------------------------------------------------------------------------


def test_bullets_and_numbers_become_lists_quotes_stay_paragraphs_headings_stay(tmp_path):
    """Bullet lines in a row are one list, blank lines between them or not."""
    parsed = parse_article(article(tmp_path, (
        "WORLD\n\nHarbour Wall Vote\n\n" + BODY + "What the Levy Pays For\n\n"
        "• Raising the wall\n• New pumps\n\n- Warning texts\n\n"
        "1. Consultation in January\n2) Work in spring\n\n"
        "“We cannot keep bailing out the same streets,” the minister said.\n\n"
        "“A Harbour That Works”\n"
    )))
    assert parsed.blocks == [
        ("p", BODY.strip()), ("h", "What the Levy Pays For"), ("ul", "Raising the wall\nNew pumps\nWarning texts"),
        ("ol", "Consultation in January\nWork in spring"),
        ("p", "“We cannot keep bailing out the same streets,” the minister said."), ("p", "“A Harbour That Works”"),
    ]
    assert "<ul><li>Raising the wall</li><li>New pumps</li><li>Warning texts</li></ul>" in parsed.html()
    assert "<ol><li>Consultation in January</li><li>Work in spring</li></ol>" in parsed.html()


# -- learned house style ---------------------------------------------------------------------

HOUSE_LINE = "Support the Gull Gazette: tell a friend about us"


SUBJECTS = ["ferry", "lighthouse", "fish market", "lifeboat", "sea wall", "tide gauge", "boatyard", "pier",
            "harbour school", "salt marsh"]
EVENTS = ["was repainted in bright orange", "closed for a week of repairs", "won a national award",
          "doubled its opening hours", "lost its roof in the gale", "found a sponsor for next year",
          "hired three apprentices", "moved to the north quay", "celebrated its centenary", "ran out of volunteers"]
# Words of each story's own: without them two stories shared up to 0.6 of
# their word triples (the formula and the house line), above the
# near-duplicate threshold, and were kept apart only while LSH missed them.
# With them, at most 0.4.
DETAILS = ["Passengers queued past the chandlery with bicycles, prams and crates of early strawberries, and a"
           " brass band played sea shanties on the slipway.",
           "Its keeper polished every brass fitting while gulls circled the rocky headland below; visitors climbed"
           " ninety spiral steps for the view.",
           "Stallholders sold mackerel, crab claws and smoked herring until well after dusk, and a chef from Brest"
           " cooked chowder in copper pans.",
           "Volunteer crews practised capsize drills beside the breakwater twice this winter, timed by a coxswain"
           " with a battered stopwatch.",
           "Engineers poured fresh concrete along the promenade where shingle had piled up, while dog walkers"
           " detoured through the allotments.",
           "Scientists from the university compared its readings against satellite measurements and found storm"
           " surges creeping higher each decade.",
           "Carpenters steamed oak planks for a restored fishing smack named Morwenna, caulking seams with hemp"
           " and pine tar.",
           "Anglers still cast for bass from its weathered timber decking each evening, swapping bait tips under"
           " flickering lamps.",
           "Pupils built model boats and tested them in a paddling pool outside assembly, then wrote poems about"
           " cormorants.",
           "Birdwatchers counted avocets, redshanks and a rare spoonbill near the creek, logging sightings in a"
           " waterproof notebook."]


def gazette(n: int, house: bool = True, extra: str = "") -> str:
    """Story n of a small paper: its own words (no near-duplicates), and the house line."""
    subject, event, later = SUBJECTS[n % 10], EVENTS[n % 10], EVENTS[(n + 3) % 10]
    tail = f"{HOUSE_LINE}\n" if house else ""
    return (f"WORLD\n\nThe {subject.title()} Story\n\nOn Monday the {subject} {event}, residents told the paper."
            f" {DETAILS[n % 10]}\n\n"
            f"{extra}Last spring it {later}; few expected {n} such turns in one year.\n\n{tail}")


def ingest_config(tmp_path: Path, database: str, folder: Path, **settings):
    return load_config(write_config(tmp_path, database, articles=[{"path": str(folder), **settings}]))


def gazette_folder(tmp_path: Path, database: str, numbers: range, key_points: tuple[int, ...] = ()):
    """(folder, config) of the Gazette's stories `numbers`, with a "Key Points"
    sub-heading in the stories `key_points`."""
    folder = tmp_path / "gazette"
    folder.mkdir()
    for n in numbers:
        article(folder, gazette(n, extra="Key Points\n\n" if n in key_points else ""), f"{n}.txt")
    return folder, ingest_config(tmp_path, database, folder)


def stored(store: Store) -> dict[str, dict]:
    return {row["guid"]: row for row in rows(store, "SELECT * FROM items")}


def test_a_house_line_is_learned_after_three_files_and_old_items_lose_it(tmp_path, database):
    folder, config = gazette_folder(tmp_path, database, range(1, 3))
    with Store(config.database) as store:
        run_cycle(config, store)
        before = stored(store)
        assert all(HOUSE_LINE in row["text"] for row in before.values()), "in two files: not yet the house's"
        article(folder, gazette(3), "3.txt")
        summary = run_cycle(config, store)
        after = stored(store)
        assert summary.counts["articles:gazette"] == {"new": 1, "updated": 2}
        assert not any(HOUSE_LINE in row["text"] or HOUSE_LINE in row["content"] for row in after.values())
        assert {g: (r["id"], r["link"]) for g, r in before.items()} == {g: (r["id"], r["link"]) for g, r in after.items() if g in before}
        # Nothing changed since: nothing is read again.
        assert run_cycle(config, store).counts["articles:gazette"] == {"unchanged": 3}


def test_an_edited_file_is_counted_once_as_it_is_now(tmp_path, database):
    folder, config = gazette_folder(tmp_path, database, range(1, 5))
    with Store(config.database) as store:
        run_cycle(config, store)
        path = folder / "4.txt"
        path.write_text(gazette(4, house=False) + "Gazette Night Desk\n", encoding="utf-8")
        os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
        run_cycle(config, store)
        total, lines = store.house_lines(str(folder), 1)
    counts = {line.text: line.files for line in lines.values()}
    assert total == 4 and counts[HOUSE_LINE] == 3 and counts["Gazette Night Desk"] == 1


def test_a_line_in_one_story_is_never_house_style(tmp_path, database):
    folder, config = gazette_folder(tmp_path, database, range(1, 9), key_points=(2, 5))
    with Store(config.database) as store:
        run_cycle(config, store)
        texts = [row["text"] for row in stored(store).values()]
    assert sum("Key Points" in text for text in texts) == 2, "a heading two stories share stays"
    assert len(texts) == 8 and sum(HOUSE_LINE in text for text in texts) == 0


SUB_HEADING = "What Happens Next"


def test_versions_of_one_story_vote_once_so_its_sub_headings_are_never_house_style(tmp_path, database):
    """The issue's small folder: three stories, and a fourth in three files
    (the original, a re-export, an update with a new lede).  Counted per
    file, its sub-heading was in 3 of 6 files (50%) and was cut as the
    house's; counted per story it is in 1 of 4, and the house line, in
    every story, is still learned."""
    folder, config = gazette_folder(tmp_path, database, range(1, 4))
    story = gazette(4, extra=f"{SUB_HEADING}\n\n")
    article(folder, story, "4.txt")
    article(folder, story.replace("\n\n" + HOUSE_LINE, "\n\nExported by the night desk\n\n" + HOUSE_LINE), "4-export.txt")
    lede = ("UPDATE: The harbour board met again late on Monday and promised the repairs would be finished before"
            " the spring tides, after residents packed the hall to ask who would pay for them.\n\n")
    article(folder, story.replace("The Sea Wall Story\n\n", "Sea Wall Repairs Promised Before Spring\n\n" + lede), "4-update.txt")
    with Store(config.database) as store:
        run_cycle(config, store)
        total, lines = store.house_lines(str(folder), 1)
        texts = [row["text"] for row in stored(store).values()]
        served = " ".join(row["text"] for row in rows(store, "SELECT text FROM items"))
    counts = {line.text: line.files for line in lines.values()}
    assert total == 4, "four stories, six files"
    assert counts[HOUSE_LINE] == 4 and counts[SUB_HEADING] == 1
    assert SUB_HEADING in served, "the story keeps its sub-heading"
    assert not any(HOUSE_LINE in text for text in texts), "the house line is still learned"


def test_a_file_edited_into_another_story_takes_its_vote_back(tmp_path, database):
    folder, config = gazette_folder(tmp_path, database, range(1, 4))
    article(folder, gazette(1), "1-copy.txt")  # a second copy of story 1
    with Store(config.database) as store:
        run_cycle(config, store)
        assert store.house_lines(str(folder), 1)[0] == 3
        path = folder / "1-copy.txt"
        path.write_text(gazette(7, extra="Gazette Night Desk\n\n"), encoding="utf-8")  # now a story of its own
        os.utime(path, ns=(path.stat().st_mtime_ns + 10**9,) * 2)
        run_cycle(config, store)
        total, lines = store.house_lines(str(folder), 1)
    counts = {line.text: line.files for line in lines.values()}
    assert total == 4 and counts[HOUSE_LINE] == 4 and counts["Gazette Night Desk"] == 1


def test_house_lines_reach_the_worker_processes(tmp_path, database, monkeypatch):
    monkeypatch.setattr(folders, "PARALLEL_FROM", 5)
    monkeypatch.setattr(pool, "spare_cores", lambda: 1)
    folder, config = gazette_folder(tmp_path, database, range(1, 9))
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        texts = [row["text"] for row in stored(store).values()]
    assert summary.counts["articles:gazette"] == {"new": 8}
    assert len(texts) == 8 and not any(HOUSE_LINE in text for text in texts)


def test_house_style_thresholds_and_their_hysteresis():
    def line(files, since=0, was=False):
        return {"k": HouseLine("Gazette Night Desk", files, since, was)}

    assert learned(line(2), 2) == {}, "two files are never enough"
    assert learned(line(3), 3) == {"k": "Gazette Night Desk"}
    assert learned(line(3, since=94), 100) == {"k": "Gazette Night Desk"}, "a new line in an old folder: its own share"
    assert learned(line(4), 10) == {}, "in 40% of the files: not learned"
    assert learned(line(4, was=True), 10) == {"k": "Gazette Night Desk"}, "once learned, kept down to 30%"
    assert learned(line(2, was=True), 10) == {}


def test_feeds_yaml_rule_change_rerenders_stored_items_keeping_ids_and_duplicates(tmp_path, database):
    folder = tmp_path / "gazette"
    folder.mkdir()
    article(folder, gazette(1, house=False, extra="Gazette Night Desk\n\n"), "1.txt")
    article(folder, gazette(1, house=False, extra="Gazette Night Desk\n\n"), "1-copy.txt")  # the same story again
    config_path = write_config(tmp_path, database, articles=[{"path": str(folder)}])
    config = load_config(config_path)
    with Store(config.database) as store:
        run_cycle(config, store)
        before = stored(store)
        duplicates = store.count("duplicates")
    assert len(before) == 1 and duplicates == 1
    data = yaml.safe_load(config_path.read_text())
    data["articles"][0]["boilerplate"] = ["gazette night desk"]
    config_path.write_text(yaml.safe_dump(data))
    config = load_config(config_path)
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        after = stored(store)
        assert store.count("duplicates") == duplicates
    assert summary.counts["articles:gazette"]["updated"] == 1
    assert before.keys() == after.keys()
    row = next(iter(after.values()))
    assert "Gazette Night Desk" not in row["text"] and row["id"] == next(iter(before.values()))["id"]


# -- what operators see ---------------------------------------------------------------------


def test_boilerplate_dropped_and_rerender_commands(tmp_path, database, capsys):
    folder, _ = gazette_folder(tmp_path, database, range(1, 5), key_points=(2,))
    config_path = tmp_path / "feeds.yaml"
    assert main(["--config", str(config_path), "ingest"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config_path), "boilerplate", "gazette"]) == 0
    out = capsys.readouterr().out
    assert f"{folder}: 4 files counted" in out
    assert f"learned (dropped): 1\n        4 of 4     {HOUSE_LINE}" in out
    assert main(["--config", str(config_path), "dropped", str(folder / "2.txt")]) == 0
    out = capsys.readouterr().out
    assert f"line  11: {HOUSE_LINE}  [house style]" in out
    link = "http://feeds.test/articles/2"
    assert main(["--config", str(config_path), "dropped", link]) == 0
    assert f"line  11: {HOUSE_LINE}  [house style]" in capsys.readouterr().out
    assert main(["--config", str(config_path), "rerender"]) == 0
    out = capsys.readouterr().out
    assert f"{folder}: 4 files to read again" in out and "total                     0          0          4" in out
    assert main(["--config", str(config_path), "boilerplate", "nowhere"]) == 2


def test_article_page_shows_byline_tags_image_and_operator_view_the_dropped_lines(tmp_path, database):
    folder = tmp_path / "articles"
    folder.mkdir()
    article(folder, (
        "WORLD\n\nHarbour Wall Vote\nBy Mara Okafor\nImage: https://cdn.example.org/wall.jpg\n\n"
        + BODY + "Share on LinkedIn\nTags: Floods, Harbour\n"), "wall.txt")
    config = ingest_config(tmp_path, database, folder)
    with Store(config.database) as store:
        run_cycle(config, store)
    client = create_app(config).test_client()
    page = client.get("/articles/wall").get_data(as_text=True)
    assert "By Mara Okafor" in page and "Tags: Floods, Harbour" in page
    assert 'src="https://cdn.example.org/wall.jpg"' in page and "Share on LinkedIn" not in page
    source = client.get("/articles/wall/source")
    text = source.get_data(as_text=True)
    assert source.status_code == 200
    assert "<td>Share on LinkedIn</td><td>curated: share/follow prompt</td>" in text
    assert "<td>By Mara Okafor</td><td>metadata: byline</td>" in text
    assert client.get("/articles/nothing/source").status_code == 404


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_served_feeds_carry_the_articles_author_tags_and_image(tmp_path, database, fmt):
    folder = tmp_path / "articles"
    folder.mkdir()
    article(folder, (
        "WORLD\n\nHarbour Wall Vote\nWritten by Mara Okafor and Ravi Menon | 3 Dec 2026, 10:00 CET\n"
        "Image: https://cdn.example.org/wall.jpg | The wall | Photo: AFP\n\n" + BODY + "Tags: Floods, Harbour\n"), "wall.txt")
    config = ingest_config(tmp_path, database, folder)
    with Store(config.database) as store:
        run_cycle(config, store)
    body = create_app(config).test_client().get(f"/feeds/international.{fmt}").data
    if fmt == "json":
        entry = json.loads(body)["items"][0]
        assert [a["name"] for a in entry["authors"]] == ["Mara Okafor", "Ravi Menon"]
        assert entry["tags"] == ["Floods", "Harbour"] and entry["image"] == "https://cdn.example.org/wall.jpg"
        assert entry["date_published"].startswith("2026-12-03T09:00:00")
        return
    entry = feedparser.parse(body).entries[0]
    names = [a.get("name") for a in entry.get("authors", [])]
    assert "Mara Okafor" in " ".join(filter(None, names)) and "Ravi Menon" in " ".join(filter(None, names))
    assert [t.term for t in entry.tags] == ["Floods", "Harbour"]
    assert "https://cdn.example.org/wall.jpg" in body.decode()
    assert entry.published_parsed[:5] == (2026, 12, 3, 9, 0)


# -- the labelled corpus -----------------------------------------------------------------------


def test_the_labelled_corpus_is_read_as_labelled(tmp_path, make_database):
    """Every house of bench/data/articles: no body line dropped, every
    boilerplate line dropped, every metadata field as written (the body as
    the file is read under the house style learned: the stored story of a
    file that is one version of it may show another)."""
    expected = json.loads((CORPUS / "expected.json").read_text(encoding="utf-8"))
    assert len(expected["files"]) >= 80 and len(expected["houses"]) >= 8
    assert sum(expect["version"] != 0 for expect in expected["files"].values()) >= 5, "updates and re-exports"
    for house, settings in expected["houses"].items():
        shutil.copytree(CORPUS / house, tmp_path / house / house)
        folder = tmp_path / house / house
        config = load_config(write_config(tmp_path / house, make_database(), articles=[{"path": str(folder), **settings}]))
        with Store(config.database) as store:
            run_cycle(config, store)
            total, lines = store.house_lines(str(folder))
            rules = HouseStyle(house=learned(lines, total))
            for name in [n for n in expected["files"] if n.startswith(f"{house}/")]:
                expect, path = expected["files"][name], tmp_path / house / name
                record = store.file_state(str(path))
                parse = json.loads(record.parse)
                assert record.item_id and store.item(record.item_id), name
                numbers = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line.strip()]
                dropped = {number for number, _, _ in parse["dropped"]}
                left_out = [label for number, label in zip(numbers, expect["labels"]) if number in dropped]
                assert "body" not in left_out, name
                assert left_out.count("boilerplate") == expect["labels"].count("boilerplate"), name
                for field in ("authors", "published", "updated", "tags", "image", "credit"):
                    assert parse[field] == expect[field], (name, field)
                read = parse_article(path, rules, ZoneInfo(settings["timezone"]))
                assert read.blocks == [tuple(block) for block in expect["blocks"]], name
                assert len(parse["warnings"]) == expect["warnings"], name


def test_the_bundled_examples_and_the_real_export_shape_still_parse_as_before():
    real = Path(os.environ.get("FEEDHUB_SHARED", "/work/shared")) / "fixtures" / "articles"
    for path in [*sorted((REPO / "examples" / "articles").glob("*.txt")), *sorted(real.glob("*.txt"))]:
        parsed = parse_article(path)
        assert parsed.authors == [] and parsed.tags == [] and parsed.warnings == []
        assert {kind for kind, _ in parsed.blocks} <= {"p", "h"}
        assert not any("Join Now" in text or "Back to top" in text for _, text in parsed.blocks)


def test_the_docs_example_file_reads_as_the_docs_say():
    page = (REPO / "docs" / "articles.md").read_text(encoding="utf-8")
    example = page.split("## One file with every kind of line", 1)[1].split("```\n")[1]
    parsed = parse_text(example, Path("example.txt"), HouseStyle(extra=["coastline herald politics desk"]))
    assert parsed.headline == "Parliament Backs Harbour Flood Levy After Late-Night Vote"
    assert parsed.authors == ["Mara Okafor", "Jonas Lindqvist"] and parsed.tags == ["Elections", "Parliament"]
    assert (parsed.published, parsed.updated) == (datetime(2026, 12, 3, 9, 0, tzinfo=timezone.utc),
                                                  datetime(2026, 12, 3, 10, 15, tzinfo=timezone.utc))
    assert (parsed.image, parsed.credit) == ("https://cdn.example.org/harbour.jpg", "Photo: AFP")
    assert [kind for kind, _ in parsed.blocks] == ["p", "h", "ul", "ol", "p"]


def test_a_story_is_released_at_its_embargo_or_its_published_time_whichever_is_later(tmp_path):
    def released(head: str, now: datetime) -> datetime | None:
        return parse_text(f"WORLD\n{head}\nHarbour Wall Vote\n\n{BODY}", tmp_path / "a.txt").release(now)

    now = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
    embargo, published = "Embargo: 4 Dec 2026, 06:00 GMT", "Published: 4 Dec 2026, 07:00 GMT"
    assert released(embargo, now) == datetime(2026, 12, 4, 6, 0, tzinfo=timezone.utc)
    assert released(published, now) == datetime(2026, 12, 4, 7, 0, tzinfo=timezone.utc), "a future Published: holds it"
    assert released(f"{embargo}\n{published}", now) == datetime(2026, 12, 4, 7, 0, tzinfo=timezone.utc)
    assert released(embargo, datetime(2026, 12, 4, 6, 0, tzinfo=timezone.utc)) is None, "due: out at once"
    assert released("Published: 1 Dec 2026, 07:00 GMT", now) is None
