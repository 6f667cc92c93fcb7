"""The backtest: configuration, engine, simulated book, result, metrics and the report.

The report's pieces (matplotlib figures, the HTML page, the tear sheet) import on first use, so a run that
only builds a configuration does not load matplotlib.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from momentum.backtest._config import BacktestConfig, Prices
from momentum.backtest._engine import run_backtest
from momentum.backtest._format import metric_text, money, percent
from momentum.backtest._result import BacktestResult, assumed_cost

if TYPE_CHECKING:
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
    from momentum.backtest._sweep import SWEEP_METRICS, sweep_artifact, sweep_row, sweep_table, sweep_variants
    from momentum.backtest._tear_plots import plot_monthly_returns, plot_rolling_risk
    from momentum.backtest._tearsheet import tear_sheet

_REPORT = {
    "assumptions": "_page",
    "render_html": "_page",
    "BENCHMARK": "_report",
    "EQUAL_WEIGHT_LABEL": "_report",
    "PLOTS": "_report",
    "all_metrics": "_report",
    "benchmark_label": "_report",
    "curves_table": "_report",
    "metrics_table": "_report",
    "plot_drawdown": "_report",
    "plot_equity": "_report",
    "plot_holdings_turnover": "_report",
    "plot_rolling": "_report",
    "plot_yearly": "_report",
    "rebalances_table": "_report",
    "render_pngs": "_report",
    "plot_monthly_returns": "_tear_plots",
    "plot_rolling_risk": "_tear_plots",
    "tear_sheet": "_tearsheet",
    "backtest_artifacts": "_outputs",
    "backtest_summary": "_outputs",
    "backtest_tables": "_outputs",
    "metric_rows": "_outputs",
    "SWEEP_METRICS": "_sweep",
    "sweep_artifact": "_sweep",
    "sweep_row": "_sweep",
    "sweep_table": "_sweep",
    "sweep_variants": "_sweep",
}

__all__ = [
    "BENCHMARK",
    "BacktestConfig",
    "BacktestResult",
    "EQUAL_WEIGHT_LABEL",
    "PLOTS",
    "Prices",
    "SWEEP_METRICS",
    "all_metrics",
    "assumed_cost",
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


def __getattr__(name: str) -> Any:
    if name not in _REPORT:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_REPORT[name]}"), name)
    globals()[name] = value
    return value
