"""Store provides what a storage engine must (store/protocol.py).

CI's mypy run checks every signature of the Protocol against Store (in
store/__init__.py; `mypy tests/test_store_protocol.py` checks the assignment
below the same way); this test checks the same names at run time, so a method
dropped from Store fails here too."""

from __future__ import annotations

from feedhub.store import Store
from feedhub.store.protocol import StoreProtocol


def test_store_has_every_method_of_the_protocol(database: str) -> None:
    with Store(database) as store:
        engine: StoreProtocol = store  # the static check
        wanted = {name for name in vars(StoreProtocol) if not name.startswith("_") or name in ("__enter__", "__exit__")}
        assert len(wanted) > 60
        assert all(callable(getattr(engine, name, None)) for name in wanted), wanted - set(dir(engine))
