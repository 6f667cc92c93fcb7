"""The backtest: configuration, engine, simulated book, result, metrics and the report."""

from __future__ import annotations

from momentum.backtest._config import BacktestConfig
from momentum.backtest._engine import run_backtest
from momentum.backtest._format import metric_text, money, percent
from momentum.backtest._outputs import backtest_artifacts, backtest_summary, backtest_tables, metric_rows
from momentum.backtest._page import assumptions, render_html
from momentum.backtest._report import (
    BENCHMARK,
    EQUAL_WEIGHT_LABEL,
    PLOTS,
    all_metrics,
    benchmark_label,
    curves_table,
    metrics_table,
    plot_drawdown,
    plot_equity,
    plot_holdings_turnover,
    plot_rolling,
    plot_yearly,
    rebalances_table,
    render_pngs,
)
from momentum.backtest._result import BacktestResult
from momentum.backtest._sweep import SWEEP_METRICS, sweep_artifact, sweep_row, sweep_table, sweep_variants
from momentum.backtest._tear_plots import plot_monthly_returns, plot_rolling_risk
from momentum.backtest._tearsheet import tear_sheet

__all__ = [
    "BENCHMARK",
    "BacktestConfig",
    "BacktestResult",
    "EQUAL_WEIGHT_LABEL",
    "PLOTS",
    "SWEEP_METRICS",
    "all_metrics",
    "assumptions",
    "backtest_artifacts",
    "backtest_summary",
    "backtest_tables",
    "benchmark_label",
    "curves_table",
    "metric_rows",
    "metric_text",
    "metrics_table",
    "money",
    "percent",
    "plot_drawdown",
    "plot_equity",
    "plot_holdings_turnover",
    "plot_monthly_returns",
    "plot_rolling",
    "plot_rolling_risk",
    "plot_yearly",
    "rebalances_table",
    "render_html",
    "render_pngs",
    "run_backtest",
    "tear_sheet",
    "sweep_artifact",
    "sweep_row",
    "sweep_table",
    "sweep_variants",
]
