"""Encodings: articles and feeds in UTF-8, UTF-8 with a BOM, Windows-1252,
ISO-8859-1 and mislabelled ones come out as the right text or are reported,
never as mojibake.  Every case writes its own bytes."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest
from helpers import rows


from feedhub.ingest.cycle import run_cycle
from feedhub.store import Store
from feedhub.web import create_app

HEADLINE = "Café Owners in Genève Protest"
PARAGRAPH = "Café owners – angry about “new” rules – met on Tuesday; the fête costs €5."
ARTICLE = f"BUSINESS\n\n{HEADLINE}\n\n{PARAGRAPH}\n\nThe fair will still open in the old town.\n"
LATIN1_PARAGRAPH = "Die Straße führt über die Brücke; les élèves ont célébré l'été à Genève."
LATIN1_ARTICLE = f"BUSINESS\n\n{HEADLINE}\n\n{LATIN1_PARAGRAPH}\n"


def double_encoded(text: str) -> bytes:
    """UTF-8 read by a tool as Windows-1252 (unmapped bytes kept as is, as
    such tools do) and saved again as UTF-8: "Café" -> "CafÃ©"."""
    misread = "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in text.encode("utf-8"))
    return misread.encode("utf-8")


def ingest(config) -> tuple[object, list[dict]]:
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        stored = rows(store, "SELECT title, summary, content, author FROM items")
    return summary, stored



def served(config, category: str) -> feedparser.FeedParserDict:
    return feedparser.parse(create_app(config).test_client().get(f"/feeds/{category}.atom").data)


@pytest.mark.parametrize(
    "raw, paragraph",
    [
        (ARTICLE.encode("utf-8"), PARAGRAPH),
        (b"\xef\xbb\xbf" + ARTICLE.encode("utf-8"), PARAGRAPH),
        (ARTICLE.encode("cp1252"), PARAGRAPH),
        (LATIN1_ARTICLE.encode("iso-8859-1"), LATIN1_PARAGRAPH),
    ],
    ids=["utf-8", "utf-8-bom", "windows-1252", "iso-8859-1"],
)
def test_article_encodings_are_read_right(make_config, tmp_path: Path, raw: bytes, paragraph: str):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "story.txt").write_bytes(raw)
    config = make_config(articles=[{"path": str(folder)}])
    summary, [row] = ingest(config)
    assert summary.total("failed") == 0, summary.errors
    assert row["title"] == HEADLINE and row["summary"] == paragraph
    [entry] = served(config, "business").entries
    assert entry.title == HEADLINE and paragraph in entry.content[0].value.replace("&amp;", "&")


@pytest.mark.parametrize(
    "raw, error",
    [
        # Cyrillic in Windows-1251 would read as "Ïðèâåò" in Windows-1252.
        ("BUSINESS\n\nПривет мир\n\nЭто короткая статья о погоде в Москве.\n".encode("cp1251"),
         r"story\.txt:3: not UTF-8 \(byte 0xcf\), and not Windows-1252 / ISO-8859-1 text either"),
        # UTF-8 that a tool read as Windows-1252 and saved again as UTF-8.
        (double_encoded(ARTICLE),
         r"story\.txt:3: garbled text 'CafÃ© Owners in GenÃ¨ve Protest' should read 'Café Owners in Genève Protest' \(UTF-8 converted twice\)"),
    ],
    ids=["windows-1251", "double-utf-8"],
)
def test_undecidable_or_garbled_articles_are_reported(make_config, tmp_path: Path, raw: bytes, error: str):
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "story.txt").write_bytes(raw)
    (folder / "fine.txt").write_text(ARTICLE.replace(HEADLINE, "Another Story Entirely"), encoding="utf-8")
    summary, rows = ingest(make_config(articles=[{"path": str(folder)}]))
    assert summary.total("failed") == 1 and [r["title"] for r in rows] == ["Another Story Entirely"]
    assert re.search(error, summary.errors[0]), summary.errors[0]


TITLE = "Genève’s “fête” – café prices rise by €2"
BODY = "<p>Les élèves ont célébré l’été à Genève – Straße, Brücke, Ærø.</p>"


def rss(declaration: str | None = None) -> str:
    head = f'<?xml version="1.0" encoding="{declaration}"?>' if declaration else ""
    return (
        f'{head}<rss version="2.0"><channel><title>Wire</title><link>https://wire.test/</link><description>d</description>'
        f"<item><title>{TITLE}</title><link>https://wire.test/1</link><guid>https://wire.test/1</guid>"
        f"<author>Zoë Brontë</author><description><![CDATA[{BODY}]]></description></item></channel></rss>"
    )


FEEDS = {
    # name: (bytes, Content-Type header)
    "utf-8": (rss("utf-8").encode("utf-8"), "application/rss+xml; charset=utf-8"),
    "utf-8-bom": (b"\xef\xbb\xbf" + rss("utf-8").encode("utf-8"), "application/rss+xml"),
    "windows-1252": (rss("windows-1252").encode("cp1252"), "application/rss+xml"),
    "iso-8859-1-with-cp1252-quotes": (rss("iso-8859-1").encode("cp1252"), "application/rss+xml"),
    "iso-8859-1-in-http": (rss().encode("cp1252"), "application/rss+xml; charset=iso-8859-1"),
    "utf-8-labelled-windows-1252": (rss("windows-1252").encode("utf-8"), "application/rss+xml"),
    "windows-1252-labelled-utf-8": (rss("utf-8").encode("cp1252"), "application/rss+xml; charset=utf-8"),
    "windows-1252-undeclared": (rss().encode("cp1252"), "application/rss+xml"),
    "utf-8-but-http-says-latin-1": (rss("utf-8").encode("utf-8"), "application/rss+xml; charset=iso-8859-1"),
    "double-encoded-utf-8": (double_encoded(rss("utf-8")), "application/rss+xml"),
}


@pytest.mark.parametrize("name", FEEDS)
def test_feed_encodings_are_read_right(make_config, feed_server, name: str):
    body, content_type = FEEDS[name]
    feed_server.overrides["/feed.rss"] = (200, {"Content-Type": content_type}, body)
    config = make_config(sources=[feed_server.source("wire", "feed.rss", "international")])
    summary, [row] = ingest(config)
    assert summary.total("failed") == 0, summary.errors
    assert row["title"] == TITLE and row["author"] == "Zoë Brontë"
    assert "Les élèves ont célébré l’été à Genève – Straße, Brücke, Ærø." in row["content"]
    [entry] = served(config, "international").entries
    assert entry.title == TITLE and "l’été à Genève" in entry.summary


def test_a_utf8_feed_with_a_stray_byte_keeps_its_text(make_config, feed_server):
    body = rss("utf-8").replace("Ærø", "Ærø \udcff").encode("utf-8", "surrogateescape")  # one lone 0xff byte
    feed_server.overrides["/feed.rss"] = (200, {"Content-Type": "application/rss+xml"}, body)
    config = make_config(sources=[feed_server.source("wire", "feed.rss", "international")])
    summary, [row] = ingest(config)
    assert summary.total("failed") == 0, summary.errors
    assert row["title"] == TITLE and "Straße, Brücke, Ærø \ufffd." in row["content"]


@pytest.mark.parametrize("declared", ["utf-8", "iso-8859-1", "windows-1252"])
def test_a_feed_in_a_mislabelled_foreign_encoding_is_reported(make_config, feed_server, declared):
    body = rss(declared).replace(TITLE, "Привет мир: статья о погоде в Москве").encode("cp1251", errors="replace")
    feed_server.overrides["/feed.rss"] = (200, {"Content-Type": "application/rss+xml"}, body)
    config = make_config(sources=[feed_server.source("wire", "feed.rss", "international")])
    summary, rows = ingest(config)
    assert rows == []
    assert "wire" in summary.errors[0] and "not in its declared encoding" in summary.errors[0]
    assert "cannot tell its encoding" in summary.errors[0]
