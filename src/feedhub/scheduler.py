"""APScheduler jobs: one per article folder and one per source, each at its
own interval, never two runs of the same job at once."""

from __future__ import annotations

import logging
from datetime import timezone

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .config import ArticleDir, Config, Source
from .ingest import Summary, ingest_folder, ingest_source
from .items import utcnow
from .store import Store

log = logging.getLogger(__name__)


def build_scheduler(config: Config, scheduler_class: type[BaseScheduler] = BackgroundScheduler) -> BaseScheduler:
    scheduler = scheduler_class(
        timezone=timezone.utc,
        # coalesce: after a stall, run a late job once, not once per missed slot.
        job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )
    for job_id, target, seconds in jobs(config):
        scheduler.add_job(
            run_job,
            IntervalTrigger(seconds=seconds, timezone=timezone.utc),
            args=[config, target],
            id=job_id,
            name=job_id,
            next_run_time=utcnow(),  # first run straight away
        )
    return scheduler


def jobs(config: Config) -> list[tuple[str, ArticleDir | Source, int]]:
    found = [(f"articles:{folder.path}", folder, folder.interval) for folder in config.articles]
    found += [(f"feed:{source.name}", source, source.interval) for source in config.sources]
    return found


def run_job(config: Config, target: ArticleDir | Source) -> Summary:
    """One scheduled ingest of one input, with its own database connection."""
    with Store(config.database) as store:
        if isinstance(target, Source):
            summary = ingest_source(config, store, target)
        else:
            summary = ingest_folder(config, store, target)
    for name, counts in summary.counts.items():
        log.info("%s: %s", name, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing")
    return summary
