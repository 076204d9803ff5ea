"""What access control costs a feed request.

Serves the same cached feed through the Flask app in one process, three ways:
`bare` without the access middleware and with no rate limits (as feedhub was
before access control), `public` with the middleware and an address rate
limit, and `partner`, a private feed asked for through a trusted proxy with
`?key=` and a per-key limit (the most work a request can cause: the proxy
walk, taking the key out of the query string, hashing it, two buckets).
Rounds alternate so machine noise hits each alike; prints the time per
request of each and the ratios to `bare` (median, min-max over the rounds)
as its last lines.  Run: python bench/access.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from common import sized, write_config

from feedhub.config import load_config
from feedhub.ingest import filing
from feedhub.model import Item, utcnow
from feedhub.publish.access import hash_key
from feedhub.store import Store
from feedhub.web import create_app

KEY = "bench-partner-key-0123456789abcdef"
ROUNDS = sized(30, 2)
PLENTY = {"requests": 10**9, "per": "1h"}  # limits that are checked but never reached


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        config = load_config(write_config(
            folder, categories={"world": {"title": "World"}, "wire": {"title": "Wire", "private": True}},
            partners={"acme": {"key_hash": hash_key(KEY), "categories": ["wire"]}},
            trusted_proxies=["10.0.0.0/8"], rate_limits={"address": PLENTY, "key": PLENTY}))
        with Store(config.database) as store:
            for i in range(50):
                for category in ("world", "wire"):
                    filing.add(store, Item(category=category, source="feed:bench", guid=f"{category}-{i}",
                                   title=f"Story {i}", link=f"http://bench.test/{category}/{i}", summary="s",
                                   content="<p>c</p>", text=f"{category} story {i} in its own words",
                                   published=utcnow()))
        bare = create_app(config.model_copy(update={"rate_limits": type(config.rate_limits)()}))
        bare.wsgi_app = bare.wsgi_app.app  # without access.Gate
        full = create_app(config)
        requests = {
            "bare": (bare.test_client(), "/feeds/world.atom", {}),
            "public": (full.test_client(), "/feeds/world.atom", {}),
            "partner": (full.test_client(), f"/feeds/wire.atom?key={KEY}", {"REMOTE_ADDR": "10.1.1.1"}),
        }
        headers = {"X-Forwarded-For": "203.0.113.9"}
        for client, url, environ in requests.values():  # warm the feed cache, check the answer
            assert client.get(url, environ_base=environ, headers=headers).status_code == 200
        times: dict[str, list[float]] = {name: [] for name in requests}
        for _ in range(ROUNDS):
            for name, (client, url, environ) in requests.items():
                started = time.perf_counter()
                for _ in range(n // ROUNDS):
                    client.get(url, environ_base=environ, headers=headers)
                times[name].append((time.perf_counter() - started) / (n // ROUNDS) * 1e6)
        gate_us = gate_alone(config, n)
    print(f"requests per variant: {n} in {ROUNDS} alternating rounds")
    for name, values in times.items():
        print(f"{name:8} {statistics.median(values):7.1f} us/request (median of rounds)")
    for name in ("public", "partner"):
        ratios = [a / b for a, b in zip(times[name], times["bare"])]
        print(f"ratio {name}/bare: {statistics.median(ratios):.3f} (rounds {min(ratios):.3f}-{max(ratios):.3f})")
    bare_us = statistics.median(times["bare"])
    print(f"access.Gate + key lookup + two buckets alone: {gate_us:.1f} us/request, "
          f"{gate_us / bare_us:.3f} of a bare request")


def gate_alone(config, n: int) -> float:
    """The partner variant's access work without Flask: the middleware over
    an app that only looks the key up and takes a token from each bucket."""
    from feedhub.publish.access import key_owner
    from feedhub.web.gate import Gate
    from feedhub.web.ratelimit import Limiter

    limiter = Limiter(config.rate_limits)

    def app(environ, start_response):
        use = key_owner(config, environ.get("feedhub.key"), utcnow())
        limiter.check(use.partner if use else None, environ["REMOTE_ADDR"])
        limiter.check(None, environ["REMOTE_ADDR"])
        return []

    gate = Gate(app, lambda: config)
    started = time.perf_counter()
    for _ in range(n):
        gate({"REMOTE_ADDR": "10.1.1.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9", "QUERY_STRING": f"key={KEY}",
              "RAW_URI": f"/feeds/wire.atom?key={KEY}"}, None)
    return (time.perf_counter() - started) / n * 1e6


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else sized(5000, 40))
