"""The tear sheet on the report page: the opening verdict against equal weight, its figures as rows of
the metrics table, the worst drawdowns table and the definitions of every figure."""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

from momentum.backtest._definitions import CONVENTIONS, DEFINITIONS
from momentum.backtest._format import percent

TABLE_FIGURES = ("information_ratio", "tracking_error", "skew", "kurtosis", "var_95")
DRAWDOWN_COLUMNS = ("start", "trough", "recovery", "depth", "length")


def verdict_html(sheet: dict[str, Any]) -> str:
    """The opening paragraph: whether the strategy beat equal weight on CAGR and on Sharpe."""
    verdict = sheet["versus_equal_weight"]
    return f'<p id="verdict">{html.escape(verdict["sentence"])}</p>' if verdict else ""


def with_figures(metrics: pd.DataFrame, sheet: dict[str, Any]) -> pd.DataFrame:
    """``metrics`` (metrics x series) with the tear sheet's figures as more rows."""
    rows = pd.DataFrame(
        [[sheet["series"].get(s, {}).get(name) for s in metrics.columns] for name in TABLE_FIGURES],
        index=list(TABLE_FIGURES),
        columns=metrics.columns,
    )
    return pd.concat([metrics.astype(object), rows.astype(object)])


def _drawdown_cell(column: str, value: Any) -> str:
    if column == "depth":
        return percent(float(value))
    if column == "recovery" and value is None:
        return "not yet"
    return html.escape(str(value))


def drawdowns_html(sheet: dict[str, Any]) -> str:
    """The five worst drawdowns of every series, deepest first, in one table."""
    head = "".join(f"<th>{c}</th>" for c in ("series", *DRAWDOWN_COLUMNS[:-1], "length (sessions)"))
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        + "".join(f"<td>{_drawdown_cell(c, period[c])}</td>" for c in DRAWDOWN_COLUMNS)
        + "</tr>"
        for name, figures in sheet["series"].items()
        for period in figures["worst_drawdowns"]
    )
    return f"<h2>worst drawdowns</h2><table id='worst-drawdowns'><tr>{head}</tr>{rows}</table>"


def definitions_html() -> str:
    """Every figure of the page defined, after the conventions they share."""
    items = "".join(
        f'<dt id="definition-{html.escape(name.replace(" ", "-"))}">{html.escape(name)}</dt>'
        f"<dd>{html.escape(text)}</dd>"
        for name, text in DEFINITIONS.items()
    )
    return (
        f'<section id="definitions"><h2>Definitions</h2><p>{html.escape(CONVENTIONS)}</p>'
        f"<dl>{items}</dl></section>"
    )
