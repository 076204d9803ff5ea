"""Helpers shared by the bench scripts: a feeds.yaml over the bundled
categories, running `feedhub` as a real child process while measuring its
wall time and peak memory, and the smoke-run switch."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import yaml

REPO = Path(__file__).resolve().parent.parent
# The tests' loopback feed server (tests/loopback.py) serves the bench's feeds too.
sys.path.append(str(REPO / "tests"))

# FEEDHUB_BENCH_SMOKE=1: every script at tiny sizes, only to show that it
# still runs to its figures (tests/test_bench_smoke.py); they mean nothing then.
SMOKE = os.environ.get("FEEDHUB_BENCH_SMOKE") == "1"


T = TypeVar("T")


def sized(full: T, smoke: T) -> T:
    """`full`, or `smoke` in a smoke run."""
    return smoke if SMOKE else full


def fresh_database(server: str, name: str) -> str:
    """The URL of a new, empty database `name` on the PostgreSQL server that
    `server` (a postgresql:// URL) points at; one of that name is dropped first."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return urlsplit(server)._replace(path=f"/{name}").geturl()


def drop_database(server: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    from feedhub.store.pgpool import close_pools

    close_pools()
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def bundled_categories() -> dict:
    """The categories (with their aliases) of the bundled feeds.yaml."""
    return yaml.safe_load((REPO / "feeds.yaml").read_text(encoding="utf-8"))["categories"]


def write_config(folder: Path, **overrides) -> Path:
    data = {
        "site": {"title": "Bench Hub", "link": "http://bench.test", "language": "en"},
        "database": "hub.db",
        "categories": bundled_categories(),
        "articles": [],
        "sources": [],
        **overrides,
    }
    path = folder / "feeds.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Run:
    seconds: float
    cpu_seconds: float  # user + system time of the feedhub process and its workers
    peak_rss_mb: float  # the process's, plus each worker's
    returncode: int
    stdout: str


def run_feedhub(config: Path, *args: str) -> Run:
    """`feedhub --config CONFIG ARGS...` in a child process, with its wall time
    and its peak RSS."""
    command = [sys.executable, "-m", "feedhub.cli", "--config", str(config), "--log-level", "WARNING", *args]
    if os.environ.get("BENCH_PROFILE"):
        # BENCH_PROFILE=folder: profile each run with pyinstrument (pip install
        # pyinstrument) and keep a text report per run in that folder.
        report = Path(os.environ["BENCH_PROFILE"]) / f"{args[0]}-{time.time_ns()}.txt"
        command[1:3] = ["-m", "pyinstrument", "-r", "text", "-o", str(report), "-m", "feedhub.cli"]
    return run_command(command)


def run_command(command: list[str]) -> Run:
    """Any command in a child process, with its wall time and peak RSS."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = PeakRss(process.pid)
    output = process.stdout.read()  # drained before waiting: a full pipe would block the child
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    peak_mb = peak.stop()
    cpu = usage.ru_utime + usage.ru_stime + peak.descendants_cpu_seconds()
    return Run(seconds, cpu, peak_mb, process.returncode, output)


class PeakRss(threading.Thread):
    """Polls the VmHWM (the high-water mark of its own memory) of the child
    and of every process under it (a large ingest reads files in worker
    processes), and their CPU time.

    Not getrusage/wait4's ru_maxrss: Linux carries the parent's RSS at the
    moment of the fork into the child's ru_maxrss, so a big benchmark process
    would be counted as the child's peak.  And wait4 counts no CPU of the
    workers, which are the fork server's children, not the child's."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = pid
        self.peaks_kb: dict[int, int] = {}  # pid -> its VmHWM
        self.cpu_ticks: dict[int, int] = {}  # pid -> its user + system time, last seen
        self.running = True
        self.start()

    def run(self) -> None:
        while self.running and Path(f"/proc/{self.root}").exists():
            for pid in self._family():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:  # exited
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks_kb[pid] = max(self.peaks_kb.get(pid, 0), int(line.split()[1]))
                self.cpu_ticks[pid] = int(fields[11]) + int(fields[12])  # utime, stime
            time.sleep(0.02)

    def _family(self) -> list[int]:
        """The child and its descendants, from the parent pid of every process."""
        parents = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
        family, grown = {self.root}, True
        while grown:
            found = {pid for pid, parent in parents.items() if parent in family} - family
            family |= found
            grown = bool(found)
        return sorted(family)

    def stop(self) -> float:
        """Peak RSS in MB: the child's, plus each descendant's own peak (an
        upper bound on what they held together)."""
        self.running = False
        self.join()
        return sum(self.peaks_kb.values()) / 1024

    def descendants_cpu_seconds(self) -> float:
        """CPU time of the processes under the child, as last seen."""
        ticks = sum(t for pid, t in self.cpu_ticks.items() if pid != self.root)
        return ticks / os.sysconf("SC_CLK_TCK")


def python_startup_seconds() -> float:
    """What starting `python -m feedhub.cli` costs before any work, so the
    figures can say how much of a small run is interpreter start-up."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import feedhub.cli, feedhub.ingest.cycle"], check=True)
    return time.perf_counter() - started
