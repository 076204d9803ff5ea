"""The metadata lines of an article file: byline, dateline, tags, image, credit.

    By Jonas Lindqvist and Mara Okafor             byline
    Written by Political Staff | December 3, 2026  byline and dateline on one line
    Published: 3 Dec 2026, 10:00 CET               dateline (also Updated:, Posted on, Date:,
    Updated: 3 Dec 2026, 11:15 AM CET              Last updated, or a bare date line)
    Tags: Elections, Parliament                     tags (also Keywords:, Topics:)
    Image: https://cdn.example/x.jpg | Caption | Photo: AFP
    Photo: AFP                                      a credit line, kept as the credit
    Embargo: 4 Dec 2026, 06:00 CET                  an embargo (also EMBARGOED UNTIL ...,
                                                    Hold for release until ...)
    Status: killed - legal advice                   a kill (also withdrawn), with its reason

``read(line, zone)`` says what a line is (a ``Meta``) or None; which lines are
asked (the head and tail of the file, see articles.py) is the reader's call.
A line that is plainly meant as metadata but cannot be read comes back with
``problem`` set and whatever could be read; an embargo or status line that
cannot be read comes back with ``refusal`` set: misreading one would publish
a story that must not be out, so the file is refused instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from urllib.parse import urlsplit

from .dates import DateUnreadable, parse_date

# "|", "·" or " — " separate fields written on one line.
SEPARATOR = re.compile(r"\s+[|·•]\s+|\s+[—–]\s+")
SEPARATOR_CHARS = set("|·•—–")
# No metadata line is longer (an image line with a long address and caption
# included); a longer line is a paragraph, and is not asked.
MAX_META_LINE = 400
# How every labelled metadata line starts: in the body, where only those are
# taken, a line that does not start so is a paragraph without more asking.
LABELLED = re.compile(
    r"^\(?\s*(tags|keywords|topics|tagged|filed|image|photo|picture|img|lead|main|pic|illustration|graphic|video|"
    r"file|representational|first|published|last|updated|modified|posted|dated?|written|reported|story|words|text|"
    r"author|reporter|byline|embargo|hold\s+for|status)", re.IGNORECASE)
DATE_LABEL = re.compile(
    r"^(?P<label>(first\s+)?published(\s+on|\s+at)?|(last\s+)?updated(\s+on|\s+at)?|modified(\s+on)?|"
    r"posted(\s+on|\s+at)?|date|dated|filed(\s+on|\s+at)?)\s*:?\s*(?P<value>.+)$",
    re.IGNORECASE,
)
BYLINE = re.compile(r"^(?:(?:written|reported|story|words|text)\s+)?by\s*:?\s+(?P<names>.+)$|^(?:author|reporter|byline)s?\s*:\s*(?P<names2>.+)$", re.IGNORECASE)
TAGS = re.compile(r"^(tags|keywords|topics|tagged|filed\s+under)\s*:\s*(?P<value>.*)$", re.IGNORECASE)
IMAGE = re.compile(r"^(image|photo|picture|img|lead\s+image|main\s+image)\s*:\s*(?P<url>\S+://\S+|/\S+|www\.\S+)(?P<rest>.*)$", re.IGNORECASE)
CREDIT = re.compile(
    r"^\(?\s*((photo|image|picture|photograph|pic|illustration|graphic|video|file\s+photo)(\s+credits?)?\s*(:|by|courtesy(\s+of)?)\s*.{1,80}"
    r"|(image|photo|picture)s?\s+courtesy\s+(of\s+)?.{1,80}|file\s+photo|representational\s+(image|photo)|"
    r"(photo|image)\s*/\s*.{1,60})\s*\)?\.?$",
    re.IGNORECASE,
)
# Words that make a byline part a job title, not a name ("By A, Political Editor").
ROLE_WORDS = {"editor", "correspondent", "reporter", "writer", "columnist", "contributor", "staff",
              "bureau", "chief", "senior", "desk", "analyst", "producer", "intern", "news"}
NAME_PARTICLES = {"van", "von", "de", "der", "den", "da", "di", "du", "la", "le", "bin", "al", "el", "ibn", "dos", "del", "y"}
EMBARGO = re.compile(
    r"^(embargo(ed)?|hold\s+for\s+release)(\s*:|\s+(until|till)\b\s*:?)\s*(?P<value>.{0,60}?)\.?$", re.IGNORECASE)
BARE_EMBARGO = re.compile(r"^(embargo|embargoed)\s*[.!]?$", re.IGNORECASE)
# An embargo line that says there is none.
NO_EMBARGO = {"none", "no", "nil", "n/a", "-", "lifted"}
# One word, then the reason if any: "Status: killed - legal advice", "Status: withdrawn (duplicate)".
STATUS = re.compile(r"^status\s*:\s*(?P<value>[\w-]+)\s*($|[-–—:,(]\s*(?P<reason>.*?)\)?\.?$)", re.IGNORECASE)
# What a Status: line may say: the story is taken down, or (the default) it is out.
WITHDRAWN_WORDS = {"killed", "kill", "withdrawn", "withdraw", "retracted", "spiked"}
LIVE_WORDS = {"published", "live", "active", "ok"}
ISO_ISH = re.compile(r"\d{4}-\d{2}-\d{2}|\b\d{1,2}(st|nd|rd|th)?\s+[A-Za-z]{3,9}\.?,?\s+\d{4}|\b[A-Za-z]{3,9}\.?\s+\d{1,2}(st|nd|rd|th)?,?\s+\d{4}")


@dataclass
class Meta:
    """What one metadata line said."""

    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None
    tags: list[str] = field(default_factory=list)
    image: str = ""
    caption: str = ""
    credit: str = ""
    embargo: datetime | None = None  # not to be published before
    withdrawn: bool = False  # Status: killed / withdrawn
    reason: str = ""  # why, as the Status line says
    problem: str = ""  # what could not be read, for the operator
    refusal: str = ""  # what makes the file unpublishable (an unreadable embargo or status)


def read(line: str, zone: tzinfo = timezone.utc, loose: bool = True) -> Meta | None:
    """The metadata on this line, or None if it is not a metadata line.
    `loose`: also take bylines and bare date lines (only at the head and tail
    of a file, where a story's own sentences do not look like them)."""
    if len(line) > MAX_META_LINE or not (loose or LABELLED.match(line)):
        return None
    if match := STATUS.match(line):
        return _status(match.group("value"), match.group("reason") or "")
    if match := EMBARGO.match(line):
        return _embargo(match.group("value"), zone)
    if BARE_EMBARGO.match(line):
        return _embargo("", zone)
    if match := TAGS.match(line):
        return Meta(tags=_tags(match.group("value")))
    if match := IMAGE.match(line):
        return _image(match.group("url"), match.group("rest"))
    if CREDIT.match(line) and len(line.split()) <= 14:
        return Meta(credit=line.strip("() ."))
    parts = SEPARATOR.split(line) if SEPARATOR_CHARS.intersection(line) else [line]
    metas = [_field(part.strip(), zone, loose or len(parts) > 1) for part in parts]
    fields = [meta for meta in metas if meta is not None]
    if len(fields) < len(metas):
        # One labelled date alone is still a dateline, even if unreadable.
        return metas[0] if len(parts) == 1 else None
    merged = Meta()
    for meta in fields:
        merged.authors += meta.authors
        merged.published = merged.published or meta.published
        merged.updated = merged.updated or meta.updated
        merged.problem = "; ".join(p for p in (merged.problem, meta.problem) if p)
    return merged


def _field(part: str, zone: tzinfo, loose: bool) -> Meta | None:
    if match := DATE_LABEL.match(part):
        label, value = match.group("label").lower(), match.group("value").strip()
        if len(value) > 60 or (label in ("date", "dated") and not re.search(r"\d", value)):
            return None
        try:
            moment = parse_date(value, zone)
        except DateUnreadable:
            return Meta(problem=f"cannot read the date {value!r} (write it like 2026-12-03T10:30:00Z or 3 Dec 2026, 10:30 CET)")
        return Meta(updated=moment) if "updated" in label or "modified" in label else Meta(published=moment)
    if loose and (match := BYLINE.match(part)):
        names = _names(match.group("names") or match.group("names2"))
        return Meta(authors=names) if names else None
    if loose and len(part) <= 60 and ISO_ISH.search(part):
        try:
            return Meta(published=parse_date(part, zone))
        except DateUnreadable:
            return None
    return None


def _status(value: str, reason: str) -> Meta:
    word = value.casefold()
    if word in WITHDRAWN_WORDS:
        return Meta(withdrawn=True, reason=reason.strip())
    if word in LIVE_WORDS:
        return Meta()
    return Meta(refusal=f"unknown status {value!r}: write Status: killed (or withdrawn) to take the story down, "
                        "or remove the line")


def _embargo(value: str, zone: tzinfo) -> Meta:
    if value.strip().casefold() in NO_EMBARGO:
        return Meta()
    if not value.strip():
        return Meta(refusal="an embargo line without its time (write it like Embargo: 3 Dec 2026, 06:00 CET)")
    try:
        return Meta(embargo=parse_date(value, zone))
    except DateUnreadable:
        return Meta(refusal=f"cannot read the embargo time {value!r} (write it like 2026-12-03T06:00:00Z or "
                            "3 Dec 2026, 06:00 CET); the story is held back")


def _names(text: str) -> list[str]:
    """'A, B and C', 'A in Stockholm', 'A, Political Editor' -> the names;
    [] if any part does not look like a name (a sentence starting "By")."""
    text = re.sub(r"\s+(in|at|from)\s+[A-Z][\w .'-]*$", "", text.strip().rstrip("."))
    parts = [p.strip() for p in re.split(r",|\s+and\s+|\s*&\s*", text) if p.strip()]
    names: list[str] = []
    for index, part in enumerate(parts):
        tokens = part.split()
        if not 1 <= len(tokens) <= 5:
            return []
        if not all(t[:1].isupper() or t.lower() in NAME_PARTICLES for t in tokens):
            return []
        if index and {t.lower() for t in tokens} & ROLE_WORDS:
            continue  # "Political Editor" after a name: a title
        names.append(part.title() if part.isupper() else part)
    return names


def _tags(value: str) -> list[str]:
    tags: list[str] = []
    for tag in re.split(r"[,;|]|\s+(?=#)", value):
        tag = tag.strip().lstrip("#").strip()
        if tag and tag.casefold() not in (t.casefold() for t in tags):
            tags.append(tag)
    return tags


def _image(url: str, rest: str) -> Meta:
    parts = [p.strip() for p in re.split(r"\s*\|\s*", rest.strip()) if p.strip()]
    parsed = urlsplit(url)
    meta = Meta()
    if parsed.scheme in ("http", "https") and parsed.hostname:
        meta.image = url
    else:
        meta.problem = f"image address {url!r} is not an absolute http(s) URL; the item has no image"
    for part in parts:
        if CREDIT.match(part):
            meta.credit = part.strip("() .")
        elif not meta.caption:
            meta.caption = part.strip('"“”')
    return meta
