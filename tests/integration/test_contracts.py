"""The public ``--json`` contracts of ``momentum run`` and ``momentum backtest`` on the embedded data.

Issue 13 refactors the seams between the layers with the acceptance "behaviour unchanged: the same
orders, fills and final equity as before". The golden files in ``tests/golden/`` are the ``--json``
output of the code BEFORE that refactor (commit 8771db0, run once, version ids, paths and the store
location replaced by placeholders): they are pinned on purpose, to prove the refactor changed no byte of
either contract. Where the figures can be recomputed independently (fills against the plan, the account
against the embedded closes, the final equity against the stored curve) the tests do that too.

Issue 21 added keys at the end of the ``backtest --json`` object: ``tear_sheet``, then ``order_timing``
and ``assumed_cost`` (the backtest's own cost, to set beside a live implementation shortfall). The
golden file was extended with them (every byte before them unchanged); the test also recomputes the
tear sheet from the stored curves and the assumed cost from the stored fills.
It also made the closing auction the default ``order_timing`` of a run: the pinned run is the kept
``--order-timing market`` one, whose ``--json`` only gained keys (each fill's reference price and
shortfall, the execution's queued count, ``shortfall``): with them taken out it is byte-identical.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from momentum.backtest import tear_sheet
from momentum.providers.embedded import EmbeddedProvider
from momentum.store import VersionedStore
from momentum_cli.app import app

pytestmark = pytest.mark.usefixtures("prefect_api")
GOLDEN = Path(__file__).resolve().parents[1] / "golden"
COST = 5 / 1e4  # the default cost_bps, as a fraction of traded notional


def normalized(out: dict[str, Any]) -> str:
    """The ``--json`` object as one JSON string (key order kept) without version ids, paths or the store."""
    clean = dict(out)
    clean["datasets"] = {
        name: {**d, "version": "<version>", "path": "<path>"} for name, d in out["datasets"].items()
    }
    for key in ("store", "report"):
        if key in clean:
            clean[key] = "<store>"
    return json.dumps(clean, default=str)


def cli_json(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


ADDED_FILL_KEYS = (
    "time_in_force",
    "queued_for",
    "reference_session",
    "reference_price",
    "shortfall_bps",
    "filled_this_run",
)


def without_issue_21_keys(out: dict[str, Any]) -> dict[str, Any]:
    """The run's ``--json`` without the keys issue 21 added (checked by the caller)."""
    fills = [{k: v for k, v in f.items() if k not in ADDED_FILL_KEYS} for f in out["fills"]]
    execution = {k: v for k, v in out["execution"].items() if k not in ("queued", "queued_for")}
    return {k: v for k, v in out.items() if k != "shortfall"} | {"fills": fills, "execution": execution}


def test_run_json_is_unchanged_and_adds_up(tmp_path):
    out = cli_json("run", "--store", str(tmp_path / "store"), "--order-timing", "market")
    assert normalized(without_issue_21_keys(out)) == (GOLDEN / "run_embedded.json").read_text().strip()
    assert list(out)[-2:] == ["shortfall", "artifacts"] and out["execution"]["queued"] == 0
    assert {f["time_in_force"] for f in out["fills"]} == {"day"}
    assert (
        out["shortfall"]["bps"] is None
    )  # the backtest's price is the next session's close: not in the data
    bars = EmbeddedProvider().bars(None, pd.Timestamp(out["as_of"]))
    close = bars[bars["date"] == pd.Timestamp(out["as_of"])].set_index("symbol")["adj_close"]
    orders = {o["client_order_id"]: o for o in out["orders"]}
    assert {f["client_order_id"] for f in out["fills"]} == set(orders)
    for fill in out["fills"]:
        order = orders[fill["client_order_id"]]
        assert fill["status"] == "filled" and fill["filled_qty"] == order["qty"]
        assert fill["filled_avg_price"] == pytest.approx(close[order["symbol"]])
    bought = sum(f["filled_qty"] * f["filled_avg_price"] for f in out["fills"] if f["side"] == "buy")
    account = out["account"]
    assert account["cash"] == pytest.approx(100_000 - bought * (1 + COST))
    held = sum(p["qty"] * close[p["symbol"]] for p in account["positions"])
    assert account["value"] == pytest.approx(account["cash"] + held)
    held_qty = {p["symbol"]: p["qty"] for p in account["positions"]}
    assert held_qty == {o["symbol"]: o["qty"] for o in out["orders"]}


def test_backtest_json_is_unchanged_and_matches_the_stored_curve(tmp_path):
    out = cli_json("backtest", "--store", str(tmp_path / "store"))
    assert normalized(out) == (GOLDEN / "backtest_embedded.json").read_text().strip()
    store = VersionedStore(str(tmp_path / "store"))
    equity = store.read(store.resolve("backtest_equity").ref)
    trades = store.read(store.resolve("backtest_trades").ref)
    curve = equity[equity["series"] == out["strategy"]].sort_values("date")
    assert out["final_equity"] == out["metrics"]["final_equity"]
    assert out["metrics"]["rebalances"] == len(out["rebalances"]) == 128
    assert len(trades[trades["series"] == out["strategy"]]) == 882  # orders filled over the embedded history
    assert float(curve["equity"].iloc[-1]) == pytest.approx(out["final_equity"])
    assert out["tear_sheet"] == json.loads(json.dumps(tear_sheet(equity)))  # the stored curves give it
    mine = trades[trades["series"] == out["strategy"]]
    assert out["order_timing"] == "close" and out["assumed_cost"]["bps"] == COST * 1e4
    assert out["assumed_cost"]["dollars"] == pytest.approx(mine["cost"].sum(), rel=1e-12)
    assert mine["cost"].to_numpy() == pytest.approx(COST * mine["notional"].to_numpy(), rel=1e-12)
