"""What a backtest leaves besides its report page: its datasets' tables, the metrics by series, the
``--json`` summary and the artifacts."""

from __future__ import annotations

import pandas as pd

from momentum.backtest._report import curves_table, metrics_table, rebalances_table
from momentum.backtest._result import BacktestResult
from momentum.records import Artifact, json_record


def backtest_tables(results: dict[str, BacktestResult], metrics: dict[str, dict]) -> dict[str, pd.DataFrame]:
    """The four backtest datasets by name: every series' curves, rebalances, trades and metrics."""
    return {
        "backtest_equity": curves_table(results),
        "backtest_rebalances": rebalances_table(results),
        "backtest_trades": pd.concat(
            [r.trades.assign(series=name) for name, r in results.items()], ignore_index=True
        ),
        "backtest_metrics": metrics_table(metrics),
    }


def metric_rows(metrics: dict[str, dict], labels: dict[str, str]) -> dict[str, dict]:
    """Each series' metrics as JSON-able values, with its display label where it has one."""
    return {
        name: {**json_record(values), **({"label": labels[name]} if name in labels else {})}
        for name, values in metrics.items()
    }


def backtest_summary(main: BacktestResult, rows: dict[str, dict], strategy: str, provider: str) -> dict:
    """The JSON-able result of ``momentum backtest --json`` (``main``: the ``strategy``'s result on the
    ``provider``'s data), up to its datasets and report."""
    return {
        "start": f"{main.equity.index[0]:%Y-%m-%d}",
        "end": f"{main.equity.index[-1]:%Y-%m-%d}",
        "provider": provider,
        "strategy": strategy,
        "metrics": rows[strategy],
        "final_equity": main.final_equity,
        "rebalances": [
            {
                "signal_date": f"{r.signal_date:%Y-%m-%d}",
                "trade_date": f"{r.trade_date:%Y-%m-%d}",
                "selected": r.selected.split(",") if r.selected else [],
            }
            for r in main.rebalances.itertuples(index=False)
        ],
        "compared": {name: m for name, m in rows.items() if name != strategy},
    }


def backtest_artifacts(title: str, rows: dict[str, dict], report_url: str) -> list[Artifact]:
    """``backtest`` (the metrics table, linking the report) and ``backtest-report`` (the link)."""
    table = "\n".join(
        f"| {name} | {m['cagr']:.4f} | {m['sharpe']:.3f} | {m['max_drawdown']:.4f} "
        f"| {m['final_equity']:,.2f} |"
        for name, m in rows.items()
    )
    return [
        Artifact(
            "backtest",
            "markdown",
            title,
            text=f"{title}\n\n| series | CAGR | Sharpe | max drawdown | final equity |\n"
            f"|---|---|---|---|---|\n{table}\n\n[HTML report]({report_url})",
        ),
        Artifact("backtest-report", "link", title, text=report_url, link_text="backtest report"),
    ]
