"""How the commands print: times relative to now, tables, the ingest
summary, a story and its duplicates, and a progress bar on a terminal."""

from __future__ import annotations

import contextlib
import sys
from datetime import datetime
from typing import Callable, Iterator, Sequence

from ..ingest.summary import FAILED, RETIRED, Summary
from ..model import BLOCKED, DUPLICATE, NEW, UNCHANGED, UPDATED
from ..store import Duplicate, PageHealth, StoredItem
from ..worker.claims import Holding

COLUMNS = [NEW, UPDATED, UNCHANGED, DUPLICATE, FAILED]
# Advances the bar by a count, naming what it is at.
Advance = Callable[[str, int], None]


def fail(command: str, problem: Exception | str, code: int = 2) -> int:
    """Say on stderr why `feedhub <command>` failed; the exit code."""
    print(f"feedhub {command}: {problem}", file=sys.stderr)
    return code


def when(moment: datetime | None, now: datetime) -> str:
    """'2026-11-25 13:05Z (in 4m)': the time, and how far it is from now."""
    if moment is None:
        return ""
    seconds = (moment - now).total_seconds()
    span = abs(seconds)
    amount = f"{span:.0f}s" if span < 120 else f"{span / 60:.0f}m" if span < 7200 else f"{span / 3600:.1f}h"
    return f"{moment:%Y-%m-%d %H:%M}Z ({'in ' + amount if seconds > 0 else amount + ' ago'})"


def table(rows: Sequence[Sequence[str]]) -> list[str]:
    """Rows as lines of left-aligned columns, the first row the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in rows]


def format_summary(summary: Summary) -> str:
    width = max([len("input"), *map(len, summary.counts)])
    # A column for entries held back by keep/block rules, when there are any.
    columns = COLUMNS + [BLOCKED] * bool(summary.total(BLOCKED))
    lines = ["input".ljust(width) + "".join(c.rjust(11) for c in columns)]
    for name, counts in summary.counts.items():
        lines.append(name.ljust(width) + "".join(str(counts[c]).rjust(11) for c in columns))
    lines.append("total".ljust(width) + "".join(str(summary.total(c)).rjust(11) for c in columns))
    retired = [name for name, counts in summary.counts.items() if counts[RETIRED]]
    if retired:
        lines += ["", "not fetched (retired after 410 Gone; see `feedhub sources`): " + ", ".join(retired)]
    if summary.errors:
        lines += ["", "problems:"] + [f"  {error}" for error in summary.errors]
    if summary.warnings:
        lines += ["", "read, with warnings:"] + [f"  {warning}" for warning in summary.warnings]
    return "\n".join(lines)


def format_duplicates(story: StoredItem, copies: list[Duplicate]) -> str:
    lines = [
        f"{story.title}",
        f"  kept: {story.source} in {story.category}, first seen {story.first_seen}",
        f"  id:   {story.id}",
        f"  link: {story.link}",
        f"{len(copies)} duplicate{'' if len(copies) == 1 else 's'}" + (":" if copies else ""),
    ]
    for copy in copies:
        lines += [
            f"- {copy.source}: {copy.title}",
            f"  first seen {copy.first_seen}, last seen {copy.last_seen}",
            f"  link: {copy.link}",
            f"  matched by {copy.reason}, score {copy.score:.2f}: {copy.detail or copy.reason}",
        ]
    return "\n".join(lines)


def describe_holding(job: Holding, now: datetime) -> list[str]:
    """Which worker fetches a source now, and which fetched it last."""
    lines = []
    if job.lapsed:
        lines.append(f"worker: {job.holder} stopped mid-run, its lease ended {when(job.until, now)};"
                     " the next worker to run it takes it over")
    elif job.holder:
        lines.append(f"worker: held by {job.holder} until {when(job.until, now)}")
    if job.last:
        lines.append(f"last run by: {job.last}")
    return lines


def describe_pages(health: PageHealth) -> str:
    """A full_text source's entry pages in one line (see Store.page_health)."""
    text = f"{health.pages} page{'' if health.pages == 1 else 's'} fetched, {health.failed} failing"
    if health.last_error:
        text += f" (the teaser is served instead); last failure: {health.last_error}"
    return text


@contextlib.contextmanager
def progress_bar(unit: str, total: int | None = None) -> Iterator[Advance | None]:
    """A progress bar on stderr when it is a terminal (log lines print above
    it); None for cron, CI or a pipe."""
    if not sys.stderr.isatty():
        yield None
        return
    # Loaded only for a terminal: cron, CI and pipes skip tqdm's import,
    # 28 ms, 6% more (CPU time after `import feedhub.cli`, 478 ms; median
    # of 9 runs).
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    with tqdm(total=total, unit=unit, file=sys.stderr, leave=False) as bar, logging_redirect_tqdm():
        def advance(label: str, count: int) -> None:
            bar.set_postfix_str(label, refresh=False)
            bar.update(count)

        yield advance
