"""Every bench script still runs to its figures: each as `python bench/x.py`
with FEEDHUB_BENCH_SMOKE=1, which shrinks its counts and rounds to a few
seconds (bench/common.py).  The figures of such a run mean nothing; that it
exits 0 and prints them does."""

from __future__ import annotations

import filecmp
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO

pytestmark = pytest.mark.slow

BENCH = REPO / "bench"
# Not benches of their own: common.py is their helpers; versions.py runs one
# of them from two git checkouts (git worktree add), which a test should not
# do to the repository it runs in.
NOT_SCRIPTS = {"common", "versions"}
SCRIPTS = sorted(path.stem for path in BENCH.glob("*.py") if path.stem not in NOT_SCRIPTS)


def missing(script: str) -> str | None:
    """Why `script` cannot run on this machine, if it cannot (.ci/run installs all of it)."""
    if script == "serve":
        if not shutil.which("wrk") or not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
            return "bench/serve.py needs wrk and nginx (apt-get install wrk nginx libnginx-mod-http-brotli-static)"
    if script == "peer" and importlib.util.find_spec("reader") is None:
        return "bench/peer.py needs the bench extra: pip install -e '.[bench]'"
    return None


def same_tree(a: Path, b: Path) -> bool:
    compared = filecmp.dircmp(a, b)
    if compared.left_only or compared.right_only or compared.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, compared.common_files, shallow=False)
    return not mismatch and not errors and all(same_tree(a / sub, b / sub) for sub in compared.common_dirs)


def test_every_bench_script_is_smoked():
    assert len(SCRIPTS) >= 15 and {"fetch", "serve", "peer", "dedup", "ingest"} <= set(SCRIPTS), SCRIPTS


@pytest.mark.parametrize("script", SCRIPTS)
def test_bench_script_runs_to_its_figures(script: str, tmp_path: Path):
    if reason := missing(script):
        pytest.skip(reason)
    args = [str(tmp_path / "articles")] if script == "article_corpus" else []  # never over the committed corpus
    run = subprocess.run(
        [sys.executable, str(BENCH / f"{script}.py"), *args], cwd=tmp_path, capture_output=True, text=True,
        timeout=120, env={**os.environ, "FEEDHUB_BENCH_SMOKE": "1"},
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    lines = [line for line in run.stdout.splitlines() if line.strip()]
    assert lines, output[-3000:]
    if script == "near_dups":  # the evaluation set as JSON lines, not figures
        pairs = [json.loads(line) for line in lines]
        assert len(pairs) > 50 and all(pair.keys() >= {"stored", "arriving", "same", "kind"} for pair in pairs)
        assert {True, False} == {pair["same"] for pair in pairs}
        return
    assert re.search(r"\d", lines[-1]), lines[-5:]
    if script == "article_corpus":  # the committed corpus is what the writer writes
        assert same_tree(tmp_path / "articles", BENCH / "data" / "articles")
    if script == "fetch":
        assert [line.split()[0] for line in lines[-3:]] == ["1", "2", "3"], lines[-5:]
