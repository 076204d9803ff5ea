"""Stored items of a category as RSS 2.0 and Atom 1.0 documents (feedgen)."""

from __future__ import annotations

from datetime import datetime, timezone

from feedgen.feed import FeedGenerator

from . import __version__
from .config import Config
from .store import Store

FORMATS = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def feed_url(config: Config, category: str, fmt: str) -> str:
    return f"{config.site.link}/feeds/{category}.{fmt}"


def render(config: Config, store: Store, category: str, fmt: str) -> bytes:
    """The feed document for one category, newest item first."""
    items = store.items(category, limit=config.feed_size)
    return build(config, category, items, fmt)


def build(config: Config, category: str, items: list[dict], fmt: str) -> bytes:
    site, meta = config.site, config.categories[category]
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(feed_url(config, category, "atom"))
    fg.title(f"{site.title}: {meta.title}")
    fg.description(meta.description or meta.title)  # RSS <description>, Atom <subtitle>
    # feedgen uses the last link as RSS's <channel><link>: the site, not the feed.
    fg.link(href=feed_url(config, category, fmt), rel="self")
    fg.link(href=f"{site.link}/", rel="alternate")
    fg.language(site.language)
    # Atom needs an author for every entry; the site vouches for them all.
    fg.author({"name": site.title})
    fg.generator("feedhub", __version__)
    fg.updated(max((_updated(row) for row in items), default=EPOCH))
    for row in items:
        _add_entry(fg, row)
    if fmt == "rss":
        fg.lastBuildDate(fg.updated())
        return fg.rss_str(pretty=False)
    return fg.atom_str(pretty=False)


def _add_entry(fg: FeedGenerator, row: dict) -> None:
    entry = fg.add_entry(order="append")
    entry.id(f"urn:uuid:{row['id']}")
    entry.guid(f"urn:uuid:{row['id']}", permalink=False)
    entry.title(row["title"])
    if row["link"]:
        entry.link(href=row["link"], rel="alternate")
    entry.published(_parse(row["published"]))
    entry.updated(_updated(row))
    if row["summary"]:
        entry.summary(row["summary"])  # RSS <description> too
    if row["content"]:
        entry.content(row["content"], type="html")
    if row["author"]:
        entry.dc.dc_creator(row["author"])
        entry.author({"name": row["author"]})


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(timezone.utc)


def _updated(row: dict) -> datetime:
    return _parse(row["updated"] or row["published"])
