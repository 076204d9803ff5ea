"""The `feedhub` command: every subcommand in one table (COMMANDS), each
run by a function in the module of its topic.

- running.py: run, worker, ingest, check-config
- sources.py: sources, enable, import-opml, export-opml
- items.py: duplicates, stats, blocked, recheck
- lifecycle.py: withdraw, withdrawals (and what `sources` says of embargoes)
- articles.py: boilerplate, dropped, rerender
- storage.py: backup, restore, migrate-db, prune
- keys.py: hash-key, partners
- output.py: how they print (tables, summaries, times, progress bars)
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable

from .. import logs
from ..config import LOG_LEVELS, Config, ConfigError, load_config
from ..store.engine import DatabaseUnavailable
from . import articles, items, keys, lifecycle, running, sources, storage
from .output import fail

# One argument of a command: its flags and argparse's options for it.
Argument = tuple[tuple[str, ...], dict[str, Any]]


def arg(*flags: str, **options: Any) -> Argument:
    return flags, options


@dataclass(frozen=True)
class Command:
    """A subcommand that reads feeds.yaml first and runs with it."""

    name: str
    help: str
    run: Callable[[Config, argparse.Namespace], int]
    arguments: tuple[Argument, ...] = ()


@dataclass(frozen=True)
class Standalone:
    """A subcommand that needs no feeds.yaml."""

    name: str
    help: str
    run: Callable[[argparse.Namespace], int]
    arguments: tuple[Argument, ...] = ()


FOLDER = arg("folder", nargs="?", help="an article folder from feeds.yaml (its path or name; default: all)")
COMMANDS: list[Command | Standalone] = [
    Command("run", "serve the feeds and run the scheduler in one process", running.run, (
        arg("--host", default="127.0.0.1"),
        arg("--port", type=int, default=int(os.environ.get("PORT", 8000))),
        arg("--workers", type=int, default=2))),
    Command("worker", "run only the scheduler (the Procfile's worker)", running.worker),
    Command("ingest", "ingest every input once (a progress bar on a terminal), print a summary", running.ingest),
    Command("check-config", "validate feeds.yaml and exit", running.check_config),
    Command("duplicates", "show a stored story, its duplicates and why they matched", items.show_duplicates, (
        arg("item", help="an item id, or a link to the story or to one of its copies"),)),
    Command("boilerplate", "the house-style lines learned from each article folder, with their counts",
            articles.show_boilerplate, (FOLDER,)),
    Command("dropped", "what an article was read into: its metadata, every line left out and why",
            articles.show_dropped, (arg("item", help="an item id, its link, or the article file's path"),)),
    Command("rerender", "read every article again with today's rules, keeping ids, links and duplicates",
            articles.rerender_articles, (FOLDER,)),
    Command("sources", "every source: status, last fetch, last error, next run, address", sources.show_sources),
    Command("blocked", "entries held back by keep/block rules: which rule, when, title, link", items.show_blocked, (
        arg("--limit", type=int, default=100, help="show at most this many, newest first (default 100)"),)),
    Command("recheck", "check every stored item against the keep/block rules now", items.recheck_rules),
    Command("withdraw", "take a story off every feed and page now (a kill, a legal takedown), or back with --undo",
            lifecycle.withdraw_story, (
                arg("item", help="the item's id (urn:uuid:... as in the feeds), its link, or its article file"),
                arg("--reason", help="why: kept in the record, never published (needed to withdraw)"),
                arg("--undo", action="store_true", help="serve a withdrawn story again"))),
    Command("withdrawals", "every withdrawal and undo: which story, who, when, why", lifecycle.show_withdrawals, (
        arg("--limit", type=int, default=100, help="show at most this many, newest first (default 100)"),)),
    Command("stats", "items and duplicates per category, failing and retired sources", items.show_stats),
    Command("enable", "fetch a retired or backing-off source again from its feeds.yaml address",
            sources.enable_source, (arg("name"),)),
    Command("import-opml", "add the feeds of an OPML file to feeds.yaml's sources", sources.import_sources, (
        arg("file"),
        arg("--category", help="category for every feed (default: the OPML folder, matched like a section)"),
        arg("--interval", help="fetch interval for the new sources, e.g. 30m (default 15m)"),
        arg("--dry-run", action="store_true", help="show what would be added; change nothing"))),
    Command("prune", "remove items past their retention, leaving tombstones; free the space", storage.prune_items, (
        arg("--dry-run", action="store_true", help="print what would go; change nothing"),
        arg("--vacuum", action="store_true",
            help="first switch an older database to incremental vacuum (a one-time full VACUUM)"))),
    Command("backup", "write a consistent copy of the database (safe while feedhub runs)", storage.write_backup, (
        arg("path", help="file to write"),)),
    Command("restore", "put a backup in place of the database (feedhub must be stopped)", storage.restore_backup, (
        arg("path", help="a file written by `feedhub backup`"),)),
    Command("migrate-db", "copy the SQLite database into PostgreSQL and check the counts", storage.migrate_database, (
        arg("--to", required=True, metavar="URL", help="the PostgreSQL database, postgresql://user@host/name"),
        arg("--replace", action="store_true", help="delete what the target already holds first (refused without this)"))),
    Command("export-opml", "write the remote sources as OPML 2.0", sources.export_sources, (
        arg("-o", "--output", help="file to write (default: standard output)"),)),
    Command("partners", "every partner: its keys and their expiry, and its feed requests over the last day",
            keys.show_partners),
    Standalone("hash-key", "make a partner key (or take one) and print its hash for feeds.yaml", keys.hash_key_command, (
        arg("key", nargs="?", help="the key to hash; '-' reads it from standard input "
            "(kept out of shell history); without it a new random key is made"),)),
]


def parser() -> argparse.ArgumentParser:
    made = argparse.ArgumentParser(prog="feedhub", description="RSS/Atom feed publisher and aggregator.")
    made.add_argument(
        "-c", "--config", default=os.environ.get("FEEDHUB_CONFIG", "feeds.yaml"),
        help="path to feeds.yaml (default: $FEEDHUB_CONFIG or ./feeds.yaml)",
    )
    made.add_argument(
        "--log-level", type=str.upper, choices=LOG_LEVELS, default=os.environ.get("FEEDHUB_LOG_LEVEL"),
        help="DEBUG, INFO, WARNING, ERROR (default: $FEEDHUB_LOG_LEVEL, else feeds.yaml's log_level)",
    )
    subparsers = made.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        sub = subparsers.add_parser(command.name, help=command.help)
        for flags, options in command.arguments:
            sub.add_argument(*flags, **options)
    return made


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    command = next(command for command in COMMANDS if command.name == args.command)
    if isinstance(command, Standalone):
        return command.run(args)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"feedhub: invalid configuration:\n{exc}", file=sys.stderr)
        return 2
    logs.setup(config.log_level, args.log_level)
    try:
        return command.run(config, args)
    except (ConfigError, DatabaseUnavailable, OSError) as exc:
        return fail(args.command, exc)
