"""The scheduler process: one APScheduler job per article folder and per
source, each at its own interval, never two runs of one job at once.

It keeps itself in step with feeds.yaml: a small job polls the file's mtime
and, when it changed, validates it and adds, removes or reschedules jobs to
match.  An invalid edit is logged with the same message `feedhub check-config`
prints and the last good configuration keeps running.

A failing source is not fetched again before the time its backoff (or the
publisher's Retry-After) allows: that time is kept in SQLite, so a restart
does not forget it, and the source's job is moved to it.

Any number of workers, on any machines, may share one database: each job
is claimed in the database before it runs (claims.py), so every source,
article folder, pruning pass and backup runs once per interval, by
whichever worker's timer fires first; the others skip that run.
"""

from __future__ import annotations

import contextlib
import logging
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger

from .. import logs, metrics
from ..config import ArticleDir, Backup, Config, ConfigError, ConfigFile, Source, load_config
from ..ingest.feeds import ingest_source
from ..ingest.filing import recheck_if_rules_changed
from ..ingest.folders import ingest_folder
from ..ingest.summary import Summary
from ..model import from_iso, utcnow
from ..publish import static
from ..remote import websub
from ..store import DatabaseUnavailable, Store, backup, inuse
from . import claims, lifecycle, retention

log = logging.getLogger(__name__)
WATCH_EVERY = 5  # seconds between looks at feeds.yaml's mtime
PRUNE_FIRST = 60  # seconds from start to the first pruning pass (after the first fetches)


class Worker:
    """The scheduler and the configuration its jobs follow."""

    def __init__(
        self,
        config: Config,
        config_path: str | Path | None = None,
        scheduler_class: type[BaseScheduler] = BackgroundScheduler,
    ):
        self.config = config
        self.file = ConfigFile(config_path) if config_path else None
        self.targets: dict[str, ArticleDir | Source] = {}
        self.name = claims.worker_name()
        self.unreleased: dict[str, datetime] = {}  # job -> when it is due again, released when the database is back
        # The category versions this worker's static feed files show.
        self.statics = static.Writer()
        self.release: Callable[[], None] = lambda: None  # the database, announced by start()
        self.scheduler = scheduler_class(
            timezone=timezone.utc,
            # Heartbeat and reload get their own threads: slow fetches filling
            # the default pool must not make /healthz fail or delay a reload.
            executors={"default": ThreadPoolExecutor(10), "housekeeping": ThreadPoolExecutor(2)},
            # coalesce: after a stall, run a late job once, not once per missed slot.
            job_defaults={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )
        self._apply(config)
        # Pruning and backups write for a while: the default pool, not housekeeping.
        self._schedule_backup(config.backup)
        self.scheduler.add_job(self.prune, IntervalTrigger(seconds=retention.PRUNE_EVERY), id="prune",
                               name="prune", next_run_time=utcnow() + timedelta(seconds=PRUNE_FIRST))
        self.scheduler.add_job(self.beat, IntervalTrigger(seconds=metrics.HEARTBEAT_EVERY), id="heartbeat",
                               name="heartbeat", executor="housekeeping", next_run_time=utcnow())
        self.scheduler.add_job(self.watch, IntervalTrigger(seconds=WATCH_EVERY), id="watch-config",
                               name="watch-config", executor="housekeeping")
        self.scheduler.add_job(self.release_embargoes, IntervalTrigger(seconds=lifecycle.RELEASE_EVERY), id="release",
                               name="release", executor="housekeeping", next_run_time=utcnow())  # within seconds
        if config.static_dir:  # static publishing: every public feed once at the start
            self.scheduler.add_job(self.write_static, id="static-feeds", name="static-feeds",
                                   executor="housekeeping", next_run_time=utcnow())

    def start(self, paused: bool = False) -> None:
        # While it runs, between its jobs too: `feedhub restore` refuses meanwhile (store/inuse.py).
        self.release = inuse.announce(self.config.database)
        self.scheduler.start(paused=paused)

    def shutdown(self) -> None:
        self.scheduler.shutdown()
        self.release()

    # -- feeds.yaml ---------------------------------------------------------

    def watch(self) -> None:
        """Reload feeds.yaml if it changed since it was last looked at, follow
        what `feedhub enable` did meanwhile, apply changed keep/block rules
        to the stored items, and write the static feeds other workers changed."""
        if self.file and self.file.changed():
            self.reload()
        self.resume_enabled()
        self.recheck()
        if self.config.static_dir:  # changes other workers made
            with Store(self.config.database) as store:
                self.write_static_changes(store)

    def resume_enabled(self) -> None:
        """Bring back to its interval a source job that was moved to the end
        of a backoff which `feedhub enable` has since cleared."""
        now = utcnow()
        with Store(self.config.database) as store:
            due = {state.name: from_iso(state.next_attempt) for state in store.sources()}
        for job_id, target in list(self.targets.items()):
            if not isinstance(target, Source):
                continue
            job = self.scheduler.get_job(job_id)
            if job is None or job.next_run_time is None:
                continue
            postponed = job.next_run_time > now + timedelta(seconds=target.interval)
            until = due.get(target.name) or now
            if postponed and until < job.next_run_time:
                self.scheduler.modify_job(job_id, next_run_time=max(until, now))
                log.info("source enabled again: next fetch brought forward", extra={"input": job_id})

    def reload(self) -> bool:
        """Read feeds.yaml again and make the jobs match it; False if it is invalid."""
        assert self.file is not None  # only a worker started from a file reloads it
        try:
            config = load_config(self.file.path)
        except ConfigError as exc:
            log.error("feeds.yaml rejected, still running the last good configuration:\n%s", exc)
            return False
        changes = self._apply(config)
        logs.set_level(config.log_level)
        self.write_static()  # titles, sizes or privacy may have changed
        log.info("feeds.yaml reloaded", extra=changes)
        return True

    def _apply(self, config: Config) -> dict[str, int]:
        """Add, remove and reschedule input jobs (and the backup job) to match `config`."""
        if config.backup != self.config.backup:
            self._schedule_backup(config.backup)
        wanted = {job_id: (target, seconds) for job_id, target, seconds in jobs(config)}
        old = self.targets
        self.config, self.targets = config, {job_id: target for job_id, (target, _) in wanted.items()}
        changes = {"added": 0, "removed": 0, "rescheduled": 0}
        for job_id in set(old) - set(wanted):
            self.scheduler.remove_job(job_id)
            changes["removed"] += 1
        for job_id, (target, seconds) in wanted.items():
            trigger = IntervalTrigger(seconds=seconds, timezone=timezone.utc)
            if job_id not in old:
                self.scheduler.add_job(self.run, trigger, args=[job_id], id=job_id, name=job_id,
                                       next_run_time=utcnow())  # first run straight away
                changes["added"] += 1
            elif seconds != old[job_id].interval or _where(target) != _where(old[job_id]):
                # A new interval counts from now; a new address is fetched now.
                first = utcnow() if _where(target) != _where(old[job_id]) else None
                self.scheduler.reschedule_job(job_id, trigger=trigger)
                if first:
                    self.scheduler.modify_job(job_id, next_run_time=first)
                changes["rescheduled"] += 1
        return changes

    # -- jobs ---------------------------------------------------------------

    def run(self, job_id: str) -> Summary | None:
        """One scheduled ingest of one input, with its own database
        connection; None if it is not this worker's to run now (a backoff,
        or another worker has it or ran it within its interval)."""
        config, target = self.config, self.targets.get(job_id)
        if target is None:  # removed by a reload while this run was queued
            return None
        with Store(config.database) as store:
            if isinstance(target, Source):
                due = _not_before(store, target)
                if due and due > utcnow():
                    self._postpone(job_id, due)
                    return None
            with self.leased(store, job_id, target.interval) as mine:
                if not mine:
                    return None
                before = store.category_versions()
                if isinstance(target, Source):
                    summary = ingest_source(config, store, target)
                    due = _not_before(store, target)
                    if due:
                        self._postpone(job_id, due)
                else:
                    summary = ingest_folder(config, store, target)
                websub.announce(config, store, before)
                self.write_static_changes(store)
        for name, counts in summary.counts.items():
            log.info("%s: %s", name, ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing",
                     extra={"input": name, **counts})
        return summary

    @contextlib.contextmanager
    def leased(self, store: Store, job_id: str, interval: float) -> Iterator[bool]:
        """Claim the job for this worker around the block (True: it is ours
        to run), and release it when the block ends, however it ends."""
        if job_id in self.unreleased:  # the last run's release, which the database could not take then
            store.release(job_id, self.name, self.unreleased[job_id])
            del self.unreleased[job_id]
        now = utcnow()
        # Read before the run: a backoff may move the job (see _postpone).  A
        # scheduler not started yet has no times (None: one interval from now).
        next_run = getattr(self.scheduler.get_job(job_id), "next_run_time", None)
        due = claims.next_due(now, interval, next_run)
        if not store.claim(job_id, self.name, now, claims.lease_end(now, self.config.worker_lease)):
            log.debug("%s: another worker runs it or ran it within its interval; skipped", job_id,
                      extra={"input": job_id})
            yield False
            return
        try:
            yield True
        finally:
            try:
                store.release(job_id, self.name, due)
            except DatabaseUnavailable:
                # Held by this worker until it can be released: at the job's
                # next run, which must not wait out the lease (worker_lease).
                self.unreleased[job_id] = due
                raise

    def _postpone(self, job_id: str, due: datetime) -> None:
        # modify_job waits for the scheduler's job store lock, so this lands
        # after the scheduler has stored this run's regular next time.
        try:
            job = self.scheduler.get_job(job_id)
            if job and job.next_run_time and job.next_run_time < due:
                self.scheduler.modify_job(job_id, next_run_time=due)
                log.info("next fetch postponed", extra={"input": job_id, "until": due.isoformat()})
        except JobLookupError:
            pass  # removed by a reload meanwhile

    def recheck(self) -> None:
        """Check the stored items again if the keep/block rules changed (a
        reload, or a restart with an edited feeds.yaml)."""
        config = self.config
        with Store(config.database) as store:
            before = store.category_versions()
            if recheck_if_rules_changed(config, store):
                websub.announce(config, store, before)
                self.write_static_changes(store)

    def write_static(self) -> None:
        if self.config.static_dir:
            with Store(self.config.database) as store:
                self.statics.write_all(self.config, store)

    def write_static_changes(self, store: Store) -> None:
        """Write the static feeds of every category whose version moved since
        this worker last wrote them, whichever worker changed it: each
        worker's static_dir (its own machine's, or one they share) catches up
        within WATCH_EVERY, and on a shared one a render that lands after a
        newer one is written over at the next look."""
        if self.config.static_dir:
            self.statics.write_changed(self.config, store)

    def release_embargoes(self) -> None:  # and old deleted entries dropped: worker/lifecycle.py
        with Store(self.config.database) as store:
            lifecycle.run(self.config, store, then=self.write_static_changes)

    def _schedule_backup(self, settings: Backup | None) -> None:
        if self.scheduler.get_job("backup"):
            self.scheduler.remove_job("backup")
        if settings is None:
            return
        names = os.listdir(settings.path) if settings.path.is_dir() else []
        self.scheduler.add_job(self.take_backup, IntervalTrigger(seconds=settings.every, timezone=timezone.utc),
                               id="backup", name="backup", next_run_time=backup.next_due(names, settings.every, utcnow()))

    def take_backup(self) -> None:
        settings = self.config.backup
        if settings:
            with Store(self.config.database) as store, self.leased(store, "backup", settings.every) as mine:
                if mine:  # one backup per interval, whichever worker takes it
                    backup.scheduled(self.config.database, settings.path, settings.keep)

    def prune(self) -> None:
        config = self.config
        with Store(config.database) as store, self.leased(store, "prune", retention.PRUNE_EVERY) as mine:
            if not mine:
                return
            retention.run(config, store)
            # A pruned category's first page keeps its items, but its paging
            # links (the last page) change.
            self.write_static_changes(store)

    def beat(self) -> None:
        with Store(self.config.database) as store:
            store.beat(metrics.HEARTBEAT, os.getpid())


def _not_before(store: Store, source: Source) -> datetime | None:
    state = store.source_state(source.name)
    return from_iso(state.next_attempt) if state else None


def _where(target: ArticleDir | Source) -> str:
    return str(target.path) if isinstance(target, ArticleDir) else target.location


def jobs(config: Config) -> list[tuple[str, ArticleDir | Source, int]]:
    targets: list[ArticleDir | Source] = [*config.articles, *config.sources]
    return [(claims.job_name(target), target, target.interval) for target in targets]


def build_scheduler(config: Config, scheduler_class: type[BaseScheduler] = BackgroundScheduler) -> BaseScheduler:
    """A scheduler for `config` that does not watch any file."""
    return Worker(config, scheduler_class=scheduler_class).scheduler
