"""Backtest tasks: load history, run variants, store the results, the report and a comparison table."""

from __future__ import annotations

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
    BacktestConfig,
    BacktestResult,
    Prices,
    all_metrics,
    assumed_cost,
    assumptions,
    backtest_artifacts,
    backtest_summary,
    backtest_tables,
    benchmark_label,
    metric_rows,
    render_html,
    render_pngs,
    run_backtest,
    sweep_artifact,
    sweep_row,
    sweep_table,
    tear_sheet,
)
from momentum.history import backtest_bars
from momentum.providers import adjusted_opens, bars_to_wide
from momentum.records import json_records
from momentum.run import browsable_url
from momentum.settings import Settings
from momentum.store import DatasetRef, VersionedStore
from momentum.strategy import EQUAL_WEIGHT, StrategyParams
from momentum.universe import universe_members
from tasks.artifacts import publish
from tasks.common import current_flow_run_id


@task(name="backtest-history", cache_policy=NO_CACHE)
def load_history(
    settings: Settings, end: str | None, sweep: dict[str, list] | None = None
) -> tuple[Prices, pd.Series]:
    """The provider's whole history up to ``end`` (default: its last session): wide closes (and the
    adjusted opens when ``order_timing`` is open, or a ``sweep`` tries it), benchmark.

    For a provider that must be told its symbols (``alpaca``) it is the store's committed ``history``,
    brought up to date first (fetched once).
    """
    res = definitions.resources(settings)
    last = pd.Timestamp(end) if end else res.provider.last_session()
    bars, benchmark = backtest_bars(
        res.store, res.provider, res.universe, settings.benchmark_symbol, last, current_flow_run_id()
    )
    timings = {settings.order_timing, *(sweep or {}).get("order_timing", [])}
    opens = adjusted_opens(bars) if "open" in timings else None
    return Prices(bars_to_wide(bars), opens), benchmark


def _run(
    settings: Settings,
    prices: Prices,
    benchmark: pd.Series,
    window: tuple[str | None, str | None, float],
    params: StrategyParams | None = None,
) -> BacktestResult:
    """One backtest over ``window`` (start, end, slippage in basis points) with the settings' resources."""
    res = definitions.resources(settings)
    return run_backtest(
        prices,
        params=params or res.strategy,
        config=definitions.backtest_config(settings, *window),
        members=partial(universe_members, res.universe, list(prices.closes.columns)),
        benchmark=benchmark,
    )


@task(name="backtest-variant", cache_policy=NO_CACHE)
def run_variant(
    settings: Settings,
    prices: Prices,
    benchmark: pd.Series,
    start: str | None,
    end: str | None,
    slippage_bps: float = 0.0,
) -> BacktestResult:
    """One backtest with the live selection and planning (see :mod:`momentum.backtest`)."""
    return _run(settings, prices, benchmark, (start, end, slippage_bps))


@task(name="backtest-equal-weight", cache_policy=NO_CACHE)
def run_equal_weight(
    settings: Settings,
    prices: Prices,
    benchmark: pd.Series,
    start: str | None,
    end: str | None,
    slippage_bps: float = 0.0,
) -> BacktestResult:
    """The equal-weight benchmark: every universe member with a close, same schedule, costs and engine."""
    params = definitions.resources(settings).strategy.equal_weight()
    return _run(settings, prices, benchmark, (start, end, slippage_bps), params)


def _written(store: VersionedStore, refs: dict[str, DatasetRef]) -> dict[str, dict]:
    """Each written dataset's version, as_of and manifest path, by name."""
    return {
        name: {"version": ref.version, "as_of": ref.as_of, "path": store.manifest(ref).path}
        for name, ref in refs.items()
    }


def _report_page(
    settings: Settings,
    title: str,
    tables: dict[str, pd.DataFrame],
    main: BacktestResult,
    config: BacktestConfig,
    sheet: dict[str, Any],
) -> tuple[str, dict[str, bytes]]:
    """The HTML report (metrics, plots, rebalances, the assumptions the ``main`` result ran under with
    ``config``, the tear ``sheet``) and its PNGs."""
    res, labels = definitions.resources(settings), _labels(settings)
    pngs = render_pngs(tables["backtest_equity"], tables["backtest_rebalances"], labels)
    used = assumptions(res.strategy, config, res.universe, main, labels[BENCHMARK])
    page = render_html(title, tables, pngs, labels=labels, assumptions=used, sheet=sheet)
    return page, pngs


def _labels(settings: Settings) -> dict[str, str]:
    return {BENCHMARK: benchmark_label(settings.provider), EQUAL_WEIGHT: EQUAL_WEIGHT_LABEL}


@task(name="backtest-store", cache_policy=NO_CACHE)
def store_backtest(
    settings: Settings,
    results: dict[str, BacktestResult],
    slippage_bps: float = 0.0,
    report_dir: str | None = None,
) -> dict:
    """Datasets ``backtest_equity``, ``backtest_rebalances``, ``backtest_trades``, ``backtest_metrics``,
    the HTML report (store and ``report_dir`` with PNGs) and artifacts; returns the JSON-able summary."""
    store, run_id = definitions.resources(settings).store, current_flow_run_id()
    main = results[settings.strategy]
    as_of, start = main.equity.index[-1], main.equity.index[0]
    params = settings.backtested() | {"start": f"{start:%Y-%m-%d}", "slippage_bps": slippage_bps}
    metrics = all_metrics(results)
    tables = backtest_tables(results, metrics)
    refs = {
        name: store.write(name, as_of, frame, params=params | {"series": list(results)}, flow_run_id=run_id)
        for name, frame in tables.items()
    }
    title = f"Backtest {settings.strategy} {start:%Y-%m-%d} .. {as_of:%Y-%m-%d} ({settings.provider} data)"
    sheet = tear_sheet(tables["backtest_equity"])  # once: the page and the JSON show the same figures
    config = definitions.backtest_config(settings, slippage_bps=slippage_bps)
    page, pngs = _report_page(settings, title, tables, main, config, sheet)
    url = store.put_report(f"backtest/{as_of:%Y-%m-%d}/{refs['backtest_equity'].version}.html", page)
    if report_dir:
        Path(report_dir).mkdir(parents=True, exist_ok=True)
        (Path(report_dir) / "backtest.html").write_text(page)
        for name, png in pngs.items():
            (Path(report_dir) / f"{name}.png").write_bytes(png)
    rows = metric_rows(metrics, _labels(settings))
    publish(backtest_artifacts(title, rows, browsable_url(url)))
    summary = backtest_summary(main, rows, settings.strategy, settings.provider)
    return summary | {
        "datasets": _written(store, refs),
        "report": url,
        "report_dir": report_dir,
        "tear_sheet": sheet,
        "order_timing": config.order_timing,
        "assumed_cost": assumed_cost(main, config),
    }


@task(name="backtest-sweep-variant", cache_policy=NO_CACHE)
def sweep_variant(
    settings: Settings,
    variant: dict[str, Any],
    prices: Prices,
    benchmark: pd.Series,
    window: tuple[str | None, str | None, float],
) -> dict:
    """One swept variant over ``window`` (start, end, slippage in basis points) -> its row of the
    comparison table (small, so it travels cheaply to and from Dask)."""
    return sweep_row(variant, _run(settings.with_overrides(**variant), prices, benchmark, window))


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
    store, table = definitions.resources(settings).store, sweep_table(rows)
    swept = {k: [str(v) for v in vs] for k, vs in sweep.items()}
    params = settings.backtested() | {
        "start": table["start"].min(),
        "slippage_bps": slippage_bps,
        "sweep": swept,
    }
    ref = store.write(
        "backtest_sweep", table["end"].max(), table, flow_run_id=current_flow_run_id(), params=params
    )
    if report_dir:
        Path(report_dir).mkdir(parents=True, exist_ok=True)
        table.to_csv(Path(report_dir) / "sweep.csv", index=False)
    publish([sweep_artifact(table)])
    return {"sweep": json_records(table), "datasets": _written(store, {"backtest_sweep": ref})}
