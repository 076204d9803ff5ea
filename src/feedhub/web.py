"""The Flask app: feeds per category and an OPML list of them; the HTML pages
are in pages.py."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from flask import Flask, Response, abort, redirect, request

from . import media, metrics, opml, pages, publish
from .config import Config, ConfigError, ConfigFile, load_config
from .delivery import respond
from .feedcache import FeedCache, Rendered
from .store import Store

log = logging.getLogger(__name__)


# Seconds between a server process's looks at feeds.yaml (a stat, on the
# first request after the time is up).
WATCH_EVERY = 1.0


def create_app(config: Config | str | Path | None = None) -> Flask:
    """App factory.  Given feeds.yaml's path (or nothing: $FEEDHUB_CONFIG, else
    ./feeds.yaml), the app follows edits to the file as the worker does: a
    valid edit is served from the next request on (new categories, titles,
    feed sizes), an invalid one is logged and the last good one kept.  Given a
    Config, it serves that one."""
    watched = None
    if not isinstance(config, Config):
        watched = ConfigFile(config or os.environ.get("FEEDHUB_CONFIG", "feeds.yaml"))
        config = load_config(watched.path)
    app = Flask(__name__)
    local = threading.local()

    def current() -> Config:
        return app.config["FEEDHUB"]

    def store() -> Store:
        # One connection per server thread, kept for the thread's life (or
        # until an edit of feeds.yaml names another database).
        database = current().database
        if getattr(local, "database", None) != database:
            if hasattr(local, "store"):
                local.store.close()
            local.store, local.database = Store(database), database
        return local.store

    def serve(config: Config) -> None:
        # Feeds depend on feeds.yaml as well as on the items: the file's
        # time counts towards their Last-Modified.
        modified = watched.modified() if watched else None
        app.extensions["feedhub.feeds"] = FeedCache(config, config_modified=modified)
        app.extensions["feedhub.opml"] = Rendered(opml_document(config), "text/x-opml; charset=utf-8", modified)
        app.config["FEEDHUB"] = config
        pages.use_config(app, config)

    serve(config)
    if watched:
        _follow(app, watched, serve)
    metrics.register(app, store)

    def category_or_404(name: str) -> str:
        key = current().category_key(name)
        if key is None:
            known = ", ".join(sorted(current().categories))
            abort(Response(f"No category {name!r} here. Categories: {known}\n", 404, mimetype="text/plain"))
        return key

    @app.get("/feeds/<name>.<any(rss, atom, json):fmt>")
    def feed(name: str, fmt: str) -> Response:
        key = category_or_404(name)
        page = _page_number(request.args.get("page", "1"))
        rendered = app.extensions["feedhub.feeds"].get(store(), key, fmt, page)
        if rendered is None:
            abort(Response(f"Category {key!r} has no page {page}; page 1 is the newest.\n", 404, mimetype="text/plain"))
        return respond(request, rendered, current().feed_max_age)

    @app.get("/feeds/tag/<name>.<any(rss, atom, json):fmt>")
    def tag_feed(name: str, fmt: str) -> Response:
        slug = media.tag_slug(name)
        if slug and slug != name:  # "North Sea", "north_sea": one tag, one address
            return redirect(f"/feeds/tag/{slug}.{fmt}", 301)
        rendered = app.extensions["feedhub.feeds"].get_tag(store(), slug, fmt) if slug else None
        if rendered is None:
            abort(Response(f"No story is tagged {name!r}.\n", 404, mimetype="text/plain"))
        return respond(request, rendered, current().feed_max_age)

    @app.get("/feeds/search/<key>.<any(rss, atom, json):fmt>")
    def search_feed(key: str, fmt: str) -> Response:
        if key not in current().searches:
            known = ", ".join(sorted(current().searches)) or "none"
            abort(Response(f"No saved search {key!r} here. Saved searches: {known}\n", 404, mimetype="text/plain"))
        rendered = app.extensions["feedhub.feeds"].get_search(store(), key, fmt)
        return respond(request, rendered, current().feed_max_age)

    @app.get("/opml")
    def subscription_list() -> Response:
        return respond(request, app.extensions["feedhub.opml"], current().feed_max_age)

    pages.register(app, store)
    return app


def _follow(app: Flask, watched: ConfigFile, serve: Callable[[Config], None]) -> None:
    """Look at feeds.yaml at most every WATCH_EVERY seconds, before a request,
    and serve a valid new version of it."""
    lock = threading.Lock()
    next_look = [time.monotonic() + WATCH_EVERY]

    @app.before_request
    def follow_feeds_yaml() -> None:
        # One thread looks; the others go on with what is served now.
        if time.monotonic() < next_look[0] or not lock.acquire(blocking=False):
            return
        try:
            next_look[0] = time.monotonic() + WATCH_EVERY
            if watched.changed():
                try:
                    config = load_config(watched.path)
                except ConfigError as exc:
                    log.error("feeds.yaml rejected, still serving the last good configuration:\n%s", exc)
                    return
                serve(config)
                log.info("feeds.yaml reloaded", extra={"categories": len(config.categories)})
        finally:
            lock.release()


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

