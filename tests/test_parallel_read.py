"""A large ingest reads article files in worker processes: the store must come
out exactly as from one core, a worker that dies must lose nothing, and
killing the ingest must leave no worker behind."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import values, write_config
from test_batched_ingest import write_articles

from feedhub.config import load_config
from feedhub.ingest import folders, pool
from feedhub.ingest.cycle import run_cycle
from feedhub.ingest.folders import ArticleReader
from feedhub.store import Store

COUNT = folders.PARALLEL_FROM + 150
ORDERED_MAP = pool.ordered_map

pytestmark = pytest.mark.skipif(pool.spare_cores() < 1, reason="one core: ingest never starts workers")


def newsroom(folder: Path, database: str) -> Path:
    """Enough files for workers, with resent copies, a rewrite and broken files among them."""
    articles = folder / "articles"
    write_articles(articles, COUNT)
    for n in range(3):
        (articles / f"zz-copy-{n}.txt").write_bytes((articles / "day-00" / f"story-{n:05d}.txt").read_bytes())
    (articles / "zz-empty.txt").write_text("")
    (articles / "zz-unknown.txt").write_text("WEATHER\n\nRain all week\n\nIt rains.\n")
    (articles / "zz-latin1.txt").write_bytes("BUSINESS\n\nCaf\xe9 chain grows\n\nThe caf\xe9 opened.\n".encode("latin-1"))
    return write_config(folder, database, articles=[{"path": str(articles)}])


def stored(database: str) -> dict:
    return {
        "items": values(database, "SELECT id, category, guid, title, link, summary, content, text, published"
                                  " FROM items ORDER BY id"),
        "duplicates": values(database, "SELECT item_id, guid, reason, score FROM duplicates ORDER BY guid"),
        "files": values(database, "SELECT path, item_id, error FROM article_files ORDER BY path"),
        "keys": values(database, "SELECT category, kind, value, item_id FROM item_keys ORDER BY 1, 2, 3"),
    }


def ingest_with(config_path: Path, monkeypatch, parallel_from: int) -> tuple[dict, list]:
    calls = []

    def spy(*args):
        calls.append(args[3])
        return ORDERED_MAP(*args)

    monkeypatch.setattr(folders, "PARALLEL_FROM", parallel_from)
    monkeypatch.setattr(pool, "ordered_map", spy)
    config = load_config(config_path)
    with Store(config.database) as store:
        summary = run_cycle(config, store)
    counts = {outcome: summary.total(outcome) for outcome in ("new", "duplicate", "failed")}
    return {**stored(config.database), "counts": counts}, calls


def test_workers_store_exactly_what_one_core_does(tmp_path, make_database, monkeypatch):
    (tmp_path / "one").mkdir()
    one_config = newsroom(tmp_path / "one", make_database())
    # The same files, with the same times (an article's date is its file's).
    shutil.copytree(tmp_path / "one" / "articles", tmp_path / "many" / "articles")
    many_config = write_config(tmp_path / "many", make_database(), articles=[{"path": str(tmp_path / "many" / "articles")}])
    one, one_calls = ingest_with(one_config, monkeypatch, parallel_from=10**9)
    many, many_calls = ingest_with(many_config, monkeypatch, parallel_from=COUNT)
    # One pool, the reading's (the house-style counting runs in the ingest process).
    assert one_calls == [] and many_calls == [min(pool.spare_cores(), pool.MAX_READERS)]
    assert many["counts"] == one["counts"] == {"new": COUNT + 1, "duplicate": 3, "failed": 2}
    # Paths differ between the two folders; what was stored for them must not.
    relative = lambda rows, root: [(Path(p).relative_to(root).as_posix(), i, e and e.replace(str(root), "")) for p, i, e in rows]
    assert relative(many["files"], tmp_path / "many") == relative(one["files"], tmp_path / "one")
    for table in ("items", "duplicates", "keys"):
        assert many[table] == one[table], table


class DyingReader(ArticleReader):
    """Kills the worker process that reads story 250 (never the ingest itself)."""

    def __call__(self, read):
        if multiprocessing.parent_process() is not None and read.path.name == "story-00250.txt":
            os._exit(3)
        return super().__call__(read)


def test_a_worker_that_dies_loses_nothing(tmp_path, database, monkeypatch, caplog):
    config_path = write_config(tmp_path, database, articles=[{"path": str(tmp_path / "articles")}])
    write_articles(tmp_path / "articles", COUNT)
    monkeypatch.setattr(folders, "ArticleReader", DyingReader)
    config = load_config(config_path)
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        items, files = store.count("items"), store.count("article_files")
    assert "worker process died; doing the rest of the work in this process" in caplog.text
    assert (summary.total("new"), summary.total("failed"), items, files) == (COUNT, 0, COUNT, COUNT)


def descendants(pid: int) -> set[int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
    family = {pid}
    while found := {child for child, parent in parents.items() if parent in family} - family:
        family |= found
    return family - {pid}


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_killing_the_ingest_ends_its_workers(tmp_path, database):
    config_path = write_config(tmp_path, database, articles=[{"path": str(tmp_path / "articles")}])
    write_articles(tmp_path / "articles", 4 * COUNT)
    with Store(database) as reader:  # the schema is in place before the ingest starts
        process = subprocess.Popen([sys.executable, "-m", "feedhub.cli", "--config", str(config_path), "ingest"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # Workers are reading once the first results are filed.
            while reader.count("article_files") == 0 and process.poll() is None:
                time.sleep(0.005)
            workers = descendants(process.pid)
            process.send_signal(signal.SIGKILL)
        finally:
            process.wait()
    assert process.returncode == -signal.SIGKILL, "the ingest ended before it could be killed"
    assert len(workers) >= min(pool.spare_cores(), pool.MAX_READERS)
    deadline = time.monotonic() + 10
    while any(map(running, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if running(pid)], "workers outlived the ingest"


def test_what_workers_log_reaches_the_operator(tmp_path, database):
    config_path = write_config(tmp_path, database, articles=[{"path": str(tmp_path / "articles")}])
    write_articles(tmp_path / "articles", COUNT)
    (tmp_path / "articles" / "zz-latin1.txt").write_bytes(
        "BUSINESS\n\nCaf\xe9 chain grows\n\nThe caf\xe9 opened.\n".encode("latin-1"))
    run = subprocess.run([sys.executable, "-m", "feedhub.cli", "--config", str(config_path), "--log-level", "INFO",
                          "ingest"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    line = next(line for line in run.stderr.splitlines() if "zz-latin1.txt: not UTF-8" in line)
    assert line.startswith("time=") and "level=info logger=feedhub.articles" in line


@pytest.mark.slow
def test_ctrl_c_stops_the_ingest_cleanly_and_the_next_run_goes_on(tmp_path, database):
    config_path = write_config(tmp_path, database, articles=[{"path": str(tmp_path / "articles")}])
    write_articles(tmp_path / "articles", 4 * COUNT)
    command = [sys.executable, "-m", "feedhub.cli", "--config", str(config_path), "ingest"]
    with Store(database) as reader:  # the schema is in place before the ingest starts
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        while reader.count("article_files") == 0 and process.poll() is None:
            time.sleep(0.005)
    process.send_signal(signal.SIGINT)

    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip().endswith("interrupted; what was stored so far is kept, and the next run goes on from there")
    assert "Traceback" not in stderr
    with Store(database) as store:
        kept = store.count("article_files")
    assert 0 < kept < 4 * COUNT
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=120)
    total = rerun.stdout.strip().splitlines()[-1].split()
    assert rerun.returncode == 0 and total[0] == "total"
    assert (int(total[1]), int(total[3])) == (4 * COUNT - kept, kept)  # new, unchanged
