"""Reading a feed document (RSS 0.9x/1.0/2.0, Atom 0.3/1.0, JSON Feed) into
its entries, safely.

The bytes come from a stranger: a document built to exhaust the parser
(too much markup, entities that expand) is refused before feedparser sees
it, and a declared encoding that is wrong is caught, so the text is never
mojibake; a document that declares none is read in the legacy encoding it
is plainly in (Shift_JIS, KOI8-R...).  feedparser knows every XML feed
dialect and gives each entry as a dict, with what it gets wrong read again
from the XML (extras.py); jsonfeed gives JSON Feed entries the same shape,
and to_item makes either into an Item.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import feedparser

from . import decoding, extras, jsonfeed

log = logging.getLogger(__name__)
# One entry, as feedparser gives it (a dict subclass) or jsonfeed maps it to
# feedparser's keys.  The values are whatever the document held, not a fixed
# shape, so entries.to_item checks each one where it reads it.
Entry = dict[str, Any]
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
XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?\sencoding\s*=\s*["']""")
BLANK = b"\xef\xbb\xbf \t\r\n"  # a UTF-8 BOM and XML's white space
# What may come before the root element, and what ends it.
PROLOGUE = {b"<?": b"?>", b"<!--": b"-->", b"<!DOCTYPE": b">"}
# expat's "<unknown>:9:17: " before its message: the line is said already.
EXPAT_PLACE = re.compile(r"^<unknown>:\d+:\d+: ")
# A document that starts with its XML declaration (in UTF-8 or UTF-16):
# feedparser puts one line of its own before any other.
STARTS_DECLARED = re.compile(rb"^(?:\xef\xbb\xbf|\xff\xfe|\xfe\xff)?\x00?<\x00?\?\x00?x")
# feedparser's own HTML sanitizing and relative-URI rewriting are off: to_item
# does both with nh3 (clean_html, against the entry's xml:base or link), and
# titles and summaries become plain text, so doing them twice cost a third of
# the parse (issue 18).
PARSE_ONCE = {"sanitize_html": False, "resolve_relative_uris": False}


class ParseError(Exception):
    """A document that is not a usable feed; str() says where and why."""


def parse(body: bytes, url: str | None, content_type: str | None) -> list[Entry]:
    """Entries of a feed document; ParseError if it is not a usable feed."""
    if _empty(body):
        raise ParseError("empty document")
    if jsonfeed.looks_like_json(body):
        try:
            return jsonfeed.entries(body, url)
        except jsonfeed.NotJsonFeed as exc:
            raise ParseError(str(exc)) from None
    if (tags := body.count(b"<")) > MAX_MARKUP:
        raise ParseError(f"{tags:,} '<' in the document, over the {MAX_MARKUP:,} feedhub parses; refused unparsed")
    _refuse_expanding_entities(body)
    headers = {"content-location": url} if url else {}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers, **PARSE_ONCE)
    encoding: str | None = parsed.get("encoding")
    guessed = isinstance(parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride)
    if guessed or (encoding or "").lower() in WESTERN:
        # feedparser fell back to UTF-8 or Windows-1252 because the declared
        # encoding was wrong, or a Western single-byte encoding was declared
        # (the label most often wrong): make sure the text is not mojibake.
        try:
            encoding = decoding.decode(body)[1]
        except decoding.Undecodable as exc:
            body = _as_utf8(body, content_type, exc, url)
            encoding = "utf-8"
            parsed = feedparser.parse(body, response_headers={**headers, "content-type": "application/xml; charset=utf-8"},
                                      **PARSE_ONCE)
    if parsed.bozo and not _harmless(parsed.bozo_exception):
        problem = parsed.bozo_exception
        line = getattr(problem, "getLineNumber", lambda: None)()
        if line and not STARTS_DECLARED.match(body):
            line -= 1  # feedparser's declaration line is not the document's
        column = getattr(problem, "getColumnNumber", lambda: None)()
        where = f" at line {line}" + (f", column {column + 1}" if column is not None else "") if line else ""
        raise ParseError(f"malformed feed{where}: {EXPAT_PLACE.sub('', str(problem))}")
    if not parsed.version:
        raise ParseError("not an RSS or Atom feed")
    entries: list[Entry] = parsed.entries
    found = extras.read(body, encoding, url)
    if found is not None and len(found) == len(entries):
        for entry, extra in zip(entries, found):
            entry[extras.KEY] = extra
    return entries


def _as_utf8(body: bytes, content_type: str | None, exc: decoding.Undecodable, url: str | None) -> bytes:
    """The document in UTF-8, when it is UTF-8 with a few broken bytes or
    in a legacy encoding it does not name; ParseError when neither."""
    if decoding.mostly_utf8(body):
        # UTF-8 with a few broken bytes: keep the text, each broken byte
        # shown as U+FFFD, rather than read all of it as Windows-1252.
        log.warning("feed %s: broken UTF-8 bytes from line %d replaced", url, exc.line)
        return body.decode("utf-8", "replace").encode("utf-8")
    if XML_ENCODING.match(body.lstrip(BLANK)) or "charset=" in (content_type or "").lower():
        raise ParseError(f"line {exc.line}: not in its declared encoding; {exc}")
    detected = decoding.detect(body)
    if detected is None:
        raise ParseError(f"line {exc.line}: no encoding declared; {exc}")
    text, encoding = detected
    log.info("feed %s: no encoding declared; read as %s", url, encoding)
    return text.encode("utf-8")


def _empty(body: bytes) -> bool:
    """Nothing but white space, an XML declaration, comments and a doctype."""
    rest = body.lstrip(BLANK)
    while start := next((start for start in PROLOGUE if rest.startswith(start)), None):
        end = rest.find(PROLOGUE[start], len(start))
        if end < 0:
            return False
        rest = rest[end + len(PROLOGUE[start]):].lstrip(BLANK)
    return not rest


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
        raise ParseError(f"line {line}: entity {match[2].decode('utf-8', 'replace')!r} {why}; refused unparsed")


def _harmless(exc: Exception) -> bool:
    # The document parsed as XML; only its declared type or charset was off.
    return isinstance(exc, (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType))
