"""The commands about stored items: `duplicates` (a story and its copies),
`stats`, and the keep/block rules' `blocked` and `recheck`."""

from __future__ import annotations

import argparse
import sys

from ..config import Config
from ..ingest.filing import recheck
from ..model import SourceState
from ..remote.politeness import source_status
from ..store import CategoryCounts, Store
from .output import format_duplicates


def show_duplicates(config: Config, args: argparse.Namespace) -> int:
    with Store(config.database) as store:
        stories = [(story, store.duplicates_of(story.id)) for story in store.stories(args.item)]
    if not stories:
        print(f"feedhub: no stored item or copy with the id or link {args.item!r}", file=sys.stderr)
        return 1
    print("\n\n".join(format_duplicates(story, copies) for story, copies in stories))
    return 0


def show_stats(config: Config, args: argparse.Namespace) -> int:
    with Store(config.database) as store:
        counts = store.category_counts()
        states = {state.name: state for state in store.sources()}
    width = max(len("category"), *map(len, config.categories))
    print("category".ljust(width) + "items".rjust(10) + "duplicates".rjust(12))
    for key in config.categories:
        row = counts.get(key, CategoryCounts(0, 0, None))
        print(key.ljust(width) + str(row.items).rjust(10) + str(row.duplicates).rjust(12))
    print("total".ljust(width) + str(sum(r.items for r in counts.values())).rjust(10)
          + str(sum(r.duplicates for r in counts.values())).rjust(12))
    by_status: dict[str, list[str]] = {}
    for source in config.sources:
        by_status.setdefault(source_status(states.get(source.name) or SourceState(source.name)), []).append(source.name)
    print(f"\nsources: {len(config.sources)} ("
          + ", ".join(f"{status} {len(by_status.get(status, []))}" for status in ("ok", "failing", "retired", "new")) + ")")
    for status in ("failing", "retired"):
        for name in by_status.get(status, []):
            state = states[name]
            print(f"  {status}: {name} ({state.failures or 0} failures; last error: {state.last_error})")
    return 0


def show_blocked(config: Config, args: argparse.Namespace) -> int:
    with Store(config.database) as store:
        rows = store.blocked_items(args.limit)
        total = store.blocked_count()
    print(f"{total} blocked entr{'y' if total == 1 else 'ies'}" + (f" (the {len(rows)} most recent)" if total > len(rows) else ""))
    for row in rows:
        print(f"- {row.title}\n  {row.source} in {row.category}, blocked {row.blocked_at}\n"
              f"  link: {row.link or '(none)'}\n  rule: {row.blocked}")
    return 0


def recheck_rules(config: Config, args: argparse.Namespace) -> int:
    with Store(config.database) as store:
        blocked, unblocked = recheck(config, store)
    print(f"rules applied to the stored items: {blocked} newly blocked, {unblocked} served again")
    return 0
