"""The commands about sources: `sources` (their state), `enable`, and
`import-opml` / `export-opml`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..config import Config
from ..model import SourceState, from_iso, utcnow
from ..remote.politeness import next_run, source_status
from ..store import Store
from ..worker.claims import holding, job_name
from . import lifecycle
from .output import describe_holding, describe_pages, fail, table, when


def show_sources(config: Config, args: argparse.Namespace) -> int:
    now = utcnow()
    with Store(config.database) as store:
        states = {state.name: state for state in store.sources()}
        pages = {source.name: store.page_health(source.name) for source in config.sources if source.full_text}
        held = store.leases()
        waiting = lifecycle.waiting_lines(store, now)
    rows = [("source", "status", "category", "last fetch", "next run", "failures")]
    details: list[list[str]] = []
    for source in config.sources:
        state = states.get(source.name) or SourceState(source.name)
        status = source_status(state)
        due = next_run(state, source.interval)
        next_time = "never (retired)" if status == "retired" else when(due, now) if due else "at worker start"
        rows.append((source.name, status, source.category, when(from_iso(state.last_attempt), now) or "never",
                     next_time, str(state.failures or 0)))
        lines = [f"address: {source.location}"]
        if state.url and state.url != source.url:
            lines.append(f"moved permanently to: {state.url} (fetched there now)")
        if state.last_error:
            lines.append(f"last error: {state.last_error}")
        if source.name in pages:
            lines.append(f"full text: {describe_pages(pages[source.name])}")
        lines += describe_holding(holding(held.get(job_name(source)), now), now)
        details.append(lines)
    header, *lines = table(rows)
    print(header)
    for line, detail in zip(lines, details):
        print(line)
        for text in detail:
            print(f"    {text}")
    print("\n".join(["", *waiting]))
    return 0


def enable_source(config: Config, args: argparse.Namespace) -> int:
    source = config.source(args.name)
    if source is None:
        return fail(args.command, f"no source {args.name!r} in {args.config} "
                                  f"(sources: {', '.join(s.name for s in config.sources)})")
    with Store(config.database) as store:
        store.reset_source(args.name)
    print(f"{args.name}: enabled; the worker fetches it from {source.location} at its next run")
    return 0


def import_sources(config: Config, args: argparse.Namespace) -> int:
    # Only the OPML commands load ruamel.yaml, lxml and feedgen: 50 ms, 10%
    # more on every other command's start-up (CPU time after `import
    # feedhub.cli`, 478 ms; median of 9 runs).
    from ..config.feedlist import import_opml
    from ..publish.opml import OpmlError

    path = Path(args.file)
    try:
        result = import_opml(Path(args.config), path.read_bytes(), str(path), args.category, args.interval,
                             args.dry_run)
    except OpmlError as exc:
        return fail(args.command, exc)
    verb = "would add" if args.dry_run else "added"
    for source in result.added:
        print(f"{verb} {source.name}: {source.url} ({source.category}, every {source.interval}s)")
    for note in result.skipped:
        print(f"skipped {note}")
    for problem in result.problems:
        print(f"not imported: {problem}", file=sys.stderr)
    print(f"{len(result.added)} {verb}, {len(result.skipped)} already there, {len(result.problems)} not imported"
          + ("" if args.dry_run or not result.added else f"; {args.config} updated, the worker picks it up"))
    return 1 if result.problems else 0


def export_sources(config: Config, args: argparse.Namespace) -> int:
    from ..config.feedlist import export_opml  # as import_sources

    with Store(config.database) as store:
        states = store.sources()
    moved = {state.name: state.url for state in states if state.url}
    retired = {state.name for state in states if state.retired}
    document, notes = export_opml(config, moved, retired, utcnow())
    if args.output:
        Path(args.output).write_bytes(document)
    else:
        sys.stdout.buffer.write(document + b"\n")
        sys.stdout.flush()
    for note in notes:
        print(f"left out {note}", file=sys.stderr)
    return 0
