"""Plain-text rendering of run summaries and tables for the terminal."""

from __future__ import annotations

from typing import Any

import pandas as pd

from momentum.report import attention_line


def table(rows: list[dict[str, Any]], columns: list[str] | None = None, empty: str = "  (none)") -> str:
    if not rows:
        return empty
    frame = pd.DataFrame(rows)
    if columns:
        frame = frame[[c for c in columns if c in frame.columns]]
    return frame.to_string(index=False, float_format=lambda v: f"{v:,.4f}")


def _rebalance_note(reb: dict[str, Any]) -> str:
    """Why orders were (or were not) planned on this run."""
    if not reb["executed"]:
        return " (plan and execution skipped: only_on_schedule)"
    if reb.get("caught_up"):
        return f" (caught up the rebalance of {reb['signal_session']})"
    if not reb["is_signal_session"]:
        return " (a manual run rebalances at as_of; --only-on-schedule trades only on signal sessions)"
    return ""


def run_text(summary: dict[str, Any]) -> str:
    """The human summary of one run."""
    data, val, reb = summary["data"], summary["validation"], summary["rebalance"]
    quarantined = ", ".join(val["quarantined"]) or "none"
    at = f" at the signal session {reb['signal_session']}" if reb.get("caught_up") else ""
    lines = [
        f"momentum run as of {summary['as_of']}",
        f"data: {summary['provider']} provider, {data['symbols']} symbols, {data['start']} .. {data['end']} ({data['rows']} bars)",
        f"validation: passed; quarantined: {quarantined}; warnings: {val['warnings']}",
        *(f"warning: {text}" for text in summary.get("warnings", [])),
        f"rebalance: as_of {'IS' if reb['is_signal_session'] else 'is not'} a signal session; "
        f"next signal session {reb['next_signal_session']}" + _rebalance_note(reb),
        "", f"ranking (top by 12-1 momentum){at}:",
        table(summary["ranking"], ["symbol", "momentum", "fip", "eligible", "selected", "reason"]),
        "", f"target portfolio{at}:", table(summary["target_portfolio"]),
    ]
    if "orders" in summary:
        lines += ["", f"orders ({summary['broker']} broker):",
                  table(summary["orders"], ["client_order_id", "side", "symbol", "qty", "ref_price", "est_value"])]
    if "execution" in summary:
        ex = summary["execution"]
        lines += ["", f"execution: {ex['filled']} of {ex['orders']} orders filled"
                  + (f"; {attention_line(ex)}: {ex['headline']}" if ex["attention"] else "")]
    if "fills" in summary:
        lines += ["fills:", table(summary["fills"], ["symbol", "side", "qty", "status", "filled_qty", "filled_avg_price", "note"])]
    if "account" in summary:
        account = summary["account"]
        lines += ["", f"account value: ${account['value']:,.2f} (cash ${account['cash']:,.2f})"]
        if account["plan_differences"]:
            lines += ["positions differing from the plan:", table(account["plan_differences"])]
    lines += ["", "stored:"] + [f"  {name:<11} {d['version']}  {d['path']}" for name, d in summary["datasets"].items()]
    return "\n".join(lines)
