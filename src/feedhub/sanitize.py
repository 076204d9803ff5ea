"""Making HTML from other people's feeds safe to republish.

Everything a source sends is hostile until cleaned.  ``clean_html`` runs nh3
(Python bindings of Rust's ammonia, an allow-list HTML sanitizer that parses
like a browser) when an entry becomes an Item, so the store only ever holds
safe HTML: no script, style, iframe, object or form, no event handlers or
style attributes, and only http(s) and mailto links.  Relative links are made
absolute against the entry's base URL, so they still work when a reader
shows the entry outside its site.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

import nh3

# Anything else (javascript:, data:, vbscript:, file:, ...) is dropped.
URL_SCHEMES = {"http", "https", "mailto"}
# nofollow: republished links must not lend our site's rank to spammers.
LINK_REL = "noopener noreferrer nofollow"
TAG = re.compile(r"<[^>]+>")
# Tags become spaces so that "<p>a</p><p>b</p>" keeps its words apart; that
# leaves "floods </a>." as "floods ." unless the space before punctuation goes.
SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?)\]])")
# Elements whose text is code, not words: dropped whole from plain text
# (feedparser's sanitizer did it before; see remote/parse.PARSE_ONCE).
ACTIVE = re.compile(r"<(script|style|applet)\b.*?(?:</\1\s*>|$)", re.I | re.S)


def web_url(url: str | None, base: str | None = None) -> str:
    """`url` made absolute against `base` if it is http(s) in the end, else ""."""
    url = (url or "").strip()
    if not url:
        return ""
    try:
        absolute = urljoin(base, url) if base else url
        parts = urlsplit(absolute)
    except ValueError:  # e.g. an unbalanced IPv6 bracket
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    return absolute


def clean_html(fragment: str, base: str | None = None) -> str:
    """Safe HTML for `fragment`; relative links resolved against `base`
    (an http(s) URL), or removed when there is no such base."""
    base = web_url(base)
    return nh3.clean(
        fragment,
        url_schemes=URL_SCHEMES,
        link_rel=LINK_REL,
        url_relative=("rewrite_with_base", base) if base else "deny",
        attribute_filter=_drop_empty_urls,
    )


def _drop_empty_urls(tag: str, attribute: str, value: str) -> str | None:
    # An empty href is what feedparser leaves of a javascript: link; resolved,
    # it would point at the feed itself.
    return None if attribute in ("href", "src") and not value.strip() else value


def plain_text(fragment: str) -> str:
    """An HTML fragment's words, without markup or code, on one line."""
    if "<" in fragment:
        fragment = ACTIVE.sub(" ", fragment)
    text = " ".join(html.unescape(TAG.sub(" ", fragment)).split())
    return SPACE_BEFORE_PUNCT.sub(r"\1", text)
