"""Writes the labelled newsroom corpus: bench/data/articles/<house>/*.txt and
bench/data/articles/expected.json.

    python bench/article_corpus.py          # into bench/data/articles
    python bench/article_corpus.py FOLDER   # elsewhere (the smoke run: tests/test_bench_smoke.py)

Eight invented houses, each a different CMS export: byline above or below
the headline, datelines in different formats and zones, different footers,
tags, images, credits and lists.  Two of them keep several versions of some
stories: a wire's UPDATE 1 and UPDATE 2 with a new first paragraph and a
correction, and a small paper's original, re-export and update of one story
(whose sub-heading and list, in three of its six files, must not be learned
as its house style).  The stories are bench/data/article_stories.yaml.
Every line is labelled as it is written (section, headline, body, metadata or
boilerplate), and each file's expected parse (authors, dates, tags, image,
credit, blocks, warnings) is made from what was put in, never from what
feedhub reads: bench/articles.py compares the two.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

DATA = Path(__file__).resolve().parent / "data"
OUT = DATA / "articles"
STORIES = yaml.safe_load((DATA / "article_stories.yaml").read_text(encoding="utf-8"))
AUTHORS = ["Jonas Lindqvist", "Mara Okafor", "Priya Nair", "Tomás Ferreira", "Aiko Tanaka", "Grace O'Neill",
           "Samuel Mensah", "Ingrid van der Berg", "Ravi Menon", "Elena Petrova", "Daniel Cho"]
# (folder, IANA zone for feeds.yaml, stories it carries)
HOUSES = {
    "coastline": ("UTC", range(0, 11)),
    "deccan": ("Asia/Kolkata", range(7, 18)),
    "nordbladet": ("Europe/Stockholm", [*range(14, 18), *range(0, 7)]),
    "meridian": ("America/New_York", range(3, 14)),
    "pacific": ("Australia/Sydney", [*range(10, 18), *range(0, 3)]),
    "metro": ("Europe/London", [*range(5, 16)]),
    "harbourwire": ("UTC", [0, 2, 4, 6, 8, 9, 11, 12]),
    "islandpost": ("Europe/Dublin", [8, 3, 16, 13]),
}
# Houses that keep versions of a story: (story, version) per file, in the
# folder's order; version 0 is the story as first filed, "export" a second
# export of it, n its n-th update (the story's `versions` in the YAML).
VERSIONS = {
    "harbourwire": [(0, 0), (0, 1), (0, 2), (2, 0), (2, "export"), (4, 0), (6, 0), (8, 0), (8, 1), (9, 0),
                    (11, 0), (12, 0), (12, 1)],
    "islandpost": [(8, 0), (8, "export"), (8, 1), (3, 0), (16, 0), (13, 0)],
}


class File:
    """One article file being written, line by line, with its labels."""

    def __init__(self, story: dict, zone: str):
        self.story, self.zone = story, zone
        self.lines: list[tuple[str, str]] = []  # (text, label)
        self.expect = {"authors": [], "published": None, "updated": None, "tags": [], "image": "",
                       "credit": "", "warnings": 0, "blocks": []}

    def add(self, text: str, label: str) -> None:
        self.lines.append((text, label))

    def blank(self) -> None:
        self.lines.append(("", "blank"))

    def body(self, kind: str, text: str, line: str | None = None) -> None:
        self.add(line or text, "body")
        blocks = self.expect["blocks"]
        if kind in ("ul", "ol") and blocks and blocks[-1][0] == kind:
            blocks[-1][1] += "\n" + text
        else:
            blocks.append([kind, text])

    def story_body(self, bullet: str = "• ", boilerplate_after: dict[int, list[str]] | None = None) -> None:
        """The story's paragraphs, sub-heading, list and pull quote, with
        boilerplate lines after paragraph n (0-based) as given."""
        after = boilerplate_after or {}
        story = self.story
        paragraphs = story["paragraphs"]
        for index, paragraph in enumerate(paragraphs):
            self.body("p", paragraph)
            self.blank()
            for line in after.get(index, []):
                self.add(line, "boilerplate")
            if after.get(index):
                self.blank()
            if index == 1:
                if story.get("heading"):
                    self.body("h", story["heading"])
                    self.blank()
                for item in story.get("bullets", []):
                    self.body("ul", item, f"{bullet}{item}")
                for number, item in enumerate(story.get("numbered", []), start=1):
                    self.body("ol", item, f"{number}. {item}")
                if story.get("bullets") or story.get("numbered"):
                    self.blank()
                if story.get("quote"):
                    self.body("p", story["quote"])
                    self.blank()

    def text(self) -> str:
        return "\n".join(text for text, _ in self.lines) + "\n"


def when(n: int, zone: str, hour: int = 9, minute: int = 5) -> datetime:
    """The n-th story's time in a zone: spread over November and December."""
    local = datetime(2026, 11, 2, hour, minute) + timedelta(days=n * 3, minutes=n * 7)
    return local.replace(tzinfo=ZoneInfo(zone))


def utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def slug(headline: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", headline.lower()).strip("-")[:48]


def tags_for(story: dict) -> list[str]:
    words = [w for w in re.findall(r"[A-Z][a-z]+", story["headline"]) if len(w) > 4]
    return [story["section"].title(), *words[:2]]


def coastline(f: File, n: int, other: dict) -> None:
    s = f.story
    author = AUTHORS[n % len(AUTHORS)]
    published = when(n, "Europe/London", 10, 0)
    zone = "BST" if published.utcoffset() else "GMT"
    f.add(s["section"], "section")
    f.blank()
    f.add(s["headline"], "headline")
    f.add(f"By {author}", "meta")
    f.expect.update(authors=[author])
    f.add("Coastline Herald Politics Desk", "boilerplate")
    stamp = f"Published: {published:%-d %b %Y, %H:%M} {zone}"
    f.expect["published"] = utc(published)
    if n % 2:
        updated = published + timedelta(hours=1, minutes=15)
        stamp += f" | Updated: {updated:%-d %b %Y, %H:%M} {zone}"
        f.expect["updated"] = utc(updated)
    f.add(stamp, "meta")
    if n % 3:
        url = f"https://img.coastlineherald.example/2026/{slug(s['headline'])}.jpg"
        f.add(f"Image: {url} | {s['headline'].split()[0]} on the day | Photo: Harbour Images", "meta")
        f.expect.update(image=url, credit="Photo: Harbour Images")
    f.blank()
    f.story_body(boilerplate_after={0: ["Share on LinkedIn"] if n % 2 else [], 1: [f"Read Also: {other['headline']}"]})
    if n % 3:  # house lines not in every file: this one in 7 of 11
        f.add("Got a tip? Call the newsdesk on 01632 960 123", "boilerplate")
    f.add("Support independent journalism from £1 a month", "boilerplate")
    f.add("Download the Coastline Herald app for live alerts", "boilerplate")
    tags = tags_for(s)
    f.add("Tags: " + ", ".join(tags), "meta")
    f.expect.update(tags=tags)
    f.add("© 2026 Coastline Herald Ltd.", "boilerplate")


def deccan(f: File, n: int, other: dict) -> None:
    s = f.story
    author = "Staff Reporter" if n % 3 == 0 else AUTHORS[(n + 3) % len(AUTHORS)]
    moment = when(n, "Asia/Kolkata", 11, 15)
    f.add(s["section"], "section")
    f.blank()
    f.add(s["headline"], "headline")
    f.blank()
    f.add(f"Written by {author} | Updated: {moment:%b %d, %Y %I:%M %p} IST", "meta")
    f.expect.update(authors=[author], published=utc(moment), updated=utc(moment))
    f.blank()
    echo = " ".join(s["headline"].lower().split()[:3]).capitalize()
    f.story_body(boilerplate_after={0: [echo, "WhatsApp Group Join Now"], 1: [f"Also Read: {other['headline']}"]})
    f.add("(With inputs from agencies)", "boilerplate")
    tags = tags_for(s)
    f.add("Keywords: " + ", ".join(t.lower() for t in tags), "meta")
    f.expect["tags"] = [t.lower() for t in tags]
    f.add("For more news like this, stay tuned to Deccan Ledger", "boilerplate")
    f.add("Deccan Ledger is on Google News. Tap the star to add us to your favourites", "boilerplate")
    f.add("Back to top button", "boilerplate")


def nordbladet(f: File, n: int, other: dict) -> None:
    s = f.story
    author = AUTHORS[(n + 5) % len(AUTHORS)]
    moment = when(n, "Europe/Stockholm", 8, 30)
    f.add(s["section"], "section")
    f.blank()
    f.add(f"By {author}", "meta")
    f.expect["authors"] = [author]
    f.add(s["headline"], "headline")
    f.add(f"{moment:%Y-%m-%d %H:%M}", "meta")
    f.expect["published"] = utc(moment)
    photographer = AUTHORS[(n + 1) % len(AUTHORS)]
    f.add(f"Photo: {photographer} / Nordbladet", "meta")
    f.expect["credit"] = f"Photo: {photographer} / Nordbladet"
    f.blank()
    f.story_body(bullet="- ")
    tags = tags_for(s)
    f.add("Topics: " + "; ".join(tags), "meta")
    f.expect["tags"] = tags
    f.add("Nordbladet – news from the north since 1921", "boilerplate")
    f.add("Share on Facebook / X / LinkedIn", "boilerplate")
    f.add("Read more from the north at nordbladet.example", "boilerplate")


def meridian(f: File, n: int, other: dict) -> None:
    s = f.story
    first, second = AUTHORS[n % len(AUTHORS)], AUTHORS[(n + 4) % len(AUTHORS)]
    moment = when(n, "America/New_York", 9, 5)
    zone = "EDT" if moment.dst() else "EST"
    f.add(s["section"], "section")
    f.blank()
    f.add(s["headline"], "headline")
    f.blank()
    f.add(f"By {first} and {second}, Meridian Wire Staff Writers", "meta")
    f.expect["authors"] = [first, second]
    hour = moment.strftime("%I").lstrip("0")
    meridiem = "a.m." if moment.hour < 12 else "p.m."
    f.add(f"{moment:%b}. {moment.day}, {moment:%Y} at {hour}:{moment:%M} {meridiem} {zone}", "meta")
    f.expect["published"] = utc(moment)
    f.blank()
    f.story_body(bullet="* ", boilerplate_after={0: ["Advertisement"], 1: ["Story continues below advertisement"]})
    f.add("Copyright 2026 Meridian Wire Service. All rights reserved.", "boilerplate")
    if n % 4 != 1:  # in 8 of 11
        f.add("Meridian Wire: trusted reporting since 1950", "boilerplate")


def pacific(f: File, n: int, other: dict) -> None:
    s = f.story
    moment = when(n, "Australia/Sydney", 14, 0)
    zone = "AEDT" if moment.dst() else "AEST"
    author = AUTHORS[(n + 7) % len(AUTHORS)]
    f.add(s["section"], "section")
    f.blank()
    f.add(s["headline"], "headline")
    f.add(f"Posted on {moment:%A, %-d %B %Y %H:%M} {zone}", "meta")
    f.expect["published"] = utc(moment)
    url = f"https://media.pacifictribune.example/{n:03d}/{slug(s['headline'])}.png"
    f.add(f"Image: {url} | A view of the scene | Image courtesy of the harbour board", "meta")
    f.expect.update(image=url, credit="Image courtesy of the harbour board")
    f.blank()
    f.story_body(bullet="– ", boilerplate_after={0: ["Related Stories"]})
    tags = tags_for(s)
    f.add("Tags: " + " ".join(f"#{t}" for t in tags), "meta")
    f.expect["tags"] = tags
    f.add("Get the Pacific Tribune newsletter in your inbox every morning", "boilerplate")
    f.add("Pacific Tribune acknowledges the Traditional Owners of the land where we work", "boilerplate")
    f.add(f"Reporter: {author}", "meta")
    f.expect["authors"] = [author]


def metro(f: File, n: int, other: dict) -> None:
    s = f.story
    moment = when(n, "Europe/London", 10, 30)
    author = AUTHORS[(n + 2) % len(AUTHORS)]
    f.add(s["section"], "section")
    f.blank()
    f.add(s["headline"], "headline")
    f.add(f"Author: {author}", "meta")
    f.expect["authors"] = [author]
    if n == 9:  # a slip of the CMS: 31 November
        f.add("Date: Tue, 31 Nov 2026 10:30:00 +0000", "meta")
        f.expect["warnings"] = 1
    else:
        f.add(f"Date: {moment.astimezone(timezone.utc):%a, %d %b %Y %H:%M:%S} +0000", "meta")
        f.expect["published"] = utc(moment)
    tags = tags_for(s)
    f.add("Tags: " + " | ".join(tags), "meta")
    f.expect["tags"] = tags
    f.blank()
    f.story_body(boilerplate_after={1: [f"Recommended: {other['headline']}"]})
    f.add("Got a story? Email newsdesk@metroevening.example", "boilerplate")
    if n < 7:  # dropped from the template after the seventh story
        f.add("Metro Evening Post reader services 0800 555 0199", "boilerplate")
    f.add("Share this article", "boilerplate")
    f.add("Back to top", "boilerplate")


def harbourwire(f: File, n: int, other: dict, version: int | str = 0) -> None:
    """A wire service: UPDATE n- headlines, each update's new paragraph first,
    a correction in some, the network's new name in its share line."""
    s = f.story
    number = version if isinstance(version, int) else 0
    update = s["versions"][number - 1] if number else {}
    author = AUTHORS[(n + 6) % len(AUTHORS)]
    published = when(n, "UTC", 7, 40)
    f.add(s["section"], "section")
    f.add(f"UPDATE {number}-{s['headline']}" if number else s["headline"], "headline")
    f.add(f"By {author}", "meta")
    f.expect["authors"] = [author]
    stamp = f"Published: {published:%Y-%m-%dT%H:%M:%SZ}"
    f.expect["published"] = utc(published)
    if number:
        updated = published + timedelta(hours=2 * number)
        stamp += f" | Updated: {updated:%Y-%m-%dT%H:%M:%SZ}"
        f.expect["updated"] = utc(updated)
    f.add(stamp, "meta")
    f.blank()
    for earlier in reversed(s.get("versions", [])[:number]):  # the newest news first
        f.body("p", earlier["lede"])
        f.blank()
    f.story_body()
    if update.get("correction"):
        f.body("note", f"Correction: {update['correction']}")
        f.blank()
    f.add("Share via X (formerly Twitter)", "boilerplate")
    f.add("More from this section", "boilerplate")
    f.add("Harbour Wire: an independent news agency since 1931", "boilerplate")
    tags = tags_for(s)
    f.add("Tags: " + ", ".join(tags), "meta")
    f.expect["tags"] = tags


def islandpost(f: File, n: int, other: dict, version: int | str = 0) -> None:
    """A small paper: one story kept as first written, re-exported, and updated
    under a new headline; its sub-heading and list are in three files of six."""
    s = f.story
    number = version if isinstance(version, int) else 0
    update = s["versions"][number - 1] if number else {}
    published = when(n, "Europe/Dublin", 18, 15)
    f.add(s["section"], "section")
    f.blank()
    f.add(update.get("headline") or s["headline"], "headline")
    f.add(f"Posted {published:%-d %B %Y, %H:%M} GMT", "meta")
    f.expect["published"] = utc(published)
    if number:
        updated = published + timedelta(days=1, hours=1)
        f.add(f"Updated {updated:%-d %B %Y, %H:%M} GMT", "meta")
        f.expect["updated"] = utc(updated)
    f.blank()
    if update:
        f.body("p", update["lede"])
        f.blank()
    f.story_body(boilerplate_after={0: ["Share via X (formerly Twitter)"]})
    f.add("Island Post: your island, your news", "boilerplate")
    f.add("More from this section", "boilerplate")


WRITERS = {"coastline": coastline, "deccan": deccan, "nordbladet": nordbladet,
           "meridian": meridian, "pacific": pacific, "metro": metro,
           "harbourwire": harbourwire, "islandpost": islandpost}


def main(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    expected = {"houses": {}, "files": {}}
    for house, (zone, stories) in HOUSES.items():
        (out / house).mkdir(parents=True)
        expected["houses"][house] = {"timezone": zone}
        files = VERSIONS.get(house) or [(index, 0) for index in stories]
        for place, (index, version) in enumerate(files, start=1):
            story = STORIES[index]
            other = STORIES[(index + 5) % len(STORIES)]
            file = File(story, zone)
            n = stories.index(index)
            if house in VERSIONS:
                WRITERS[house](file, n, other, version)
            else:
                WRITERS[house](file, n, other)
            suffix = "" if version == 0 else f"-{version}" if version == "export" else f"-update-{version}"
            name = f"{house}/{place:02d}-{slug(story['headline'])}{suffix}.txt"
            (out / name).write_text(file.text(), encoding="utf-8")
            labels = [label for text, label in file.lines if text]
            headline = next(text for text, label in file.lines if label == "headline")
            expected["files"][name] = {**file.expect, "section": story["section"], "headline": headline,
                                       "story": index, "version": version, "labels": labels}
    (out / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(expected['files'])} files in {len(HOUSES)} houses under {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT)
