"""What filing costs in round trips to PostgreSQL, counted by a proxy in
front of the server (tests/latency_proxy.py): a batch is read and written
in a handful of round trips however many items it holds, and what the
store sends with another statement's round trip (BEGIN, savepoints, locks,
the writes made as a transaction commits) is still kept."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from helpers import story, write_config
from latency_proxy import LatencyProxy

from feedhub.config import load_config
from feedhub.ingest import filing
from feedhub.model import NEW, UNCHANGED
from feedhub.store import Store
from feedhub.store.pgpool import close_pools


@pytest.fixture
def proxied(postgres_url: str):
    """The test's PostgreSQL database through a counting proxy: (proxy, URL)."""
    with LatencyProxy(urlsplit(postgres_url).port or 5432) as proxy:
        url = proxy.route(postgres_url)
        yield proxy, url
        close_pools(url)


@pytest.mark.parametrize("size", [10, 100])
def test_a_batch_costs_a_few_round_trips_whatever_its_size(proxied, tmp_path: Path, size: int):
    proxy, url = proxied
    config = load_config(write_config(tmp_path, url))
    items = [story(n) for n in range(size)]
    with Store(url) as store:
        store.count("items")  # connected, and the schema checked
        proxy.reset()
        outcomes = filing.file_batch(config, store, [(item, None, None) for item in items])
        filed = proxy.reset()[0]
        again = filing.file_batch(config, store, [(item, None, None) for item in items])
        unchanged = proxy.reset()[0]
        assert store.count("items") == size
    assert [outcome.status for outcome in outcomes] == [NEW] * size
    assert [outcome.status for outcome in again] == [UNCHANGED] * size
    # Read what is stored (two pipelines), write (one), commit with the
    # category's version and the band rows (one); the proxy may count a
    # pipeline twice when the server answers its first statements before the
    # last ones are sent, whatever the batch's size.
    assert filed <= 6, filed
    assert unchanged <= 3, unchanged  # read, and nothing to write or keep


def test_writes_sent_with_the_commit_are_kept(database: str):
    """A transaction whose only writes ride with its COMMIT (PostgreSQL) keeps them."""
    with Store(database) as store:
        with store.transaction():
            store.lock_categories(["business"])
            store._touch_category("business")  # its version moves as the transaction commits
        assert store.category_versions() == {"business": 1}
        with store.transaction():
            pass  # nothing sent, nothing to commit
        assert store.category_versions() == {"business": 1}
