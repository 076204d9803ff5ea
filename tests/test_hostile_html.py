"""Hostile HTML in source feeds: what subscribers get back is safe.

Feeds full of script, event handlers, javascript:/data: links and relative
links are served over HTTP, ingested, and the served RSS and Atom are read
back raw with lxml (feedparser would sanitize again and hide a leak).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import lxml.etree
import lxml.html
import pytest

from feedhub.ingest.cycle import run_cycle
from feedhub.sanitize import clean_html
from feedhub.store import Store
from feedhub.web import create_app

ATTACKS = [
    '<script>alert("s1")</script>',
    '<img src="x.png" onerror="alert(\'s2\')">',
    '<a href="javascript:alert(\'s3\')">click</a>',
    '<a href="JaVaScRiPt:alert(\'s4\')">click</a>',
    '<a href="java&#x09;script:alert(\'s5\')">click</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgnczYnKTwvc2NyaXB0Pg==">click</a>',
    '<iframe src="http://evil.test/s7"></iframe>',
    '<style>body { background: url("javascript:alert(\'s8\')") }</style>',
    '<div style="background:url(javascript:alert(\'s9\'))" onmouseover="alert(\'s10\')">hover</div>',
    '<svg onload="alert(\'s11\')"><circle r="1"/></svg>',
    '<object data="http://evil.test/s12.swf"></object><embed src="http://evil.test/s13.swf">',
    '<form action="http://evil.test/s14"><input name="password"></form>',
    '<meta http-equiv="refresh" content="0;url=http://evil.test/s15"><base href="http://evil.test/">',
    '<a href="vbscript:msgbox(\'s16\')">click</a>',
    '<<script>script>alert("s17")<</script>/script>',
    '<a href="file:///etc/passwd">s18</a>',
]
RELATIVE = '<p>See <a href="/world/more.html">more</a> and <img src="pics/map.png" alt="map"> and <a href="#notes">notes</a>.</p>'
SAFE_MARKUP = "<p>Kept: <strong>bold</strong>, <em>em</em>, <a href=\"https://ok.test/page\">a link</a>.</p>"


def escaped(html: str) -> str:
    return html.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def hostile_rss() -> str:
    items = []
    for n, attack in enumerate(ATTACKS):
        # Words of its own, so that no attack is a near copy of another.
        own = "<p>" + " ".join(f"case{n}word{k}" for k in range(8)) + "</p>"
        items.append(
            f"<item><title>Attack {n} &lt;script&gt;alert('t{n}')&lt;/script&gt;</title>"
            f"<link>https://pub.test/news/{n}</link><guid>https://pub.test/news/{n}</guid>"
            f"<description>{escaped(SAFE_MARKUP + attack)}</description>"
            f"<content:encoded><![CDATA[{SAFE_MARKUP}{attack}{own}{RELATIVE}]]></content:encoded></item>"
        )
    items.append(
        "<item><title>Bad link</title><link>javascript:alert('l1')</link><guid>bad-link-1</guid>"
        "<description>An entry whose own link is a script.</description></item>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>Hostile</title><link>https://pub.test/</link><description>d</description>"
        + "".join(items) + "</channel></rss>"
    )


def hostile_atom() -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://atom.test/blog/">'
        "<title>Hostile Atom</title><id>urn:x:atom</id><updated>2026-11-20T00:00:00Z</updated>"
        '<entry><title>Xhtml</title><id>urn:x:atom:1</id><updated>2026-11-20T00:00:00Z</updated><link href="posts/1"/>'
        '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p onclick="alert(\'a1\')">Hi '
        '<a href="../about">about</a></p><script>alert("a2")</script></div></content></entry>'
        '<entry xml:base="https://other.test/x/"><title>Html</title><id>urn:x:atom:2</id><updated>2026-11-20T00:00:00Z</updated>'
        '<link href="https://other.test/x/2"/><content type="html">' + escaped(RELATIVE + ATTACKS[1]) + "</content></entry>"
        "</feed>"
    )


@pytest.fixture
def served_feeds(make_config, feed_server):
    (feed_server.root / "hostile.rss").write_text(hostile_rss(), encoding="utf-8")
    (feed_server.root / "hostile.atom").write_text(hostile_atom(), encoding="utf-8")
    config = make_config(
        sources=[
            feed_server.source("hostile-rss", "hostile.rss", "international"),
            feed_server.source("hostile-atom", "hostile.atom", "technology"),
        ]
    )
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    assert summary.total("failed") == 0, summary.errors
    assert summary.total("new") == len(ATTACKS) + 1 + 2
    return config, create_app(config).test_client()


def html_fragments(document: bytes) -> list[str]:
    """Every HTML payload in a served RSS or Atom document."""
    root = lxml.etree.fromstring(document)
    paths = [
        "//item/description", "//{http://purl.org/rss/1.0/modules/content/}encoded",
        "//{http://www.w3.org/2005/Atom}content", "//{http://www.w3.org/2005/Atom}summary",
    ]
    return [node.text or "" for path in paths for node in root.iter(path.lstrip("/"))]


def assert_safe(fragment: str, own_links: bool = False) -> None:
    """No active content; links only to the web or mail (or, on our own
    pages, to our own paths)."""
    tree = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag not in {"script", "style", "iframe", "object", "embed", "form", "input", "svg", "meta", "base"}, fragment
        for name, value in element.attrib.items():
            assert not name.startswith("on") and name != "style", fragment
            if name in ("href", "src"):
                ours = own_links and value.startswith("/") and not value.startswith("//")
                assert ours or urlsplit(value).scheme in ("http", "https", "mailto"), fragment


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_served_feeds_carry_no_active_content(served_feeds, fmt):
    _, client = served_feeds
    for category in ("international", "technology"):
        document = client.get(f"/feeds/{category}.{fmt}").data
        fragments = html_fragments(document)
        assert len(fragments) >= 2
        for fragment in fragments:
            assert_safe(fragment)
        assert b"javascript:" not in document.lower() and b"data:text" not in document
        assert b"onerror" not in document and b"onclick" not in document


def test_safe_markup_and_text_survive(served_feeds):
    _, client = served_feeds
    document = client.get("/feeds/international.atom").data
    contents = [f for f in html_fragments(document) if "<strong>" in f]
    assert len(contents) >= len(ATTACKS)
    assert all('href="https://ok.test/page"' in f and "<em>em</em>" in f for f in contents)
    assert any(">hover<" in f for f in contents), "text inside a stripped tag is kept"


def test_relative_links_are_made_absolute_against_the_source(served_feeds, feed_server):
    _, client = served_feeds
    fragments = html_fragments(client.get("/feeds/international.rss").data)
    # RSS: relative to the feed's own URL (there is no xml:base).
    assert any(f'href="{feed_server.url}/world/more.html"' in f for f in fragments)
    assert any(f'src="{feed_server.url}/pics/map.png"' in f for f in fragments)
    assert not any('href="/' in f or 'src="pics' in f for f in fragments)
    assert not any(f'href="{feed_server.url}/hostile.rss"' in f for f in fragments), "a removed link is not re-pointed"
    # Atom: relative to xml:base, the entry's own overriding the feed's.
    atom = html_fragments(client.get("/feeds/technology.atom").data)
    assert any('href="https://atom.test/about"' in f for f in atom), atom
    assert any('src="https://other.test/x/pics/map.png"' in f for f in atom), atom
    assert any('href="https://other.test/world/more.html"' in f for f in atom), atom


def test_a_script_link_is_dropped_and_titles_are_text(served_feeds):
    config, client = served_feeds
    with Store(config.database) as store:
        bad = store.db.execute("SELECT link FROM items WHERE title = 'Bad link'").fetchone()
        titles = [row[0] for row in store.db.execute("SELECT title FROM items WHERE title LIKE 'Attack%'")]
    assert bad == ("",)
    # An RSS title is text: "&lt;script&gt;" in one is these characters (so
    # feedparser reads it), kept as text and served as text, never as markup.
    assert "Attack 0 <script>alert('t0')</script>" in titles, titles
    for fmt in ("rss", "atom"):
        document = client.get(f"/feeds/international.{fmt}").data
        assert b"<script" not in document
        for title in lxml.etree.fromstring(document).iter("title", "{http://www.w3.org/2005/Atom}title"):
            assert len(title) == 0, "a title never carries markup elements"


def test_relative_links_without_any_web_base_are_removed():
    assert clean_html('<a href="/x">x</a><img src="y.png">', None) == '<a rel="noopener noreferrer nofollow">x</a><img>'
    assert clean_html('<a href="/x">x</a>', "file:///srv/feeds/a.rss") == '<a rel="noopener noreferrer nofollow">x</a>'


def test_local_feed_files_resolve_against_the_entry_link(make_config, tmp_path: Path):
    path = tmp_path / "partner.rss"
    path.write_text(
        '<rss version="2.0"><channel><title>p</title><link>https://partner.test/</link><description>d</description>'
        "<item><title>T</title><link>https://partner.test/2026/story</link><guid>p-1</guid>"
        f"<description>{escaped(RELATIVE)}</description></item></channel></rss>",
        encoding="utf-8",
    )
    config = make_config(sources=[{"name": "partner", "path": str(path), "category": "business"}])
    with Store(config.database) as store:
        run_cycle(config, store)
        [content] = [row[0] for row in store.db.execute("SELECT content FROM items")]
    assert 'href="https://partner.test/world/more.html"' in content
    assert 'src="https://partner.test/2026/pics/map.png"' in content
    assert "file:" not in content


def test_a_feed_entry_posing_as_an_article_page_is_not_served(make_config, feed_server):
    # The /articles/ page shows stored content as HTML: a source that claims
    # one of our own article URLs gets nothing there (only newsroom items are
    # article pages), so none of its markup reaches our domain.
    (feed_server.root / "poser.rss").write_text(
        '<rss version="2.0"><channel><title>p</title><link>https://p.test/</link><description>d</description>'
        "<item><title>Poser</title><link>http://feeds.test/articles/poser</link><guid>poser-1</guid>"
        f"<description>{escaped(SAFE_MARKUP + ''.join(ATTACKS))}</description></item></channel></rss>",
        encoding="utf-8",
    )
    config = make_config(sources=[feed_server.source("poser", "poser.rss", "business")])
    with Store(config.database) as store:
        run_cycle(config, store)
    response = create_app(config).test_client().get("/articles/poser")
    assert response.status_code == 404
    assert b"bold" not in response.data and b"javascript:" not in response.data.lower()
