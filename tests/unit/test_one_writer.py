"""One writer per next version, one executor per rebalance (issue 18): conditional creates, the paper
ledger's chain and the rebalance lease. On a local folder here and on S3 (moto) in tests/integration/s3."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from functools import partial

import pandas as pd
import pytest

from momentum.brokers.base import DuplicateOrderError, OrderRequest
from momentum.brokers.paper import LEDGER, PaperBroker, PaperTerms
from momentum.portfolio import closes_only
from momentum.store import Lease, LeaseHeld, LeaseTerms, VersionedStore

RACES = 10
PRICES = pd.Series({"A": 10.0, "B": 20.0, "C": 30.0})


def together(*calls):
    """Run the calls in threads released at the same moment; their results (or exceptions), in order."""
    gate, results = threading.Barrier(len(calls)), [None] * len(calls)

    def run(i, call):
        gate.wait()
        try:
            results[i] = call()
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test looks at
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def broker(url: str) -> PaperBroker:
    """A paper broker on its own store object (what a second run in another process would have)."""
    return PaperBroker(
        VersionedStore(url),
        as_of="2022-11-30",
        prices=closes_only("2022-11-30", PRICES),
        terms=PaperTerms(10_000.0),
    )


def assert_one_chain(url: str) -> pd.DataFrame:
    """The ledger's versions follow one another (each records the one it follows); its last version."""
    store = VersionedStore(url)
    manifests = store.manifests(LEDGER)
    assert [m.params["after"] for m in manifests] == [None, *(m.version for m in manifests[:-1])]
    book = store.read(store.head(LEDGER).ref)
    assert book["client_order_id"].is_unique and len(book) == len(manifests)
    return book


def test_a_conditional_create_has_exactly_one_winner(store_url):
    store = VersionedStore(store_url)
    for race in range(RACES):
        path = f"{store.root}/claims/{race}.json"
        outcomes = together(*(partial(store._create, path, f"writer {n}".encode()) for n in range(4)))
        assert sum(o is None for o in outcomes) == 1
        assert all(isinstance(o, FileExistsError) for o in outcomes if o is not None)
        winner = outcomes.index(None)
        assert store._get(path) == f"writer {winner}".encode()
    if not store_url.startswith("s3://"):
        assert not [p for p in store.fs.find(store.root) if ".tmp-" in p]


def test_two_brokers_racing_for_the_next_ledger_version_book_each_order_once(store_url):
    outcomes: Counter = Counter()
    for race in range(RACES):
        url = f"{store_url}/race-{race}"
        first, second = broker(url), broker(url)
        same = OrderRequest("mom-20221130-A-buy", "A", "buy", qty=1.0)
        results = together(partial(first.submit, same), partial(second.submit, same))
        outcomes[tuple(sorted(type(r).__name__ for r in results))] += 1
        assert sorted(type(r).__name__ for r in results) == ["DuplicateOrderError", "OrderStatus"]
        results = together(
            partial(first.submit, OrderRequest("mom-20221130-B-buy", "B", "buy", qty=2.0)),
            partial(second.submit, OrderRequest("mom-20221130-C-buy", "C", "buy", qty=3.0)),
        )
        assert [r.status for r in results] == ["filled", "filled"]  # the loser re-read and booked after
        book = assert_one_chain(url)
        assert sorted(book["client_order_id"]) == [
            "mom-20221130-A-buy",
            "mom-20221130-B-buy",
            "mom-20221130-C-buy",
        ]
        assert broker(url).account().cash == pytest.approx(10_000 - 10 - 40 - 90)
    assert outcomes == {("DuplicateOrderError", "OrderStatus"): RACES}


def test_a_writer_that_died_between_its_claim_and_its_manifest_is_rolled_forward(store_url, monkeypatch):
    store = VersionedStore(store_url)
    paper = PaperBroker(
        store, as_of="2022-11-30", prices=closes_only("2022-11-30", PRICES), terms=PaperTerms(10_000.0)
    )
    paper.submit(OrderRequest("id-1", "A", "buy", qty=1.0))
    monkeypatch.setattr(store, "_commit", lambda manifest: (_ for _ in ()).throw(SystemExit("killed")))
    with pytest.raises(SystemExit):
        paper.submit(OrderRequest("id-2", "B", "buy", qty=1.0))
    monkeypatch.undo()
    assert len(VersionedStore(store_url).read(VersionedStore(store_url).latest(LEDGER).ref)) == 1
    again = broker(store_url)
    assert again.get_by_client_id("id-2").status == "filled"  # the claimed version is the ledger's head
    with pytest.raises(DuplicateOrderError):
        again.submit(OrderRequest("id-2", "B", "buy", qty=1.0))
    again.submit(OrderRequest("id-3", "C", "buy", qty=1.0))
    assert list(assert_one_chain(store_url)["client_order_id"]) == ["id-1", "id-2", "id-3"]


def terms(run: str, **overrides) -> LeaseTerms:
    return LeaseTerms.rebalance("2022-11-30", flow_run_id=run, **{"wait_seconds": 0.0, **overrides})


def test_a_second_run_of_the_rebalance_stops_in_one_line_naming_the_holder(store_url):
    store = VersionedStore(store_url)
    with store.lease(terms("run-1")):
        with pytest.raises(LeaseHeld) as held:
            store.lease(terms("run-2")).acquire()
    line = str(held.value)
    assert line.startswith("another run holds the 2022-11-30 rebalance since ") and "\n" not in line
    assert ", flow run run-1 (host " in line and "MOMENTUM_LEASE_TTL_SECONDS" in line
    with store.lease(terms("run-3")) as lease:  # released: the next run takes it at once
        assert lease.generation == 2


def test_a_waiting_run_takes_the_lease_once_the_holder_lets_go(store_url):
    store = VersionedStore(store_url)
    holder = store.lease(terms("run-1"))
    holder.acquire()
    threading.Timer(0.5, holder.release).start()
    with store.lease(terms("run-2", wait_seconds=30.0, poll_seconds=0.1)) as waiter:
        assert waiter.generation == 2


def test_racing_runs_have_exactly_one_holder(store_url):
    store = VersionedStore(store_url)
    for race in range(RACES):
        leases = [
            Lease(VersionedStore(store_url), LeaseTerms(f"race-{race}", "the race", f"run-{n}", 60.0, 0.0))
            for n in range(3)
        ]
        outcomes = together(*(lease.acquire for lease in leases))
        assert sum(o is None for o in outcomes) == 1
        assert all(isinstance(o, LeaseHeld) for o in outcomes if o is not None)
        leases[outcomes.index(None)].release()
    assert store.datasets() == []  # leases are not datasets


def test_a_crashed_holders_lease_expires_and_a_living_holder_keeps_renewing_it(store_url):
    store = VersionedStore(store_url)
    crashed = store.lease(terms("crashed", ttl_seconds=0.5))
    crashed.acquire()
    crashed._stop.set()  # a killed process renews nothing and releases nothing
    time.sleep(0.6)
    with store.lease(terms("next")) as taken:
        assert taken.generation == 2
        record = json.loads(store._get(taken._path(2)))
        assert record["flow_run_id"] == "next" and record["holder"]["pid"] > 0
    with store.lease(terms("living", ttl_seconds=1.5)):
        time.sleep(2.5)  # longer than the TTL: renewed every 0.5 s meanwhile
        with pytest.raises(LeaseHeld, match="flow run living"):
            store.lease(terms("late")).acquire()


def test_a_holder_whose_process_is_gone_frees_the_lease_before_it_expires(store_url):
    store = VersionedStore(store_url)
    crashed = store.lease(terms("crashed", ttl_seconds=900.0))
    crashed.acquire()
    crashed._stop.set()
    record = json.loads(store._get(crashed._path(1)))
    assert record["holder"]["pid"] > 0 and record["holder"]["started"]
    with pytest.raises(LeaseHeld, match="flow run crashed"):  # its process (this one) still runs
        store.lease(terms("next")).acquire()
    record["holder"]["started"] = "1"  # the pid now belongs to a process started at another time
    store._put(crashed._path(1), json.dumps(record).encode())
    with store.lease(terms("next")) as taken:
        assert taken.generation == 2
