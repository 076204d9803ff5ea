"""Partners' keys: `feedhub hash-key` makes one (or takes one) and prints
its hash for feeds.yaml, the one command that needs no feeds.yaml; `feedhub
partners` shows each partner's keys and feed requests over the last day, as
/partners does."""

from __future__ import annotations

import argparse
import sys

from ..config import Config
from ..model import utcnow
from ..publish import partners
from ..publish.access import MIN_KEY_LENGTH, hash_key, new_key
from ..store import Store
from ..store.partners import KEEP_DAYS
from .output import fail, table, when


def hash_key_command(args: argparse.Namespace) -> int:
    given: str | None = args.key
    key = sys.stdin.readline().strip() if given == "-" else given or new_key()
    if len(key) < MIN_KEY_LENGTH:
        return fail(args.command, f"a key needs at least {MIN_KEY_LENGTH} characters, this one has {len(key)}; "
                                  "run `feedhub hash-key` without one to make a random key")
    if not given:
        print(f"key:      {key}")
        print("          give this to the partner; feedhub keeps only the hash below")
    print(f"key_hash: {hash_key(key)}")
    return 0


def show_partners(config: Config, args: argparse.Namespace) -> int:
    now = utcnow()
    with Store(config.database) as store:
        reports = partners.report(config, store.partner_pulls(partners.since(now)), now)
    if not reports:
        print("feeds.yaml lists no partners")
        return 0
    print(f"feed requests over the last day ({partners.HOURS} hours)")
    rows = [("partner", "last pull", "requests", "304 share", "refused", "429")]
    for report in reports:
        share = report.not_modified_share
        rows.append((report.name, when(report.last_pull, now) or f"none in {KEEP_DAYS} days", str(report.requests),
                     "-" if share is None else f"{share:.0%}", str(report.refused), str(report.limited)))
    header, *lines = table(rows)
    print(header)
    for line, report in zip(lines, reports):
        print(line)
        print(f"    categories: {', '.join(report.categories)}")
        for key in report.keys:
            if key.expires is None:
                state = "never expires"
            else:
                state = f"{'expired' if key.expired else 'expires'} {when(key.expires, now)}"
            print(f"    key {key.shown}…: {state}")
    return 0
