"""The commands about the database: `backup`, `restore`, `migrate-db`
(SQLite to PostgreSQL) and `prune` (retention)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import Config
from ..store import Store
from ..store.backup import BackupError, backup, restore
from ..store.engine import redacted
from ..worker.retention import prune
from .output import fail, progress_bar

SHOWN_PRUNED = 10  # items listed per category by `feedhub prune`


def prune_items(config: Config, args: argparse.Namespace) -> int:
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
    try:
        print(f"wrote {backup(config.database, Path(args.path))}")
    except BackupError as exc:
        return fail(args.command, exc, 1)
    return 0


def restore_backup(config: Config, args: argparse.Namespace) -> int:
    try:
        schema, contents = restore(Path(args.path), config.database)
    except BackupError as exc:
        return fail(args.command, exc, 1)
    migrated = f", migrated from schema version {schema}" if schema != contents.schema else ""
    print(f"restored {args.path}{migrated}\n{contents}")
    return 0


def migrate_database(config: Config, args: argparse.Namespace) -> int:
    # Only this command loads sqlite-utils: 55 ms, 12% more on every other
    # command's start-up (CPU time after `import feedhub.cli`, 478 ms;
    # median of 9 runs).
    from ..store.migrate import MigrateError, migrate

    try:
        with progress_bar("row") as progress:
            migrated = migrate(config.database, args.to, args.replace, progress)
    except MigrateError as exc:
        return fail(args.command, exc, 1)
    width = max(len("table"), *(len(c.table) for c in migrated.tables))
    print("table".ljust(width) + "SQLite".rjust(10) + "PostgreSQL".rjust(12))
    for row in sorted(migrated.tables, key=lambda row: row.table):
        print(row.table.ljust(width) + str(row.source).rjust(10) + str(row.target).rjust(12))
    print("schema version".ljust(width) + str(migrated.source_schema).rjust(10) + str(migrated.target_schema).rjust(12))
    print(f"\ncopied {config.database} to {redacted(args.to)}: every count matches.\n"
          f"Next: stop feedhub, set `database: {redacted(args.to)}` in {args.config} (or DATABASE_URL), "
          "and start the worker and web again; the SQLite file is left as it was.")
    return 0
