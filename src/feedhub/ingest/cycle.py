"""One ingest pass: every article folder and every source feed once.

Every input is handled on its own: a broken article file or a failing feed is
reported and counted, and the others go on (folders.py, feeds.py).  Before the
pass, stored items are checked again if the keep/block rules changed
(filing.py); after it, WebSub hubs hear of the categories that changed and
the static feeds are written again.
"""

from __future__ import annotations

from typing import Callable

from ..config import Config
from ..publish import static
from ..remote import websub
from ..store import Store
from .filing import recheck_if_rules_changed
from .folders import ingest_folder
from .summary import Summary


def run_cycle(config: Config, store: Store, progress: Callable[[str], None] | None = None) -> Summary:
    """Every input once; `progress(name)` is called after each one."""
    summary = Summary()
    before = store.category_versions()
    recheck_if_rules_changed(config, store)
    for folder in config.articles:
        summary.merge(ingest_folder(config, store, folder))
        if progress:
            progress(folder.path.name)
    if config.sources:
        # Imported when there are sources: every command imports this module,
        # and at module level the feed side (httpx, feedparser, trafilatura)
        # made `python -c "import feedhub.cli"` take 1.48x the CPU (quartiles
        # 1.37-1.60, 31 interleaved runs) and 61 MB instead of 51.
        from .feeds import ingest_sources

        summary.merge(ingest_sources(config, store, config.sources, progress))
    websub.announce(config, store, before)
    static.write_changed(config, store, before)
    return summary
