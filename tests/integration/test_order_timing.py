"""``order_timing`` through the rebalance flow and the CLI (a real Prefect API, the paper broker).

The default, ``close``: the signal session's run queues on-close orders for the next session's closing
auction and exits 0 saying so; the next day's scheduled run finds them filled at that close, the price
the backtest uses, so the shortfall is zero. ``open`` with the embedded closes is refused in one line.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from momentum.providers.embedded import EmbeddedProvider
from momentum_cli.app import app

pytestmark = pytest.mark.usefixtures("prefect_api")
SIGNAL, TRADE = "2022-11-30", "2022-12-01"


def run_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["run", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_signal_sessions_run_queues_for_the_next_close_and_the_next_run_fills_there(tmp_path):
    store = str(tmp_path / "store")
    queued = run_json("--store", store, "--as-of", SIGNAL, "--only-on-schedule")
    execution = queued["execution"]
    assert (execution["filled"], execution["attention"]) == (0, 0)
    assert (execution["queued"], execution["queued_for"]) == (execution["orders"], TRADE)
    assert {f["time_in_force"] for f in queued["fills"]} == {"cls"}
    assert queued["account"]["cash"] == 100_000.0
    assert all(p["qty"] == 0 for p in queued["account"]["positions"])
    assert queued["shortfall"]["bps"] is None and TRADE in queued["shortfall"]["note"]

    filled = run_json("--store", store, "--as-of", TRADE, "--only-on-schedule")
    assert filled["rebalance"]["signal_session"] == SIGNAL and filled["rebalance"]["caught_up"]
    bars = EmbeddedProvider().bars(None, pd.Timestamp(TRADE))
    close = bars[bars["date"] == pd.Timestamp(TRADE)].set_index("symbol")["adj_close"]
    orders = {o["client_order_id"]: o for o in queued["orders"]}
    for fill in filled["fills"]:
        assert fill["status"] == "filled" and fill["filled_qty"] == orders[fill["client_order_id"]]["qty"]
        assert fill["filled_avg_price"] == pytest.approx(close[fill["symbol"]])
        assert fill["reference_price"] == pytest.approx(close[fill["symbol"]])
    assert filled["shortfall"]["bps"] == pytest.approx(0.0) and filled["shortfall"][
        "dollars"
    ] == pytest.approx(0.0)
    assert filled["execution"]["attention"] == 0

    again = run_json("--store", store, "--as-of", TRADE, "--only-on-schedule")
    assert "orders" not in again  # executed: nothing owed, nothing sent twice


def test_a_market_order_run_gets_its_shortfall_once_the_next_close_is_known(tmp_path):
    store = str(tmp_path / "store")
    sent = run_json("--store", store, "--as-of", SIGNAL, "--only-on-schedule", "--order-timing", "market")
    assert sent["execution"]["filled"] == sent["execution"]["orders"] and sent["shortfall"]["bps"] is None
    later = CliRunner().invoke(
        app,
        [
            "run",
            "--store",
            store,
            "--as-of",
            TRADE,
            "--only-on-schedule",
            "--order-timing",
            "market",
            "--verbose",
        ],
    )
    assert later.exit_code == 0, later.output
    from momentum.store import VersionedStore

    latest = VersionedStore(store).latest("executions")
    executions = VersionedStore(store).read(latest.ref)
    assert latest.as_of == SIGNAL and executions["reference_price"].notna().all()
    fill = executions.set_index("symbol")
    bars = EmbeddedProvider().bars(None, pd.Timestamp(TRADE))
    close = bars[bars["date"] == pd.Timestamp(TRADE)].set_index("symbol")["adj_close"]
    expected = (fill["filled_avg_price"] - close.reindex(fill.index)) / close.reindex(fill.index) * 1e4
    assert fill["shortfall_bps"].to_numpy() == pytest.approx(expected.to_numpy())


def test_open_timing_on_closes_only_data_is_refused_in_one_line(tmp_path):
    result = CliRunner().invoke(app, ["run", "--store", str(tmp_path / "s"), "--order-timing", "open"])
    assert result.exit_code == 1
    lines = [line for line in result.output.strip().splitlines() if line]
    assert len(lines) == 1 and "order_timing 'open'" in lines[0] and "closes only" in lines[0]
    assert "Traceback" not in result.output
