"""The backtest against the live pipeline (every rebalance of the embedded history); its flow, report
folder, CLI, sweep (thread pool and Dask) and notebook. (The engine's accounting: tests/unit.)"""

from __future__ import annotations

import json
from functools import partial
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from momentum import definitions
from momentum.backtest import (
    PLOTS,
    Prices,
    metric_text,
    money,
    percent,
    run_backtest,
)
from momentum.brokers.paper import LEDGER, LEDGER_COLUMNS
from momentum.providers import adjusted_opens, bars_to_wide
from momentum.providers.embedded import EmbeddedProvider
from momentum.settings import Settings
from momentum.store import VersionedStore
from momentum.universe import universe_members
from momentum.validation import TABLE_COLUMNS
from tests.support.backtest import assert_png, assert_report

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def embedded():
    provider = EmbeddedProvider()
    last = provider.last_session()
    return bars_to_wide(provider.bars(None, last)), provider.benchmark(None, last)


def _settings(tmp_path, **overrides) -> Settings:
    return Settings(store_url=str(tmp_path / "store"), **overrides)


# --- parity with the live pipeline -----------------------------------------------------------------


def test_live_parity_every_rebalance_of_the_embedded_history(embedded, tmp_path):
    """Every rebalance: the live ingest -> score -> plan tasks, run against a paper book holding the
    backtest's fills so far, select the same names and plan exactly the backtest's orders."""
    from tasks.ingest import ingest, ingest_benchmark
    from tasks.plan import plan
    from tasks.score import score

    closes, benchmark = embedded
    settings = _settings(tmp_path)
    params = definitions.strategy_params(settings)
    result = run_backtest(
        closes,
        params=params,
        config=definitions.backtest_config(settings),
        benchmark=benchmark,
        members=partial(universe_members, definitions.universe_spec(settings), list(closes.columns)),
    )
    store = VersionedStore(settings.store_url)
    fills = result.trades.assign(as_of=result.trades["trade_date"].dt.strftime("%Y-%m-%d"))
    checked, too_early = 0, []
    for row in result.rebalances.itertuples(index=False):
        day = f"{row.signal_date:%Y-%m-%d}"
        _write_ledger(store, fills[fills["trade_date"] < row.signal_date], day)
        try:
            bars_ref = ingest.fn(settings, day)
        except ValueError as exc:  # the live ingest looks 2 x 273 + 30 days back, before the calendar
            assert "outside the NYSE calendar" in str(exc)
            too_early.append(row.signal_date)
            continue
        bench_ref = ingest_benchmark.fn(settings, day)
        validation = store.write(
            "validation", day, pd.DataFrame({c: pd.Series(dtype=str) for c in TABLE_COLUMNS})
        )
        scores_ref = score.fn(settings, bars_ref, validation, bench_ref)
        live_selected = store.read(scores_ref).query("selected")["symbol"]
        assert ",".join(sorted(live_selected)) == row.selected
        live_plan = store.read(plan.fn(settings, scores_ref, bars_ref))
        ours = result.orders[result.orders["signal_date"] == row.signal_date].drop(columns="signal_date")
        pd.testing.assert_frame_equal(ours.reset_index(drop=True), live_plan, check_dtype=False)
        checked += 1
    assert (
        max(too_early) < pd.Timestamp("1991-08-01")
        and checked == len(result.rebalances) - len(too_early) > 120
    )


def _write_ledger(store: VersionedStore, fills: pd.DataFrame, day: str) -> None:
    """A paper-broker order book holding exactly ``fills`` (commission = cost_bps of the notional)."""
    ledger = pd.DataFrame(
        {
            "client_order_id": [f"bt-{i}" for i in range(len(fills))],
            "broker_order_id": "bt",
            "as_of": fills["as_of"],
            "symbol": fills["symbol"],
            "side": fills["side"],
            "qty": fills["qty"],
            "filled_qty": fills["qty"],
            "filled_avg_price": fills["price"],
            "commission": fills["cost"],
            "status": "filled",
            "time_in_force": "cls",
            "session": fills["as_of"],
        }
    ).astype(LEDGER_COLUMNS)
    store.write(LEDGER, day, ledger, params={"replay": day})


# --- report, flow, CLI, sweep, notebook ------------------------------------------------------------


@pytest.fixture(scope="module")
def flow_run(prefect_api, tmp_path_factory):
    """One backtest flow run on the embedded data from 2016 (qmom and the momentum baseline)."""
    from flows.backtest import backtest

    root = tmp_path_factory.mktemp("backtest")
    store_url, report_dir = str(root / "store"), str(root / "report")
    summary = backtest(start="2016-01-01", store_url=store_url, report_dir=report_dir, cost_bps=5.0)
    return summary, VersionedStore(store_url), Path(report_dir)


def test_flow_stores_datasets_report_and_artifacts(flow_run):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    summary, store, _ = flow_run
    curves = store.read(store.resolve("backtest_equity").ref)
    assert set(curves["series"]) == {"qmom", "momentum", "equal_weight", "benchmark"}
    qmom = curves[curves["series"] == "qmom"]
    assert qmom["equity"].iloc[-1] == pytest.approx(summary["final_equity"])
    rebalances = store.read(store.resolve("backtest_rebalances").ref).query("series == 'qmom'")
    assert [r["selected"] for r in summary["rebalances"]] == [s.split(",") for s in rebalances["selected"]]
    assert (
        summary["rebalances"][0]["signal_date"] == "2016-02-29"
        and summary["rebalances"][0]["trade_date"] == "2016-03-01"
    )
    metrics = store.read(store.resolve("backtest_metrics").ref).set_index("series")
    assert metrics.loc["qmom", "sharpe"] == pytest.approx(summary["metrics"]["sharpe"])
    assert set(summary["compared"]) == {"momentum", "equal_weight", "benchmark"}
    assert summary["compared"]["benchmark"]["label"] == "S&P 500 price index, dividends excluded"
    assert "equally weighted" in summary["compared"]["equal_weight"]["label"]
    ew = summary["compared"]["equal_weight"]
    for m in (summary["metrics"], summary["compared"]["momentum"]):
        assert m["excess_vs_equal_weight"] == pytest.approx(m["cagr"] - ew["cagr"], rel=1e-12)
    assert metrics.loc["qmom", "excess_vs_equal_weight"] == pytest.approx(
        summary["metrics"]["excess_vs_equal_weight"]
    )
    trades = store.read(store.resolve("backtest_trades").ref)
    assert set(trades["series"]) == {"qmom", "momentum", "equal_weight"}
    ew_rebalances = store.read(store.resolve("backtest_rebalances").ref).query("series == 'equal_weight'")
    assert ew_rebalances["signal_date"].tolist() == rebalances["signal_date"].tolist()  # the same schedule
    # the 2016 embedded universe: all 20 names were S&P 500 members then but AMD
    # (out 2013-09-20 .. 2017-03-20)
    assert ew_rebalances["n_selected"].iloc[0] == 19 and "AMD" not in ew_rebalances["selected"].iloc[0]
    assert ew_rebalances["n_selected"].iloc[-1] == 19 and "RRC" not in ew_rebalances["selected"].iloc[-1]
    assert_report(Path(summary["report"]).read_text())
    run_id = store.resolve("backtest_equity").flow_run_id
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    by_key = {a.key: a for a in artifacts}
    assert summary["report"].split("/")[-1] in by_key["backtest-report"].data  # the link to the HTML report
    assert "final equity" in by_key["backtest"].data


class _Assumptions(HTMLParser):
    """Item -> text of the ``<section id="assumptions">`` definition list; ``first`` = its position
    among the page's sections and tables (it must come before the metrics)."""

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, str] = {}
        self.order: list[str] = []
        self._inside, self._item, self._tag = False, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("section", "table") and attrs.get("id"):
            self.order.append(attrs["id"])
        self._inside = self._inside or (tag == "section" and attrs.get("id") == "assumptions")
        self._tag = tag

    def handle_endtag(self, tag):
        self._inside = self._inside and tag != "section"

    def handle_data(self, data):
        if self._inside and self._tag == "dt":
            self._item = data
        elif self._inside and self._tag == "dd" and self._item:
            self.items[self._item] = self.items.get(self._item, "") + data


def test_report_states_its_assumptions_first(flow_run):
    summary, _, folder = flow_run
    for page in (Path(summary["report"]).read_text(), (folder / "backtest.html").read_text()):
        parser = _Assumptions()
        parser.feed(page)
        assert parser.order[0] == "assumptions" and "metrics" in parser.order
        items = parser.items
        assert list(items) == [
            "data",
            "universe",
            "benchmarks",
            "costs",
            "parameters",
            "share rounding",
            "survivorship",
            "order timing",
            "assumed cost",
        ]
        assert "embedded" in items["data"] and f"{summary['start']} to {summary['end']}" in items["data"]
        assert "S&P 500" in items["universe"] and "fja05680/sp500" in items["universe"]
        assert "index-constitution" in items["universe"] and "1996-01-02" in items["universe"]
        assert (
            "S&P 500 price index, dividends excluded" in items["benchmarks"]
            and "equal_weight" in items["benchmarks"]
        )
        assert "commission 5 bps + slippage 0 bps" in items["costs"]
        for part in (
            "lookback 252 sessions",
            "skip 21 sessions",
            "max(5, 5 % of the eligible names)",
            "Feb, May, Aug, Nov",
            "trade 1 session(s) later",
            "qmom",
        ):
            assert part in items["parameters"], part
        assert "whole shares" in items["share rounding"]
        assert "survived" in items["survivorship"] and items["survivorship"].count(".") == 1  # one sentence
        assert items["order timing"].startswith("close: ") and "later at the close" in items["parameters"]
        assert items["assumed cost"].startswith("5 bps of traded notional")


class _Metrics(HTMLParser):
    """Row header -> cell texts of the ``metrics`` table."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[str]] = {}
        self._table, self._row, self._cell = False, None, None

    def handle_starttag(self, tag, attrs):
        self._table = self._table or (tag == "table" and dict(attrs).get("id") == "metrics")
        self._cell = tag if self._table and tag in ("th", "td") else None

    def handle_endtag(self, tag):
        self._table = self._table and tag != "table"
        self._row = None if tag == "tr" else self._row

    def handle_data(self, data):
        if self._cell == "th" and self._row is None:
            self._row = data
            self.rows[data] = []
        elif self._cell == "td" and self._row is not None:
            self.rows[self._row].append(data)
        self._cell = None


def test_report_shows_percent_dollars_and_dates(flow_run):
    summary, _, _ = flow_run
    parser = _Metrics()
    parser.feed(Path(summary["report"]).read_text())
    rows = parser.rows
    cagr = [summary["metrics"]["cagr"]] + [
        summary["compared"][s]["cagr"] for s in ("momentum", "equal_weight", "benchmark")
    ]
    assert rows["cagr"] == [percent(v) for v in cagr] and all(t.endswith(" %") for t in rows["cagr"])
    assert all(t.startswith("$") and "," in t for t in rows["final_equity"])
    assert all(len(t) == 10 and t[4] == t[7] == "-" for t in rows["max_drawdown_peak"])
    assert rows["excess_vs_equal_weight"][2:] == ["–", "–"]  # not for the equal weight itself nor the index
    assert percent(175.0708) == "17,507 %" and percent(0.1234) == "12.3 %" and percent(-0.0123) == "-1.23 %"
    assert money(1234567.891) == "$1,234,567.89" and metric_text("best_year", np.int64(2009)) == "2009"
    assert metric_text("max_drawdown_peak", pd.Timestamp("2008-05-20")) == "2008-05-20"
    assert metric_text("sharpe", 0.81614) == "0.82" and metric_text("alpha", float("nan")) == "–"
    assert rows["rebalances"] == [str(len(summary["rebalances"]))] * 3 + ["–"]


def test_report_folder_has_the_page_and_pngs(flow_run):
    _, _, folder = flow_run
    assert_report((folder / "backtest.html").read_text())
    for name in PLOTS:
        assert_png((folder / f"{name}.png").read_bytes())


def test_notebook_executes_against_the_stored_backtest(flow_run, monkeypatch):
    import nbclient
    import nbformat

    _, store, _ = flow_run
    monkeypatch.setenv("MOMENTUM_STORE_URL", store.url)
    notebook = nbformat.read(REPO / "notebooks" / "backtest.ipynb", as_version=4)
    nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert sum("image/png" in o.get("data", {}) for o in outputs) == len(PLOTS)
    assert not [o for o in outputs if o.output_type == "error"]
    assert any("backtest_equity@" in o.get("text", "") for o in outputs)


def _cli():
    from momentum_cli.app import app

    return app


SMALL = ["--provider", "synthetic", "--set", "synthetic_symbols=40", "--set", "synthetic_sessions=700"]


def test_cli_json_and_summary(prefect_api, tmp_path):
    from typer.testing import CliRunner

    args = [
        *SMALL,
        "--strategy",
        "momentum",
        "--holdings",
        "4",
        "--cost-bps",
        "10",
        "--store",
        str(tmp_path / "s"),
    ]
    out = CliRunner().invoke(_cli(), ["backtest", *args, "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    assert {"metrics", "final_equity", "rebalances"} <= set(summary)
    assert summary["metrics"]["final_equity"] == summary["final_equity"] and summary["final_equity"] > 0
    assert summary["compared"]["benchmark"]["label"] == "equal-weight index of the synthetic symbols"
    assert summary["compared"]["equal_weight"]["avg_holdings"] > 30  # holds all 40 symbols once they list
    assert summary["metrics"]["excess_vs_equal_weight"] == pytest.approx(
        summary["metrics"]["cagr"] - summary["compared"]["equal_weight"]["cagr"]
    )
    assert summary["rebalances"] and all(len(r["selected"]) == 4 for r in summary["rebalances"])
    assert all(r["trade_date"] > r["signal_date"] for r in summary["rebalances"])
    sheet = summary["tear_sheet"]
    assert list(sheet["series"]) == ["momentum", "equal_weight", "benchmark"]
    assert sheet["versus_equal_weight"]["cagr"]["strategy"] == summary["metrics"]["cagr"]
    assert sheet["series"]["momentum"]["worst_drawdowns"][0]["depth"] == summary["metrics"]["max_drawdown"]
    assert (
        "tracking_error" in sheet["series"]["momentum"]
        and "tracking_error" not in sheet["series"]["benchmark"]
    )
    assert summary["order_timing"] == "close" and summary["assumed_cost"]["bps"] == 10.0
    text = CliRunner().invoke(_cli(), ["backtest", *args])
    assert text.exit_code == 0 and f"final equity: ${summary['final_equity']:,.2f}" in text.stdout
    assert "order timing close; assumed cost 10 bps of traded notional" in text.stdout
    assert sheet["versus_equal_weight"]["sentence"] in text.stdout
    bad = CliRunner().invoke(_cli(), ["backtest", *args, "--set", "skip=400"])
    assert bad.exit_code == 1 and bad.stderr.strip().splitlines() == [
        "error: invalid settings: settings: Value error, skip (400) must be smaller than lookback (252), "
        "MOMENTUM_* environment or --set (see the settings table in README.md)"
    ]


def test_cli_order_timing_open_fills_at_the_adjusted_opens(prefect_api, tmp_path):
    from typer.testing import CliRunner

    store_url = str(tmp_path / "s")
    args = [*SMALL, "--strategy", "momentum", "--holdings", "4", "--store", store_url]
    out = CliRunner().invoke(_cli(), ["backtest", *args, "--order-timing", "open", "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.stdout)
    store = VersionedStore(store_url)
    trades = store.read(store.resolve("backtest_trades").ref)
    fills = trades[(trades["series"] == "momentum") & (trades["reason"] == "rebalance")]
    settings = Settings(provider="synthetic", synthetic_symbols=40, synthetic_sessions=700)
    provider = definitions.provider(settings)
    bars = provider.bars(None, provider.last_session())
    opens = adjusted_opens(bars)
    assert len(fills) and fills["price"].tolist() == [
        opens.at[d, s] for d, s in zip(fills["trade_date"], fills["symbol"], strict=True)
    ]
    assert summary["order_timing"] == "open"
    assert summary["assumed_cost"] == {
        "bps": 5.0,
        "dollars": pytest.approx(trades.loc[trades["series"] == "momentum", "cost"].sum(), rel=1e-12),
    }
    closes = bars_to_wide(bars)
    equity = store.read(store.resolve("backtest_equity").ref)
    curve = equity[equity["series"] == "momentum"].set_index("date")["equity"].sort_index()
    direct = run_backtest(
        Prices(closes, opens),
        params=definitions.strategy_params(settings.with_overrides(strategy="momentum", holdings=4)),
        config=definitions.backtest_config(settings.with_overrides(order_timing="open")),
        benchmark=provider.benchmark(None, closes.index[-1]),
    )
    np.testing.assert_allclose(curve.to_numpy(), direct.equity.to_numpy(), rtol=1e-12)  # marked at closes


def test_cli_sweep_writes_one_comparison_table(prefect_api, tmp_path):
    from typer.testing import CliRunner

    store_url = str(tmp_path / "s")
    out = CliRunner().invoke(
        _cli(),
        [
            "backtest",
            *SMALL,
            "--store",
            store_url,
            "--report",
            str(tmp_path / "r"),
            "--json",
            "--sweep",
            "lookback=126,252",
            "--sweep",
            "holdings=3,5",
        ],
    )
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)["sweep"]
    assert sorted((r["lookback"], r["holdings"]) for r in rows) == [(126, 3), (126, 5), (252, 3), (252, 5)]
    store = VersionedStore(store_url)
    table = store.read(store.resolve("backtest_sweep").ref)
    assert len(table) == 4 and (tmp_path / "r" / "sweep.csv").exists()
    settings = Settings(
        provider="synthetic", synthetic_symbols=40, synthetic_sessions=700, lookback=126, holdings=3
    )
    provider = definitions.provider(settings)
    closes = bars_to_wide(provider.bars(None, provider.last_session()))
    direct = run_backtest(
        closes,
        params=definitions.strategy_params(settings),
        config=definitions.backtest_config(settings),
        benchmark=provider.benchmark(None, closes.index[-1]),
    )
    row = next(r for r in rows if (r["lookback"], r["holdings"]) == (126, 3))
    assert row["final_equity"] == pytest.approx(direct.final_equity, rel=1e-12)


def test_sweep_runs_on_a_dask_cluster(prefect_api, tmp_path):
    from distributed import LocalCluster
    from prefect_dask import DaskTaskRunner

    from flows.backtest import flow_with, task_runner

    assert isinstance(task_runner("dask", "tcp://127.0.0.1:1"), DaskTaskRunner)
    with pytest.raises(ValueError, match="unknown task runner"):
        task_runner("ray")
    sweep = {"holdings": [3, 6]}
    params = dict(
        provider="synthetic", overrides={"synthetic_symbols": 30, "synthetic_sessions": 600}, sweep=sweep
    )
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        on_dask = flow_with("dask", cluster.scheduler_address)(store_url=str(tmp_path / "dask"), **params)
    on_threads = flow_with("thread")(store_url=str(tmp_path / "threads"), **params)
    pick = lambda s: sorted((r["holdings"], r["final_equity"]) for r in s["sweep"])  # noqa: E731
    assert pick(on_dask) == pick(on_threads) and len(on_dask["sweep"]) == 2
