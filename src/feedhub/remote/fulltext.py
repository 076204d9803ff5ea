"""Full text for sources whose feeds carry only a teaser (``full_text: true``).

For each entry whose body is short, the entry's page is fetched through the
same guarded client as feeds (fetchguard: address checks on every hop, size
and time caps; conditional GET with the page's last ETag/Last-Modified),
after asking the host's robots.txt (cached per host for an hour); a host
that answers 429 or 503 is left alone until its Retry-After.  The
article body is extracted with trafilatura, sanitized (sanitize.clean_html,
which also makes its links absolute) and becomes the item's content and
text, so near-duplicate detection sees the whole story; the feed's teaser
stays the summary.

A page is fetched once per entry: again only when the entry itself changes
in the feed (then conditionally, so an unchanged page costs a 304), or to
retry a failure, up to ``MAX_ATTEMPTS`` passes.  Any failure (timeout, 404,
403, refused address, robots.txt, nothing extracted) leaves the teaser as
the content and is recorded for `feedhub sources` and /sources.

This runs on the fetch threads, never on a web request; the store thread
only files the results.
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Callable
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from ..model import Item, Page, utcnow
from ..sanitize import clean_html, plain_text
from . import fetchguard, politeness

if TYPE_CHECKING:
    from ..model import PageState

# An entry whose body has fewer words than this is a teaser worth completing.
TEASER_WORDS = 200
# An extracted body shorter than this is not an article (a login wall, an
# error page that answered 200).
MIN_ARTICLE_WORDS = 30
# A page that failed is tried again on this many passes in all.
MAX_ATTEMPTS = 3
ROBOTS_TTL = 3600.0  # seconds a host's robots.txt is trusted
# How long a host that answered 429 or 503 without a Retry-After is left alone.
PAGE_PAUSE = timedelta(minutes=15)
ROBOTS_AGENT = "feedhub"  # the token robots.txt rules name
ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
# A guarded GET: fetchguard.get bound to the source's policy and client.
Getter = Callable[[str, dict[str, str]], fetchguard.Response]


def entry_stamp(item: Item) -> str:
    """What the feed said about an entry, hashed: a change means fetch again."""
    seen = "\n".join((item.title, item.link, item.summary, item.content, str(item.updated)))
    return hashlib.sha256(seen.encode()).hexdigest()[:16]


def is_teaser(item: Item) -> bool:
    return len(item.text.split()) < TEASER_WORDS


def needs_fetch(item: Item, known: PageState | None) -> bool:
    """Whether this pass should fetch the entry's page (a pure decision on
    the entry and the page's stored row)."""
    if not item.link or not is_teaser(item):
        return False
    if not known:
        return True
    if known.stamp != entry_stamp(item):
        return True
    return bool(known.error) and (known.attempts or 0) < MAX_ATTEMPTS


def with_page(item: Item, page: PageState | Page | None) -> Item:
    """The teaser item with its page's article (stored, or fetched now) as its
    content and text; the teaser stays the summary.  As it was without an article."""
    if page and page.content and is_teaser(item):
        item.content, item.text = page.content, page.text or ""
    return item


class RobotsCache:
    """robots.txt per host (scheme, host and port), fetched at most once an
    hour, shared by the fetch threads.  As RFC 9309 says: a 4xx answer means
    no rules; a 5xx or no answer means everything is disallowed for now."""

    def __init__(self, ttl: float = ROBOTS_TTL):
        self.ttl = ttl
        self.lock = threading.Lock()
        self.hosts: dict[str, tuple[float, RobotFileParser | None, str]] = {}

    def refusal(self, url: str, fetch: Callable[[str], fetchguard.Response]) -> str | None:
        """Why robots.txt forbids `url`, or None; `fetch(url)` GETs a URL."""
        origin = _origin(url)
        with self.lock:
            cached = self.hosts.get(origin)
        if cached is None or cached[0] < time.monotonic():
            cached = (time.monotonic() + self.ttl, *self._read(origin, fetch))
            with self.lock:
                self.hosts[origin] = cached
        _, parser, why = cached
        if parser is None:
            return why
        return None if parser.can_fetch(ROBOTS_AGENT, url) else f"robots.txt of {origin} disallows it"

    @staticmethod
    def _read(origin: str, fetch: Callable[[str], fetchguard.Response]) -> tuple[RobotFileParser | None, str]:
        parser = RobotFileParser()
        try:
            response = fetch(f"{origin}/robots.txt")
        except Exception as exc:  # network trouble: assume disallowed (RFC 9309 2.3.1.4)
            return None, f"robots.txt of {origin} could not be read ({describe(exc)}); not fetched"
        if response.status_code >= 500:
            return None, f"robots.txt of {origin} answered HTTP {response.status_code}; not fetched"
        lines = response.body.decode("utf-8", "replace").splitlines() if response.status_code == 200 else []
        parser.parse(lines)
        return parser, ""


ROBOTS = RobotsCache()


class HostPauses:
    """Hosts that answered a page fetch with 429 or 503: none of their pages
    is asked for again before their Retry-After (PAGE_PAUSE without one),
    however many sources link to them.  Shared by the fetch threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.until: dict[str, datetime] = {}

    def paused(self, url: str, now: datetime) -> bool:
        with self.lock:
            return self.until.get(_origin(url), now) > now

    def pause(self, url: str, retry_after: str | None, now: datetime) -> None:
        wait = politeness.parse_retry_after(retry_after, now) or PAGE_PAUSE
        with self.lock:
            self.until[_origin(url)] = now + wait


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


PAUSES = HostPauses()


def describe(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timed out"
    if isinstance(exc, fetchguard.Refused):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def fetch_page(
    item: Item, known: PageState | None, get: Getter, user_agent: str, robots: RobotsCache | None = ROBOTS
) -> Page:
    """Fetch and extract one entry's page; never raises.  `get(url, headers)`
    is a guarded GET (fetchguard.get bound to a policy and client); `robots`
    None skips robots.txt (the source's `full_text_ignore_robots`).  A page
    that fails now keeps the article an earlier fetch found, if any."""
    page = _fetch_page(item, known, get, user_agent, robots)
    if page.error and known and known.content:
        page.content, page.text = known.content, known.text or ""
        page.etag, page.last_modified = known.etag, known.last_modified
    return page


def _fetch_page(item: Item, known: PageState | None, get: Getter, user_agent: str, robots: RobotsCache | None) -> Page:
    page = Page(item.id, item.link, entry_stamp(item), fetched_at=utcnow().isoformat(timespec="seconds"))
    if known and known.error and known.stamp == page.stamp:
        page.attempts = (known.attempts or 0) + 1
    headers = {"User-Agent": user_agent, "Accept": ACCEPT}
    if robots is not None:
        why = robots.refusal(item.link, lambda url: get(url, {"User-Agent": user_agent}))
        if why:
            page.error = why
            return page
    if known and known.content:
        # Conditional: an unchanged page costs a 304 and keeps its article.
        if known.etag:
            headers["If-None-Match"] = known.etag
        if known.last_modified:
            headers["If-Modified-Since"] = known.last_modified
    try:
        response = get(item.link, headers)
    except Exception as exc:
        page.error = describe(exc)
        return page
    page.status = response.status_code
    if response.status_code == 304 and known and known.content:
        page.content, page.text = known.content, known.text or ""
        page.etag, page.last_modified = known.etag, known.last_modified
        return page
    if response.status_code != 200:
        page.error = f"HTTP {response.status_code} {response.reason_phrase}".strip()
        page.retry_after = response.headers.get("retry-after")
        return page
    page.etag, page.last_modified = response.headers.get("etag"), response.headers.get("last-modified")
    page.url = response.url
    try:
        page.content, page.text = extract(response.body, response.url)
    except ValueError as exc:
        page.error = str(exc)
    return page


def extract(body: bytes, url: str) -> tuple[str, str]:
    """The article in a page as safe HTML with absolute links, and its plain
    text; ValueError when there is none."""
    import trafilatura  # loaded only by sources that want full text

    found = trafilatura.extract(
        body, url=url, output_format="html", include_comments=False, include_links=True,
        include_images=False, include_tables=True, favor_precision=True,
    )
    content = clean_html(found or "", url).strip()
    text = plain_text(content)
    if len(text.split()) < MIN_ARTICLE_WORDS:
        raise ValueError(f"no article found in the page ({len(text.split())} words extracted)")
    return content, text


def complete(
    entries: list[Item], known: dict[str, PageState], get: Getter, user_agent: str, robots: RobotsCache | None
) -> list[Page]:
    """Fetch the pages this pass needs for a source's entries, one at a time
    (one connection to the publisher).  A host that answers 429 or 503 is
    left alone until its Retry-After: its pages wait for a later pass."""
    pages = []
    for item in entries:
        if needs_fetch(item, known.get(item.id)) and not PAUSES.paused(item.link, utcnow()):
            page = fetch_page(item, known.get(item.id), get, user_agent, robots)
            pages.append(page)
            if page.status in (429, 503):
                PAUSES.pause(page.url, page.retry_after, utcnow())
    return pages
