"""A cycle fetches its sources on a bounded pool of threads over kept-alive
connections, stores them in feeds.yaml order, and a hanging or broken source
holds up none of the others."""

from __future__ import annotations

import socket
import threading
from email.utils import formatdate

from helpers import rows, wait_until

from feedhub.ingest.cycle import run_cycle
from feedhub.store import Store


def write_feed(path, number: int, items: int = 3) -> None:
    entries = "".join(
        f"<item><title>Feed {number} story {i}</title><link>https://feed{number}.example/{i}</link>"
        f"<guid>https://feed{number}.example/{i}</guid><pubDate>{formatdate(1_790_000_000 + i * 60, usegmt=True)}</pubDate>"
        f"<description>Story {i} from feed {number}, told its own way.</description></item>"
        for i in range(items)
    )
    path.write_text(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {number}</title>'
        f"<link>https://feed{number}.example/</link><description>d</description>{entries}</channel></rss>",
        encoding="utf-8",
    )


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_source_is_fetched_at_most_n_at_once_over_kept_alive_connections(make_config, feed_server):
    for number in range(12):
        write_feed(feed_server.root / f"pool-{number}.rss", number)
    config = make_config(
        fetch_concurrency=3,
        sources=[{"name": f"s{n}", "url": f"{feed_server.url}/pool-{n}.rss", "category": "business"} for n in range(12)],
    )
    with Store(config.database) as store:
        first = run_cycle(config, store)
        second = run_cycle(config, store)
        states = [store.source_state(f"s{n}") for n in range(12)]
    assert first.total("failed") == 0, first.errors
    assert all(first.counts[f"feed:s{n}"]["new"] == 3 for n in range(12))
    assert all(state.last_status == 304 for state in states)
    assert second.total("new") == second.total("unchanged") == 0
    assert len(feed_server.requests) == 24
    assert feed_server.max_in_flight <= 3
    # One client per cycle: its connections are reused from source to source.
    assert feed_server.connections <= 2 * 3


def test_a_hanging_and_a_refusing_source_hold_up_none_of_the_others(make_config, feed_server):
    for number in range(6):
        write_feed(feed_server.root / f"pool-{number}.rss", number)
    write_feed(feed_server.root / "slow.rss", 99)
    others = [f"/pool-{n}.rss" for n in range(6)]
    seen_while_held = []

    def hold():
        # Listed first, answered last: only once every other feed was asked for.
        wait_until(lambda: {path for path, _ in feed_server.requests} >= set(others))
        seen_while_held.extend(path for path, _ in feed_server.requests)

    feed_server.before["/slow.rss"] = hold
    config = make_config(
        fetch_concurrency=2,
        sources=[
            feed_server.source("slow", "slow.rss", "business"),
            {"name": "refused", "url": f"http://127.0.0.1:{closed_port()}/feed.rss", "category": "business"},
            *({"name": f"s{n}", "url": f"{feed_server.url}/pool-{n}.rss", "category": "business"} for n in range(6)),
        ],
    )
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        refused = store.source_state("refused")
    assert set(seen_while_held) >= set(others), "the other feeds were fetched while the slow one was held"
    assert summary.counts["feed:slow"]["new"] == 3
    assert all(summary.counts[f"feed:s{n}"]["new"] == 3 for n in range(6))
    assert summary.counts["feed:refused"]["failed"] == 1
    assert "ConnectError" in refused.last_error and refused.failures == 1
    # Feeds are stored, and summarised, in feeds.yaml order.
    assert list(summary.counts) == ["feed:slow", "feed:refused", *(f"feed:s{n}" for n in range(6))]


def test_the_source_listed_first_keeps_a_shared_story_whichever_answers_first(make_config, feed_server):
    arrived, partner_first = threading.Event(), []
    feed_server.before["/syndicated.rss"] = arrived.set
    # The wire's answer waits for the partner's request: the partner answers first.
    feed_server.before["/world-wire.rss"] = lambda: partner_first.append(arrived.wait(10))
    config = make_config(
        sources=[
            feed_server.source("wire", "world-wire.rss", "international"),
            feed_server.source("partner", "syndicated.rss", "international"),
        ]
    )
    with Store(config.database) as store:
        summary = run_cycle(config, store)
        [dup] = rows(store, "SELECT d.source, i.source AS kept FROM duplicates d JOIN items i ON i.id = d.item_id")

    assert partner_first == [True] and summary.total("failed") == 0
    assert dup == {"source": "feed:partner", "kept": "feed:wire"}
