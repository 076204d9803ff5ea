"""`feedhub run` as an operator starts it (granian serving the app, the
scheduler as its child process), on a free port of 127.0.0.1, with a clock
the test sets (clock/sitecustomize.py), for end-to-end tests over real HTTP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx

from helpers import REPO

CLOCK_FOLDER = Path(__file__).resolve().parent / "clock"


@dataclass
class Running:
    """A running `feedhub run`: its address, and the clock of its processes."""

    url: str
    clock: Path  # holds the seconds its processes' clock is ahead of the real one

    def move_clock(self, seconds: float) -> None:
        """Move the processes' clock to `seconds` past the real time."""
        self.clock.write_text(str(seconds), encoding="utf-8")

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def feedhub_run(config_path: Path, log: Path | None = None, port: int | None = None) -> Iterator[Running]:
    """`python -m feedhub.cli --config config_path run` (one web worker) on
    `port` (default: a free one), yielded once /healthz answers 200 (the
    scheduler has beaten); stopped, with every process it started, when the
    block ends."""
    port = port or free_port()
    clock = config_path.parent / "clock-offset"
    clock.write_text("0", encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(CLOCK_FOLDER), str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
        "FEEDHUB_TEST_CLOCK": str(clock),
    }
    output = open(log, "ab") if log else subprocess.DEVNULL
    server = subprocess.Popen(
        [sys.executable, "-m", "feedhub.cli", "--config", str(config_path), "run", "--port", str(port), "--workers", "1"],
        env=env, stdout=output, stderr=output, start_new_session=True,  # its own group: stopped whole
    )
    running = Running(f"http://127.0.0.1:{port}", clock)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{running.url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "feedhub run did not start"
            time.sleep(0.1)
        yield running
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(server.pid, signal.SIGKILL)  # anything of the group still there
            if log:
                output.close()
