"""The commands that run feedhub: `run` (web and scheduler), `worker`,
`ingest` (every input once) and `check-config`."""

from __future__ import annotations

import argparse
import sys

from ..config import Config
from ..ingest.cycle import run_cycle
from ..ingest.summary import FAILED, Summary
from ..store import Store
from .output import format_summary, progress_bar


def run(config: Config, args: argparse.Namespace) -> int:
    # Only the command that serves loads Flask and granian: 227 ms, 48% more
    # on every other command's start-up (CPU time after `import
    # feedhub.cli`, 478 ms; median of 9 runs).
    from ..web.server import serve

    serve(config, args.config, args.host, args.port, args.workers, args.log_level)
    return 0


def worker(config: Config, args: argparse.Namespace) -> int:
    # Only the worker loads APScheduler: 51 ms, 11% more on every other
    # command's start-up (CPU time after `import feedhub.cli`, 478 ms;
    # median of 9 runs).
    from apscheduler.schedulers.blocking import BlockingScheduler

    from ..worker.scheduler import Worker

    Worker(config, args.config, BlockingScheduler).start()
    return 0


def check_config(config: Config, args: argparse.Namespace) -> int:
    print(f"{args.config}: ok ({len(config.categories)} categories, "
          f"{len(config.articles)} article folders, {len(config.sources)} sources)")
    return 0


def ingest(config: Config, args: argparse.Namespace) -> int:
    try:
        summary = ingest_with_progress(config)
    except KeyboardInterrupt:
        # Each batch is committed whole or not at all: nothing is half-stored.
        print("feedhub ingest: interrupted; what was stored so far is kept, "
              "and the next run goes on from there", file=sys.stderr)
        return 130
    print(format_summary(summary))
    return 1 if summary.total(FAILED) else 0


def ingest_with_progress(config: Config) -> Summary:
    """run_cycle, with a progress bar over the inputs when stderr is a terminal."""
    with progress_bar("input", len(config.articles) + len(config.sources)) as advance, \
            Store(config.database) as store:
        if advance is None:
            return run_cycle(config, store)
        return run_cycle(config, store, lambda name: advance(name, 1))
