"""Exactly-once execution under faults: the real rebalance flow against a local Alpaca-compatible server.

Every scenario ends with the broker's positions equal to the plan's targets and every planned
client_order_id booked exactly once (and, where no fault hid the answer of a POST, posted once).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey, FlowRunFilter, FlowRunFilterId

import momentum.brokers.alpaca as alpaca_module
from flows.rebalance import rebalance
from momentum.brokers import LiveTradingRefused
from momentum.brokers.base import BrokerUnavailable
from momentum.execution import GuardError
from momentum.store import VersionedStore
from tests.support.alpaca_server import AlpacaServer

pytestmark = pytest.mark.usefixtures("prefect_api")

ROOT = Path(__file__).resolve().parents[2]
AS_OF = "2022-11-30"
KEY_ID, SECRET = "fault-test-key-id", "fault-test-secret"
# Adjusted closes of the embedded data on AS_OF: the server trades at these prices.
CLOSES = {
    "AAPL": 147.6,
    "AMD": 77.63,
    "BAC": 37.092,
    "BBY": 82.393,
    "CVX": 179.942,
    "GE": 66.935,
    "HD": 319.362,
    "JNJ": 175.405,
    "JPM": 135.17,
    "KO": 62.649,
    "LLY": 368.924,
    "MRK": 107.919,
    "MSFT": 253.947,
    "PEP": 181.852,
    "PFE": 48.601,
    "PG": 146.385,
    "RRC": 28.605,
    "UNH": 541.914,
    "WMT": 150.655,
    "XOM": 109.539,
}
# Held before the rebalance (not in the target, or below it): the plan sells AAPL and MSFT, then buys
# CVX, KO, PEP, UNH and tops XOM up; the buys need the sells' proceeds (cash is short on its own).
HOLDINGS = {"AAPL": 100.0, "MSFT": 50.0, "XOM": 50.0}
CASH = 1_000.0


@pytest.fixture
def alpaca_env(monkeypatch):
    """Keys in the environment (the only way besides a Secret block); no real multi-second waits."""
    monkeypatch.setenv("MOMENTUM_ALPACA_KEY_ID", KEY_ID)
    monkeypatch.setenv("MOMENTUM_ALPACA_SECRET_KEY", SECRET)
    monkeypatch.setenv("MOMENTUM_ALPACA_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("MOMENTUM_ALPACA_TIMEOUT_SECONDS", "2.0")  # loopback answers in milliseconds


@pytest.fixture
def server(alpaca_env):
    srv = AlpacaServer(KEY_ID, SECRET, cash=CASH, prices=CLOSES).start()
    for symbol, qty in HOLDINGS.items():
        srv.set_position(symbol, qty)
    yield srv
    srv.stop()


@pytest.fixture
def url(tmp_path):
    return str(tmp_path / "store")


def overrides(srv: AlpacaServer, **more) -> dict:
    """Day market orders (``order_timing=market``): the faults here are those of orders filled while the
    run waits (on-close orders: tests/integration/test_alpaca_auction.py, test_order_timing.py)."""
    return {"alpaca_base_url": srv.base_url, "fill_timeout_seconds": 2.0, "order_timing": "market", **more}


def run(srv: AlpacaServer, url: str, **more):
    return rebalance(
        as_of=AS_OF, store_url=url, broker="alpaca", overrides=overrides(srv, **more), return_state=True
    )


def latest(store: VersionedStore, name: str) -> pd.DataFrame:
    return store.read(store.resolve(name).ref)


def plan_of(url: str) -> pd.DataFrame:
    store = VersionedStore(url)
    (ref,) = store.refs("orders")  # one plan per rebalance, whatever happened
    return store.read(ref)


def assert_done(srv: AlpacaServer, url: str, *, posted_once: bool = True) -> pd.DataFrame:
    """Positions equal the plan, every planned id booked once (posted once unless a fault hid an answer)."""
    plan = plan_of(url)
    assert len(plan) == 7 and list(plan["side"]) == ["sell"] * 2 + ["buy"] * 5
    ids = list(plan["client_order_id"])
    assert {cid: srv.booked_count(cid) for cid in ids} == {cid: 1 for cid in ids}
    assert set(srv.posts) <= set(ids)  # nothing outside the plan was ever sent
    if posted_once:
        assert sorted(srv.posts) == sorted(ids)
    for row in plan.itertuples(index=False):
        assert srv.position_qty(row.symbol) == pytest.approx(row.target_qty), row.symbol
        assert srv.order(row.client_order_id)["status"] == "filled"
    executions = latest(VersionedStore(url), "executions")
    assert (executions["status"] == "filled").all() and not executions["pending"].any()
    account = latest(VersionedStore(url), "account")
    assert (account["plan_difference"] == 0).all()
    return executions


def test_clean_run_then_a_second_run_of_the_same_rebalance_sends_nothing(server, url):
    first = run(server, url)
    assert first.is_completed()
    executions = assert_done(server, url)
    assert set(executions["action"]) == {"submitted"}
    posts = list(server.posts)

    second = run(server, url)
    assert second.is_completed()
    assert server.posts == posts  # not one POST more
    again = assert_done(server, url)
    assert set(again["action"]) == {"found_at_broker"}
    summary = second.result()
    assert all("already at the broker" in f["note"] for f in summary["fills"])


CHILD = textwrap.dedent(
    """
    import json, os, sys
    k, url, overrides = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    from momentum.brokers.alpaca import AlpacaBroker
    real_submit, done = AlpacaBroker.submit, [0]

    # the process dies after k submissions (before the next, or right after the k-th)
    def submit(self, order):
        if done[0] >= k:
            os._exit(137)
        result = real_submit(self, order)
        done[0] += 1
        if done[0] >= k:
            os._exit(137)
        return result

    AlpacaBroker.submit = submit
    from flows.rebalance import rebalance
    rebalance(as_of=%r, store_url=url, broker="alpaca", overrides=overrides)
    sys.exit(3)  # never reached: the plan has orders
"""
    % AS_OF
)


@pytest.mark.parametrize("k", [0, 1, 6, 7])  # of n = 7 orders
def test_process_dies_after_k_of_n_submissions_then_the_flow_is_rerun(server, url, tmp_path, k):
    """A real process runs the flow and dies (os._exit: no cleanup, no state report) after k submissions."""
    from prefect.settings import PREFECT_API_URL

    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {
        **os.environ,
        "PREFECT_API_URL": PREFECT_API_URL.value(),
        "PYTHONPATH": str(ROOT),
        "MOMENTUM_ALPACA_KEY_ID": KEY_ID,
        "MOMENTUM_ALPACA_SECRET_KEY": SECRET,
    }
    child = subprocess.run(
        [sys.executable, str(script), str(k), url, json.dumps(overrides(server))],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        timeout=300,
    )
    assert child.returncode == 137, child.stderr[-3000:]  # killed, not finished
    assert len(server.posts) == k and sum(server.booked_count(c) for c in set(server.posts)) == k
    store = VersionedStore(url)
    assert len(store.refs("orders")) == 1 and store.refs("executions") == []  # the plan was committed first

    state = run(server, url)  # the flow is re-run
    assert state.is_completed()
    executions = assert_done(server, url)
    assert list(executions["action"]) == ["found_at_broker"] * k + ["submitted"] * (7 - k)


def test_submit_times_out_after_the_broker_accepted_it(server, url, monkeypatch):
    monkeypatch.setenv("MOMENTUM_ALPACA_TIMEOUT_SECONDS", "0.3")
    server.accept_then_timeout(1.0)  # the first POST books the order, then the answer comes too late
    state = run(server, url)
    assert state.is_completed()
    assert_done(server, url)  # posted once: the timeout was answered by a lookup, not a resubmit


def test_broker_answers_429_and_500_on_the_first_tries(server, url):
    server.fail_next("clock", 1, status=500)
    server.fail_next("by_client_order_id", 1, status=429, retry_after=0)
    server.fail_next("submit", 2, status=429, retry_after=0)  # first order: rate limited twice,
    server.fail_next("submit", 1, status=500, after_accept=True)  # then booked behind a 500
    server.fail_next("submit", 1, status=503)  # second order: a 503 that booked nothing, then a retry
    state = run(server, url)
    assert state.is_completed()
    assert_done(server, url, posted_once=False)
    plan = plan_of(url)
    first, second = plan["client_order_id"][:2]
    assert server.post_count(first) == 3 and server.post_count(second) == 2  # refused POSTs, one booking each
    assert all(server.post_count(c) == 1 for c in plan["client_order_id"][2:])


def test_a_broker_down_past_the_adapter_retries_fails_once_and_a_rerun_finishes(
    server, url, monkeypatch, recorded_task_runs
):
    monkeypatch.setenv("MOMENTUM_ALPACA_MAX_RETRIES", "1")
    real_submit, calls = alpaca_module.AlpacaBroker.submit, []

    def broker_goes_down_on_the_third(self, order):
        calls.append(order.client_order_id)
        if len(calls) == 3:
            # booked, but the answer is a 500 and every lookup fails beyond the adapter's budget
            # (2 attempts in submit's lookup + 2 in execution's lookup): the adapter gives up, permanently
            server.fail_next("submit", 1, status=500, after_accept=True)
            server.fail_next("by_client_order_id", 4, status=503)
        return real_submit(self, order)

    monkeypatch.setattr(alpaca_module.AlpacaBroker, "submit", broker_goes_down_on_the_third)
    state = run(server, url)
    assert state.is_failed()
    with pytest.raises(
        BrokerUnavailable, match=r"GET 127\.0\.0\.1:\d+/v2/orders:by_client_order_id: gave up"
    ):
        state.result()
    task_runs = recorded_task_runs(state.state_details.flow_run_id, expect=("execute",))
    (execute_run,) = [t for t in task_runs if t.name.startswith("execute")]
    assert execute_run.run_count == 1  # the adapter retried; Prefect did not retry on top of it
    assert len(server.posts) == 3

    state = run(server, url)  # the rebalance run again
    assert state.is_completed()
    executions = assert_done(server, url)  # posted once: the re-run found the third order by its id
    assert list(executions["action"]) == ["found_at_broker"] * 3 + ["submitted"] * 4


def test_a_sell_that_does_not_fill_blocks_the_buys_and_the_run_reports_it(server, url):
    server.set_fill_mode("hold")  # the sells stay open
    state = run(server, url, fill_timeout_seconds=0.3)
    assert state.is_failed() and state.message.startswith("7 of 7 orders not filled (2 pending, 5 not sent)")
    plan = plan_of(url)
    sells, buys = plan["client_order_id"][:2], plan["client_order_id"][2:]
    assert sorted(server.posts) == sorted(sells)  # no buy was sent
    summary = state.result(raise_on_failure=False)
    fills = {f["client_order_id"]: f for f in summary["fills"]}
    for cid in sells:
        assert fills[cid]["status"] == "accepted" and fills[cid]["pending"]
        assert "NOT FILLED within 0.3s" in fills[cid]["note"]
    for cid in buys:
        assert fills[cid]["status"] == "blocked" and fills[cid]["pending"]
        assert fills[cid]["note"].startswith("BLOCKED: sell AAPL") and "did not fill" in fills[cid]["note"]
    assert {d["symbol"] for d in summary["account"]["plan_differences"]} == set(plan["symbol"])
    with get_client(sync_client=True) as client:
        (report,) = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["execution-report"])),
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[state.state_details.flow_run_id])),
        )
    assert "7 order(s) need attention" in report.data and "BLOCKED" in report.data

    # the sells fill later; the same rebalance run again sends the buys, and nothing twice
    server.set_fill_mode("fill")
    for cid in sells:
        server.fill(cid)
    assert run(server, url).is_completed()
    executions = assert_done(server, url)
    assert list(executions["action"]) == ["found_at_broker"] * 2 + ["submitted"] * 5


def test_market_closed_sends_nothing_unless_queueing_is_configured(server, url):
    server.set_market_open(False)
    state = run(server, url)
    assert state.is_failed() and "not sent" in state.message
    assert server.posts == []
    fills = state.result(raise_on_failure=False)["fills"]
    assert {f["status"] for f in fills} == {"not_sent"}
    assert all(f["note"].startswith("NOT SENT: market closed (next open ") for f in fills)
    assert all("queue_when_closed" in f["note"] for f in fills)

    queued = run(server, url, queue_when_closed=True)  # sells queue for the open; the buys need their cash
    assert queued.is_failed() and "pending" in queued.message
    fills = {f["side"]: f for f in queued.result(raise_on_failure=False)["fills"]}
    assert fills["sell"]["status"] == "accepted" and "queued at the broker" in fills["sell"]["note"]
    assert fills["buy"]["status"] == "blocked"
    assert len(server.posts) == 2

    server.set_market_open(True)  # the queued sells fill at the open
    assert run(server, url).is_completed()
    assert_done(server, url)


def test_rejections_and_partial_fills_are_reported_never_resent(alpaca_env, url):
    """A fresh account (cash only, so the plan is five buys): partial fills, then a refused order."""
    srv = AlpacaServer(KEY_ID, SECRET, cash=100_000.0, prices=CLOSES).start()
    try:
        srv.set_fill_mode("partial", fraction=0.5)
        state = run(srv, url, fill_timeout_seconds=0.2)
        assert state.is_failed() and state.message.startswith("5 of 5 orders not filled (5 pending)")
        fills = state.result(raise_on_failure=False)["fills"]
        assert len(fills) == 5 and all(f["side"] == "buy" for f in fills)
        for f in fills:
            assert f["status"] == "partially_filled" and f["pending"]
            assert f["filled_qty"] == pytest.approx(f["qty"] / 2)
            assert f"PARTIAL: filled {f['filled_qty']:g} of {f['qty']:g}" in f["note"]
        posts = list(srv.posts)
        assert run(srv, url, fill_timeout_seconds=0.2).is_failed()
        assert srv.posts == posts and len(set(posts)) == 5  # a partial fill is never re-sent
    finally:
        srv.stop()

    # a refusal: the broker does not know KO; reported, the rest of the plan still runs
    srv = AlpacaServer(
        KEY_ID, SECRET, cash=100_000.0, prices={s: p for s, p in CLOSES.items() if s != "KO"}
    ).start()
    try:
        state = run(srv, url + "-2")
        assert state.is_failed() and state.message.startswith("1 of 5 orders not filled (1 rejected)")
        fills = {f["symbol"]: f for f in state.result(raise_on_failure=False)["fills"]}
        assert fills["KO"]["status"] == "rejected" and 'asset "KO" not found' in fills["KO"]["note"]
        assert fills["KO"]["action"] == "refused" and not fills["KO"]["pending"]
        assert all(f["status"] == "filled" for s, f in fills.items() if s != "KO")
        assert srv.post_count(fills["KO"]["client_order_id"]) == 1 and len(srv.posts) == 5
    finally:
        srv.stop()


def test_guards_and_kill_switch_stop_the_run_before_the_first_order(server, url):
    state = run(server, url, max_order_notional=5_000.0)
    assert state.is_failed()
    with pytest.raises(GuardError, match="exceeds max_order_notional"):
        state.result()
    state = run(server, url, max_rebalance_notional=20_000.0)
    with pytest.raises(GuardError, match="exceeds max_rebalance_notional"):
        state.result()
    server.set_price("AAPL", CLOSES["AAPL"] * 1.3)  # the broker marks a holding 30 % off our last close
    with pytest.raises(GuardError, match="broker mark of AAPL .* outside ±10%"):
        run(server, url).result()
    server.set_price("AAPL", CLOSES["AAPL"])
    store = VersionedStore(url)
    store.fs.pipe_file(f"{store.root}/KILL_SWITCH", b"stop")
    with pytest.raises(GuardError, match="kill switch engaged"):
        run(server, url).result()
    with pytest.raises(GuardError, match="kill switch engaged"):
        rebalance(as_of=AS_OF, store_url=url + "-paper", overrides={"kill_switch": True})
    assert server.posts == [] and store.refs("executions") == []
    store.fs.rm(f"{store.root}/KILL_SWITCH")
    assert run(server, url).is_completed()
    assert_done(server, url)


def test_the_flow_never_reaches_the_live_endpoint_without_the_opt_in(no_network, url, monkeypatch):
    monkeypatch.setenv("MOMENTUM_ALPACA_KEY_ID", KEY_ID)
    monkeypatch.setenv("MOMENTUM_ALPACA_SECRET_KEY", SECRET)
    live = {"alpaca_base_url": "https://api.alpaca.markets"}
    for flag, more in [(False, {}), (False, {"live_trading": True}), (True, {})]:
        state = rebalance(
            as_of=AS_OF,
            store_url=url,
            broker="alpaca",
            live=flag,
            overrides={**live, **more},
            return_state=True,
        )
        assert state.is_failed()
        with pytest.raises(LiveTradingRefused, match="live \\(real-money\\) endpoint"):
            state.result()
    assert no_network == [] and VersionedStore(url).refs("orders") == []
