"""The `feedhub` command."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator

from .. import logs
from ..config import LOG_LEVELS, ArticleDir, Config, ConfigError, load_config
from ..ingest.cycle import run_cycle
from ..ingest.summary import FAILED, RETIRED, Summary
from ..model import BLOCKED, DUPLICATE, NEW, UNCHANGED, UPDATED, SourceState, from_iso, utcnow
from ..remote.politeness import next_run, source_status
from ..store import CategoryCounts, Duplicate, PageHealth, Store, StoredItem
from ..worker.claims import Holding, holding, job_name
from . import lifecycle

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
    commands.add_parser("ingest", help="ingest every input once (a progress bar on a terminal), print a summary")
    commands.add_parser("check-config", help="validate feeds.yaml and exit")
    duplicates = commands.add_parser("duplicates", help="show a stored story, its duplicates and why they matched")
    duplicates.add_argument("item", help="an item id, or a link to the story or to one of its copies")
    house = commands.add_parser("boilerplate", help="the house-style lines learned from each article folder, with their counts")
    house.add_argument("folder", nargs="?", help="an article folder from feeds.yaml (its path or name; default: all)")
    dropped = commands.add_parser("dropped", help="what an article was read into: its metadata, every line left out and why")
    dropped.add_argument("item", help="an item id, its link, or the article file's path")
    rerender = commands.add_parser("rerender", help="read every article again with today's rules, keeping ids, links and duplicates")
    rerender.add_argument("folder", nargs="?", help="an article folder from feeds.yaml (its path or name; default: all)")
    commands.add_parser("sources", help="every source: status, last fetch, last error, next run, address")
    blocked = commands.add_parser("blocked", help="entries held back by keep/block rules: which rule, when, title, link")
    blocked.add_argument("--limit", type=int, default=100, help="show at most this many, newest first (default 100)")
    commands.add_parser("recheck", help="check every stored item against the keep/block rules now")
    withdraw = commands.add_parser(
        "withdraw", help="take a story off every feed and page now (a kill, a legal takedown), or back with --undo")
    withdraw.add_argument("item", help="the item's id (urn:uuid:... as in the feeds), its link, or its article file")
    withdraw.add_argument("--reason", help="why: kept in the record, never published (needed to withdraw)")
    withdraw.add_argument("--undo", action="store_true", help="serve a withdrawn story again")
    withdrawals = commands.add_parser("withdrawals", help="every withdrawal and undo: which story, who, when, why")
    withdrawals.add_argument("--limit", type=int, default=100, help="show at most this many, newest first (default 100)")
    commands.add_parser("stats", help="items and duplicates per category, failing and retired sources")
    enable = commands.add_parser("enable", help="fetch a retired or backing-off source again from its feeds.yaml address")
    enable.add_argument("name")
    importing = commands.add_parser("import-opml", help="add the feeds of an OPML file to feeds.yaml's sources")
    importing.add_argument("file")
    importing.add_argument("--category", help="category for every feed (default: the OPML folder, matched like a section)")
    importing.add_argument("--interval", help="fetch interval for the new sources, e.g. 30m (default 15m)")
    importing.add_argument("--dry-run", action="store_true", help="show what would be added; change nothing")
    pruning = commands.add_parser("prune", help="remove items past their retention, leaving tombstones; free the space")
    pruning.add_argument("--dry-run", action="store_true", help="print what would go; change nothing")
    pruning.add_argument("--vacuum", action="store_true",
                         help="first switch an older database to incremental vacuum (a one-time full VACUUM)")
    backing_up = commands.add_parser("backup", help="write a consistent copy of the database (safe while feedhub runs)")
    backing_up.add_argument("path", help="file to write")
    restoring = commands.add_parser("restore", help="put a backup in place of the database (feedhub must be stopped)")
    restoring.add_argument("path", help="a file written by `feedhub backup`")
    migrating = commands.add_parser("migrate-db", help="copy the SQLite database into PostgreSQL and check the counts")
    migrating.add_argument("--to", required=True, metavar="URL", help="the PostgreSQL database, postgresql://user@host/name")
    migrating.add_argument("--replace", action="store_true",
                           help="delete what the target already holds first (refused without this)")
    exporting = commands.add_parser("export-opml", help="write the remote sources as OPML 2.0")
    exporting.add_argument("-o", "--output", help="file to write (default: standard output)")
    hashing = commands.add_parser("hash-key", help="make a partner key (or take one) and print its hash for feeds.yaml")
    hashing.add_argument("key", nargs="?", help="the key to hash; '-' reads it from standard input "
                         "(kept out of shell history); without it a new random key is made")
    args = parser.parse_args(argv)

    if args.command == "hash-key":  # needs no feeds.yaml
        return hash_key(args.key)
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
        try:
            summary = ingest_with_progress(config)
        except KeyboardInterrupt:
            # Each batch is committed whole or not at all: nothing is half-stored.
            print("feedhub ingest: interrupted; what was stored so far is kept, "
                  "and the next run goes on from there", file=sys.stderr)
            return 130
        print(format_summary(summary))
        return 1 if summary.total(FAILED) else 0
    if args.command == "duplicates":
        with Store(config.database) as store:
            stories = [(story, store.duplicates_of(story.id)) for story in store.stories(args.item)]
        if not stories:
            print(f"feedhub: no stored item or copy with the id or link {args.item!r}", file=sys.stderr)
            return 1
        print("\n\n".join(format_duplicates(story, copies) for story, copies in stories))
        return 0
    if args.command in OPERATIONS:
        from ..publish.opml import OpmlError  # lxml: loaded only for the commands that may need it

        try:
            return OPERATIONS[args.command](config, args)
        except (ConfigError, OpmlError, OSError) as exc:
            print(f"feedhub {args.command}: {exc}", file=sys.stderr)
            return 2
    if args.command == "worker":
        from apscheduler.schedulers.blocking import BlockingScheduler

        from ..worker.scheduler import Worker

        Worker(config, args.config, BlockingScheduler).start()
        return 0
    from ..web.server import serve

    serve(config, args.config, args.host, args.port, args.workers, args.log_level)
    return 0


def hash_key(given: str | None) -> int:
    from ..publish.access import MIN_KEY_LENGTH, hash_key, new_key

    key = sys.stdin.readline().strip() if given == "-" else given or new_key()
    if len(key) < MIN_KEY_LENGTH:
        print(f"feedhub hash-key: a key needs at least {MIN_KEY_LENGTH} characters, this one has {len(key)}; "
              "run `feedhub hash-key` without one to make a random key", file=sys.stderr)
        return 2
    if not given:
        print(f"key:      {key}")
        print("          give this to the partner; feedhub keeps only the hash below")
    print(f"key_hash: {hash_key(key)}")
    return 0


def ingest_with_progress(config: Config) -> Summary:
    """run_cycle, with a progress bar over the inputs when stderr is a terminal."""
    if not sys.stderr.isatty():  # cron, CI, a pipe: no bar, and tqdm not even loaded
        with Store(config.database) as store:
            return run_cycle(config, store)
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    total = len(config.articles) + len(config.sources)
    with tqdm(total=total, unit="input", file=sys.stderr, leave=False) as bar:
        with logging_redirect_tqdm(), Store(config.database) as store:  # log lines print above the bar
            def progress(name: str) -> None:
                bar.set_postfix_str(name, refresh=False)
                bar.update()

            return run_cycle(config, store, progress)


def show_sources(config: Config, args: argparse.Namespace) -> int:
    now = utcnow()
    with Store(config.database) as store:
        states = {state.name: state for state in store.sources()}
        pages = {source.name: store.page_health(source.name) for source in config.sources if source.full_text}
        held = store.leases()
        waiting = lifecycle.waiting_lines(store, now)
    rows = [("source", "status", "category", "last fetch", "next run", "failures")]
    details: dict[str, list[str]] = {}
    for source in config.sources:
        state = states.get(source.name) or SourceState(source.name)
        status = source_status(state)
        due = next_run(state, source.interval)
        when = "never (retired)" if status == "retired" else _when(due, now) if due else "at worker start"
        rows.append((source.name, status, source.category, _when(from_iso(state.last_attempt), now) or "never",
                     when, str(state.failures or 0)))
        lines = [f"address: {source.location}"]
        if state.url and state.url != source.url:
            lines.append(f"moved permanently to: {state.url} (fetched there now)")
        if state.last_error:
            lines.append(f"last error: {state.last_error}")
        if source.name in pages:
            lines.append(f"full text: {describe_pages(pages[source.name])}")
        lines += describe_holding(holding(held.get(job_name(source)), now), now)
        details[source.name] = lines
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print("  ".join(h.ljust(w) for h, w in zip(rows[0], widths)).rstrip())
    for row in rows[1:]:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip())
        for line in details[row[0]]:
            print(f"    {line}")
    print("\n".join(["", *waiting]))
    return 0


def describe_holding(job: Holding, now: datetime) -> list[str]:
    """Which worker fetches a source now, and which fetched it last."""
    lines = []
    if job.lapsed:
        lines.append(f"worker: {job.holder} stopped mid-run, its lease ended {_when(job.until, now)};"
                     " the next worker to run it takes it over")
    elif job.holder:
        lines.append(f"worker: held by {job.holder} until {_when(job.until, now)}")
    if job.last:
        lines.append(f"last run by: {job.last}")
    return lines


def describe_pages(health: PageHealth) -> str:
    """A full_text source's entry pages in one line (see Store.page_health)."""
    text = f"{health.pages} page{'' if health.pages == 1 else 's'} fetched, {health.failed} failing"
    if health.last_error:
        text += f" (the teaser is served instead); last failure: {health.last_error}"
    return text


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
    from ..ingest.filing import recheck

    with Store(config.database) as store:
        blocked, unblocked = recheck(config, store)
    print(f"rules applied to the stored items: {blocked} newly blocked, {unblocked} served again")
    return 0


def enable_source(config: Config, args: argparse.Namespace) -> int:
    source = config.source(args.name)
    if source is None:
        print(f"feedhub enable: no source {args.name!r} in {args.config} "
              f"(sources: {', '.join(s.name for s in config.sources)})", file=sys.stderr)
        return 2
    with Store(config.database) as store:
        store.reset_source(args.name)
    print(f"{args.name}: enabled; the worker fetches it from {source.location} at its next run")
    return 0


def import_sources(config: Config, args: argparse.Namespace) -> int:
    path = Path(args.file)
    from ..config.feedlist import import_opml  # ruamel.yaml: loaded only to edit feeds.yaml

    result = import_opml(Path(args.config), path.read_bytes(), str(path), args.category, args.interval, args.dry_run)
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
    with Store(config.database) as store:
        states = store.sources()
    moved = {state.name: state.url for state in states if state.url}
    retired = {state.name for state in states if state.retired}
    from ..config.feedlist import export_opml

    document, notes = export_opml(config, moved, retired, utcnow())
    if args.output:
        Path(args.output).write_bytes(document)
    else:
        sys.stdout.buffer.write(document + b"\n")
        sys.stdout.flush()
    for note in notes:
        print(f"left out {note}", file=sys.stderr)
    return 0


SHOWN_PRUNED = 10  # items listed per category by `feedhub prune`


def prune_items(config: Config, args: argparse.Namespace) -> int:
    from ..worker.retention import prune

    with Store(config.database) as store:
        if args.vacuum and not args.dry_run and not store.incremental():
            print(f"{config.database}: rebuilding with incremental vacuum (a full VACUUM, once) ...")
            store.vacuum()
        report = prune(config, store, dry_run=args.dry_run)
        incremental = store.incremental()
    verb = "would prune" if args.dry_run else "pruned"
    for category, chosen in report.items.items():
        count = len(chosen) if args.dry_run else report.removed.get(category, 0)
        span = f" (published {chosen[-1][1]} to {chosen[0][1]})" if chosen else ""
        print(f"{category}: {verb} {count} items{span}, "
              f"{report.tombstones[category]} tombstones {'would expire' if args.dry_run else 'expired'}")
        for _, published, title in chosen[:SHOWN_PRUNED]:
            print(f"  {published}  {title}")
        if len(chosen) > SHOWN_PRUNED:
            print(f"  ... and {len(chosen) - SHOWN_PRUNED} more")
    if not report.items:
        print("no retention set in feeds.yaml: every item is kept")
    if not args.dry_run and not isinstance(config.database, Path):
        print("PostgreSQL's autovacuum makes the space of the pruned rows reusable")
    elif not args.dry_run:
        print(f"{report.freed / 1024**2:.1f} MB given back to the file system" if incremental else
              "freed pages are reused by new items; run `feedhub prune --vacuum` once (while the worker is"
              " stopped) to let later prunes shrink the file")
    return 0


def write_backup(config: Config, args: argparse.Namespace) -> int:
    from ..store.backup import BackupError, backup

    try:
        print(f"wrote {backup(config.database, Path(args.path))}")
    except BackupError as exc:
        print(f"feedhub backup: {exc}", file=sys.stderr)
        return 1
    return 0


def restore_backup(config: Config, args: argparse.Namespace) -> int:
    from ..store.backup import BackupError, restore

    try:
        schema, contents = restore(Path(args.path), config.database)
    except BackupError as exc:
        print(f"feedhub restore: {exc}", file=sys.stderr)
        return 1
    migrated = f", migrated from schema version {schema}" if schema != contents.schema else ""
    print(f"restored {args.path}{migrated}\n{contents}")
    return 0


def migrate_database(config: Config, args: argparse.Namespace) -> int:
    from ..store.engine import redacted
    from ..store.migrate import MigrateError, migrate

    try:
        with _row_progress() as progress:
            migrated = migrate(config.database, args.to, args.replace, progress)
    except MigrateError as exc:
        print(f"feedhub migrate-db: {exc}", file=sys.stderr)
        return 1
    width = max(len("table"), *(len(c.table) for c in migrated.tables))
    print("table".ljust(width) + "SQLite".rjust(10) + "PostgreSQL".rjust(12))
    for row in sorted(migrated.tables, key=lambda row: row.table):
        print(row.table.ljust(width) + str(row.source).rjust(10) + str(row.target).rjust(12))
    print("schema version".ljust(width) + str(migrated.source_schema).rjust(10) + str(migrated.target_schema).rjust(12))
    print(f"\ncopied {config.database} to {redacted(args.to)}: every count matches.\n"
          f"Next: stop feedhub, set `database: {redacted(args.to)}` in {args.config} (or DATABASE_URL), "
          "and start the worker and web again; the SQLite file is left as it was.")
    return 0


@contextlib.contextmanager
def _row_progress() -> Iterator[Callable[[str, int], None] | None]:
    """A progress bar over the rows copied, when stderr is a terminal."""
    if not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(unit="row", file=sys.stderr, leave=False) as bar:
        def progress(table: str, rows: int) -> None:
            bar.set_postfix_str(table, refresh=False)
            bar.update(rows)

        yield progress


def _folders(config: Config, wanted: str | None) -> list[ArticleDir]:
    """The article folders named on the command line (path or name), or all."""
    if not wanted:
        return list(config.articles)
    path = str(Path(wanted).resolve())
    found = [f for f in config.articles if str(f.path) == path or f.path.name == wanted]
    if not found:
        names = ", ".join(str(f.path) for f in config.articles) or "none"
        raise ConfigError(f"no article folder {wanted!r} in the configuration (folders: {names})")
    return found


def show_boilerplate(config: Config, args: argparse.Namespace) -> int:
    from ..articles.boilerplate import MIN_FILES, MIN_SHARE, learned

    with Store(config.database) as store:
        for folder in _folders(config, args.folder):
            total, lines = store.house_lines(str(folder.path))
            house = learned(lines, total)
            print(f"{folder.path}: {total} files counted; a line is house style once in {MIN_FILES}+ files "
                  f"and {MIN_SHARE:.0%}+ of those read since it first appeared")
            ranked = sorted(lines.values(), key=lambda line: (-line.files, line.text))
            for title, chosen in (("learned (dropped)", True), ("seen in several files, not learned", False)):
                rows = [line for key, line in lines.items() if (key in house) == chosen]
                rows = [line for line in ranked if line in rows]
                print(f"  {title}: {len(rows)}")
                for line in rows[:50]:
                    print(f"    {line.files:>5} of {total - line.since:<5} {line.text}")
            for label, patterns in (("feeds.yaml boilerplate", folder.boilerplate), ("feeds.yaml keep_lines", folder.keep_lines)):
                if patterns:
                    print(f"  {label}: " + ", ".join(patterns))
    return 0


def show_dropped(config: Config, args: argparse.Namespace) -> int:
    import json

    with Store(config.database) as store:
        records = [store.file_state(str(Path(args.item).resolve()))]
        if not records[0]:
            records = [store.article_file(story.id) for story in store.stories(args.item)]
    found = [(record, record.parse) for record in records if record and record.parse]
    if not found:
        print(f"feedhub dropped: no article file read into {args.item!r} (an item id, its link, or the file's path)",
              file=sys.stderr)
        return 1
    for record, parsed in found:
        parse = json.loads(parsed)
        print(record.path)
        for field in ("authors", "published", "updated", "tags", "image", "caption", "credit"):
            value = parse.get(field)
            print(f"  {field + ':':<10} {(', '.join(value) if isinstance(value, list) else value) or '-'}")
        print(f"  {len(parse['dropped'])} lines left out of the body:")
        for number, line, why in parse["dropped"]:
            print(f"    line {number:>3}: {line}  [{why}]")
        for warning in parse["warnings"]:
            print(f"  warning: {warning}")
    return 0


def rerender_articles(config: Config, args: argparse.Namespace) -> int:
    from ..ingest.folders import ingest_folder

    summary = Summary()
    with Store(config.database) as store:
        for folder in _folders(config, args.folder):
            print(f"{folder.path}: {store.forget_rules(str(folder.path))} files to read again")
            summary.merge(ingest_folder(config, store, folder))
    print(format_summary(summary))
    return 1 if summary.total(FAILED) else 0


OPERATIONS = {
    "prune": prune_items,
    "backup": write_backup,
    "restore": restore_backup,
    "boilerplate": show_boilerplate,
    "dropped": show_dropped,
    "rerender": rerender_articles,
    "sources": show_sources,
    "stats": show_stats,
    "blocked": show_blocked,
    "recheck": recheck_rules,
    "withdraw": lifecycle.withdraw_story,
    "withdrawals": lifecycle.show_withdrawals,
    "enable": enable_source,
    "import-opml": import_sources,
    "export-opml": export_sources,
    "migrate-db": migrate_database,
}


def _when(moment: datetime | None, now: datetime) -> str:
    """'2026-11-25 13:05Z (in 4m)': the time, and how far it is from now."""
    if moment is None:
        return ""
    seconds = (moment - now).total_seconds()
    span = abs(seconds)
    amount = f"{span:.0f}s" if span < 120 else f"{span / 60:.0f}m" if span < 7200 else f"{span / 3600:.1f}h"
    return f"{moment:%Y-%m-%d %H:%M}Z ({'in ' + amount if seconds > 0 else amount + ' ago'})"


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


