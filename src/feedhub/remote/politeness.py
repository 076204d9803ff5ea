"""When to fetch a source again after it failed.

A failing source is retried later and later: its interval doubled per
consecutive failure, capped at ``max_backoff``, and spread by +-20% jitter so
that many sources of one publisher that failed together do not come back
together.  A publisher's ``Retry-After`` (on 429 and 503) is honoured: we never
come back sooner than it asks, and never more often than our own schedule.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from ..model import as_utc, from_iso

if TYPE_CHECKING:
    from ..model import SourceState

JITTER = 0.2
# A Retry-After further away than this is a publisher mistake, not a plan.
MAX_RETRY_AFTER = timedelta(days=7)


def backoff_delay(failures: int, interval: float, cap: float, rng: random.Random | None = None) -> timedelta:
    """How long to wait after the `failures`-th failure in a row."""
    base = min(cap, interval * 2 ** max(failures - 1, 0))
    spread = (rng or random).uniform(1 - JITTER, 1 + JITTER)
    return timedelta(seconds=min(cap, base * spread))


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (delay-seconds or an HTTP-date) as a wait from `now`."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            wait = as_utc(parsedate_to_datetime(value)) - now
        except (TypeError, ValueError, IndexError):
            return None
    return min(max(wait, timedelta(0)), MAX_RETRY_AFTER)


def next_attempt(
    now: datetime,
    failures: int,
    interval: float,
    cap: float,
    retry_after: str | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """The earliest moment a source that just failed may be fetched again."""
    wait = backoff_delay(failures, interval, cap, rng)
    asked = parse_retry_after(retry_after, now)
    return now + max(wait, asked or timedelta(0))


def source_status(state: SourceState) -> str:
    """new, ok, failing or retired, from a source's row of the sources table."""
    if state.retired:
        return "retired"
    if state.failures:
        return "failing"
    return "ok" if state.last_attempt else "new"


def next_run(state: SourceState, interval: float) -> datetime | None:
    """When the worker will fetch a source next, as far as the database knows:
    its backoff time, else a regular interval after the last attempt; None
    for a retired source, and for a new one (the worker fetches it at start)."""
    last = from_iso(state.last_attempt)
    if state.retired or last is None:
        return None
    if state.next_attempt:
        return from_iso(state.next_attempt)
    return last + timedelta(seconds=interval)
