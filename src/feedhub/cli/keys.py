"""`feedhub hash-key`: a partner key made (or taken) and its hash printed
for feeds.yaml; the one command that needs no feeds.yaml."""

from __future__ import annotations

import argparse
import sys

from ..publish.access import MIN_KEY_LENGTH, hash_key, new_key
from .output import fail


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
