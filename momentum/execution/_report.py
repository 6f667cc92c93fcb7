"""The execution report in words: one line per order, then the positions that differ from the plan."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from momentum.brokers.base import OrderState
from momentum.execution._shortfall import rebalance_shortfall

ORDER_COLUMNS = (
    "client_order_id",
    "side",
    "symbol",
    "qty",
    "status",
    "filled_qty",
    "filled_avg_price",
    "action",
    "note",
)


def _cell(value: object) -> str:
    if isinstance(value, float):
        return "" if pd.isna(value) else f"{value:,.4f}".rstrip("0").rstrip(".")
    return str(value).replace("|", "/")


def _row(values: Iterable[object]) -> str:
    return "| " + " | ".join(_cell(v) for v in values) + " |"


def execution_report(outcomes: pd.DataFrame, gaps: pd.DataFrame | None, as_of: str, broker: str) -> str:
    """Markdown: the outcome of every order of the ``as_of`` rebalance (``outcomes``: the ``executions``
    rows), then the positions against the plan (``gaps``: :func:`reconcile`'s rows; None: not checked)."""
    counts = outcomes["status"].value_counts().to_dict()
    head = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    lines = [f"**Execution of the {as_of} rebalance ({broker} broker): {head or 'no orders'}**", ""]
    attention = outcomes[outcomes["status"] != OrderState.FILLED]
    if len(attention):
        lines += [f"**{len(attention)} order(s) need attention** (see the notes).", ""]
    lines += [
        "| client_order_id | side | symbol | qty | status | filled | price | action | note |",
        "|---" * len(ORDER_COLUMNS) + "|",
    ]
    lines += [_row(r) for r in outcomes[list(ORDER_COLUMNS)].itertuples(index=False)]
    if "reference_price" in outcomes:
        lines += ["", f"**Implementation shortfall:** {rebalance_shortfall(outcomes).line()}"]
    if gaps is None:
        return "\n".join(lines)
    lines += ["", "**Positions against the plan:** " + ("all planned positions match." if gaps.empty else "")]
    if len(gaps):
        lines += ["", "| symbol | target_qty | broker_qty | difference |", "|---|---|---|---|"]
        lines += [_row(r) for r in gaps.itertuples(index=False)]
    return "\n".join(lines)


def gaps_line(gaps: pd.DataFrame) -> str | None:
    """One line listing every position that differs from the plan (broker vs target quantity), or None."""
    if gaps.empty:
        return None
    listed = ", ".join(
        f"{r.symbol} {r.broker_qty:g} vs {r.target_qty:g}" for r in gaps.itertuples(index=False)
    )
    return f"positions differ from the plan: {listed}"
