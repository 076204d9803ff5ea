"""Fetching and reading source feeds (RSS 0.9x/1.0/2.0, Atom 0.3/1.0).

HTTP is done with httpx so that timeouts, validators and status codes are ours
to control; the body is handed to feedparser, which knows every feed dialect.
A fetch sends the ETag and Last-Modified of the previous good fetch, so an
unchanged feed costs the publisher a 304 and us no parsing.
"""

from __future__ import annotations

import calendar
import hashlib
import html
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import feedparser
import httpx

from .. import __version__, decoding, jsonfeed, media
from ..config import Config, Source
from ..items import Item, Person
from ..sanitize import clean_html, web_url
from . import fetchguard

if TYPE_CHECKING:
    from ..store import SourceState

USER_AGENT = f"feedhub/{__version__} (+https://github.com/feedhub/feedhub; feed aggregator)"
ACCEPT = "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
log = logging.getLogger(__name__)
TAG = re.compile(r"<[^>]+>")
# Tags become spaces so that "<p>a</p><p>b</p>" keeps its words apart; that
# leaves "floods </a>." as "floods ." unless the space before punctuation goes.
SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?)\]])")
# feedparser spends ~30 µs per element, so a 10 MB body of "<x/>" would take
# over a minute: past this many "<" a document is refused unparsed.  Real
# feeds have a few thousand (HTML inside them is escaped or in CDATA).
MAX_MARKUP = 250_000
# An entity declared in the document's own DTD whose text names other entities
# (billion laughs) or runs long (quadratic blow-up) exists only to expand.
# expat stops such a parse after 8 MiB of output, but feedparser has built tens
# of MB of strings by then, per document; so, as defusedxml does, such a
# document is refused unparsed.  What real feeds declare stays allowed: a
# character reference (<!ENTITY nbsp "&#160;">) or a few words of plain text.
ENTITY = re.compile(rb"""<!ENTITY\s+(%\s*)?([^\s>]+)\s+(?:"([^"]*)"|'([^']*)')""")
CHARACTER_REFERENCE = re.compile(rb"&#(?:[0-9]+|x[0-9a-fA-F]+);")
MAX_ENTITY_TEXT = 64
WESTERN = {"windows-1252", "cp1252", "iso-8859-1", "latin-1", "latin1", "iso8859-1"}


class FetchError(Exception):
    """A source that could not be read this time; str() is the reason."""

    def __init__(self, message: str, status: int | None = None, retry_after: str | None = None):
        super().__init__(message)
        self.status = status  # the HTTP status, when there was a response
        self.retry_after = retry_after  # the publisher's Retry-After, on 429 and 503


class Gone(FetchError):
    """410 Gone: the publisher says the feed will not come back."""


@dataclass
class Fetched:
    status: int  # HTTP status, or 200 for a local file
    entries: list[dict] = field(default_factory=list)
    etag: str | None = None
    last_modified: str | None = None
    url: str = ""  # where the feed was finally read from
    # Where to fetch from next time, after a 301/308 chain; None if not moved.
    moved_to: str | None = None


def fetch(
    source: Source,
    state: SourceState,
    timeout: float = 20,
    policy: fetchguard.Policy | None = None,
    client: httpx.Client | None = None,
) -> Fetched:
    """Read a source, conditionally on what the last good fetch saw; on
    `client` (from fetch_client) if given, sharing its connections.

    A source that moved permanently is read at its stored new address
    (``state.url``) instead of the one in feeds.yaml.
    """
    policy = policy or fetchguard.Policy()
    if source.path:
        return _read_file(source.path, state, policy)
    url = state.url or source.url
    headers = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    try:
        response = fetchguard.get(url, headers, policy, timeout, client)
    except fetchguard.Refused as exc:
        raise FetchError(str(exc)) from None
    except httpx.TimeoutException:
        raise FetchError(f"timed out after {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}") from None
    moved_to = permanent_target(url, response)
    if response.status_code == 304:
        return Fetched(
            304, etag=state.etag, last_modified=state.last_modified,
            url=response.url, moved_to=moved_to,
        )
    if response.status_code == 410:
        raise Gone(f"HTTP 410 {response.reason_phrase}: retired, the publisher removed this feed", status=410)
    if response.status_code != 200:
        retry_after = response.headers.get("retry-after") if response.status_code in (429, 503) else None
        raise FetchError(
            f"HTTP {response.status_code} {response.reason_phrase}", status=response.status_code, retry_after=retry_after
        )
    entries = parse(response.body, response.url, response.headers.get("content-type"))
    return Fetched(
        200,
        entries,
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        url=response.url,
        moved_to=moved_to,
    )


def permanent_target(url: str, response: fetchguard.Response) -> str | None:
    """The address a chain of permanent redirects (301/308) leads to.

    Only the permanent steps at the start of the chain count: after a 302 or
    307 the publisher still wants us to come back to the address before it.
    """
    target = None
    hops = [*response.history, response]
    for hop, following in zip(hops, hops[1:]):
        if hop.status_code not in (301, 308):
            break
        target = str(following.url)
    return target if target != url else None


def _read_file(path: Path, state: SourceState, policy: fetchguard.Policy) -> Fetched:
    # A local feed file's mtime and size play the part of an ETag.
    try:
        stat = path.stat()
        stamp = f"{stat.st_mtime_ns}-{stat.st_size}"
        if state.etag == stamp:
            return Fetched(304, etag=stamp, url=str(path))
        if stat.st_size > policy.max_bytes:
            raise FetchError(f"{path} is {stat.st_size:,} bytes, over fetch_max_bytes ({policy.max_bytes:,})")
        body = path.read_bytes()
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror}") from None
    # No base URL: relative links in a local file are resolved against each
    # entry's own link later (sanitize), never against a file:// path.
    return Fetched(200, parse(body, None, None), etag=stamp, url=str(path))


# feedparser's own HTML sanitizing and relative-URI rewriting are off: to_item
# does both with nh3 (clean_html, against the entry's xml:base or link), and
# titles and summaries become plain text, so doing them twice cost a third of
# the parse (issue 18).
PARSE_ONCE = {"sanitize_html": False, "resolve_relative_uris": False}


def parse(body: bytes, url: str | None, content_type: str | None) -> list[dict]:
    """Entries of a feed document; FetchError if it is not a usable feed."""
    if jsonfeed.looks_like_json(body):
        try:
            return jsonfeed.entries(body, url)
        except jsonfeed.NotJsonFeed as exc:
            raise FetchError(str(exc)) from None
    if (tags := body.count(b"<")) > MAX_MARKUP:
        raise FetchError(f"{tags:,} '<' in the document, over the {MAX_MARKUP:,} feedhub parses; refused unparsed")
    _refuse_expanding_entities(body)
    headers = {"content-location": url} if url else {}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, **PARSE_ONCE)
    guessed = isinstance(parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride)
    if guessed or parsed.get("encoding", "").lower() in WESTERN:
        # feedparser fell back to UTF-8 or Windows-1252 because the declared
        # encoding was wrong, or a Western single-byte encoding was declared
        # (the label most often wrong): make sure the text is not mojibake.
        try:
            decoding.decode(body)
        except decoding.Undecodable as exc:
            if not decoding.mostly_utf8(body):
                raise FetchError(f"line {exc.line}: not in its declared encoding; {exc}") from None
            # UTF-8 with a few broken bytes: keep the text, each broken byte
            # shown as U+FFFD, rather than read all of it as Windows-1252.
            log.warning("feed %s: broken UTF-8 bytes from line %d replaced", url, exc.line)
            fixed = body.decode("utf-8", "replace").encode("utf-8")
            parsed = feedparser.parse(fixed, response_headers={**headers, "content-type": "application/xml; charset=utf-8"},
                                      **PARSE_ONCE)
    if parsed.bozo and not _harmless(parsed.bozo_exception):
        line = getattr(parsed.bozo_exception, "getLineNumber", lambda: None)()
        where = f" at line {line}" if line else ""
        raise FetchError(f"malformed feed{where}: {parsed.bozo_exception}")
    if not parsed.version:
        raise FetchError("not an RSS or Atom feed")
    return parsed.entries


def _refuse_expanding_entities(body: bytes) -> None:
    # Declarations can only come before the root element.
    root = re.search(rb"<[A-Za-z_]", body)
    for match in ENTITY.finditer(body, 0, root.start() if root else len(body)):
        text = match[3] if match[3] is not None else match[4]
        if match[1]:
            why = "is a parameter entity with literal text"
        elif not (CHARACTER_REFERENCE.fullmatch(text) or not re.search(rb"[&%<]", text)):
            why = "expands to other entities or markup"
        elif len(text) > MAX_ENTITY_TEXT:
            why = f"expands to {len(text):,} characters, over {MAX_ENTITY_TEXT}"
        else:
            continue
        line = body.count(b"\n", 0, match.start()) + 1
        raise FetchError(f"line {line}: entity {match[2].decode('utf-8', 'replace')!r} {why}; refused unparsed")


def _harmless(exc: Exception) -> bool:
    # The document parsed as XML; only its declared type or charset was off.
    return isinstance(exc, (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType))


def to_item(entry: dict, source: Source, fetched_at: datetime) -> Item:
    """One feed entry as an Item of the source's category."""
    # decoding.repair: a publisher's double-converted UTF-8 ("CafÃ©") is
    # turned back into the text it was.
    title = _plain(decoding.repair(entry.get("title", ""))) or "(untitled)"
    # feedparser has resolved relative links against xml:base or the feed's
    # URL where it could; a link that is still not http(s) is dropped.
    link = web_url(entry.get("link"))
    summary_html = decoding.repair(entry.get("summary", ""))
    detail = (entry.get("content") or [{}])[0]
    base = web_url(detail.get("base") or (entry.get("summary_detail") or {}).get("base")) or link
    content = clean_html(decoding.repair(detail.get("value", "")) or summary_html, base)
    summary = _plain(summary_html or content)
    guid = entry.get("id") or entry.get("link") or hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()
    # dict.get: feedparser's own get() silently swaps updated for published.
    published_at, updated_at = _when(dict.get(entry, "published_parsed")), _when(dict.get(entry, "updated_parsed"))
    published = published_at or updated_at or fetched_at
    return Item(
        category=source.category,
        source=f"feed:{source.name}",
        guid=guid,
        title=title,
        link=link,
        summary=summary,
        content=content,
        text=_plain(content),
        published=published,
        updated=updated_at,
        author=decoding.repair(entry.get("author", "")),
        priority=source.priority,
        **_media(entry, base, content),
    )


def _media(entry: dict, base: str, content: str) -> dict:
    """Authors, tags, picture, media files and comments link of an entry,
    as Item fields; what is not http(s) or not well-formed is left out."""
    files = [
        media.enclosure(link.get("href"), link.get("type"), link.get("length"), "", base)
        for link in entry.get("links", []) if link.get("rel") == "enclosure"
    ]
    # MRSS: the publisher's default rendition first (feedparser flattens media:group).
    contents = sorted(entry.get("media_content", []), key=lambda c: str(c.get("isdefault")).lower() != "true")
    files += [media.enclosure(c.get("url"), c.get("type"), c.get("filesize"), c.get("medium"), base) for c in contents]
    files = media.fold(files)
    # The picture: a thumbnail, else the entry's image (itunes:image, JSON
    # Feed's image), else its first image file.
    thumbnails = [t.get("url") for t in entry.get("media_thumbnail", [])]
    candidates = [*thumbnails, (entry.get("image") or {}).get("href")]
    image = next(filter(None, (web_url(url, base or None) for url in candidates)), "")
    image = image or next((file.url for file in files if media.kind(file) == "image"), "")
    return {
        "authors": _authors(entry),
        "tags": media.tags(decoding.repair(tag.get("label") or tag.get("term") or "") for tag in entry.get("tags", [])),
        "image": image,
        "enclosures": files,
        "comments": web_url(entry.get("comments"), base or None) or _replies(entry, base),
    }


def _authors(entry: dict) -> tuple[Person, ...]:
    found = [
        Person(decoding.repair(a.get("name") or ""), a.get("email") or "", a.get("href") or "")
        for a in entry.get("authors", [])
    ]
    if len(found) == 1 and (line := media.person(decoding.repair(dict.get(entry, "author") or ""))).email:
        # RSS <author>: feedparser cuts the address's last label to 4
        # letters ("jo@news.example" -> "jo@news.exam"); read the line ourselves.
        found = [Person(line.name, line.email, found[0].uri)]
    # feedparser gives a later Atom <author> the previous author's email
    # (cut short as above) when it has none of its own: drop such copies.
    earlier: list[str] = []
    for number, author in enumerate(found):
        if author.email and any(email.startswith(author.email) for email in earlier):
            found[number] = Person(author.name, "", author.uri)
        earlier.append(author.email)
    return media.people(found)


def _replies(entry: dict, base: str) -> str:
    # Atom's comments link (RFC 4685).
    for link in entry.get("links", []):
        if link.get("rel") == "replies" and (url := web_url(link.get("href"), base or None)):
            return url
    return ""


def _when(parsed_time) -> datetime | None:
    # feedparser normalises every date format to a UTC struct_time.
    if not parsed_time:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed_time), tz=timezone.utc)


# Elements whose text is code, not words: dropped whole from plain text (feedparser's
# sanitizer did it before; see PARSE_ONCE).
ACTIVE = re.compile(r"<(script|style|applet)\b.*?(?:</\1\s*>|$)", re.I | re.S)


def _plain(fragment: str) -> str:
    if "<" in fragment:
        fragment = ACTIVE.sub(" ", fragment)
    text = " ".join(html.unescape(TAG.sub(" ", fragment)).split())
    return SPACE_BEFORE_PUNCT.sub(r"\1", text)


def fetch_policy(config: Config) -> fetchguard.Policy:
    return fetchguard.Policy(
        allow_networks=tuple(config.fetch_allow_networks),
        max_bytes=config.fetch_max_bytes,
        max_seconds=config.fetch_max_time,
    )


def fetch_client(config: Config, connections: int) -> httpx.Client:
    """One guarded HTTP client for many fetches at once (see fetchguard.client)."""
    return fetchguard.client(fetch_policy(config), config.fetch_timeout, connections)
