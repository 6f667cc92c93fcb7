"""What a backtest leaves: its datasets' tables, the HTML report and folder, the artifacts, the summary."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from prefect.artifacts import create_link_artifact, create_markdown_artifact

from momentum import definitions
from momentum.backtest import (
    BENCHMARK,
    BacktestResult,
    assumptions,
    curves_table,
    metrics_table,
    rebalances_table,
    render_html,
)
from momentum.records import json_record
from momentum.settings import Settings
from momentum.store import DatasetRef, VersionedStore


def save_report_dir(folder: Path, page: str, pngs: dict[str, bytes]) -> None:
    """``backtest.html`` and one PNG per plot into ``folder`` (made if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "backtest.html").write_text(page)
    for name, png in pngs.items():
        (folder / f"{name}.png").write_bytes(png)


def metric_rows(metrics: dict[str, dict], labels: dict[str, str]) -> dict[str, dict]:
    """Each series' metrics as JSON-able values, with its display label where it has one."""
    return {
        name: {**json_record(values), **({"label": labels[name]} if name in labels else {})}
        for name, values in metrics.items()
    }


def publish_backtest(title: str, rows: dict[str, dict], report_url: str) -> None:
    """Artifacts ``backtest`` (the metrics table, linking the report) and ``backtest-report`` (the link)."""
    table = "\n".join(
        f"| {name} | {m['cagr']:.4f} | {m['sharpe']:.3f} | {m['max_drawdown']:.4f} "
        f"| {m['final_equity']:,.2f} |"
        for name, m in rows.items()
    )
    create_markdown_artifact(
        f"{title}\n\n| series | CAGR | Sharpe | max drawdown | final equity |\n|---|---|---|---|---|\n"
        f"{table}\n\n[HTML report]({report_url})",
        key="backtest",
        description=title,
    )
    create_link_artifact(report_url, link_text="backtest report", key="backtest-report", description=title)


def save_sweep_csv(folder: Path, table: pd.DataFrame) -> None:
    """The sweep's comparison table as ``sweep.csv`` in ``folder`` (made if missing)."""
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "sweep.csv", index=False)


def publish_sweep(table: pd.DataFrame) -> None:
    """Artifact ``backtest-sweep``: the variants ranked by Sharpe, headline metrics only."""
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


def report_page(
    settings: Settings,
    title: str,
    tables: dict[str, pd.DataFrame],
    pngs: dict[str, bytes],
    labels: dict[str, str],
    *,
    start: pd.Timestamp,
    as_of: pd.Timestamp,
    slippage: float,
) -> str:
    """The HTML report: metrics, plots, rebalances and the assumptions the backtest ran under
    (``start``/``as_of``: its first and last session; ``slippage`` in basis points)."""
    return render_html(
        title,
        tables,
        pngs,
        labels=labels,
        assumptions=assumptions(
            definitions.strategy_params(settings),
            definitions.backtest_config(settings, slippage_bps=slippage),
            definitions.universe_spec(settings),
            start,
            as_of,
            labels[BENCHMARK],
        ),
    )


def backtest_summary(settings: Settings, main: BacktestResult, rows: dict[str, dict]) -> dict:
    """The JSON-able result of ``momentum backtest --json``, up to its datasets and report."""
    return {
        "start": f"{main.equity.index[0]:%Y-%m-%d}",
        "end": f"{main.equity.index[-1]:%Y-%m-%d}",
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
    }


def written_datasets(store: VersionedStore, refs: dict[str, DatasetRef]) -> dict[str, dict]:
    """Each written dataset's version, as_of and manifest path, by name."""
    return {
        name: {"version": ref.version, "as_of": ref.as_of, "path": store.manifest(ref).path}
        for name, ref in refs.items()
    }
