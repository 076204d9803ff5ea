"""Several workers, one database: the decisions behind a job's lease.

Every scheduled job of a worker (a source, an article folder, prune,
backup) is claimed in the database before it runs (Store.claim) and
released when it ends, success or failure (Store.release).  Of several
workers whose timers fire for one job, the first to claim runs it; the
others skip that run.  The release makes the job due again a little before
the holder's own next run (`SLACK` of the interval early), so that run is
never skipped for its timer's jitter; the job moves to another worker only
when that one's timer fires in this last tenth of the interval, or the
holder is gone.  A worker that dies holding a lease keeps it until the
lease ends (feeds.yaml's ``worker_lease``); then the next worker whose
timer fires takes the job over.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from ..config import ArticleDir, Source
from ..model import Lease, from_iso

# How much of an interval before the holder's next run a job is due again.
SLACK = 0.1


def worker_name() -> str:
    """This process as operators see it in `feedhub sources` and /sources:
    $FEEDHUB_WORKER_NAME, else host:pid."""
    return os.environ.get("FEEDHUB_WORKER_NAME") or f"{socket.gethostname()}:{os.getpid()}"


def lease_end(now: datetime, length: float) -> datetime:
    """When a lease taken now lapses if its holder never releases it."""
    return now + timedelta(seconds=length)


def next_due(now: datetime, interval: float, next_run: datetime | None) -> datetime:
    """When a job that ran now may be claimed again: `SLACK` of its interval
    before this worker's own next run of it (`next_run`, the scheduler's
    time: a run that started late, behind other jobs, does not push the
    next one back), or as much after `now` when that is not known."""
    slack = timedelta(seconds=interval * SLACK)
    if next_run is None:
        return now + timedelta(seconds=interval) - slack
    return max(now, next_run - slack)


def job_name(target: ArticleDir | Source) -> str:
    """The scheduler's job for an input, and the name of its lease."""
    return f"articles:{target.path}" if isinstance(target, ArticleDir) else f"feed:{target.name}"


@dataclass(frozen=True, slots=True)
class Holding:
    """Who runs a job, as `feedhub sources` and /sources show it."""

    holder: str | None  # the worker running it now
    until: datetime | None  # when that worker's lease ends
    lapsed: bool  # the lease ended without a release: its worker stopped mid-run
    last: str | None  # the worker that ran it last (finished)


def holding(lease: Lease | None, now: datetime) -> Holding:
    if lease is None:
        return Holding(None, None, False, None)
    until = from_iso(lease.not_before) if lease.holder else None
    return Holding(lease.holder, until, bool(until and until <= now), lease.last_holder)
