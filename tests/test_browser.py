"""The pages in a real browser: headless Chromium (Debian's package, driven by
Playwright) against the app served on 127.0.0.1.

Screenshots are kept as artifacts in $FEEDHUB_ARTIFACTS, else artifacts/ in
the repository.  Without Chromium these tests are skipped on a developer's
machine and fail under CI, where .ci/run installs it.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import threading
from pathlib import Path

import pytest
from helpers import HOSTILE_TITLE, REPO, story
from loopback import FeedServer
from werkzeug.serving import make_server

from feedhub.ingest import filing
from feedhub.store import Store
from feedhub.web import create_app

pytestmark = pytest.mark.browser

CHROMIUM = os.environ.get("FEEDHUB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
# No sandbox as root; no background traffic, which this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync",
]
PHONE = {"width": 375, "height": 812}
ARTIFACTS = Path(os.environ.get("FEEDHUB_ARTIFACTS") or REPO / "artifacts")


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"no Chromium at {CHROMIUM}: apt-get install chromium (see .ci/run)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(demo_site):
    """The app under a real threaded HTTP server on a free port."""
    server = make_server("127.0.0.1", 0, create_app(demo_site), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    tab.dialogs = []  # every alert/confirm the page tries to open
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    yield tab
    context.close()


def screenshot(tab, name: str) -> Path:
    """Save a full-page PNG artifact and check it is a real, non-empty image."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    tab.screenshot(path=str(path), full_page=True)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    width, height = struct.unpack(">II", data[16:24])
    assert width == tab.viewport_size["width"] and height >= tab.viewport_size["height"] // 2
    return path


def stats(config) -> dict[str, dict]:
    with Store(config.database) as store:
        return store.category_counts()


def test_index_then_a_category_shows_its_items(page, site, demo_site):
    page.goto(site + "/")
    assert page.title() == "Test Hub"
    cards = page.locator("section.category")
    assert cards.count() == len(demo_site.categories)
    counts = stats(demo_site)
    for key, meta in demo_site.categories.items():
        card = page.locator(f"section.category:has(h2#cat-{key})")
        n = counts[key].items if key in counts else 0
        assert card.locator(".count").inner_text() == f"{n} item{'s' if n != 1 else ''}"
        assert card.get_by_role("link", name="RSS").is_visible()
    screenshot(page, "index.png")

    page.get_by_role("link", name="International", exact=True).click()
    page.wait_for_url(re.compile(r"/c/international$"))
    assert page.get_by_role("heading", level=1).inner_text() == "International"
    with Store(demo_site.database) as store:
        expected = [row.title for row in store.preview("international", demo_site.feed_size)]
    shown = page.locator("ol.items h2").all_inner_texts()
    assert shown == expected and len(shown) >= 5
    also = page.locator("article.item", has_text="Rivers commission approves flood barrier").locator(".also")
    assert also.inner_text() == "Also reported by 1 source: syndicated"
    assert page.locator("ol.items time").first.get_attribute("datetime").endswith("Z")
    screenshot(page, "category.png")

    # A newsroom headline leads to its article page on this site.
    newsroom = page.locator("article.item", has_text="newsroom").first
    title = newsroom.locator("h2").inner_text()
    newsroom.locator("h2 a").click()
    page.wait_for_url(re.compile(r"/articles/"))
    assert page.get_by_role("heading", level=1).inner_text() == title


def test_a_script_title_is_shown_as_text_and_never_runs(page, site):
    page.goto(site + "/c/international")
    page.wait_for_load_state("load")
    heading = page.get_by_role("heading", name=HOSTILE_TITLE, exact=True)
    assert heading.count() == 1 and heading.is_visible()
    assert heading.inner_text() == HOSTILE_TITLE
    assert heading.locator("a").count() == 0, "a javascript: link is not made clickable"
    assert page.locator("main img").count() == 0, "HTML in a summary is text, not an element"
    assert page.evaluate("document.scripts.length") == 1  # only copy.js
    page.wait_for_timeout(200)
    assert page.dialogs == []


def test_pages_fit_a_phone_screen(browser, site):
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    tab = context.new_page()
    try:
        for url, name in [("/", "index-phone.png"), ("/c/international", "category-phone.png"),
                          ("/sources", "sources-phone.png"), ("/partners", "partners-phone.png"), ("/t/europe", "tag-phone.png"),
                          ("/search?q=flood*", "search-phone.png")]:
            tab.goto(site + url)
            # Nothing wider than the screen: no sideways scrolling to read.
            assert tab.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], url
            assert tab.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 16
            assert tab.get_by_role("navigation").is_visible()
            path = ARTIFACTS / name
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(path), full_page=True)
            assert struct.unpack(">I", path.read_bytes()[16:20])[0] == PHONE["width"] * 2
    finally:
        context.close()


def test_copy_button_copies_the_feed_address(browser, site):
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    tab = context.new_page()
    try:
        tab.goto(site + "/")
        button = tab.get_by_role("button", name="Copy the Atom address of Technology")
        assert not button.is_visible(), "folded away until asked for"
        tab.get_by_text("Feed addresses of Technology").click()
        assert button.is_visible()
        button.click()
        assert tab.evaluate("navigator.clipboard.readText()") == "http://feeds.test/feeds/technology.atom"
        assert tab.locator("#copy-status").inner_text() == "Copied http://feeds.test/feeds/technology.atom"
    finally:
        context.close()


def test_without_javascript_the_address_is_there_and_no_dead_buttons(browser, site):
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    try:
        tab.goto(site + "/")
        assert tab.locator("button.copy").count() > 0
        tab.get_by_text("Feed addresses of Technology").click()  # <details> opens without JavaScript
        assert tab.locator("button.copy:visible").count() == 0
        address = tab.locator("#url-technology-atom")
        assert address.is_visible() and address.inner_text() == "http://feeds.test/feeds/technology.atom"
    finally:
        context.close()


def test_sources_page_shows_failures(page, site):
    page.goto(site + "/sources")
    failing = page.locator("section.source", has=page.get_by_role("heading", name="broken-wire"))
    assert failing.locator(".badge").inner_text() == "Failing"
    assert "missing.rss" in failing.locator(".error").inner_text()
    screenshot(page, "sources.png")


def test_keyboard_focus_is_visible(page, site):
    page.goto(site + "/")
    page.keyboard.press("Tab")
    focused = page.evaluate("[document.activeElement.textContent, getComputedStyle(document.activeElement).outlineStyle]")
    assert focused == ["Skip to content", "solid"]
    assert page.locator(".skip").bounding_box()["y"] >= 0, "the skip link comes into view"
    page.keyboard.press("Tab")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineWidth") == "3px"


# -- contrast (WCAG 2.x: 4.5:1 for normal text) --------------------------------------

COLOURS = """selectors => selectors.flatMap(selector => [...document.querySelectorAll(selector)].slice(0, 3).map(el => {
  let node = el, background = null;
  while (node && !background) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') background = colour;
    node = node.parentElement;
  }
  return [selector, getComputedStyle(el).color, background || 'rgb(255, 255, 255)'];
}))"""


def luminance(colour: str) -> float:
    red, green, blue = (int(v) / 255 for v in re.findall(r"[\d.]+", colour)[:3])

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def contrast(foreground: str, background: str) -> float:
    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_meets_wcag_aa(page, site, scheme):
    page.emulate_media(color_scheme=scheme)
    checks = [
        ("/", ["body", "h1", ".lede", ".meta", "h2 a", ".formats a", ".formats .label", "summary", "header.site nav a", "footer.site"]),
        ("/c/international", [".addresses code", "button.copy", ".item h2 a", ".item h2", ".meta", "time", ".summary", ".also", ".tags a"]),
        ("/sources", [".badge", ".source dt", ".source dd", ".source .error"]),
    ]
    seen = 0
    for url, selectors in checks:
        page.goto(site + url)
        for selector, foreground, background in page.evaluate(COLOURS, selectors):
            ratio = contrast(foreground, background)
            assert ratio >= 4.5, f"{url} {selector}: {foreground} on {background} is {ratio:.2f}:1"
            seen += 1
        if scheme == "dark":
            screenshot(page, f"{url.strip('/').replace('/', '-') or 'index'}-dark.png")
    assert seen > 30


# -- pictures and tags ---------------------------------------------------------------

# A 16:9 picture the test serves itself (no network here).
PICTURE = (b'<svg xmlns="http://www.w3.org/2000/svg" width="320" height="180">'
           b'<rect width="320" height="180" fill="#2a6f97"/></svg>')


@pytest.fixture
def pictured_site(make_config, tmp_path):
    """Stories with a picture (served on 127.0.0.1) and tags, under a real server."""
    pictures = FeedServer(tmp_path)
    pictures.overrides["/harbour.svg"] = (200, {"Content-Type": "image/svg+xml"}, PICTURE)
    config = make_config()
    with Store(config.database) as store:
        filing.add(store, story(1, title="Cranes work through the night", image=f"{pictures.url}/harbour.svg",
                        tags=("north sea", "Ports")))
        filing.add(store, story(2, title="Ferry timetable changes", category="international", tags=("North Sea",)))
    server = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    pictures.close()


def test_a_story_shows_its_picture_in_a_fixed_box_and_its_tags_lead_to_the_tag_page(page, pictured_site):
    page.goto(pictured_site + "/c/business")
    picture = page.get_by_role("img", name="Picture: Cranes work through the night")
    assert picture.get_attribute("loading") == "lazy"
    box = page.locator(".thumb").first.bounding_box()
    assert box["width"] > 0 and abs(box["width"] / box["height"] - 16 / 9) < 0.05, box
    picture.scroll_into_view_if_needed()
    page.wait_for_function("document.querySelector('.thumb img').complete")
    assert page.evaluate("document.querySelector('.thumb img').naturalWidth") == 320, "the picture loaded"
    assert page.locator(".thumb").first.bounding_box() == box, "the box did not move or grow as it loaded"
    screenshot(page, "category-pictures.png")

    page.get_by_role("link", name="north sea").click()
    page.wait_for_url("**/t/north-sea")
    assert page.get_by_role("heading", level=1).inner_text() == "Tagged “North Sea”"
    # Both spellings are one tag (named as its newest story spells it): the
    # stories of both categories are here.
    assert page.locator(".item h2").all_inner_texts() == ["Ferry timetable changes", "Cranes work through the night"]
    feeds = page.locator('link[rel="alternate"]').evaluate_all("links => links.map(l => l.href)")
    assert feeds == [f"http://feeds.test/feeds/tag/north-sea.{fmt}" for fmt in ("rss", "atom", "json")]
    screenshot(page, "tag.png")
