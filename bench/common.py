"""Helpers shared by the bench scripts: a feeds.yaml over the bundled
categories, and running `feedhub` as a real child process while measuring its
wall time and peak memory."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


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
    cpu_seconds: float  # user + system time of the feedhub process
    peak_rss_mb: float
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
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = PeakRss(process.pid)
    output = process.stdout.read()  # drained before waiting: a full pipe would block the child
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return Run(seconds, usage.ru_utime + usage.ru_stime, peak.stop(), process.returncode, output)


class PeakRss(threading.Thread):
    """Polls the child's VmHWM (the high-water mark of its own memory).

    Not getrusage/wait4's ru_maxrss: Linux carries the parent's RSS at the
    moment of the fork into the child's ru_maxrss, so a big benchmark process
    would be counted as the child's peak."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.status = Path(f"/proc/{pid}/status")
        self.peak_kb = 0
        self.running = True
        self.start()

    def run(self) -> None:
        while self.running:
            try:
                text = self.status.read_text()
            except OSError:  # exited
                return
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    self.peak_kb = max(self.peak_kb, int(line.split()[1]))
            time.sleep(0.02)

    def stop(self) -> float:
        self.running = False
        self.join()
        return self.peak_kb / 1024


def python_startup_seconds() -> float:
    """What starting `python -m feedhub.cli` costs before any work, so the
    figures can say how much of a small run is interpreter start-up."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import feedhub.cli, feedhub.ingest"], check=True)
    return time.perf_counter() - started
