"""A parameter sweep: every combination of the swept settings, one comparison row per variant."""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd

from momentum.backtest._result import BacktestResult
from momentum.records import Artifact

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


def sweep_variants(sweep: dict[str, list]) -> list[dict[str, Any]]:
    """Every combination of the swept settings (cartesian product, in the given key order)."""
    names = list(sweep)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(sweep[n] for n in names))]


def _text(value: Any, sep: str) -> Any:
    return sep.join(map(str, value)) if isinstance(value, (list, tuple)) else value


def sweep_row(variant: dict[str, Any], result: BacktestResult) -> dict[str, Any]:
    """One variant's row of the comparison table: its label, its settings, its metrics, its range."""
    metrics = result.metrics()
    return {
        "variant": " ".join(f"{k}={_text(v, ',')}" for k, v in variant.items()),
        **{k: str(v) if isinstance(v, (list, tuple)) else v for k, v in variant.items()},
        **{k: metrics[k] for k in SWEEP_METRICS},
        "start": f"{result.equity.index[0]:%Y-%m-%d}",
        "end": f"{result.equity.index[-1]:%Y-%m-%d}",
    }


def sweep_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The comparison table, best Sharpe first."""
    return pd.DataFrame(rows).sort_values("sharpe", ascending=False, ignore_index=True)


def sweep_artifact(table: pd.DataFrame) -> Artifact:
    """``backtest-sweep``: the variants ranked by Sharpe, headline metrics only."""
    shown = table[["variant", "cagr", "sharpe", "max_drawdown", "turnover", "final_equity"]]
    lines = "\n".join(
        "| " + " | ".join(f"{v:.4f}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in shown.itertuples(index=False)
    )
    return Artifact(
        "backtest-sweep",
        "markdown",
        f"{len(table)} backtest variants",
        text=f"| {' | '.join(shown.columns)} |\n|{'---|' * len(shown.columns)}\n{lines}",
    )
