"""The newsroom's plain-text article format.

    INTERNATIONAL                      <- section (first non-empty line)

    Headline of the story              <- headline
    Published: 2026-11-20T08:30:00Z    <- optional; else the file's mtime

    First paragraph ...                <- paragraphs, separated by blank lines
    A Short Title Case Line            <- sub-heading
    More paragraphs ...
    WhatsApp Group Join Now            <- boilerplate, dropped

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
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

from . import decoding
from .config import DEFAULT_BOILERPLATE
from .dedup import words

PUBLISHED = re.compile(r"^(published|date)\s*:\s*(.+)$", re.IGNORECASE)
SENTENCE_END = re.compile(r"[.!?:;,\"'”’)…]$")
log = logging.getLogger(__name__)
SMALL_WORDS = {"a", "an", "and", "as", "at", "but", "by", "for", "in", "of", "on", "or", "the", "to", "vs", "with", "from", "into", "over"}


class ArticleError(ValueError):
    """An article file that cannot be published; str() says where and why."""


@dataclass
class Article:
    path: Path
    section: str
    headline: str
    # ("p", text) paragraphs and ("h", text) sub-headings, in order.
    blocks: list[tuple[str, str]] = field(default_factory=list)
    published: datetime | None = None  # None: the file did not say

    @property
    def paragraphs(self) -> list[str]:
        return [text for kind, text in self.blocks if kind == "p"]

    @property
    def headings(self) -> list[str]:
        return [text for kind, text in self.blocks if kind == "h"]

    @property
    def summary(self) -> str:
        return self.paragraphs[0]

    @property
    def text(self) -> str:
        return "\n\n".join(text for _, text in self.blocks)

    def html(self) -> str:
        tags = {"p": "p", "h": "h2"}
        return "\n".join(f"<{tags[k]}>{html.escape(t, quote=False)}</{tags[k]}>" for k, t in self.blocks)


def boilerplate_matcher(extra: list[str] = ()) -> re.Pattern:
    patterns = [*DEFAULT_BOILERPLATE, *extra]
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


DEFAULT_MATCHER = boilerplate_matcher()


# A long feature is ~50 kB of text.  A file past this is something else (a log,
# an export) dropped into the folder, and reading it whole would hold many
# times its size in memory.
MAX_ARTICLE_BYTES = 2 * 1024 * 1024


def parse_article(path: Path, boilerplate: re.Pattern = DEFAULT_MATCHER) -> Article:
    """Read one article file; ArticleError says which line is wrong and why."""
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
    return parse_text(text, path, boilerplate)


def parse_text(text: str, path: Path, boilerplate: re.Pattern = DEFAULT_MATCHER) -> Article:
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)]
    lines = [(number, line) for number, line in lines if line]
    if not lines:
        raise ArticleError(f"{path}: empty file; expected a section line, a headline and paragraphs")
    (section_line, section), *rest = lines
    if len(section) > 40 or len(section.split()) > 4:
        raise ArticleError(f"{path}:{section_line}: expected a short section name such as INTERNATIONAL, got {section[:60]!r}")
    if not rest:
        raise ArticleError(f"{path}:{section_line}: no headline after the section line")
    (headline_line, headline), *rest = rest
    if len(headline) > 300:
        raise ArticleError(f"{path}:{headline_line}: headline is {len(headline)} characters; expected a single line under 300")

    article = Article(path=path, section=section, headline=headline)
    if rest and (match := PUBLISHED.match(rest[0][1])):
        article.published = _parse_date(match.group(2), path, rest[0][0])
        rest = rest[1:]

    headline_words = set(words(headline))
    for _, line in rest:
        if boilerplate.fullmatch(line) or _is_keyword_echo(line, headline_words):
            continue
        article.blocks.append(("h" if _is_heading(line) else "p", line))
    if not article.paragraphs:
        raise ArticleError(f"{path}:{headline_line}: no body paragraphs after the headline")
    return article


def _parse_date(value: str, path: Path, line: int) -> datetime:
    value = value.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            raise ArticleError(
                f"{path}:{line}: cannot read the date {value!r}; use ISO 8601 like 2026-11-20T08:30:00Z"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


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
    if not 1 <= len(tokens) <= 14 or len(line) > 120 or SENTENCE_END.search(line):
        return False
    significant = [t for t in tokens if t.casefold() not in SMALL_WORDS]
    capitalised = [t for t in significant if t[:1].isupper() or t[:1].isdigit()]
    return bool(significant) and len(capitalised) / len(significant) >= 0.75
