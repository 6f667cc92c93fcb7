"""One executor per rebalance (issue 18), end to end: two runs of the same rebalance started together
against one shared Prefect API, on a local folder and on S3 (moto), again and again; a run while another
holds the rebalance; a crashed holder's lease; and a damaged orders or bars version stopping the run
before any order."""

from __future__ import annotations

import io
import json
import logging
import time
from collections import Counter
from functools import partial

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from flows.rebalance import rebalance
from momentum import definitions
from momentum.brokers.paper import LEDGER, PaperBroker
from momentum.store import CorruptVersion, LeaseTerms, VersionedStore
from momentum_cli.app import app
from tests.unit.test_one_writer import assert_one_chain, together

pytestmark = pytest.mark.usefixtures("prefect_api")
AS_OF = "2022-11-30"
REPEATS = 20
HELD = "another run holds the 2022-11-30 rebalance since "


def executions(store: VersionedStore, summary: dict) -> pd.DataFrame:
    version = summary["datasets"]["executions"]["version"]
    return store.read(next(r for r in store.refs("executions") if r.version == version))


def outcome(state) -> str:
    """``completed``, or the one-line reason a run stopped."""
    if state.is_completed():
        return "completed"
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - the reason is what the test looks at
        return str(exc)
    return state.name


def test_two_runs_of_one_rebalance_at_once_book_every_order_once(store_url, caplog):
    seen: Counter = Counter()
    caplog.set_level(logging.INFO, logger="momentum.store")
    for repeat in range(REPEATS):
        url = f"{store_url}/repeat-{repeat}"
        states = together(*(partial(rebalance, as_of=AS_OF, store_url=url, return_state=True) for _ in "ab"))
        reasons = [outcome(state) for state in states]
        assert all(r == "completed" or (r.startswith(HELD) and "\n" not in r) for r in reasons), reasons
        assert "completed" in reasons
        store = VersionedStore(url)
        book = assert_one_chain(url)  # one chain: every version follows the one before
        plan = store.read(store.resolve("orders").ref)
        assert sorted(book["client_order_id"]) == sorted(plan["client_order_id"])  # each order booked once
        sent = [
            executions(store, state.result()).query("action == 'submitted'")["client_order_id"]
            for state in states
            if state.is_completed()
        ]
        assert sorted(pd.concat(sent)) == sorted(plan["client_order_id"])  # and sent by one run only
        seen[tuple(sorted(len(s) for s in sent))] += 1
        seen[tuple(sorted("completed" if r == "completed" else "held" for r in reasons))] += 1
    waited = sum("waiting for it" in r.getMessage() for r in caplog.records)
    kind = "s3" if store_url.startswith("s3") else "local"
    print(f"\n{REPEATS} pairs on {kind}: {dict(seen)}, a run waited for the lease {waited} times")
    assert seen[("completed", "completed")] == REPEATS  # the second waited for the first (60 s at most)


def test_a_run_while_another_holds_the_rebalance_stops_in_one_line(tmp_path):
    url = str(tmp_path / "store")
    with VersionedStore(url).lease(LeaseTerms.rebalance(AS_OF, flow_run_id="the-other-run")):
        result = CliRunner().invoke(
            app, ["run", "--as-of", AS_OF, "--store", url], env={"MOMENTUM_LEASE_WAIT_SECONDS": "1"}
        )
    line = result.stderr.strip().splitlines()[-1]
    assert result.exit_code == 1 and line.startswith(f"error: {HELD}")
    assert ", flow run the-other-run (host " in line and "waited 1 s" in line
    assert VersionedStore(url).refs(LEDGER) == []  # nothing sent


def test_a_crashed_holders_lease_expires_and_the_next_run_executes(tmp_path):
    url = str(tmp_path / "store")
    store = VersionedStore(url)
    crashed = store.lease(LeaseTerms.rebalance(AS_OF, flow_run_id="crashed-run", ttl_seconds=1.0))
    crashed.acquire()
    crashed._stop.set()  # a killed process neither renews nor releases its lease
    time.sleep(1.2)
    summary = rebalance(as_of=AS_OF, store_url=url, order_timing="market")
    assert summary["fills"] and {f["status"] for f in summary["fills"]} == {"filled"}
    assert len(assert_one_chain(url)) == len(summary["orders"])
    record = json.loads(store._get(f"{store.root}/_leases/rebalance-{AS_OF}/0000000002.json"))
    assert record["released"] and record["flow_run_id"] not in (None, "crashed-run")


def rewritten(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue()


@pytest.mark.parametrize("dataset", ["orders", "bars"])
def test_a_damaged_orders_or_bars_version_stops_the_run_before_any_order(tmp_path, monkeypatch, dataset):
    url = str(tmp_path / "store")

    def refuse(self, order):
        raise RuntimeError("broker down")

    monkeypatch.setattr(PaperBroker, "submit", refuse)
    rebalance(as_of=AS_OF, store_url=url, return_state=True)  # planned, then failed at the first order
    monkeypatch.undo()
    store = VersionedStore(url)
    ref = store.resolve(dataset, as_of=AS_OF, strict_as_of=True).ref
    frame = store.read(ref)
    if dataset == "orders":
        frame["qty"] = frame["qty"] * 2  # every quantity doubled
    else:
        frame.loc[frame["date"] == pd.Timestamp(AS_OF), "adj_close"] *= 1.05  # the as_of closes 5 % up
    store.fs.pipe_file(
        f"{store.root}/{dataset}/as_of={ref.as_of}/v={ref.version}/data.parquet", rewritten(frame)
    )
    monkeypatch.setattr(definitions, "_BUILT", {})  # a re-run is a new process: no store object in memory
    state = rebalance(as_of=AS_OF, store_url=url, return_state=True)
    with pytest.raises(CorruptVersion) as damaged:
        state.result()
    line = str(damaged.value)
    assert (
        line.startswith(f"{dataset} as of {AS_OF}, version {ref.version}, is damaged: ") and "\n" not in line
    )
    assert store.refs(LEDGER) == []  # no order reached the broker
