"""What a YAML alias bomb costs feedhub before it is refused.

A feeds.yaml of a dozen lines can name a list of nine words, then a list
of nine aliases of it, and so on: each level nine times the last once the
aliases are expanded (the "billion laughs").  feedhub bounds what aliases
may add (config/yamlfile.py, ALIAS_BUDGET) while it reads the parser's
events, before anything is built.  This loads, in a fresh process each
time, a bomb of each level and the bundled feeds.yaml (the baseline, in the
same rounds, interleaved), and prints the median time load_config takes
and the process's peak memory, each with its ratio to the baseline.

    python bench/yaml_aliases.py                       # levels 1-7, this checkout
    python bench/yaml_aliases.py --src /other/checkout/src
        # another checkout's feedhub, e.g. one from before the bound (there a
        # level is given up once a load passes --timeout; level 7 took 12 s
        # and 1.3 GB, and each level costs nine times the one before)

The first lines say how each level ended (refused by what); the last lines
print, per level, `level N (9^N values): T ms (xR, range), M MB (xR)`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, sized  # noqa: E402

HEAD = "site:\n  title: Hub\n  link: http://hub.test\ncategories:\n  world:\n    title: World\n"
# One child process per load: its own wall time and peak RSS, printed as JSON.
CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from feedhub.config import ConfigError, load_config
imported = time.perf_counter()
try:
    load_config(sys.argv[1])
    outcome = "loaded"
except ConfigError as exc:
    outcome = str(exc).splitlines()[0][:200]
print(json.dumps({"seconds": time.perf_counter() - imported, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "outcome": outcome}))
"""


def bomb(levels: int) -> str:
    """A list of nine words, then `levels` - 1 lists of nine aliases of the
    one before (9^levels words once expanded), under a key of their own."""
    lines = ["bomb:", '  l1: &l1 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in range(2, levels + 1):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return HEAD + "\n".join(lines) + "\n"


def load(path: Path, src: str, timeout: float) -> dict[str, float | str] | None:
    env = {**os.environ, "PYTHONPATH": src}
    try:
        run = subprocess.run([sys.executable, "-c", CHILD, str(path)], env=env, capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    if run.returncode != 0:
        raise SystemExit(f"{path}: the child failed:\n{run.stderr[-2000:]}")
    result: dict[str, float | str] = json.loads(run.stdout.strip().splitlines()[-1])
    return result


def measure(folder: Path, args: argparse.Namespace) -> tuple[dict[int, list[dict[str, float | str]]], set[int]]:
    """Each level's loads (level 0: the bundled feeds.yaml), and the levels given up."""
    files = {0: REPO / "feeds.yaml"}
    for level in range(1, args.levels + 1):
        files[level] = folder / f"bomb-{level}.yaml"
        files[level].write_text(bomb(level), encoding="utf-8")
    results: dict[int, list[dict[str, float | str]]] = {level: [] for level in files}
    given_up: set[int] = set()
    for _ in range(args.rounds):
        for level, path in files.items():  # interleaved: the baseline is loaded in every round
            if level in given_up or any(lower in given_up for lower in range(level)):
                given_up.add(level)
                continue
            result = load(path, args.src, args.timeout)
            if result is None:
                given_up.add(level)
            else:
                results[level].append(result)
    return results, given_up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, default=sized(7, 3), help="the deepest bomb (default 7)")
    parser.add_argument("--rounds", type=int, default=sized(5, 1), help="loads of each file (default 5)")
    parser.add_argument("--timeout", type=float, default=sized(120.0, 60.0), help="seconds before a load is given up")
    parser.add_argument("--src", default=str(REPO / "src"), help="the feedhub source tree to load with (default: this one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="feedhub-yaml-aliases-") as folder:
        results, given_up = measure(Path(folder), args)
    base_seconds = statistics.median(float(r["seconds"]) for r in results[0])
    base_mb = statistics.median(float(r["peak_mb"]) for r in results[0])
    print(f"feedhub from {args.src}; {args.rounds} rounds; baseline: the bundled feeds.yaml")
    for level in range(1, args.levels + 1):
        if level in given_up:
            print(f"  level {level}: a load took over {args.timeout:.0f} s (given up)")
        else:
            print(f"  level {level}: {results[level][0]['outcome']}")
    print(f"baseline (feeds.yaml): {base_seconds * 1000:.1f} ms, {base_mb:.0f} MB")
    for level in range(1, args.levels + 1):
        if level in given_up:
            print(f"level {level} (9^{level} values): over {args.timeout:.0f} s")
            continue
        seconds = [float(r["seconds"]) for r in results[level]]
        peaks = [float(r["peak_mb"]) for r in results[level]]
        print(f"level {level} (9^{level} values): {statistics.median(seconds) * 1000:.1f} ms"
              f" (x{statistics.median(seconds) / base_seconds:.2f}, {min(seconds) * 1000:.1f}-{max(seconds) * 1000:.1f}),"
              f" {statistics.median(peaks):.0f} MB (x{statistics.median(peaks) / base_mb:.2f})")


if __name__ == "__main__":
    main()
