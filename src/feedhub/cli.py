"""The `feedhub` command."""

from __future__ import annotations

import argparse
import os
import sys

from . import logs
from .config import LOG_LEVELS, ConfigError, load_config
from .ingest import FAILED, Summary, run_cycle
from .store import DUPLICATE, NEW, UNCHANGED, UPDATED, Store

COLUMNS = [NEW, UPDATED, UNCHANGED, DUPLICATE, FAILED]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="feedhub", description="RSS/Atom feed publisher and aggregator.")
    parser.add_argument(
        "-c", "--config", default=os.environ.get("FEEDHUB_CONFIG", "feeds.yaml"),
        help="path to feeds.yaml (default: $FEEDHUB_CONFIG or ./feeds.yaml)",
    )
    parser.add_argument(
        "--log-level", type=str.upper, choices=LOG_LEVELS, default=os.environ.get("FEEDHUB_LOG_LEVEL"),
        help="DEBUG, INFO, WARNING, ERROR (default: $FEEDHUB_LOG_LEVEL, else feeds.yaml's log_level)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="serve the feeds and run the scheduler in one process")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8000)))
    run.add_argument("--workers", type=int, default=2)
    commands.add_parser("worker", help="run only the scheduler (the Procfile's worker)")
    commands.add_parser("ingest", help="ingest every input once, print a summary and exit")
    commands.add_parser("check-config", help="validate feeds.yaml and exit")
    duplicates = commands.add_parser("duplicates", help="show a stored story, its duplicates and why they matched")
    duplicates.add_argument("item", help="an item id, or a link to the story or to one of its copies")
    args = parser.parse_args(argv)

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"feedhub: invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    logs.setup(config.log_level, args.log_level)

    if args.command == "check-config":
        print(f"{args.config}: ok ({len(config.categories)} categories, "
              f"{len(config.articles)} article folders, {len(config.sources)} sources)")
        return 0
    if args.command == "ingest":
        with Store(config.database) as store:
            summary = run_cycle(config, store)
        print(format_summary(summary))
        return 1 if summary.total(FAILED) else 0
    if args.command == "duplicates":
        with Store(config.database) as store:
            stories = [(story, store.duplicates_of(story["id"])) for story in store.stories(args.item)]
        if not stories:
            print(f"feedhub: no stored item or copy with the id or link {args.item!r}", file=sys.stderr)
            return 1
        print("\n\n".join(format_duplicates(story, copies) for story, copies in stories))
        return 0
    if args.command == "worker":
        from apscheduler.schedulers.blocking import BlockingScheduler

        from .scheduler import Worker

        Worker(config, args.config, BlockingScheduler).start()
        return 0
    from .server import serve

    serve(config, args.config, args.host, args.port, args.workers, args.log_level)
    return 0


def format_summary(summary: Summary) -> str:
    width = max([len("input"), *map(len, summary.counts)])
    lines = ["input".ljust(width) + "".join(c.rjust(11) for c in COLUMNS)]
    for name, counts in summary.counts.items():
        lines.append(name.ljust(width) + "".join(str(counts[c]).rjust(11) for c in COLUMNS))
    lines.append("total".ljust(width) + "".join(str(summary.total(c)).rjust(11) for c in COLUMNS))
    if summary.errors:
        lines += ["", "problems:"] + [f"  {error}" for error in summary.errors]
    return "\n".join(lines)


def format_duplicates(story: dict, copies: list[dict]) -> str:
    lines = [
        f"{story['title']}",
        f"  kept: {story['source']} in {story['category']}, first seen {story['first_seen']}",
        f"  id:   {story['id']}",
        f"  link: {story['link']}",
        f"{len(copies)} duplicate{'' if len(copies) == 1 else 's'}" + (":" if copies else ""),
    ]
    for copy in copies:
        lines += [
            f"- {copy['source']}: {copy['title']}",
            f"  first seen {copy['first_seen']}, last seen {copy['last_seen']}",
            f"  link: {copy['link']}",
            f"  matched by {copy['reason']}, score {copy['score']:.2f}: {copy['detail'] or copy['reason']}",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
