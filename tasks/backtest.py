"""Backtest tasks: load history, run variants, store the results, the report and a comparison table."""

from __future__ import annotations

import itertools
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.cache_policies import NONE as NO_CACHE

from momentum import definitions
from momentum.backtest import (
    BENCHMARK,
    EQUAL_WEIGHT_LABEL,
    BacktestResult,
    all_metrics,
    benchmark_label,
    render_pngs,
    run_backtest,
    tear_sheet,
)
from momentum.providers import bars_to_wide
from momentum.records import json_records
from momentum.settings import Settings
from momentum.strategy import EQUAL_WEIGHT, StrategyParams
from momentum.universe import universe_members
from tasks.artifacts import browsable_url
from tasks.backtest_output import (
    backtest_summary,
    backtest_tables,
    metric_rows,
    publish_backtest,
    publish_sweep,
    report_page,
    save_report_dir,
    save_sweep_csv,
    written_datasets,
)
from tasks.common import current_flow_run_id, open_store
from tasks.history import stored_history

SWEEP_METRICS = [
    "cagr",
    "volatility",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "alpha",
    "beta",
    "hit_rate",
    "turnover",
    "avg_holdings",
    "final_equity",
]


@task(name="backtest-history", cache_policy=NO_CACHE)
def load_history(settings: Settings, end: str | None) -> tuple[pd.DataFrame, pd.Series]:
    """The provider's whole history up to ``end`` (default: its last session): wide closes, benchmark.

    For ``alpaca`` it is the store's committed ``history``, brought up to date first (fetched once).
    """
    provider = definitions.provider(settings)
    last = pd.Timestamp(end) if end else provider.last_session()
    if settings.provider == "alpaca":
        return stored_history(settings, last)
    return bars_to_wide(provider.bars(None, last)), provider.benchmark(None, last)


def _run(
    settings: Settings,
    closes: pd.DataFrame,
    benchmark: pd.Series,
    start: str | None,
    end: str | None,
    slippage_bps: float,
    params: StrategyParams | None = None,
) -> BacktestResult:
    return run_backtest(
        closes,
        params=params or definitions.strategy_params(settings),
        config=definitions.backtest_config(settings, start, end, slippage_bps),
        members=partial(universe_members, definitions.universe_spec(settings), list(closes.columns)),
        benchmark=benchmark,
    )


@task(name="backtest-variant", cache_policy=NO_CACHE)
def run_variant(
    settings: Settings,
    closes: pd.DataFrame,
    benchmark: pd.Series,
    start: str | None,
    end: str | None,
    slippage_bps: float = 0.0,
) -> BacktestResult:
    """One backtest with the live selection and planning (see :mod:`momentum.backtest`)."""
    return _run(settings, closes, benchmark, start, end, slippage_bps)


@task(name="backtest-equal-weight", cache_policy=NO_CACHE)
def run_equal_weight(
    settings: Settings,
    closes: pd.DataFrame,
    benchmark: pd.Series,
    start: str | None,
    end: str | None,
    slippage_bps: float = 0.0,
) -> BacktestResult:
    """The equal-weight benchmark: every universe member with a close, same schedule, costs and engine."""
    return _run(
        settings,
        closes,
        benchmark,
        start,
        end,
        slippage_bps,
        params=definitions.strategy_params(settings).equal_weight(),
    )


def _params(settings: Settings, **extra: Any) -> dict:
    public = settings.public()
    for name in (
        "store_url",
        "broker",
        "live_trading",
        "alpaca_base_url",
        "kill_switch",
        "queue_when_closed",
    ):
        public.pop(name, None)
    return {**public, **extra}


@task(name="backtest-store", cache_policy=NO_CACHE)
def store_backtest(
    settings: Settings,
    results: dict[str, BacktestResult],
    slippage_bps: float = 0.0,
    report_dir: str | None = None,
) -> dict:
    """Datasets ``backtest_equity``, ``backtest_rebalances``, ``backtest_trades``, ``backtest_metrics``,
    the HTML report (store and ``report_dir`` with PNGs) and artifacts; returns the JSON-able summary."""
    store, run_id = open_store(settings), current_flow_run_id()
    main = results[settings.strategy]
    as_of, start = main.equity.index[-1], main.equity.index[0]
    params = _params(settings, start=f"{start:%Y-%m-%d}", slippage_bps=slippage_bps, series=list(results))
    metrics = all_metrics(results)
    tables = backtest_tables(results, metrics)
    refs = {
        name: store.write(name, as_of, frame, params=params, flow_run_id=run_id)
        for name, frame in tables.items()
    }
    labels = {BENCHMARK: benchmark_label(settings.provider), EQUAL_WEIGHT: EQUAL_WEIGHT_LABEL}
    title = f"Backtest {settings.strategy} {start:%Y-%m-%d} .. {as_of:%Y-%m-%d} ({settings.provider} data)"
    pngs = render_pngs(tables["backtest_equity"], tables["backtest_rebalances"], labels)
    page = report_page(settings, title, tables, pngs, labels, start=start, as_of=as_of, slippage=slippage_bps)
    url = store.put_report(f"backtest/{as_of:%Y-%m-%d}/{refs['backtest_equity'].version}.html", page)
    if report_dir:
        save_report_dir(Path(report_dir), page, pngs)
    rows = metric_rows(metrics, labels)
    publish_backtest(title, rows, browsable_url(url))
    return backtest_summary(settings, main, rows) | {
        "datasets": written_datasets(store, refs),
        "report": url,
        "report_dir": report_dir,
        "tear_sheet": tear_sheet(tables["backtest_equity"]),
    }


def sweep_variants(sweep: dict[str, list]) -> list[dict[str, Any]]:
    """Every combination of the swept settings (cartesian product, in the given key order)."""
    names = list(sweep)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(sweep[n] for n in names))]


@task(name="backtest-sweep-variant", cache_policy=NO_CACHE)
def sweep_variant(
    settings: Settings,
    variant: dict[str, Any],
    closes: pd.DataFrame,
    benchmark: pd.Series,
    start: str | None,
    end: str | None,
    slippage_bps: float = 0.0,
) -> dict:
    """One swept variant -> its row of the comparison table (small, so it travels cheaply to and
    from Dask)."""
    result = _run(settings.with_overrides(**variant), closes, benchmark, start, end, slippage_bps)
    metrics = result.metrics()
    label = " ".join(
        f"{k}={','.join(map(str, v)) if isinstance(v, (list, tuple)) else v}" for k, v in variant.items()
    )
    return {
        "variant": label,
        **{k: str(v) if isinstance(v, (list, tuple)) else v for k, v in variant.items()},
        **{k: metrics[k] for k in SWEEP_METRICS},
        "start": f"{result.equity.index[0]:%Y-%m-%d}",
        "end": f"{result.equity.index[-1]:%Y-%m-%d}",
    }


@task(name="backtest-sweep-table", cache_policy=NO_CACHE)
def store_sweep(
    settings: Settings,
    rows: list[dict],
    sweep: dict[str, list],
    slippage_bps: float = 0.0,
    report_dir: str | None = None,
) -> dict:
    """The comparison table -> dataset ``backtest_sweep`` (+ ``sweep.csv`` in ``report_dir``) and an
    artifact."""
    store = open_store(settings)
    table = pd.DataFrame(rows).sort_values("sharpe", ascending=False, ignore_index=True)
    ref = store.write(
        "backtest_sweep",
        table["end"].max(),
        table,
        flow_run_id=current_flow_run_id(),
        params=_params(
            settings,
            start=table["start"].min(),
            slippage_bps=slippage_bps,
            sweep={k: [str(v) for v in vs] for k, vs in sweep.items()},
        ),
    )
    if report_dir:
        save_sweep_csv(Path(report_dir), table)
    publish_sweep(table)
    return {
        "sweep": json_records(table),
        "datasets": written_datasets(store, {"backtest_sweep": ref}),
    }
