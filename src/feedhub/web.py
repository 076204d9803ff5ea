"""The Flask app: feeds per category, an OPML list of them, an index page and
article pages."""

from __future__ import annotations

import html
import os
import threading
from pathlib import Path

from flask import Flask, Response, abort, request

from . import metrics, opml, publish
from .config import Config, load_config
from .delivery import respond
from .feedcache import FeedCache, Rendered
from .store import Store


def create_app(config: Config | str | Path | None = None) -> Flask:
    """App factory; with no argument, reads $FEEDHUB_CONFIG or ./feeds.yaml."""
    if not isinstance(config, Config):
        config = load_config(config or os.environ.get("FEEDHUB_CONFIG", "feeds.yaml"))
    app = Flask(__name__)
    app.config["FEEDHUB"] = config
    local = threading.local()

    def store() -> Store:
        # One connection per server thread, kept for the thread's life.
        if not hasattr(local, "store"):
            local.store = Store(config.database)
        return local.store

    metrics.register(app, config, store)

    def category_or_404(name: str) -> str:
        key = config.category_key(name)
        if key is None:
            known = ", ".join(sorted(config.categories))
            abort(Response(f"No category {name!r} here. Categories: {known}\n", 404, mimetype="text/plain"))
        return key

    feeds = FeedCache(config)
    app.extensions["feedhub.feeds"] = feeds
    subscriptions = Rendered(opml_document(config), "text/x-opml; charset=utf-8", None)

    @app.get("/feeds/<name>.<any(rss, atom, json):fmt>")
    def feed(name: str, fmt: str) -> Response:
        key = category_or_404(name)
        page = _page_number(request.args.get("page", "1"))
        rendered = feeds.get(store(), key, fmt, page)
        if rendered is None:
            abort(Response(f"Category {key!r} has no page {page}; page 1 is the newest.\n", 404, mimetype="text/plain"))
        return respond(request, rendered, config.feed_max_age)

    @app.get("/opml")
    def subscription_list() -> Response:
        return respond(request, subscriptions, config.feed_max_age)

    @app.get("/")
    def index() -> Response:
        return Response(_index_page(config), content_type="text/html; charset=utf-8")

    @app.get("/articles/<slug>")
    def article(slug: str) -> Response:
        row = store().item_by_link(f"{config.site.link}/articles/{slug}")
        if row is None:
            abort(404)
        return Response(_article_page(config, row), content_type="text/html; charset=utf-8")

    return app


def _page_number(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        abort(Response(f"page must be a whole number from 1, got {value!r}\n", 400, mimetype="text/plain"))
    return int(value)


def opml_document(config: Config) -> bytes:
    """Every category's RSS feed as an OPML 2.0 subscription list."""
    outlines = [
        opml.Outline(
            text=f"{config.site.title}: {category.title}",
            xml_url=publish.feed_url(config, key, "rss"),
            html_url=f"{config.site.link}/",
            description=category.description,
        )
        for key, category in config.categories.items()
    ]
    return opml.write(config.site.title, outlines)


FEED_LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}


def autodiscovery_links(config: Config) -> str:
    """<link rel="alternate"> tags for every feed, for the <head> of a page
    (issue7's templates for `/` can call this instead of repeating it)."""
    e = html.escape
    tags = []
    for key, category in config.categories.items():
        for fmt, label in FEED_LABELS.items():
            tags.append(
                f'<link rel="alternate" type="{publish.FORMATS[fmt].split(";")[0]}" '
                f'title="{e(category.title)} ({label})" href="{e(publish.feed_url(config, key, fmt))}">'
            )
    return "".join(tags)


def _index_page(config: Config) -> str:
    e = html.escape
    heads, rows = [autodiscovery_links(config)], []
    for key, category in config.categories.items():
        anchors = " ".join(f'<a href="/feeds/{key}.{fmt}">{label}</a>' for fmt, label in FEED_LABELS.items())
        rows.append(f"<li><strong>{e(category.title)}</strong> {e(category.description)} {anchors}</li>")
    rows.append('<li><a href="/opml">All feeds as OPML</a></li>')
    return (
        f'<!doctype html><html lang="{e(config.site.language)}"><head><meta charset="utf-8">'
        f"<title>{e(config.site.title)}</title>{''.join(heads)}</head>"
        f"<body><main><h1>{e(config.site.title)}</h1><ul>{''.join(rows)}</ul></main></body></html>"
    )


def _article_page(config: Config, row: dict) -> str:
    e = html.escape
    # content is the HTML feedhub itself made from the article text (escaped).
    return (
        f'<!doctype html><html lang="{e(config.site.language)}"><head><meta charset="utf-8">'
        f"<title>{e(row['title'])}</title></head><body><main><article>"
        f"<h1>{e(row['title'])}</h1><p><time datetime=\"{e(row['published'])}\">{e(row['published'])}</time></p>"
        f"{row['content']}</article></main></body></html>"
    )
