"""Two versions of feedhub side by side: the same bench script, run from each
version's own checkout, interleaved round by round in one run.

    python bench/versions.py f82938c HEAD --rounds 3 -- dedup.py --quick
    python bench/versions.py main~5 --lines 4 -- ingest.py 2000

A refactor must leave the figures where they were; on a noisy machine only a
comparison made in the same run, alternating A, B, A, B, means anything.  Each
revision is checked out (git worktree, detached) into a temporary folder and
its bench script runs with that checkout's src/ first on PYTHONPATH, so each
side measures its own code with its own script.  Printed: the last --lines
lines of every run, labelled with the revision and round.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def checkout(revision: str, into: Path) -> Path:
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "--quiet", str(into), revision],
                   check=True)
    return into


def run(tree: Path, script: list[str], lines: int) -> list[str]:
    env = {**os.environ, "PYTHONPATH": f"{tree / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    done = subprocess.run([sys.executable, str(tree / "bench" / script[0]), *script[1:]], cwd=tree, env=env,
                          capture_output=True, text=True)
    if done.returncode:
        return [f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"]
    return done.stdout.rstrip().splitlines()[-lines:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after", nargs="?", default="HEAD")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lines", type=int, default=3, help="last lines of each run to print")
    argv = sys.argv[1:]
    cut = argv.index("--") if "--" in argv else len(argv)
    args, script = parser.parse_args(argv[:cut]), argv[cut + 1:]
    if not script:
        parser.error("name a bench script after --: -- SCRIPT [ARGS...], a file under bench/")
    with tempfile.TemporaryDirectory(prefix="feedhub-versions-") as work:
        trees = {rev: checkout(rev, Path(work) / f"v{n}") for n, rev in enumerate((args.before, args.after))}
        try:
            for round_ in range(1, args.rounds + 1):
                for revision, tree in trees.items():
                    for line in run(tree, script, args.lines):
                        print(f"[{revision} round {round_}] {line}", flush=True)
        finally:
            for tree in trees.values():
                subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)], check=False)


if __name__ == "__main__":
    main()
