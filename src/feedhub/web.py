"""The Flask app: feeds per category and an OPML list of them; the HTML pages
are in pages.py."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from flask import Flask, Response, abort, request

from . import metrics, opml, pages, publish
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

    pages.register(app, store)
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
            html_url=publish.page_url(config, key),
            description=category.description,
        )
        for key, category in config.categories.items()
    ]
    return opml.write(config.site.title, outlines)

