"""Reading JSON Feed 1.0/1.1 sources (https://www.jsonfeed.org/version/1.1/).

feedparser 6 reads every XML dialect but not JSON Feed, so a JSON document is
turned here into entries of the shape feedparser gives, with an
extras.EntryExtras for what that shape has no place for (attachments' titles
and durations, external_url), and to_item reads both alike.
"""

from __future__ import annotations

import html
import json
import time
from datetime import datetime, timezone
from typing import Any

from ..model import Person
from ..sanitize import web_url
from .extras import KEY, EntryExtras, RawMedia


class NotJsonFeed(ValueError):
    """The document is JSON but not a usable JSON Feed; str() says why."""


def looks_like_json(body: bytes) -> bool:
    """Whether a document is JSON, by its first character: servers label
    feeds wrongly too often (RSS as application/json included) to go by
    their Content-Type."""
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def entries(body: bytes, url: str | None) -> list[dict[str, Any]]:
    """The items of a JSON Feed as feedparser-shaped entries."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise NotJsonFeed(f"line {line}: JSON Feed is not UTF-8 (byte 0x{body[exc.start]:02x})") from None
    except json.JSONDecodeError as exc:
        raise NotJsonFeed(f"line {exc.lineno}, column {exc.colno}: malformed JSON: {exc.msg}") from None
    except RecursionError:  # arrays in arrays past Python's recursion limit
        raise NotJsonFeed("JSON nested too deep") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith("https://jsonfeed.org/version/"):
        raise NotJsonFeed("not a JSON Feed: no https://jsonfeed.org/version/ \"version\"")
    items = document.get("items")
    if not isinstance(items, list):
        raise NotJsonFeed('JSON Feed has no "items" list')
    base = web_url(url) or web_url(_text(document.get("home_page_url")))
    return [_entry(item, base) for item in items if isinstance(item, dict)]


def _entry(item: dict[str, Any], base: str) -> dict[str, Any]:
    link = web_url(_text(item.get("url")), base or None)
    entry: dict[str, Any] = {"title": html.escape(_text(item.get("title")))}
    if link:
        entry["link"] = link
    if item.get("id") not in (None, ""):
        entry["id"] = _text(item["id"])
    content = _text(item.get("content_html")) or html.escape(_text(item.get("content_text")))
    entry["content"] = [{"value": content, "base": link or base}]
    entry["summary"] = html.escape(_text(item.get("summary")))
    entry["summary_detail"] = {"base": link or base}
    entry["published_parsed"] = _time(item.get("date_published"))
    entry["updated_parsed"] = _time(item.get("date_modified"))
    authors = item.get("authors")
    if not isinstance(authors, list):
        authors = [item.get("author")]  # 1.1 has "authors"; 1.0 had one "author".
    tags = _list(item.get("tags"))
    entry["tags"] = [{"term": _text(tag)} for tag in tags if isinstance(tag, str)]
    image = _text(item.get("image")) or _text(item.get("banner_image"))
    if image:
        entry["image"] = {"href": image}
    entry[KEY] = EntryExtras(
        authors=tuple(_person(a) for a in authors if isinstance(a, dict)),
        media=tuple(
            RawMedia(_text(a.get("url")), _text(a.get("mime_type")), _text(a.get("size_in_bytes")), base=link or base,
                     duration=_text(a.get("duration_in_seconds")), title=_text(a.get("title")))
            for a in _list(item.get("attachments")) if isinstance(a, dict)
        ),
        related=web_url(_text(item.get("external_url")), link or base or None),
    )
    return entry


def _person(author: dict[str, Any]) -> Person:
    # The spec lets an author's "url" be a mailto: link, their address.
    url = _text(author.get("url"))
    if url.lower().startswith("mailto:"):
        return Person(_text(author.get("name")), url[len("mailto:"):])
    return Person(_text(author.get("name")), uri=url)


def _text(value: object) -> str:
    return value if isinstance(value, str) else "" if value is None or isinstance(value, (dict, list)) else str(value)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _time(value: object) -> time.struct_time | None:
    """An RFC 3339 date as the UTC struct_time feedparser gives, or None."""
    try:
        moment = datetime.fromisoformat(_text(value).replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).timetuple()
