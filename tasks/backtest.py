"""Backtest tasks: load history, run variants, store the results, the report and a comparison table."""

from __future__ import annotations

import itertools
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.artifacts import create_link_artifact, create_markdown_artifact
from prefect.cache_policies import NONE as NO_CACHE

from momentum import definitions
from momentum.backtest import BacktestResult, run_backtest
from momentum.backtest_page import assumptions, render_html
from momentum.backtest_report import (
    BENCHMARK,
    EQUAL_WEIGHT_LABEL,
    all_metrics,
    benchmark_label,
    curves_table,
    metrics_table,
    rebalances_table,
    render_pngs,
)
from momentum.providers import bars_to_wide
from momentum.records import json_record, json_records
from momentum.settings import Settings
from momentum.strategy import EQUAL_WEIGHT, StrategyParams
from momentum.universe_spec import universe_members
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


def _report_url(url: str) -> str:
    return url if "://" in url else Path(url).resolve().as_uri()


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
    curves, rebalances, table = curves_table(results), rebalances_table(results), metrics_table(metrics)
    trades = pd.concat([r.trades.assign(series=name) for name, r in results.items()], ignore_index=True)
    refs = {
        name: store.write(name, as_of, frame, params=params, flow_run_id=run_id)
        for name, frame in {
            "backtest_equity": curves,
            "backtest_rebalances": rebalances,
            "backtest_trades": trades,
            "backtest_metrics": table,
        }.items()
    }
    labels = {BENCHMARK: benchmark_label(settings.provider), EQUAL_WEIGHT: EQUAL_WEIGHT_LABEL}
    pngs = render_pngs(curves, rebalances, labels)
    title = f"Backtest {settings.strategy} {start:%Y-%m-%d} .. {as_of:%Y-%m-%d} ({settings.provider} data)"
    page = render_html(
        title,
        table.set_index("series").T,
        rebalances,
        pngs,
        labels=labels,
        assumptions=assumptions(
            definitions.strategy_params(settings),
            definitions.backtest_config(settings, slippage_bps=slippage_bps),
            definitions.universe_spec(settings),
            start,
            as_of,
            labels[BENCHMARK],
        ),
    )
    url = store.put_report(f"backtest/{as_of:%Y-%m-%d}/{refs['backtest_equity'].version}.html", page)
    if report_dir:
        folder = Path(report_dir)
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "backtest.html").write_text(page)
        for name, png in pngs.items():
            (folder / f"{name}.png").write_bytes(png)
    rows = {
        name: {**json_record(values), **({"label": labels[name]} if name in labels else {})}
        for name, values in metrics.items()
    }
    table = "\n".join(
        f"| {name} | {m['cagr']:.4f} | {m['sharpe']:.3f} | {m['max_drawdown']:.4f} "
        f"| {m['final_equity']:,.2f} |"
        for name, m in rows.items()
    )
    create_markdown_artifact(
        f"{title}\n\n| series | CAGR | Sharpe | max drawdown | final equity |\n|---|---|---|---|---|\n"
        f"{table}\n\n[HTML report]({_report_url(url)})",
        key="backtest",
        description=title,
    )
    create_link_artifact(
        _report_url(url), link_text="backtest report", key="backtest-report", description=title
    )
    return {
        "start": f"{start:%Y-%m-%d}",
        "end": f"{as_of:%Y-%m-%d}",
        "provider": settings.provider,
        "strategy": settings.strategy,
        "metrics": rows[settings.strategy],
        "final_equity": main.final_equity,
        "rebalances": [
            {
                "signal_date": f"{r.signal_date:%Y-%m-%d}",
                "trade_date": f"{r.trade_date:%Y-%m-%d}",
                "selected": r.selected.split(",") if r.selected else [],
            }
            for r in main.rebalances.itertuples(index=False)
        ],
        "compared": {name: m for name, m in rows.items() if name != settings.strategy},
        "datasets": {
            name: {"version": ref.version, "as_of": ref.as_of, "path": store.manifest(ref).path}
            for name, ref in refs.items()
        },
        "report": url,
        "report_dir": report_dir,
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
        Path(report_dir).mkdir(parents=True, exist_ok=True)
        table.to_csv(Path(report_dir) / "sweep.csv", index=False)
    shown = table[["variant", "cagr", "sharpe", "max_drawdown", "turnover", "final_equity"]]
    lines = "\n".join(
        "| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in shown.itertuples(index=False)
    )
    create_markdown_artifact(
        f"| {' | '.join(shown.columns)} |\n|{'---|' * len(shown.columns)}\n{lines}",
        key="backtest-sweep",
        description=f"{len(table)} backtest variants",
    )
    return {
        "sweep": json_records(table),
        "datasets": {
            "backtest_sweep": {"version": ref.version, "as_of": ref.as_of, "path": store.manifest(ref).path}
        },
    }
