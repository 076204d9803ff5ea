"""The HTML pages people read: the category index, a preview of each category,
the sources' health, and the newsroom's article pages.

Pages are Jinja templates (``templates/``) with one small stylesheet
(``static/``); they work without JavaScript.  Everything shown that came from
a feed is untrusted: the templates autoescape it, and links from feeds are
only made clickable when they are plain http(s).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, TypedDict
from urllib.parse import urlsplit

from flask import (
    Flask, Response, abort, make_response, redirect, render_template, request, send_from_directory, url_for,
)
from flask.typing import ResponseReturnValue
from jinja2 import StrictUndefined
from werkzeug.exceptions import HTTPException

from .. import __version__, media
from ..config import ArticleDir, Config, Source
from ..model import Lease, SourceState, as_utc, from_iso, utcnow
from ..publish import feeds, partners
from ..publish.extras import Extras
from ..remote.politeness import next_run, source_status
from ..store import CategoryCounts, FolderState, PageHealth, Preview, Store, StoredItem
from ..store.partners import KEEP_DAYS
from ..store.search import SearchError
from ..worker.claims import Holding, holding, job_name
from . import gate

# Subscribe links and <link rel="alternate"> autodiscovery, in the order shown.
FEED_LINKS = [
    (fmt, label, feeds.FORMATS[fmt].split(";")[0])
    for fmt, label in (("rss", "RSS"), ("atom", "Atom"), ("json", "JSON"))
]
NEWSROOM = "newsroom"
BLOCKED_SHOWN = 50  # blocked entries listed on /sources, most recent first
STATIC = Path(__file__).parent / "static"


def use_config(app: Flask, config: Config) -> None:
    """Show `config`'s site and categories on every page from now on."""
    # Globals, not a context processor: the macros in _macros.html see them too.
    app.jinja_env.globals.update(
        site=config.site, categories=config.categories, version=__version__, feed_links=FEED_LINKS,
        feed_url=lambda key, fmt: feeds.feed_url(config, key, fmt),
    )


def register(app: Flask, store: Callable[[], Store]) -> None:
    """Add the page routes to the app; `store` gives this thread's Store, and
    app.config["FEEDHUB"] the configuration served now (see use_config)."""

    def current() -> Config:
        served: Config = app.config["FEEDHUB"]  # Flask's config holds Any; create_app puts a Config there
        return served

    # A misspelt name in a template fails the tests instead of printing nothing.
    app.jinja_env.undefined = StrictUndefined
    app.jinja_env.trim_blocks = app.jinja_env.lstrip_blocks = True
    app.add_template_filter(human_time)
    app.add_template_filter(iso_time)
    app.add_template_filter(every)
    app.add_template_filter(without_password)

    # Counting a category's items scans its index; the counts change only
    # when a category's version does, so they are kept per set of versions.
    # (versions, counts) is replaced as one tuple, so threads never pair one
    # request's versions with another's counts.
    counted: list[tuple[dict[str, int], dict[str, CategoryCounts]]] = [({}, {})]

    @app.context_processor
    def who_is_asking() -> dict[str, object]:
        # Pages name only the categories this visitor may see, and link the
        # operator pages only for operators.
        return {"categories": gate.visible_categories(), "operator": gate.is_operator()}

    def category_counts() -> dict[str, CategoryCounts]:
        versions = store().category_versions()
        if counted[0][0] != versions or not versions:
            counted[0] = (versions, store().category_counts())
        return counted[0][1]

    @app.get("/")
    @gate.audience(gate.PARTNER, limit=gate.PAGES)
    def index() -> str:
        config = current()
        stats = category_counts()
        none = CategoryCounts(0, 0, None)
        cards = [
            {"key": key, "meta": meta, "count": stats.get(key, none).items, "newest": stats.get(key, none).newest}
            for key, meta in gate.visible_categories().items()
        ]
        return render_template("index.html", cards=cards, opml_url=f"{config.site.link}/opml")

    @app.get("/c/<name>")
    @gate.audience(gate.PARTNER, limit=gate.PAGES)
    def category(name: str) -> str | tuple[str, int]:
        config = current()
        key = config.category_key(name)
        if key not in gate.visible_categories():
            return not_found(f"There is no category called “{name}”.")
        meta = config.categories[key]
        counts = category_counts().get(key)
        total = counts.items if counts else 0
        number, pages, items = preview_page(meta.title, total, lambda size, offset: store().preview(key, size, offset))
        return render_template("category.html", key=key, meta=meta, items=items, page=number, pages=pages)

    @app.get("/t/<name>")
    @gate.audience(gate.PARTNER, limit=gate.PAGES)
    def tag(name: str) -> ResponseReturnValue:
        slug = media.tag_slug(name)
        if slug and slug != name:  # "North Sea", "north_sea": one tag, one address
            query = request.query_string.decode()
            return redirect(url_for("tag", name=slug) + (f"?{query}" if query else ""), 301)
        visible = list(gate.visible_categories())
        title = store().tag_name(slug, visible) if slug else None
        if title is None:
            return not_found(f"No story is tagged “{name}”.")
        number, pages, items = preview_page(
            f"“{title}”", store().tag_count(slug, visible),
            lambda size, offset: store().tag_preview(slug, visible, size, offset),
        )
        return render_template("tag.html", slug=slug, title=title, items=items, page=number, pages=pages)

    @app.get("/search")
    @gate.audience(gate.PARTNER, limit=gate.PAGES)
    def search_page() -> str | tuple[str, int]:
        config = current()
        query = request.args.get("q", "").strip()
        visible = gate.visible_categories()
        keys = [key for name in request.args.getlist("category") if (key := config.category_key(name)) in visible]
        chosen = [{"key": key, "title": config.categories[key].title} for key in dict.fromkeys(keys)]
        items, error = [], None
        if query:
            try:
                rows = store().search(query, [c["key"] for c in chosen] or list(visible), limit=config.feed_size)
            except SearchError as exc:
                error = str(exc)[0].upper() + str(exc)[1:]
            else:
                items = [reader_view(config, row) for row in rows]
        searches = [(key, feeds.search_channel(config, key).title, saved) for key, saved in config.searches.items()]
        page = render_template("search.html", query=query, chosen=chosen, items=items, error=error,
                               limit=config.feed_size, searches=searches)
        return (page, 400) if error else page

    @app.get("/sources")
    @gate.audience(gate.OPERATOR)
    def sources() -> str:
        config = current()
        states = {state.name: state for state in store().sources()}
        held = store().leases()
        now = datetime.now(timezone.utc)
        rows = [source_health(source, states.get(source.name) or SourceState(source.name), now,
                              held.get(job_name(source))) for source in config.sources]
        for row in rows:
            row["full_text"] = store().page_health(row["source"].name) if row["source"].full_text else None
        tally = Counter(row["status"] for row in rows)
        folders = [folder_health(folder, store().article_folder(str(folder.path))) for folder in config.articles]
        blocked = [reader_view(config, row) for row in store().blocked_items(BLOCKED_SHOWN)]
        blocked_total = store().blocked_count()
        waiting = [reader_view(config, row) for row in store().held_items(BLOCKED_SHOWN)]
        updates = [{"title": row.title, "source_label": source_label(row.source), "category": row.category,
                    "embargo": row.held_until} for row in store().held_versions(BLOCKED_SHOWN)]
        withdrawn = [{**reader_view(config, row), "record": next(iter(store().withdrawals(row.id, 1)), None)}
                     for row in store().withdrawn_items(BLOCKED_SHOWN)]
        return render_template("sources.html", sources=rows, tally=tally, folders=folders,
                               blocked=blocked, blocked_total=blocked_total, waiting=waiting, updates=updates,
                               waiting_total=store().held_count(), withdrawn=withdrawn,
                               all_categories=config.categories)

    @app.get("/partners")
    @gate.audience(gate.OPERATOR)
    def partners_page() -> str:
        """Each partner's keys and feed requests over the last day (publish/partners.py)."""
        config, now = current(), utcnow()
        reports = partners.report(config, store().partner_pulls(partners.since(now)), now)
        return render_template("partners.html", partners=reports, all_categories=config.categories,
                               keep_days=KEEP_DAYS)

    @app.get("/articles/<slug>")
    @gate.audience(gate.PARTNER, limit=gate.PAGES)
    def article(slug: str) -> str | tuple[str, int]:
        config = current()
        link = f"{config.site.link}/articles/{slug}"
        row = store().article_by_link(link)
        if row is None or row.category not in gate.visible_categories():
            gone = store().withdrawn_article(link)
            if gone is not None and gone.category in gate.visible_categories():
                return render_template("gone.html", item=gone), 410
            return not_found("There is no article at this address.")
        return render_template("article.html", item=row, meta=config.categories.get(row.category), **article_extras(row))

    @app.get("/articles/<slug>/source")
    @gate.audience(gate.OPERATOR)
    def article_source(slug: str) -> str | tuple[str, int]:
        """For operators: what the file was read into and every line left out, and why."""
        config = current()
        row = store().article_by_link(f"{config.site.link}/articles/{slug}", served=False)
        record = row and store().article_file(row.id)
        if not record or not record.parse:
            return not_found("There is no article file read at this address.")
        return render_template("article_source.html", item=row, record=record, parse=json.loads(record.parse))

    @app.get("/static/<path:filename>")
    @gate.audience(gate.PUBLIC)  # the stylesheet, the copy button's script, the icon
    def static(filename: str) -> Response:
        return send_from_directory(STATIC, filename)

    def preview_page(
        title: str, total: int, rows: Callable[[int, int], list[Preview]]
    ) -> tuple[int, int, list[dict[str, object]]]:
        """Page ?page= of a preview of `total` stories, read by rows(size,
        offset): (its number, how many pages, its stories); a 404 page when
        there is no such page."""
        size = current().feed_size
        pages = max(1, -(-total // size))
        asked = request.args.get("page", "1")
        if not asked.isdigit() or not 1 <= int(asked) <= pages:
            message = f"{title} has no page {asked}: page 1 is the newest, page {pages} the oldest."
            abort(make_response(not_found(message)))
        number = int(asked)
        return number, pages, [reader_view(current(), row) for row in rows(size, (number - 1) * size)]

    def not_found(message: str) -> tuple[str, int]:
        return render_template("not_found.html", message=message), 404

    @app.errorhandler(404)
    def _not_found(error: HTTPException) -> ResponseReturnValue:
        # A 404 that already carries its own answer (the feeds' plain-text
        # list of categories) is kept; any other unknown address gets the page.
        if error.response is not None:
            return error.response
        return not_found("There is nothing at this address.")

    @app.errorhandler(405)
    def _wrong_method(error: HTTPException) -> ResponseReturnValue:
        # An operator page answers another method as no page at all, too.
        return not_found("There is nothing at this address.") if gate.hidden_page() else error


# -- what a row becomes on a page ---------------------------------------------


class ArticleExtras(TypedDict):
    authors: list[str]
    tags: list[str]
    image: str
    caption: str  # what the picture shows ("" when the file did not say)
    credit: str  # who made it ("Photo: AFP")


class SourceHealth(TypedDict):
    """One source's line on /sources."""

    source: Source
    status: str
    failures: int
    last_attempt: str | None
    last_success: str | None
    last_status: int | None
    last_error: str | None
    moved_to: str | None
    next_run: datetime | None
    overdue: bool
    full_text: PageHealth | None  # set by the page, for a source with full_text on
    worker: Holding  # which worker fetches it now, which fetched it last


class FolderHealth(TypedDict):
    """One article folder's line on /sources."""

    folder: ArticleDir
    status: str
    files: int
    last_read: str | None
    errors: list[tuple[Path, str]]


def article_extras(row: StoredItem) -> ArticleExtras:
    """The article's byline, tags and picture as its page shows them."""
    return {"authors": [person.name for person in media.stored_people(row.authors)],
            "tags": list(media.stored_tags(row.tags)), "image": row.image or "",
            "caption": row.image_caption or "", "credit": row.image_credit or ""}


def reader_view(config: Config, row: StoredItem | Preview) -> dict[str, object]:
    """An item as the category preview shows it."""
    names = row.other_source_names if isinstance(row, Preview) else None
    others = sorted(filter(None, (names or "").split(",")))
    extras = Extras.of(row)
    return {
        **{column.name: getattr(row, column.name) for column in fields(row)},
        "href": safe_href(config, row.link),
        "source_label": source_label(row.source),
        "other_sources": [source_label(name) for name in others],
        "image": extras.image,
        "tags": [(name, media.tag_slug(name)) for name in extras.tags],
        # Every author's name, never an address (the raw `author` line may hold one).
        "byline": extras.byline,
    }


def safe_href(config: Config, link: str | None) -> str | None:
    """A link fit for an href: this site's own pages as paths (so the preview
    works under any host name), other http(s) links as they are, and nothing
    for any other scheme (javascript:, data:, ...) a hostile feed might send."""
    if not link:
        return None
    if link.startswith(config.site.link + "/"):
        return link[len(config.site.link):]
    return link if urlsplit(link).scheme in ("http", "https") else None


def source_label(source: str) -> str:
    """'feed:world-wire' -> 'world-wire'; an article folder is the newsroom."""
    kind, _, name = source.partition(":")
    return NEWSROOM if kind == "articles" else name or source


def source_health(source: Source, state: SourceState, now: datetime, lease: Lease | None) -> SourceHealth:
    """One source's line on /sources: status, last fetch, last error, next
    run, its worker (the same reading of the sources and leases tables as
    `feedhub sources`)."""
    status = source_status(state)
    due = next_run(state, source.interval)
    return {
        "source": source,
        "status": status,
        "failures": state.failures or 0,
        "last_attempt": state.last_attempt,
        "last_success": state.last_success,
        "last_status": state.last_status,
        "last_error": state.last_error if status != "ok" else None,
        "moved_to": state.url,  # after a permanent redirect
        "next_run": due,
        "overdue": bool(due and due < now),  # the worker is late, or not running
        "full_text": None,
        "worker": holding(lease, now),
    }


def folder_health(folder: ArticleDir, state: FolderState) -> FolderHealth:
    """One article folder's line on /sources."""
    # A file that failed and was deleted since is no longer a problem.
    errors = [(Path(path), error) for path, error in state.errors if Path(path).exists()]
    if not folder.path.is_dir():
        status = "missing"
    else:
        status = "failing" if errors else "ok" if state.files else "new"
    return {"folder": folder, "status": status, "files": state.files, "last_read": state.last_read,
            "errors": [(path.relative_to(folder.path), error) for path, error in errors]}


# -- template filters ------------------------------------------------------------


def _parse(value: str | datetime) -> datetime:
    return as_utc(value) if isinstance(value, datetime) else from_iso(value)


def human_time(value: str | datetime | None) -> str:
    """'25 Nov 2026, 08:30 UTC' — one unambiguous form for every reader."""
    if not value:
        return ""
    moment = _parse(value)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def iso_time(value: str | datetime | None) -> str:
    """The machine-readable form for <time datetime>."""
    return _parse(value).isoformat().replace("+00:00", "Z") if value else ""


def every(seconds: int) -> str:
    """An interval as an operator wrote it: 'every 15 min', 'every 1 h 30 min'."""
    parts = [(seconds // 86400, "d"), (seconds % 86400 // 3600, "h"), (seconds % 3600 // 60, "min"), (seconds % 60, "s")]
    return "every " + " ".join(f"{n} {unit}" for n, unit in parts if n)


def without_password(location: str) -> str:
    """A source address fit for a page anyone may open: a password written
    into the URL (https://user:secret@host/...) is masked."""
    parts = urlsplit(location)
    if not parts.password:
        return location
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{parts.username}:***@{host}").geturl()
