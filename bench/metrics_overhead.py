"""What counting feed requests for /metrics costs a web worker.

Serves the same cached feed N times through the Flask app in one process,
with the request counter on and then with it off, alternating rounds so that
machine noise hits both alike.  Prints the time per request of each and their
ratio as its last lines.  Run: python bench/metrics_overhead.py [N]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import sized

from feedhub.config import load_config
from feedhub.ingest.cycle import run_cycle
from feedhub.store import Store
from feedhub.web import create_app

REPO = Path(__file__).resolve().parent.parent
ROUNDS = 10


class Uncounted:
    """The request counter of the variant that counts nothing."""

    def add(self, name: str, labels: str) -> None:
        pass

    def flush(self) -> None:
        pass


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        shutil.copytree(REPO / "examples" / "articles", folder / "articles")
        data = yaml.safe_load((REPO / "feeds.yaml").read_text())
        data.update(database=str(folder / "hub.db"), articles=[{"path": str(folder / "articles")}], sources=[])
        (folder / "feeds.yaml").write_text(yaml.safe_dump(data))
        config = load_config(folder / "feeds.yaml")
        with Store(config.database) as store:
            run_cycle(config, store)
        counted = create_app(config)
        plain = create_app(config)
        # Nothing counted: neither the Flask hook nor web/fastfeed.py's
        # plain-WSGI path for public feed polls (it counts on its own).
        plain.after_request_funcs[None] = [f for f in plain.after_request_funcs[None]
                                           if f.__name__ != "count_feed_request"]
        plain.extensions["feedhub_request_counts"] = Uncounted()
        timings: dict[str, list[float]] = {"counted": [], "plain": []}
        clients = {"counted": counted.test_client(), "plain": plain.test_client()}
        for client in clients.values():
            client.get("/feeds/international.atom")  # warm the feed cache
        for _ in range(ROUNDS):
            for name, client in clients.items():
                started = time.perf_counter()
                for _ in range(n // ROUNDS):
                    client.get("/feeds/international.atom")
                timings[name].append((time.perf_counter() - started) / (n // ROUNDS) * 1e6)
        counted.extensions["feedhub_request_counts"].flush()
        with Store(config.database) as store:
            saved = sum(r.value for r in store.counters() if r.name == "feedhub_feed_requests")
        assert saved == n // ROUNDS * ROUNDS + 1, saved
    ratios = [counted_us / plain_us for counted_us, plain_us in zip(timings["counted"], timings["plain"])]
    print(f"requests per variant: {n // ROUNDS * ROUNDS}, in {ROUNDS} alternating rounds; median (min-max)")
    print(f"with request counting:    {spread(timings['counted'], 1)} us/request")
    print(f"without request counting: {spread(timings['plain'], 1)} us/request")
    print(f"ratio counted/plain, round by round: {spread(ratios, 3)}")


def spread(values: list[float], digits: int) -> str:
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else sized(5000, 20))
