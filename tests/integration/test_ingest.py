"""``momentum ingest`` against the local Alpaca Market Data server: history fetched once, re-adjustments
re-fetched for their symbol only, and ``momentum backtest --provider alpaca`` reading the stored history."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from momentum.calendar import nyse_sessions
from momentum.history import read_history
from momentum.store import VersionedStore
from momentum_cli.app import app
from tests.support.alpaca_data_server import embedded_market

pytestmark = pytest.mark.usefixtures("prefect_api")
END = "2022-12-28"


def ingest(store_url: str, *args: str) -> dict:
    result = CliRunner().invoke(
        app, ["ingest", "--provider", "alpaca", "--store", store_url, "--json", *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout.strip().splitlines()[-1])


def history(store_url: str, summary: dict) -> pd.DataFrame:
    store = VersionedStore(store_url)
    return read_history(store, store.resolve("history", version=summary["version"]).ref)


def served(market: pd.DataFrame, start: str, end: str) -> pd.DataFrame:
    rows = market[(market["date"] >= pd.Timestamp(start)) & (market["date"] <= pd.Timestamp(end))]
    return rows.sort_values(["date", "symbol"], ignore_index=True)


def test_ingest_twice_the_second_fetches_nothing(alpaca_data, store_url):
    first = ingest(store_url, "--end", END)
    requests = alpaca_data.bar_requests
    assert first["requests"] == requests > 0 and first["as_of"] == END == first["end"]
    assert first["start"] == "2016-01-01" and first["readjusted"] == []
    assert first["sessions_fetched"] == len(nyse_sessions("2016-01-01", END))
    asked = {s for q in alpaca_data.queries for s in q["symbols"].split(",")}
    assert {"AMD", "RRC", "SPY", "BRK.B"} <= asked and len(asked) == first["symbols"]  # RRC left in 2018
    stored = history(store_url, first)
    expected = served(embedded_market(), "2016-01-01", END)
    assert set(stored["symbol"]) == set(expected["symbol"]) and len(stored) == len(expected)
    merged = stored.merge(expected, on=["date", "symbol"], suffixes=("", "_served"))
    assert len(merged) == len(expected) and (merged["adj_close"] == merged["adj_close_served"]).all()

    second = ingest(store_url, "--end", END)
    assert alpaca_data.bar_requests == requests  # not one request at the server
    assert second == {**first, "sessions_fetched": 0, "requests": 0}


def test_new_sessions_only_and_a_planted_readjustment_refetched_alone(alpaca_data, tmp_path):
    url = str(tmp_path / "store")
    alpaca_data.newest = pd.Timestamp("2022-06-30")
    first = ingest(url, "--end", END)
    assert first["end"] == "2022-06-30"  # the provider had nothing newer: the next run asks again

    market = embedded_market()
    past = (market["symbol"] == "KO") & (market["date"] < pd.Timestamp("2022-09-14"))
    market.loc[past, "adj_close"] = (market.loc[past, "adj_close"] * 0.9885).round(
        4
    )  # KO's dividend re-adjusts its past
    alpaca_data.replace_bars(market)
    alpaca_data.newest, asked = None, alpaca_data.bar_requests
    second = ingest(url, "--end", END)
    queries = alpaca_data.queries[asked:]
    assert second["readjusted"] == ["KO"] and second["end"] == END and second["requests"] == len(queries)
    whole = [q for q in queries if q["start"] == "2016-01-01"]
    assert {q["symbols"] for q in whole} == {"KO"}  # KO's whole range again, and nothing else
    assert {q["start"] for q in queries} == {"2016-01-01", "2022-06-24"}  # the rest: 5 sessions of overlap on
    assert second["sessions_fetched"] == len(
        pd.DatetimeIndex(served(market, "2022-07-01", END)["date"].unique())
    )
    store = VersionedStore(url)
    assert store.manifest(store.resolve("history").ref).params["readjusted"] == ["KO"]
    stored = history(url, second)
    expected = served(market, "2016-01-01", END)
    pd.testing.assert_series_equal(stored["adj_close"], expected["adj_close"], check_names=False)
    assert stored[["date", "symbol"]].equals(expected[["date", "symbol"]])


def test_backtest_on_alpaca_reads_the_stored_history(alpaca_data, tmp_path):
    url = str(tmp_path / "store")
    ingest(url, "--end", END)
    requests = alpaca_data.bar_requests
    args = ["backtest", "--start", "2018-01-02", "--end", END, "--store", url, "--json"]
    alpaca = CliRunner().invoke(app, [*args, "--provider", "alpaca"])
    assert alpaca.exit_code == 0, alpaca.output
    assert alpaca_data.bar_requests == requests  # nothing re-downloaded
    embedded = CliRunner().invoke(app, [*args, "--provider", "embedded"])
    ours, theirs = (json.loads(r.stdout.strip().splitlines()[-1]) for r in (alpaca, embedded))
    assert ours["rebalances"] == theirs["rebalances"] and ours["final_equity"] == pytest.approx(
        theirs["final_equity"]
    )


def test_ingest_failure_is_one_line(alpaca_data, tmp_path):
    alpaca_data.fail_next(1, status=403, body={"code": 40310000, "message": "forbidden"})
    result = CliRunner().invoke(
        app, ["ingest", "--provider", "alpaca", "--store", str(tmp_path), "--end", END]
    )
    assert result.exit_code == 1
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: ") and "403" in line and alpaca_data.secret_key not in result.output
    assert VersionedStore(str(tmp_path)).refs("history") == []
