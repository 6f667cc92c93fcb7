"""Store requests that do not grow with the work: counted at the filesystem calls the store makes."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from momentum.brokers.base import OrderRequest
from momentum.brokers.paper import LEDGER, PaperBroker, PaperTerms
from momentum.portfolio import closes_only
from momentum.store import VersionedStore

LISTINGS = ("ls", "glob", "find", "exists", "isdir")


@pytest.fixture
def calls(monkeypatch):
    """Counts, per method name, the calls made on any store's filesystem during the test."""
    counted: Counter = Counter()
    watched: set[int] = set()  # fsspec shares one filesystem object between stores: wrap it once

    def counting(name: str, original):
        def call(*args, **kwargs):
            counted[name] += 1
            return original(*args, **kwargs)

        return call

    def count(store: VersionedStore) -> VersionedStore:
        if id(store.fs) in watched:
            return store
        watched.add(id(store.fs))
        for name in (*LISTINGS, "cat_file"):
            original = getattr(store.fs, name)
            monkeypatch.setattr(store.fs, name, counting(name, original))
        return store

    counted.watch = count  # type: ignore[attr-defined]
    return counted


def listings(counted: Counter) -> int:
    return sum(counted[name] for name in LISTINGS)


def trade(url: str, orders: int, calls: Counter) -> tuple[int, int]:
    """(listings, GETs) of a paper broker sending ``orders`` buys on a fresh store."""
    symbols = [f"S{i:03d}" for i in range(orders)]
    store = VersionedStore(url)
    broker = PaperBroker(
        store,
        as_of="2024-01-02",
        prices=closes_only("2024-01-02", pd.Series(10.0, index=symbols)),
        terms=PaperTerms(1e6),
    )
    calls.clear()
    calls.watch(store)
    for symbol in symbols:
        assert broker.get_by_client_id(f"mom-{symbol}") is None
        assert broker.submit(OrderRequest(f"mom-{symbol}", symbol, "buy", qty=1.0)).status == "filled"
    broker.positions(), broker.account()
    done = listings(calls), calls["cat_file"]
    assert len(store.read(store.resolve(LEDGER).ref)) == orders  # every order committed
    return done


def test_the_paper_ledger_is_read_once_and_written_without_a_listing_per_order(tmp_path, calls):
    few, many = trade(str(tmp_path / "few"), 2, calls), trade(str(tmp_path / "many"), 12, calls)
    assert few == many  # the same requests for 2 orders as for 12
    # the (empty) ledger listed once; one GET: its successor claim (none), nothing read back
    assert many[0] <= 2 and many[1] == 1


def test_resolve_latest_and_lookup_cost_the_same_however_many_versions(tmp_path, calls):
    costs = []
    for n in (2, 20):
        store = VersionedStore(str(tmp_path / f"n{n}"))
        for i in range(n):
            store.write("scores", f"2024-01-{2 + i % 2:02d}", pd.DataFrame({"x": [i]}), params={"i": i})
        calls.watch(store)
        calls.clear()  # each on a new store object: nothing remembered from a write or another look-up
        assert VersionedStore(store.url).resolve("scores", as_of="2024-01-02").params == {"i": n - 2}
        assert VersionedStore(store.url).latest("scores").params == {"i": n - 1}
        assert VersionedStore(store.url).lookup("scores", "2024-01-03", params={"i": 1}) is not None
        costs.append((listings(calls), calls["cat_file"]))
    assert costs[0] == costs[1]


def test_a_store_object_reads_each_version_once(tmp_path, calls):
    frame = pd.DataFrame({"symbol": ["A"], "adj_close": [1.0]})
    ref = VersionedStore(str(tmp_path)).write("bars", "2024-01-02", frame)
    store = calls.watch(VersionedStore(str(tmp_path)))
    calls.clear()
    first = store.read(ref)
    assert store.read(ref, columns=["adj_close"])["adj_close"].tolist() == [1.0]
    assert store.manifest(ref).rows == 1 and store.read(ref).equals(first)
    assert calls["cat_file"] == 2 and listings(calls) == 0  # the manifest and the object, once each


class Marker:
    """A store stand-in whose KILL_SWITCH marker is set by the test; counts the look-ups."""

    def __init__(self) -> None:
        self.engaged, self.lookups = False, 0

    def marker_exists(self, name: str) -> bool:
        assert name == "KILL_SWITCH"
        self.lookups += 1
        return self.engaged


def test_the_order_loop_looks_at_the_kill_switch_marker_at_most_once_a_second():
    from momentum.execution import KillSwitch

    now, store = [0.0], Marker()
    engaged = KillSwitch(False, store, every_seconds=1.0, clock=lambda: now[0]).engaged
    assert [engaged() for _ in range(50)] == [False] * 50 and store.lookups == 1  # the first question looks
    store.engaged = True
    now[0] = 0.5
    assert not engaged() and store.lookups == 1
    now[0] = 1.0
    assert engaged() and store.lookups == 2
    store.engaged = False
    now[0] = 5.0
    assert engaged() and store.lookups == 2  # once seen engaged, the rest of the run stays stopped


def test_the_kill_switch_setting_needs_no_look_up():
    from momentum.execution import KillSwitch

    store = Marker()
    assert KillSwitch(True, store, clock=lambda: 0.0).engaged() and store.lookups == 0
