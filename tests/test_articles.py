"""The newsroom text format: what subscribers get out of an article file."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from helpers import EXAMPLES

from feedhub.articles.parse import ArticleError, parse_article
from feedhub.dedup.fingerprint import words

BUNDLED = sorted((EXAMPLES / "articles").glob("*.txt"))
BOILERPLATE = re.compile(r"join now|back to top", re.IGNORECASE)


def raw_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]


def test_there_are_bundled_articles_in_several_sections():
    sections = {raw_lines(path)[0] for path in BUNDLED}
    assert len(BUNDLED) >= 6
    assert {"INTERNATIONAL", "TECHNOLOGY", "BUSINESS"} <= sections


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_article_parses_without_boilerplate(path: Path):
    article = parse_article(path)
    lines = raw_lines(path)
    assert article.section == lines[0]
    assert article.headline == lines[1]
    assert len(article.paragraphs) >= 3
    assert article.headings, "Title Case sub-headings are kept as headings"
    for _, text in article.blocks:
        assert not BOILERPLATE.search(text), text
    # The stray lower-case repeat of the headline's words is gone.
    echoes = [line for line in lines[2:] if set(words(line)) <= set(words(article.headline))]
    assert not set(echoes) & {text for _, text in article.blocks}
    # Every heading and paragraph of the file that is not boilerplate survives, in order.
    kept = [text for _, text in article.blocks]
    assert kept == [line for line in lines[2:] if line in kept]
    assert "<h2>" in article.html() and "<p>" in article.html()


def test_headings_and_paragraphs_are_told_apart(tmp_path: Path):
    path = tmp_path / "a.txt"
    path.write_text(
        "BUSINESS\n\nPort Strike Ends After Nine Days\n\n"
        "Dock workers voted on Tuesday to accept a new contract, ending a strike.\n\n"
        "port strike ends\nTelegram Group Join Now\n\n"
        "What the Deal Changes for Shippers\n\n"
        "Container backlogs should clear within two weeks, the port authority said.\n\n"
        "Back to top button\n",
        encoding="utf-8",
    )
    article = parse_article(path)
    assert article.blocks == [
        ("p", "Dock workers voted on Tuesday to accept a new contract, ending a strike."),
        ("h", "What the Deal Changes for Shippers"),
        ("p", "Container backlogs should clear within two weeks, the port authority said."),
    ]
    assert article.summary.startswith("Dock workers voted")
    assert article.published is None


def test_a_stated_publication_time_is_read_as_utc(tmp_path: Path):
    path = tmp_path / "a.txt"
    path.write_text("SPORTS\n\nFinal Goes to Extra Time\nPublished: 2026-11-20T10:30:00+02:00\n\nThe match went on.\n")
    assert parse_article(path).published == datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)


def test_an_unreadable_date_is_a_warning_with_its_line_and_the_article_is_still_read(tmp_path: Path):
    path = tmp_path / "a.txt"
    path.write_text("SPORTS\n\nHeadline\nPublished: next tuesday\n\nText.\n")
    article = parse_article(path)
    assert article.paragraphs == ["Text."] and article.published is None
    assert len(article.warnings) == 1
    assert article.warnings[0].startswith(f"{path}:4: cannot read the date 'next tuesday'")


def test_bundled_articles_carry_keyword_echoes_to_strip():
    def echoes(path):
        lines = raw_lines(path)
        return [line for line in lines[2:] if set(words(line)) <= set(words(lines[1]))]

    assert sum(len(echoes(path)) for path in BUNDLED) >= len(BUNDLED) // 2


def test_one_bundled_article_states_its_time():
    stated = [parse_article(path).published for path in BUNDLED]
    assert any(moment and moment.tzinfo == timezone.utc for moment in stated)


@pytest.mark.parametrize(
    "content, expected",
    [
        (b"", r"a\.txt: empty file"),
        (b"INTERNATIONAL\n", r"a\.txt:1: no headline"),
        (b"INTERNATIONAL\n\nA headline\n\nWhatsApp Group Join Now\n", r"a\.txt:3: no body paragraphs"),
        ("SPORTS\n\nHeadline\n\nПривет мир, это статья о погоде.\n".encode("cp1251"), r"a\.txt:5: not UTF-8 \(byte 0xcf\)"),
        (b"\x00\x01\x02garbage" * 20, r"a\.txt: contains NUL bytes"),
        (b"SPORTS\n\nHeadline\n\n" + b"A very long line of text. " * 100_000, r"a\.txt: over 2 MB; not a newsroom article"),
    ],
)
def test_unusable_files_are_reported_with_file_and_line(tmp_path: Path, content: bytes, expected: str):
    path = tmp_path / "a.txt"
    path.write_bytes(content)
    with pytest.raises(ArticleError, match=expected):
        parse_article(path)
