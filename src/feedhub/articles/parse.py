"""The newsroom's plain-text article format.

    INTERNATIONAL                      <- section (first non-empty line)
    By Jonas Lindqvist                 <- metadata may come before the headline too
    Headline of the story              <- headline
    Published: 2026-11-20T08:30:00Z    <- metadata lines (metalines.py): byline,
    Tags: Elections, Parliament           dateline, tags, image, credit

    First paragraph ...                <- paragraphs, separated by blank lines
    A Short Title Case Line            <- sub-heading
    • A bullet / 1. a numbered line    <- lists
    Correction: An earlier version ... <- a marked note (also Clarification:), kept in place
    WhatsApp Group Join Now            <- boilerplate (boilerplate.py), dropped
    Updated: 3 Dec 2026, 11:15 CET     <- metadata at the tail too
    Embargo: 4 Dec 2026, 06:00 CET     <- held back until then (also EMBARGOED UNTIL ...)
    Status: killed - legal advice      <- taken down (also withdrawn), with the reason

Bylines and bare date lines are only taken at the head (before the first
paragraph) and the tail (after the last); labelled lines (Tags:, Updated:,
Image:, Photo: AFP, Embargo:, Status:) anywhere.  Every line that does not
reach the body is kept in ``Article.dropped`` with the reason, for the
operator.  A metadata line that cannot be read is a warning with its line; the
article is still read.  But an embargo or status line that cannot be read is an
ArticleError: guessing could publish a story that must not be out.

Files are read as UTF-8 (a BOM is allowed), else as Windows-1252 / ISO-8859-1
when that reads plausibly (see decoding.py).  A file in another encoding, or
one already garbled by a double conversion ("CafÃ©"), is reported with its
line, never published as mojibake.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from pathlib import Path

from ..dedup.fingerprint import words
from ..remote import decoding
from . import metalines
from .boilerplate import CURATED, HouseStyle, countable, line_key
from .dates import DateUnreadable, parse_date

EMBARGO_WORD = re.compile(r"^(embargo|hold)", re.IGNORECASE)
SENTENCE_END = re.compile(r"[.!?:;,\"'”’)…]$")
BULLET = re.compile(r"^[•·▪◦●*\-–]\s+(?P<text>\S.*)$")
NUMBERED = re.compile(r"^\d{1,2}[.)]\s+(?P<text>\S.*)$")
log = logging.getLogger(__name__)
SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "vs", "with", "from", "into", "over"}
HTML_TAGS = {"p": "p", "h": "h2"}
# A correction or clarification: "Correction: ...", "CLARIFICATION (4 Dec 2026): ...",
# "Correction, 4 Dec 2026 - ...".  Kept in the story as a marked note.
NOTE = re.compile(
    r"^(?P<label>correction|clarification)\s*(\((?P<date>[^()]{1,60})\)|,\s*(?P<date2>[^:–—]{1,60}?))?"
    r"\s*(:|\s[-–—])\s*(?P<text>\S.*)$", re.IGNORECASE)


class ArticleError(ValueError):
    """An article file that cannot be published; str() says where and why."""


@dataclass
class Article:
    path: Path
    section: str
    headline: str
    # ("p", text) paragraphs, ("h", text) sub-headings, ("ul" / "ol", the
    # items one per line) lists, ("note", "Correction: text") corrections
    # and clarifications, in order.
    blocks: list[tuple[str, str]] = field(default_factory=list)
    published: datetime | None = None  # None: the file did not say
    updated: datetime | None = None
    embargo: datetime | None = None  # not to be published before (an Embargo: line)
    withdrawn: int = 0  # the line number of a Status: killed / withdrawn line; 0: none
    withdrawn_reason: str = ""  # what that line gives as the reason
    corrected: datetime | None = None  # the latest date a correction or clarification gives
    authors: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    image: str = ""
    caption: str = ""
    credit: str = ""
    # (line number, line, why) for every line that is not in the body.
    dropped: list[tuple[int, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # "file:line: what could not be read"

    @property
    def paragraphs(self) -> list[str]:
        return [text for kind, text in self.blocks if kind == "p"]

    @property
    def headings(self) -> list[str]:
        return [text for kind, text in self.blocks if kind == "h"]

    @property
    def notes(self) -> list[str]:
        return [text for kind, text in self.blocks if kind == "note"]

    @property
    def summary(self) -> str:
        return self.paragraphs[0]

    def release(self, now: datetime) -> datetime | None:
        """When the story may first be served, if that is after `now`: its
        embargo, or its published time when that is later still (a story is
        never out before the time it says it was published).  None: at once."""
        release = max(filter(None, (self.embargo, self.published)), default=None)
        return release if release and release > now else None

    def revised(self, written: datetime) -> datetime | None:
        """When this version of the story was last changed: the later of its
        Updated: line and its corrections' own dates, or, when it carries a
        correction without a date, `written` (the file's time) if later.
        None: the file says nothing of a change."""
        times = [moment for moment in (self.updated, self.corrected) if moment]
        if self.notes and self.corrected is None:
            times.append(written)
        return max(times, default=None)

    @property
    def text(self) -> str:
        return "\n\n".join(text for _, text in self.blocks)

    def html(self) -> str:
        parts = []
        for kind, text in self.blocks:
            if kind in HTML_TAGS:
                parts.append(f"<{HTML_TAGS[kind]}>{_escape(text)}</{HTML_TAGS[kind]}>")
            elif kind == "note":
                label, _, rest = text.partition(": ")
                parts.append(f'<p class="note {label.lower()}"><strong>{label}:</strong> {_escape(rest)}</p>')
            else:
                items = "".join(f"<li>{_escape(item)}</li>" for item in text.split("\n"))
                parts.append(f"<{kind}>{items}</{kind}>")
        return "\n".join(parts)


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


DEFAULT_RULES = HouseStyle()


# A long feature is ~50 kB of text.  A file past this is something else (a log,
# an export) dropped into the folder, and reading it whole would hold many
# times its size in memory.
MAX_ARTICLE_BYTES = 2 * 1024 * 1024


def parse_article(path: Path, rules: HouseStyle = DEFAULT_RULES, zone: tzinfo = timezone.utc) -> Article:
    """Read one article file; ArticleError says which line is wrong and why.
    `zone` is the folder's: dates written without one are taken in it."""
    return parse_text(read_text(path), path, rules, zone)


def read_text(path: Path) -> str:
    """The file's text, or ArticleError (too big, not text, garbled)."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_ARTICLE_BYTES + 1)
    except OSError as exc:
        raise ArticleError(f"{path}: cannot read: {exc.strerror}") from None
    if len(raw) > MAX_ARTICLE_BYTES:
        raise ArticleError(f"{path}: over {MAX_ARTICLE_BYTES // 1024 // 1024} MB; not a newsroom article (not read)")
    try:
        text, encoding = decoding.decode(raw)
    except decoding.Undecodable as exc:
        raise ArticleError(f"{path}:{exc.line}: {exc}; save the file as UTF-8") from None
    if "\x00" in text:
        raise ArticleError(f"{path}: contains NUL bytes; not a text article")
    if encoding != "utf-8":
        log.info("%s: not UTF-8, read as %s", path, encoding)
    if garbled := decoding.mojibake(text):
        line, bad, good = garbled
        raise ArticleError(
            f"{path}:{line}: garbled text {bad[:80]!r} should read {good[:80]!r} "
            "(UTF-8 converted twice); fix the file and save it as UTF-8"
        )
    return text


def parse_text(text: str, path: Path, rules: HouseStyle = DEFAULT_RULES, zone: tzinfo = timezone.utc) -> Article:
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)]
    lines = [(number, line) for number, line in lines if line]
    if not lines:
        raise ArticleError(f"{path}: empty file; expected a section line, a headline and paragraphs")
    (section_line, section), *rest = lines
    if len(section) > 40 or len(section.split()) > 4:
        raise ArticleError(f"{path}:{section_line}: expected a short section name such as INTERNATIONAL, got {section[:60]!r}")
    reader = _Reader(Article(path=path, section=section, headline=""), rules, zone)
    # The head: metadata and boilerplate around the headline, up to the body.
    position = 0
    while position < len(rest):
        number, line = rest[position]
        if not reader.aside(number, line, loose=True):
            if reader.article.headline:
                break
            if len(line) > 300:
                raise ArticleError(f"{path}:{number}: headline is {len(line)} characters; expected a single line under 300")
            reader.article.headline, headline_line = line, number
        position += 1
    if not reader.article.headline:
        raise ArticleError(f"{path}:{section_line}: no headline after the section line")
    # The tail: the run of metadata and boilerplate lines after the last paragraph.
    end = len(rest)
    while end > position and reader.is_aside(rest[end - 1][1]):
        end -= 1
    head_blocks, reader.article.blocks = reader.article.blocks, []
    for number, line in rest[end:]:
        reader.aside(number, line, loose=True)
    # The tail was read first: its notes go after the body, where they were.
    tail_blocks, reader.article.blocks = reader.article.blocks, head_blocks
    headline_words = set(words(reader.article.headline))
    for number, line in rest[position:end]:
        if reader.aside(number, line, loose=False):
            continue
        if not rules.kept(line) and _is_keyword_echo(line, headline_words):
            reader.article.dropped.append((number, line, "keyword echo of the headline"))
            continue
        reader.body(line)
    article = reader.article
    article.blocks += tail_blocks
    article.dropped.sort()
    # Only "Updated:" given: that is the first time the story was out.
    article.published = article.published or article.updated
    if not article.paragraphs:
        raise ArticleError(f"{path}:{headline_line}: no body paragraphs after the headline")
    return article


class _Reader:
    """Files each line of one article where it belongs."""

    def __init__(self, article: Article, rules: HouseStyle, zone: tzinfo):
        self.article, self.rules, self.zone = article, rules, zone

    def is_aside(self, line: str) -> bool:
        """Metadata, a note or boilerplate (asked of the tail, from the end)."""
        if self.rules.kept(line):
            return False
        return bool(NOTE.match(line) or metalines.read(line, self.zone, loose=True) or self.rules.reason(line))

    def aside(self, number: int, line: str, loose: bool) -> bool:
        """File a metadata, note or boilerplate line; False for a line of the story."""
        if self.rules.kept(line):
            return False
        if match := NOTE.match(line):
            self.note(number, match)
            return True
        meta = metalines.read(line, self.zone, loose)
        if meta is None:
            reason = self.rules.reason(line)
            if reason is None:
                return False
            self.article.dropped.append((number, line, reason))
            return True
        article = self.article
        if meta.refusal:
            raise ArticleError(f"{article.path}:{number}: {meta.refusal}")
        article.authors += [name for name in meta.authors if name not in article.authors]
        article.tags += [tag for tag in meta.tags if tag.casefold() not in {t.casefold() for t in article.tags}]
        article.published = article.published or meta.published
        article.updated = article.updated or meta.updated
        article.image = article.image or meta.image
        article.caption = article.caption or meta.caption
        article.credit = article.credit or meta.credit
        article.embargo = max(filter(None, (article.embargo, meta.embargo)), default=None)
        if meta.withdrawn and not article.withdrawn:
            article.withdrawn, article.withdrawn_reason = number, meta.reason
        if meta.problem:
            article.warnings.append(f"{article.path}:{number}: {meta.problem}; the article is published without it")
        kind = ("image" if meta.image or meta.caption else "byline" if meta.authors else "tags" if meta.tags
                else "dateline" if meta.published or meta.updated or meta.problem else "credit" if meta.credit
                else "embargo" if meta.embargo or EMBARGO_WORD.match(line) else "status")
        article.dropped.append((number, line, f"metadata: {kind}"))
        return True

    def note(self, number: int, match: re.Match[str]) -> None:
        """A correction or clarification: a block of its own, "Label: text"."""
        article = self.article
        label, written = match.group("label").capitalize(), match.group("date") or match.group("date2")
        article.blocks.append(("note", f"{label}: {match.group('text')}"))
        if written:
            try:
                moment = parse_date(written, self.zone)
            except DateUnreadable:
                article.warnings.append(f"{article.path}:{number}: cannot read the date {written!r} of the "
                                        f"{label.lower()}; the note is published without it")
            else:
                article.corrected = max(filter(None, (article.corrected, moment)))

    def body(self, line: str) -> None:
        blocks = self.article.blocks
        for kind, pattern in (("ul", BULLET), ("ol", NUMBERED)):
            if match := pattern.match(line):
                item = match.group("text")
                if blocks and blocks[-1][0] == kind:
                    blocks[-1] = (kind, f"{blocks[-1][1]}\n{item}")
                else:
                    blocks.append((kind, item))
                return
        blocks.append(("h" if _is_heading(line) else "p", line))


def house_keys(text: str) -> dict[str, str]:
    """{key: line} of the lines of a file that count towards its folder's
    house style: every short line but the section and headline."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    return {line_key(line): line for line in lines[2:] if countable(line)}


def _is_keyword_echo(line: str, headline_words: set[str]) -> bool:
    """A stray lower-case line made of the headline's own words ("Us president
    donald trump"): a CMS keyword field pasted into the body."""
    # The cheap test first: most lines are sentences and need no word split.
    if SENTENCE_END.search(line):
        return False
    line_words = words(line)
    return 0 < len(line_words) <= 8 and set(line_words) <= headline_words and not _is_heading(line)


def _is_heading(line: str) -> bool:
    """Short, unpunctuated, and most significant words capitalised."""
    tokens = line.split()
    if CURATED["related link"].match(line):  # "Also Read: Another Headline"
        return False
    if not 1 <= len(tokens) <= 14 or len(line) > 120 or SENTENCE_END.search(line):
        return False
    significant = [t for t in tokens if t.casefold() not in SMALL_WORDS]
    capitalised = [t for t in significant if t[:1].isupper() or t[:1].isdigit()]
    return bool(significant) and len(capitalised) / len(significant) >= 0.75
